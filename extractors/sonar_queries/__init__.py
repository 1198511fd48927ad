"""The Sonar GraphQL queries, one `.graphql` file per entity, and the variables that steer them.

Why files and not strings in code: a query file can be read, diffed and validated against the real
schema by a test (tests/test_sonar_queries_contract.py) on its own. Why the id-only queries are
derived from those files instead of written twice: the fixed arguments (e.g. `type: DATA` on services)
must be the same for a full fetch, an id scan and a count, or the three would disagree.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
)

QUERY_DIR = Path(__file__).resolve().parent

ROOT_FIELDS: dict[str, str] = {
    "company": "companies",
    "role": "roles",
    "user": "users",
    "account_group": "account_groups",
    "account_status": "account_statuses",
    "account_type": "account_types",
    "custom_field": "custom_fields",
    "service": "services",
    "package": "packages",
    "supernet": "supernets",
    "subnet": "subnets",
    "ip_pool": "ip_pools",
    "network_site": "network_sites",
    "inventory_location": "inventory_locations",
    "vehicle": "vehicles",
    "user_stock": "users",
    "network_site_stock": "network_sites",
    "manufacturer": "manufacturers",
    "vendor": "vendors",
    "inventory_model_category": "inventory_model_categories",
    "inventory_model": "inventory_models",
    "inventory_item": "inventory_items",
    "account": "accounts",
    "inventory_assignment": "inventory_items",
    "account_package": "account_services",
    "account_service": "account_services",
    "radius_account": "radius_accounts",
    "ip_assignment": "ip_assignments",
    "account_balance": "core_transactions",
    "account_invoice": "invoices",
    "account_transaction": "core_transactions",
    "account_payment": "payments",
    "account_note": "notes",
    "ticket": "tickets",
    "ticket_reply": "ticket_replies",
    "ticket_comment": "ticket_comments",
}
"""Ledger entity name (names.md) -> Sonar root query field, in phase order."""

PER_ACCOUNT = frozenset({"account_balance", "account_transaction"})
"""Entities read one account at a time (`core_transactions(account_id)`: no search, no sorter), both from one
read of each account: extractors/sonar_balances.py reads them, not the keyset paging of the others. One
balance record per account; one record per debit or discount."""

SHARED_QUERIES: dict[str, str] = {"account_transaction": "account_balance"}
"""Entities read by another entity's query file (the same read serves both)."""

CHANGED_CHILDREN: dict[str, tuple[str, str]] = {
    "changed_contacts": ("contacts", "contactable_id"),
    "changed_addresses": ("addresses", "addressable_id"),
    "changed_billing_parameters": ("account_billing_parameters", "account_id"),
    "changed_custom_field_data": ("custom_field_data", "customfielddataable_id"),
    "changed_account_services": ("account_services", "account_id"),
    "changed_ip_assignments": ("ip_assignments", "ipassignmentable_id"),
    "changed_phone_numbers": ("phone_numbers", "contact_id"),
    "changed_radius_accounts": ("radius_accounts", "account_id"),
    "changed_uninventoried_mac_addresses": ("uninventoried_mac_addresses", "account_id"),
    "changed_payments": ("payments", "account_id"),
    "changed_invoices": ("invoices", "account_id"),
    "changed_notes": ("notes", "noteable_id"),
    "changed_tickets": ("tickets", "ticketable_id"),
    "changed_did_assignments": ("did_assignments", "account_id"),
}
"""Incremental runs: query -> (root field, column leading to the account; a phone number's to its contact).

Why: Sonar bumps a child's own `updated_at` when it changes, not its account's (docs/fidelity.md, Sonar),
so an account whose contact or service changed is found through the child.
"""

ITEM_TO_ACCOUNT = (("changed_item_services", "account_service_id"), ("changed_account_services", "account_id"))
CHANGED_HELD: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "changed_radius_held_ips": ("ip_assignments", "ipassignmentable_id", (("changed_radius_accounts", "account_id"),)),
    "changed_mac_held_ips": (
        "ip_assignments", "ipassignmentable_id", (("changed_uninventoried_mac_addresses", "account_id"),)
    ),
    "changed_item_held_ips": ("ip_assignments", "ipassignmentable_id", ITEM_TO_ACCOUNT),
    "changed_cpe_fields": ("inventory_model_field_data", "inventory_item_id", ITEM_TO_ACCOUNT),
}  # fmt: skip
"""Incremental runs: a query of what a service's RADIUS account, MAC or CPE holds (its IPs, a CPE's MAC
field), changed since the watermark -> (root field, the column naming the holder, the hops from the holder
to its account, each `(query read by id, column to follow)`)."""
HOLDER_QUERIES: dict[str, str] = {
    "changed_item_services": "inventory_items",
    "account_macs": "uninventoried_mac_addresses",
}
"""Auxiliary queries of a hop that are not changed-children queries themselves -> their root field; and the
MACs of a customer selection's accounts, whose IPs it reads (`account_macs`)."""

LOGGED_CHANGES: dict[str, str] = {
    "logged_deletions": "DELETED",
    "logged_detachments": "DETACHED",
    "logged_attachments": "ATTACHED",
}
"""Incremental runs: query -> the `LogType` it reads from Sonar's audit log (root `logs`).

Why: a deleted contact, address, phone number, custom-field value, IP assignment or service leaves no
record with an `updated_at`, and joining or leaving an account group changes none; the audit log records
both (docs/fidelity.md, "`updated_at` of children"). `logged_subject` says which account an entry concerns.
"""

LOG_ACCOUNT_CLASS = "Account"
LOG_CONTACT_CLASS = "Contact"
"""Class names in `Log.loggable_type` / `logged_entity_type` that lead to an account (compared exactly)."""

FOLDS: dict[str, str] = {
    "account_service_accounts": "accounts",
    "account_package_accounts": "accounts",
    "inventory_assignment_addresses": "addresses",
    "inventory_assignment_services": "account_services",
    "radius_account_passwords": "radius_accounts",
    "ip_assignment_radius": "radius_accounts",
    "ip_assignment_macs": "uninventoried_mac_addresses",
    "ip_assignment_items": "inventory_items",
    "ip_assignment_accounts": "accounts",
}
"""Queries that enrich an entity rather than define one -> their root field: an account service's account
status, IPs, RADIUS accounts and MACs, an account package's members, the address or service that names an
inventory item's account, what holds an IP assignment and that holder's account, and (at load time) the RADIUS
passwords staging never holds."""

AUXILIARY_QUERIES = (*FOLDS, *CHANGED_CHILDREN, *CHANGED_HELD, *HOLDER_QUERIES, *LOGGED_CHANGES)
"""Queries that enrich an entity (FOLDS) or find accounts whose children changed or went (incremental runs)."""

ARCHIVABLE = frozenset({"account", "account_service_accounts", "account_package_accounts", "ip_assignment_accounts"})
"""Entities whose root field takes `include_archived`."""

PRESENT: dict[str, tuple[str, ...]] = {"account_package": ("unique_package_relationship_id",)}
"""Entities read from a root field that holds more: the attributes their records have set (Search `exists`).

Why: an account package is read from `account_services` (account_package.graphql); without the filter every
account service would be fetched to keep the few in a package.
"""

GROUPED = frozenset({"account_package"})
"""Entities whose records are groups of the root field's: Sonar's count says how many members, not groups."""

UNCOUNTED = GROUPED | {"account_transaction", "account_note", "ticket", "ticket_reply", "ticket_comment"}
"""Entities with no count before they are read (progress shows no total): groups, an account's debits and
discounts (`core_transactions` has no filter by type), account notes (`notes` counts every noteable's), and
tickets with their replies and comments (`tickets` counts network sites' too)."""

MAX_SEARCHES = 240
"""How many `Search` objects (OR'ed) one request carries at most; id lists are batched below this."""


def entities() -> tuple[str, ...]:
    """Every entity the extractor knows, in phase order."""
    return tuple(ROOT_FIELDS)


def _check(name: str) -> None:
    if name not in ROOT_FIELDS and name not in AUXILIARY_QUERIES:
        from etl.errors import ConfigError

        known = ", ".join(ROOT_FIELDS)
        raise ConfigError(f"unknown Sonar entity {name!r}", fix=f"use one of {known}")


@cache
def query_text(name: str) -> str:
    """The text of one query file (an entity name or an auxiliary query name)."""
    _check(name)
    return (QUERY_DIR / f"{SHARED_QUERIES.get(name, name)}.graphql").read_text(encoding="utf-8")


@cache
def document(name: str) -> DocumentNode:
    """The parsed query of an entity (parsed once per process)."""
    return parse(query_text(name))


def _root_field(doc: DocumentNode) -> FieldNode:
    operation = doc.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    root = operation.selection_set.selections[0]
    assert isinstance(root, FieldNode)
    return root


@cache
def id_document(entity: str) -> DocumentNode:
    """The entity's query with `entities { id }` only: for id scans and counts.

    Derived from the entity's file so its fixed arguments (filters like `type: DATA`) are identical.
    """
    doc = parse(query_text(entity))  # a fresh tree to edit; the cached one stays intact
    operation = doc.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    operation.name = NameNode(value=f"{entity}_ids")
    root = _root_field(doc)
    assert root.selection_set is not None
    for selection in root.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == "entities":
            selection.selection_set = SelectionSetNode(
                selections=(FieldNode(name=NameNode(value="id"), arguments=(), directives=()),)
            )
    return doc


def _nested_fields(name: str) -> dict[str, FieldNode]:
    """The to-many relations selected inside an entity's records: fields whose selection has `entities`."""
    root = _root_field(document(name))
    assert root.selection_set is not None
    found: dict[str, FieldNode] = {}
    for outer in root.selection_set.selections:
        if not (isinstance(outer, FieldNode) and outer.name.value == "entities" and outer.selection_set):
            continue
        for inner in outer.selection_set.selections:
            subs = inner.selection_set.selections if isinstance(inner, FieldNode) and inner.selection_set else ()
            names = {s.name.value for s in subs if isinstance(s, FieldNode)}
            if isinstance(inner, FieldNode) and "entities" in names:
                found[inner.name.value] = inner
    return found


@cache
def nested_connections(name: str) -> tuple[str, ...]:
    """Names of the nested connections an entity's query reads (e.g. an account's `contacts`)."""
    return tuple(_nested_fields(name))


@cache
def nested_page_document(name: str, connection: str) -> DocumentNode:
    """One parent's nested connection, page `$nested` of it: for lists longer than one nested page.

    Derived from the entity's file, so the records of page 2 have exactly the fields of page 1.
    """
    node = copy.deepcopy(_nested_fields(name)[connection])
    others = tuple(a for a in node.arguments if a.name.value != "paginator")
    node.arguments = (
        *others,
        ArgumentNode(name=NameNode(value="paginator"), value=VariableNode(name=NameNode(value="nested"))),
    )
    archived = name in ARCHIVABLE
    declared = ", $include_archived: Boolean" if archived else ""
    passed = ", include_archived: $include_archived" if archived else ""
    root = _root_field(document(name)).name.value
    return parse(
        f"query {name}_{connection}_page($search: [Search], $nested: Paginator!{declared}) {{\n"
        f"  {root}(search: $search, paginator: {{page: 1, records_per_page: 1}}{passed}) {{\n"
        f"    page_info {{ total_count }}\n    entities {{ id {print_ast(node)} }}\n  }}\n}}"
    )


def id_query_text(entity: str) -> str:
    """The id-only query as text (for the contract test and for reading)."""
    return print_ast(id_document(entity))


def root_field(entity: str) -> str:
    """The Sonar root field an entity's query reads."""
    _check(entity)
    if entity in CHANGED_CHILDREN:
        return CHANGED_CHILDREN[entity][0]
    if entity in CHANGED_HELD:
        return CHANGED_HELD[entity][0]
    if entity in HOLDER_QUERIES:
        return HOLDER_QUERIES[entity]
    if entity in LOGGED_CHANGES:
        return "logs"
    return ROOT_FIELDS.get(entity) or FOLDS[entity]


def class_name(type_text: object) -> str:
    r"""The last segment of a logged type: `App\Models\Account` and `Account` both give `Account`.

    Why: the exact text Sonar stores in `loggable_type` is unknown (a Laravel class name or a morph alias);
    the class name at its end is what both forms share.
    """
    return re.split(r"[\\/.]", str(type_text or ""))[-1]


def logged_subject(log: dict[str, Any]) -> tuple[str, str] | None:
    """Which account, or contact of an account, one audit log entry concerns; None for any other.

    `loggable` is read as whose history the entry belongs to (the account a contact was deleted from, the
    contact a phone number was), `logged_entity` as the record it is about (the contact, the group left):
    a guess (docs/fidelity.md). An entry on a group about an account (the group's side of a membership)
    concerns that account too.
    """
    loggable, entity = class_name(log.get("loggable_type")), class_name(log.get("logged_entity_type"))
    if loggable == LOG_ACCOUNT_CLASS and log.get("loggable_id") is not None:
        return "account", str(log["loggable_id"])
    if entity == LOG_ACCOUNT_CLASS and log.get("logged_entity_id") is not None:
        return "account", str(log["logged_entity_id"])
    if loggable == LOG_CONTACT_CLASS and log.get("loggable_id") is not None:
        return "contact", str(log["loggable_id"])
    return None


# --- variables -------------------------------------------------------------------------------


def _eq(attribute: str, value: str) -> dict[str, Any]:
    return {"attribute": attribute, "search_value": str(value), "operator": "EQ"}


def at_or_after(column: str, moment: datetime) -> list[list[dict[str, Any]]]:
    """One alternative, "`column` at or after `moment`" (`GTE`), as `build_searches(dates=...)` takes it."""
    return [[{"attribute": column, "search_value": moment.isoformat(), "operator": "GTE"}]]


def date_window(since: datetime | None, until: datetime | None) -> list[list[dict[str, Any]]]:
    """Alternatives (OR'ed) for "created or updated within [since, until]"."""
    if since is None and until is None:
        return [[]]
    alternatives = []
    for column in ("created_at", "updated_at"):
        conditions = []
        if since is not None:
            conditions.append({"attribute": column, "search_value": since.isoformat(), "operator": "GTE"})
        if until is not None:
            conditions.append({"attribute": column, "search_value": until.isoformat(), "operator": "LTE"})
        alternatives.append(conditions)
    return alternatives


def build_searches(
    *,
    matches: Sequence[tuple[str, str]] = (),
    status_ids: Sequence[str] = (),
    dates: Sequence[Sequence[dict[str, Any]]] = ((),),
    after_id: str | None = None,
    present: Sequence[str] = (),
) -> list[dict[str, Any]] | None:
    """Sonar `search` variable: the cross product of the alternatives, each one `Search` object.

    Why a cross product: inside one `Search` conditions are AND'ed, between `Search` objects OR'ed, so
    "(id 1 or id 2) and (status 3 or 4) and created-or-updated in the window" is every combination.

    Args:
        matches: (column, value) equality alternatives, e.g. the requested ids.
        status_ids: account status id alternatives.
        dates: datetime condition alternatives (from `date_window`).
        after_id: keyset position: only records with a larger id (added to every alternative).
        present: attributes the records must have set (`exists`, added to every alternative).
    """
    match_alts = [[_eq(column, value)] for column, value in matches] or [[]]
    status_alts = [[_eq("account_status_id", s)] for s in status_ids] or [[]]
    after = [{"attribute": "id", "search_value": str(after_id), "operator": "GT"}] if after_id else []
    searches = []
    for match, status, when in product(match_alts, status_alts, dates):
        search: dict[str, Any] = {}
        integers = [*match, *status, *after]
        if integers:
            search["integer_fields"] = integers
        if when:
            search["datetime_fields"] = list(when)
        if present:
            search["exists"] = list(present)
        if search:
            searches.append(search)
    return searches or None


def batches(values: Iterable[str], size: int) -> Iterable[list[str]]:
    """Split values into lists of at most `size` (ids per request)."""
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def ids_per_request(status_count: int, date_alternatives: int) -> int:
    """How many ids fit one request so the cross product stays under MAX_SEARCHES."""
    return max(1, MAX_SEARCHES // (max(1, status_count) * max(1, date_alternatives)))


__all__ = [
    "ARCHIVABLE",
    "LOGGED_CHANGES",
    "ROOT_FIELDS",
    "at_or_after",
    "batches",
    "build_searches",
    "date_window",
    "document",
    "entities",
    "id_document",
    "id_query_text",
    "ids_per_request",
    "logged_subject",
    "query_text",
    "root_field",
]
