"""The Sonar simulator's GraphQL schema: a strict subset of the real Sonar v2 schema, pruned by a program.

Why pruned and not hand-written: every type, field and argument the simulator serves must exist in the
real schema with the same type, or the extractor could pass its tests against a fiction. Pruning the real
SDL (shared/api/sonar.graphql, 1.4 MB) keeps the two identical by construction; the result is committed
as `sonar_schema.graphql` beside this module so a server start parses ~100 KB instead of 1.4 MB.

Regenerate after changing `ROOT_FIELDS` or `RELATIONS`::

    python -m etl.sandbox.sonar_schema ../shared/api/sonar.graphql
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    IntValueNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    TypeNode,
    ValueNode,
    build_schema,
    parse,
    print_ast,
)

SCHEMA_PATH = Path(__file__).with_name("sonar_schema.graphql")

ROOT_FIELDS: tuple[str, ...] = (
    "companies", "users", "roles", "account_groups", "account_types", "account_statuses",
    "services", "data_service_details", "supernets", "subnets", "ip_pools", "ip_assignments",
    "inventory_locations", "manufacturers", "vendors", "inventory_model_categories", "inventory_models",
    "inventory_model_fields", "inventory_items", "inventory_model_field_data", "custom_fields",
    "custom_field_data", "accounts", "contacts", "phone_numbers", "phone_number_types", "addresses",
    "account_services", "account_billing_parameters", "logs", "radius_accounts", "uninventoried_mac_addresses",
    "recurring_service_details", "voice_service_details", "expiring_service_details", "voice_providers", "dids",
    "did_assignments", "network_sites", "taxes", "service_taxes", "packages", "package_services",
    "vehicles", "core_transactions", "payments", "notes", "invoices", "debits", "tickets", "ticket_replies",
    "ticket_comments", "ticket_groups",
)  # fmt: skip
"""Root query fields the simulator serves (all return `<Type>Connection!`).

`core_transactions` is the odd one: the real field takes only `account_id` and `paginator` (no search or
sorter), which the pruner keeps as they are."""

RELATIONS: dict[str, tuple[str, ...]] = {
    "Account": (
        "account_status", "account_type", "company", "account_billing_parameter", "contacts", "addresses",
        "account_services", "ip_assignments", "account_groups", "custom_field_data", "radius_accounts",
        "uninventoried_mac_addresses", "did_assignments",
    ),
    "AccountBillingParameter": ("delinquency_account_status",),
    "Contact": ("phone_numbers",),
    "PhoneNumber": ("phone_number_type",),
    "Address": ("inventory_items",),
    "AccountService": ("service", "inventory_items", "package"),
    "Package": ("package_services",),
    "PackageService": ("package", "service"),
    "Service": ("recurring_service_detail", "expiring_service_detail", "data_service_detail", "voice_service_detail",
                "service_taxes"),
    "ServiceTax": ("tax",),
    "DataServiceDetail": ("service",),
    "RecurringServiceDetail": ("service",),
    "VoiceServiceDetail": ("service",),
    "ExpiringServiceDetail": ("service",),
    "VoiceProvider": ("dids",),
    "Did": ("voice_provider", "did_assignments"),
    "DidAssignment": ("did", "account", "service"),
    "RadiusAccount": ("ip_assignments",),
    "UninventoriedMacAddress": ("ip_assignments",),
    "Supernet": ("subnets",),
    "Subnet": ("supernet", "ip_pools", "ip_assignments"),
    "IpPool": ("subnet", "ip_assignments"),
    "IpAssignment": ("ip_pool", "parent_subnet"),
    "InventoryLocation": ("addresses", "inventory_items"),
    "Vendor": ("addresses", "contacts"),
    "NetworkSite": ("addresses", "ip_assignments", "inventory_items"),
    "Vehicle": ("inventory_items",),
    "InventoryModel": ("manufacturer", "inventory_model_category", "default_vendor", "inventory_model_fields"),
    "InventoryItem": ("inventory_model", "inventory_model_field_data", "ip_assignments"),
    "InventoryModelFieldData": ("inventory_model_field",),
    "CustomFieldData": ("custom_field",),
    "User": ("role", "inventory_items"),
    "Transaction": ("account", "payment", "debit"),  # not discount: its detail type is not served
    "Invoice": ("account", "debits"),
    "Debit": ("account", "invoice"),
    "Note": ("user",),  # not `noteable`: a NoteableInterface, and the pruner serves no interfaces
    "Ticket": ("ticket_group", "user", "ticket_replies", "ticket_comments"),  # not `ticketable`: an interface
    "TicketReply": ("ticket", "user"),
    "TicketComment": ("ticket", "user"),
}  # fmt: skip
"""Object-valued fields kept per type (every scalar/enum field of a kept type is kept)."""

DROPPED_ARGUMENTS = frozenset({"aggregation", "general_search_mode", "valid_for_account_id"})
"""Real arguments the simulator does not implement: dropped rather than silently ignored.

`valid_for_account_id` (on `packages` and `package`) is Sonar's "packages this account may take", a rule
the real schema does not spell out."""

DROPPED_FIELDS = {"Search": frozenset({"ip_address_fields", "geopoint_fields"})}
"""Input fields not implemented (connections lose `aggregations` in `_prune_object`)."""


def _named(type_node: TypeNode) -> str:
    """The name under list/non-null wrappers."""
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value


class _Pruner:
    """Walks the real SDL from the root fields and keeps only what the simulator serves."""

    def __init__(self, document: DocumentNode) -> None:
        self.definitions: dict[str, DefinitionNode] = {
            d.name.value: d for d in document.definitions if hasattr(d, "name")
        }
        self.kept: dict[str, DefinitionNode] = {}

    def keep(self, name: str) -> None:
        """Keep one named type (pruned) and, transitively, every type it references."""
        if name in self.kept or name in {"String", "Int", "Float", "Boolean", "ID"}:
            return
        node = self.definitions[name]
        if isinstance(node, ObjectTypeDefinitionNode):
            node = self._prune_object(node)
        elif isinstance(node, InputObjectTypeDefinitionNode):
            dropped = DROPPED_FIELDS.get(name, frozenset())
            fields = tuple(f for f in node.fields or () if f.name.value not in dropped)
            node = InputObjectTypeDefinitionNode(name=node.name, fields=fields, directives=())
        elif not isinstance(node, EnumTypeDefinitionNode | ScalarTypeDefinitionNode):
            raise ValueError(f"type {name} is a {node.kind}; only objects, inputs, enums and scalars are served")
        self.kept[name] = node
        for field in getattr(node, "fields", None) or ():
            self.keep(_named(field.type))
            for arg in getattr(field, "arguments", None) or ():
                self.keep(_named(arg.type))

    def _prune_object(self, node: ObjectTypeDefinitionNode) -> ObjectTypeDefinitionNode:
        name = node.name.value
        by_name = {f.name.value: f for f in node.fields or ()}
        if name == "Query":
            wanted = list(ROOT_FIELDS)
        elif name.endswith("Connection"):
            wanted = ["entities", "page_info"]
        else:
            leaves = [f for f in by_name if self._is_leaf(by_name[f])]
            wanted = leaves + list(RELATIONS.get(name, ()))
        missing = [f for f in wanted if f not in by_name]
        if missing:
            raise ValueError(f"the real schema has no field(s) {missing} on {name}")
        fields = tuple(self._prune_field(by_name[f]) for f in wanted)
        return ObjectTypeDefinitionNode(name=node.name, fields=fields, interfaces=(), directives=())

    def _is_leaf(self, field: FieldDefinitionNode) -> bool:
        node = self.definitions.get(_named(field.type))
        return node is None or isinstance(node, EnumTypeDefinitionNode | ScalarTypeDefinitionNode)

    @staticmethod
    def _prune_field(field: FieldDefinitionNode) -> FieldDefinitionNode:
        args: tuple[InputValueDefinitionNode, ...] = tuple(
            a for a in field.arguments or () if a.name.value not in DROPPED_ARGUMENTS
        )
        return FieldDefinitionNode(name=field.name, arguments=args, type=field.type, directives=())


def prune_sdl(real_sdl: str) -> str:
    """Return the simulator's SDL: the real schema cut down to `ROOT_FIELDS` and `RELATIONS`."""
    pruner = _Pruner(parse(real_sdl, no_location=True))
    pruner.keep("Query")
    ordered = sorted(pruner.kept.values(), key=lambda d: (d.kind, d.name.value))  # type: ignore[attr-defined]
    header = "# Generated by etl/sandbox/sonar_schema.py from shared/api/sonar.graphql; do not edit.\n\n"
    return header + print_ast(DocumentNode(definitions=tuple(ordered))) + "\n"


def _parse_int64(value: Any) -> int:
    """Int64Bit input: Sonar accepts ids as integers or as strings of digits."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise GraphQLError(f"Int64Bit cannot represent a non 64-bit integer value: {value!r}")
    return int(value)


def _parse_int64_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int:
    if not isinstance(node, IntValueNode | StringValueNode):
        raise GraphQLError(f"Int64Bit cannot represent a non 64-bit integer value: {print_ast(node)}")
    return _parse_int64(node.value)


@lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    """Build the committed pruned schema once per process, with Sonar's Int64Bit behaviour.

    Int64Bit is "always output as a string, so that it can be handled properly in Javascript" (the real
    schema's words), and accepted as an integer or a string on input.
    """
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    int64 = schema.type_map["Int64Bit"]
    assert isinstance(int64, GraphQLScalarType)
    int64.serialize = lambda value: str(int(value))  # type: ignore[method-assign]
    int64.parse_value = _parse_int64  # type: ignore[method-assign]
    int64.parse_literal = _parse_int64_literal  # type: ignore[method-assign,assignment]
    return schema


def main(argv: list[str]) -> int:
    """Regenerate `sonar_schema.graphql` from the real SDL given on the command line."""
    if len(argv) != 1:
        print("usage: python -m etl.sandbox.sonar_schema PATH/TO/sonar.graphql", file=sys.stderr)
        return 2
    SCHEMA_PATH.write_text(prune_sdl(Path(argv[0]).read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
