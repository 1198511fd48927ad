"""The Sonar simulator's in-memory data: tables of records, their relations, and the mutations tests make.

Why records are plain dicts that hold only what differs from a per-table default: 100 000 customers mean
about a million records, and storing every constant column (billing parameters alone have 29) in every
record would cost gigabytes. `value()` applies the defaults, so readers never see the difference.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError, get_named_type, is_enum_type, is_leaf_type

from etl.sandbox.sonar_query import Record, parse_datetime
from etl.sandbox.sonar_schema import load_schema

TYPE_TABLE: dict[str, str] = {
    "Company": "companies", "User": "users", "Role": "roles", "AccountGroup": "account_groups",
    "AccountType": "account_types", "AccountStatus": "account_statuses", "Service": "services",
    "DataServiceDetail": "data_service_details", "Supernet": "supernets", "Subnet": "subnets",
    "IpPool": "ip_pools", "IpAssignment": "ip_assignments", "InventoryLocation": "inventory_locations",
    "Manufacturer": "manufacturers", "Vendor": "vendors", "InventoryModelCategory": "inventory_model_categories",
    "InventoryModel": "inventory_models", "InventoryModelField": "inventory_model_fields",
    "InventoryItem": "inventory_items", "InventoryModelFieldData": "inventory_model_field_data",
    "CustomField": "custom_fields", "CustomFieldData": "custom_field_data", "Account": "accounts",
    "Contact": "contacts", "PhoneNumber": "phone_numbers", "PhoneNumberType": "phone_number_types",
    "Address": "addresses", "AccountService": "account_services",
    "AccountBillingParameter": "account_billing_parameters", "Log": "logs", "RadiusAccount": "radius_accounts",
    "UninventoriedMacAddress": "uninventoried_mac_addresses", "RecurringServiceDetail": "recurring_service_details",
    "VoiceServiceDetail": "voice_service_details", "ExpiringServiceDetail": "expiring_service_details",
    "VoiceProvider": "voice_providers", "Did": "dids", "DidAssignment": "did_assignments",
    "NetworkSite": "network_sites", "Tax": "taxes", "ServiceTax": "service_taxes", "Package": "packages",
    "PackageService": "package_services", "Vehicle": "vehicles", "Transaction": "core_transactions",
    "Payment": "payments", "Note": "notes", "Invoice": "invoices", "Debit": "debits", "Ticket": "tickets",
    "TicketReply": "ticket_replies", "TicketComment": "ticket_comments", "TicketGroup": "ticket_groups",
}  # fmt: skip
"""GraphQL object type -> table (the root query field of the same name)."""

TABLE_TYPE = {table: type_name for type_name, table in TYPE_TABLE.items()}
MEMBERSHIPS = "account_group_members"
"""Hidden join table {account_id, account_group_id}: Sonar's account <-> group many-to-many."""

_UNIQUE_ID_NAMESPACE = uuid.UUID("6f1c1b1e-5d0a-4c56-9a53-3f6a2c1d0b7e")


@dataclass(frozen=True)
class Link:
    """How a GraphQL relation field finds its records: `target.remote == parent.local` (+ fixed `where`)."""

    target: str
    local: str
    remote: str
    many: bool = False
    where: tuple[tuple[str, str], ...] = ()
    through: str | None = None  # a join table: parent.id == join.local_key, join.<remote> -> target.id


def _one(target: str, local: str) -> Link:
    return Link(target, local, "id")


def _many(target: str, remote: str, morph: tuple[str, str] | None = None) -> Link:
    return Link(target, "id", remote, many=True, where=(morph,) if morph else ())


LINKS: dict[tuple[str, str], Link] = {
    ("Account", "account_status"): _one("account_statuses", "account_status_id"),
    ("Account", "account_type"): _one("account_types", "account_type_id"),
    ("Account", "company"): _one("companies", "company_id"),
    ("Account", "account_billing_parameter"): Link("account_billing_parameters", "id", "account_id"),
    ("Account", "contacts"): _many("contacts", "contactable_id", ("contactable_type", "Account")),
    ("Account", "addresses"): _many("addresses", "addressable_id", ("addressable_type", "Account")),
    ("Account", "account_services"): _many("account_services", "account_id"),
    ("Account", "ip_assignments"): _many("ip_assignments", "ipassignmentable_id", ("ipassignmentable_type", "Account")),
    ("Account", "account_groups"): Link("account_groups", "id", "account_id", many=True, through=MEMBERSHIPS),
    ("Account", "custom_field_data"): _many(
        "custom_field_data", "customfielddataable_id", ("customfielddataable_type", "Account")
    ),
    ("Account", "radius_accounts"): _many("radius_accounts", "account_id"),
    ("Account", "uninventoried_mac_addresses"): _many("uninventoried_mac_addresses", "account_id"),
    ("Account", "did_assignments"): _many("did_assignments", "account_id"),
    ("AccountBillingParameter", "delinquency_account_status"): _one(
        "account_statuses", "delinquency_account_status_id"
    ),
    ("Contact", "phone_numbers"): _many("phone_numbers", "contact_id"),
    ("PhoneNumber", "phone_number_type"): _one("phone_number_types", "phone_number_type_id"),
    ("Address", "inventory_items"): _many(
        "inventory_items", "inventoryitemable_id", ("inventoryitemable_type", "Address")
    ),
    ("AccountService", "service"): _one("services", "service_id"),
    ("AccountService", "inventory_items"): _many("inventory_items", "account_service_id"),
    ("AccountService", "package"): _one("packages", "package_id"),
    ("Package", "package_services"): _many("package_services", "package_id"),
    ("PackageService", "package"): _one("packages", "package_id"),
    ("PackageService", "service"): _one("services", "service_id"),
    ("Service", "data_service_detail"): Link("data_service_details", "id", "service_id"),
    ("Service", "recurring_service_detail"): Link("recurring_service_details", "id", "service_id"),
    ("Service", "voice_service_detail"): Link("voice_service_details", "id", "service_id"),
    ("Service", "expiring_service_detail"): Link("expiring_service_details", "id", "service_id"),
    ("Service", "service_taxes"): _many("service_taxes", "service_id"),
    ("ServiceTax", "tax"): _one("taxes", "tax_id"),
    ("DataServiceDetail", "service"): _one("services", "service_id"),
    ("RecurringServiceDetail", "service"): _one("services", "service_id"),
    ("VoiceServiceDetail", "service"): _one("services", "service_id"),
    ("ExpiringServiceDetail", "service"): _one("services", "service_id"),
    ("VoiceProvider", "dids"): _many("dids", "voice_provider_id"),
    ("Did", "voice_provider"): _one("voice_providers", "voice_provider_id"),
    ("Did", "did_assignments"): _many("did_assignments", "did_id"),
    ("DidAssignment", "did"): _one("dids", "did_id"),
    ("DidAssignment", "account"): _one("accounts", "account_id"),
    ("DidAssignment", "service"): _one("services", "service_id"),
    ("RadiusAccount", "ip_assignments"): _many(
        "ip_assignments", "ipassignmentable_id", ("ipassignmentable_type", "RadiusAccount")
    ),
    ("UninventoriedMacAddress", "ip_assignments"): _many(
        "ip_assignments", "ipassignmentable_id", ("ipassignmentable_type", "UninventoriedMacAddress")
    ),
    ("Supernet", "subnets"): _many("subnets", "supernet_id"),
    ("Subnet", "supernet"): _one("supernets", "supernet_id"),
    ("Subnet", "ip_pools"): _many("ip_pools", "subnet_id"),
    ("Subnet", "ip_assignments"): _many("ip_assignments", "subnet_id"),
    ("IpPool", "subnet"): _one("subnets", "subnet_id"),
    ("IpPool", "ip_assignments"): _many("ip_assignments", "ip_pool_id"),
    ("IpAssignment", "ip_pool"): _one("ip_pools", "ip_pool_id"),
    ("IpAssignment", "parent_subnet"): _one("subnets", "subnet_id"),
    ("InventoryLocation", "addresses"): _many("addresses", "addressable_id", ("addressable_type", "InventoryLocation")),
    ("InventoryLocation", "inventory_items"): _many(
        "inventory_items", "inventoryitemable_id", ("inventoryitemable_type", "InventoryLocation")
    ),
    ("Vendor", "addresses"): _many("addresses", "addressable_id", ("addressable_type", "Vendor")),
    ("Vendor", "contacts"): _many("contacts", "contactable_id", ("contactable_type", "Vendor")),
    ("NetworkSite", "addresses"): _many("addresses", "addressable_id", ("addressable_type", "NetworkSite")),
    ("NetworkSite", "ip_assignments"): _many(
        "ip_assignments", "ipassignmentable_id", ("ipassignmentable_type", "NetworkSite")
    ),
    ("NetworkSite", "inventory_items"): _many(
        "inventory_items", "inventoryitemable_id", ("inventoryitemable_type", "NetworkSite")
    ),
    ("User", "inventory_items"): _many("inventory_items", "inventoryitemable_id", ("inventoryitemable_type", "User")),
    ("Vehicle", "inventory_items"): _many(
        "inventory_items", "inventoryitemable_id", ("inventoryitemable_type", "Vehicle")
    ),
    ("InventoryModel", "manufacturer"): _one("manufacturers", "manufacturer_id"),
    ("InventoryModel", "inventory_model_category"): _one("inventory_model_categories", "inventory_model_category_id"),
    ("InventoryModel", "default_vendor"): _one("vendors", "default_vendor_id"),
    ("InventoryModel", "inventory_model_fields"): _many("inventory_model_fields", "inventory_model_id"),
    ("InventoryItem", "inventory_model"): _one("inventory_models", "inventory_model_id"),
    ("InventoryItem", "inventory_model_field_data"): _many("inventory_model_field_data", "inventory_item_id"),
    ("InventoryItem", "ip_assignments"): _many(
        "ip_assignments", "ipassignmentable_id", ("ipassignmentable_type", "InventoryItem")
    ),
    ("InventoryModelFieldData", "inventory_model_field"): _one("inventory_model_fields", "inventory_model_field_id"),
    ("CustomFieldData", "custom_field"): _one("custom_fields", "custom_field_id"),
    ("User", "role"): _one("roles", "role_id"),
    ("Transaction", "account"): _one("accounts", "account_id"),
    ("Transaction", "payment"): _one("payments", "payment_id"),  # a column the schema does not show
    ("Transaction", "debit"): _one("debits", "debit_id"),  # hidden too, as payment_id
    ("Invoice", "account"): _one("accounts", "account_id"),
    ("Invoice", "debits"): _many("debits", "invoice_id"),
    ("Debit", "account"): _one("accounts", "account_id"),
    ("Debit", "invoice"): _one("invoices", "invoice_id"),
    ("Note", "user"): _one("users", "user_id"),
    ("Ticket", "ticket_group"): _one("ticket_groups", "ticket_group_id"),
    ("Ticket", "user"): _one("users", "user_id"),
    ("Ticket", "ticket_replies"): _many("ticket_replies", "ticket_id"),
    ("Ticket", "ticket_comments"): _many("ticket_comments", "ticket_id"),
    ("TicketReply", "ticket"): _one("tickets", "ticket_id"),
    ("TicketReply", "user"): _one("users", "user_id"),
    ("TicketComment", "ticket"): _one("tickets", "ticket_id"),
    ("TicketComment", "user"): _one("users", "user_id"),
}  # fmt: skip
"""Every relation field of the pruned schema, mapped onto the tables."""

_KINDS = {"Int": "integer", "Int64Bit": "integer", "Float": "float", "Boolean": "boolean",
          "Datetime": "datetime", "Date": "date"}  # fmt: skip


def _column_kinds() -> dict[str, dict[str, str]]:
    """Per table, each scalar/enum column and how it compares (from the schema, so they cannot drift)."""
    schema = load_schema()
    kinds: dict[str, dict[str, str]] = {}
    for type_name, table in TYPE_TABLE.items():
        fields = schema.type_map[type_name].fields  # type: ignore[attr-defined]
        kinds[table] = {}
        for name, field in fields.items():
            leaf = get_named_type(field.type)
            if is_leaf_type(leaf):
                kinds[table][name] = "string" if is_enum_type(leaf) else _KINDS.get(leaf.name, "string")
    return kinds


def _hidden_columns(kinds: dict[str, dict[str, str]]) -> dict[str, frozenset[str]]:
    """Per table, the columns its to-one relations read that its GraphQL type does not show.

    Why: Sonar's `Transaction` has a `payment` but no `payment_id`; the store still needs the key, and
    `insert` must accept it while refusing every other column the schema lacks.
    """
    hidden: dict[str, set[str]] = {}
    for (type_name, _relation), link in LINKS.items():
        table = TYPE_TABLE[type_name]
        if not link.many and link.local not in kinds[table]:
            hidden.setdefault(table, set()).add(link.local)
    return {table: frozenset(columns) for table, columns in hidden.items()}


def format_datetime(moment: datetime) -> str:
    """Sonar's Datetime form: ISO-8601 with an offset, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class SonarStore:
    """Tables of records behind one lock; the GraphQL resolvers read it, tests mutate it between runs."""

    def __init__(
        self,
        tables: dict[str, dict[int, Record]],
        defaults: dict[str, Record],
        problem_account_ids: dict[str, int],
    ) -> None:
        self.tables = tables
        self.defaults = defaults
        self.problem_account_ids = problem_account_ids
        self.lock = threading.RLock()
        self._kinds = _column_kinds()
        self._hidden = _hidden_columns(self._kinds)
        self._indexes: dict[tuple[str, str], dict[Any, list[Record]]] = {}
        self._clock = max(
            (parse_datetime(r["updated_at"]) for r in tables["accounts"].values()),
            default=datetime(2025, 1, 1, tzinfo=UTC),
        )

    # -- reading (the query engine's RecordSource) -------------------------------------------------

    def value(self, table: str, record: Record, column: str) -> Any:
        """A column's value: the record's own, else the table default; `sonar_unique_id` is derived."""
        if column in record:
            return record[column]
        if column == "sonar_unique_id":
            return str(uuid.uuid5(_UNIQUE_ID_NAMESPACE, f"{table}:{record['id']}"))
        return self.defaults.get(table, {}).get(column)

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> comparison kind for a table."""
        return self._kinds[table]

    def related(self, table: str, record: Record, relation: str) -> tuple[str, list[Record]]:
        """Follow a relation field of the table's GraphQL type from one record."""
        link = LINKS.get((TABLE_TYPE[table], relation))
        if link is None:
            raise GraphQLError(f'"{relation}" is not a relation of {TABLE_TYPE[table]}.')
        return link.target, self.follow(table, link, record)

    def follow(self, table: str, link: Link, record: Record) -> list[Record]:
        """The records a link reaches from `record` of `table` (0 or 1 for to-one links)."""
        key = self.value(table, record, link.local)
        if key is None:
            return []
        if link.through is not None:
            targets = self.tables[link.target]
            members = self._index(link.through, link.remote).get(key, [])
            return [targets[m["account_group_id"]] for m in members if m["account_group_id"] in targets]
        if link.remote == "id":
            found = self.tables[link.target].get(key)
            return [found] if found is not None else []
        candidates = self._index(link.target, link.remote).get(key, [])
        return [r for r in candidates if all(self.value(link.target, r, c) == v for c, v in link.where)]

    def where(self, table: str, column: str, value: Any) -> list[Record]:
        """The records whose stored `column` equals `value`, through the cached index.

        Why: a root field filtered by one column of a large table (an account's transactions among a
        million) should not scan the table on every page.
        """
        return list(self._index(table, column).get(value, []))

    def _index(self, table: str, column: str) -> dict[Any, list[Record]]:
        index = self._indexes.get((table, column))
        if index is None:
            index = {}
            for record in self.tables[table].values():
                index.setdefault(record.get(column), []).append(record)
            self._indexes[(table, column)] = index
        return index

    # -- read helpers for tests ------------------------------------------------------------------

    def get(self, table: str, record_id: int) -> Record:
        """One record with defaults applied (a copy); KeyError when absent."""
        with self.lock:
            record = self.tables[table][int(record_id)]
            return {c: self.value(table, record, c) for c in self._kinds[table]}

    def all(self, table: str) -> list[Record]:
        """Every record of a table, with defaults applied (copies), in id order."""
        with self.lock:
            return [self.get(table, record_id) for record_id in self.tables[table]]

    def accounts(self, include_archived: bool = True) -> list[Record]:
        """Every account (copies), optionally without the archived ones."""
        rows = self.all("accounts")
        return rows if include_archived else [r for r in rows if r["archived_at"] is None]

    def children(self, account_id: int, relation: str) -> list[Record]:
        """An account's related records for one relation field (copies), e.g. `contacts`."""
        with self.lock:
            table, records = self.related("accounts", self.tables["accounts"][int(account_id)], relation)
            return [self.get(table, r["id"]) for r in records]

    # -- mutations --------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, *tables: str) -> Iterator[None]:
        with self.lock:
            yield
            for key in [k for k in self._indexes if k[0] in tables]:
                del self._indexes[key]

    def _tick(self) -> str:
        """A timestamp later than every one handed out before, so `updated_at` always moves forward."""
        self._clock = max(datetime.now(UTC).replace(microsecond=0), self._clock + timedelta(seconds=1))
        return format_datetime(self._clock)

    def insert(self, table: str, **fields: Any) -> int:
        """Insert one record with the next id; created_at/updated_at are now, `_version` 1."""
        allowed = {*self._kinds[table], *self._hidden.get(table, ()), "account_group_id"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
        with self._writing(table):
            rows = self.tables[table]
            new_id = max(rows, default=0) + 1
            now = self._tick()
            rows[new_id] = {"created_at": now, **fields, "id": new_id, "updated_at": now, "_version": "1"}
            return new_id

    def update(self, table: str, record_id: int, **changes: Any) -> None:
        """Change columns of one record, bumping `updated_at` and `_version` as Sonar does."""
        unknown = set(changes) - set(self._kinds[table])
        if unknown or {"id", "created_at", "updated_at", "_version"} & set(changes):
            raise ValueError(f"cannot set {sorted(changes)} on {table}")
        with self._writing(table):
            record = self.tables[table][int(record_id)]
            record.update(changes)
            record["updated_at"] = self._tick()
            record["_version"] = str(int(self.value(table, record, "_version")) + 1)

    def add_account(
        self,
        name: str,
        contacts: Iterable[Record] = (),
        addresses: Iterable[Record] = (),
        **fields: Any,
    ) -> int:
        """Create an account (Active, residential, default company unless given) with contacts/addresses."""
        with self.lock:
            account = {"account_status_id": 1, "account_type_id": 1, "company_id": 1, **fields}
            account_id = self.insert("accounts", name=name, **account)
            self.insert("account_billing_parameters", account_id=account_id)
            for contact in contacts:
                phones = contact.get("phone_numbers", ())
                row = {k: v for k, v in contact.items() if k != "phone_numbers"}
                contact_id = self.insert("contacts", contactable_id=account_id, contactable_type="Account", **row)
                for phone in phones:
                    self.insert("phone_numbers", contact_id=contact_id, **phone)
            for address in addresses:
                self.insert("addresses", addressable_id=account_id, addressable_type="Account", **address)
            return account_id

    def update_account(self, account_id: int, **changes: Any) -> None:
        """Change account columns (bumps `updated_at` and `_version`)."""
        self.update("accounts", account_id, **changes)

    def update_child(self, account_id: int, relation: str, child_id: int | None = None, **changes: Any) -> int:
        """Change one of an account's children (its first unless `child_id`); returns the child's id.

        As Sonar does, only the child's `updated_at` and `_version` move, not its account's.

        `relation` is an Account field (`contacts`, `addresses`, `account_services`, `ip_assignments`,
        `custom_field_data`, `radius_accounts`, `uninventoried_mac_addresses`) or `account_billing_parameter`;
        `phone_numbers` changes a number of the account's first contact.
        """
        with self.lock:
            account = self.tables["accounts"][int(account_id)]
            if relation == "phone_numbers":
                contact = self.related("accounts", account, "contacts")[1][0]
                table, children = self.related("contacts", contact, "phone_numbers")
            else:
                table, children = self.related("accounts", account, relation)
            chosen = [c for c in children if child_id is None or c["id"] == int(child_id)]
            if not chosen:
                raise KeyError(f"account {account_id} has no {relation} {child_id or ''}".strip())
            self.update(table, chosen[0]["id"], **changes)
            return int(chosen[0]["id"])

    def add_log(self, *, type: str, loggable_type: str, loggable_id: int, **fields: Any) -> int:
        """Append one entry to Sonar's audit log (`logs`), created now; returns its id.

        `loggable` is whose history the entry belongs to (the account a contact was removed from),
        `logged_entity` what it is about (the contact): the reading docs/fidelity.md records as a guess.
        """
        entry = {"current": "{}", "legacy": False, "level": "INFO", "logged_entity_id": 0, "logged_entity_type": ""}
        return self.insert(
            "logs", **{**entry, **fields, "type": type, "loggable_type": loggable_type, "loggable_id": loggable_id}
        )

    def delete_child(self, account_id: int, relation: str, child_id: int | None = None) -> int:
        """Delete one of an account's children (its first unless `child_id`); returns the child's id.

        As `update_child`, the account itself is not touched (no `updated_at` moves anywhere): only a
        DELETED log records it, on the account (`phone_numbers`: on the account's first contact that has
        the number). A contact goes with its phone numbers, an address releases its devices to stock and
        an IP assignment its address to the pool, as `delete_account` does.
        """
        with self.lock:
            account = self.tables["accounts"][int(account_id)]
            owner_type, owner_id = "Account", int(account_id)
            if relation == "phone_numbers":
                contacts = self.related("accounts", account, "contacts")[1]
                numbers = [(c, p) for c in contacts for p in self.related("contacts", c, "phone_numbers")[1]]
                chosen = [(c, p) for c, p in numbers if child_id is None or p["id"] == int(child_id)]
                if not chosen:
                    raise KeyError(f"account {account_id} has no phone number {child_id or ''}".strip())
                table, child = "phone_numbers", chosen[0][1]
                owner_type, owner_id = "Contact", int(chosen[0][0]["id"])
            else:
                link = LINKS.get(("Account", relation))
                if link is None or not link.many or link.through is not None:
                    raise ValueError(f"{relation} is not a to-many child relation of an account")
                table, children = self.related("accounts", account, relation)
                found = [c for c in children if child_id is None or c["id"] == int(child_id)]
                if not found:
                    raise KeyError(f"account {account_id} has no {relation} {child_id or ''}".strip())
                child = found[0]
            doomed = {table: [child]}
            if table == "contacts":
                doomed["phone_numbers"] = self.follow("contacts", LINKS[("Contact", "phone_numbers")], child)
            if held := self._held_ips(doomed):
                doomed["ip_assignments"] = held
            with self._writing("inventory_items", "ip_pools", *doomed):
                self._release(doomed)
                for doomed_table, records in doomed.items():
                    for record in records:
                        del self.tables[doomed_table][record["id"]]
            previous = json.dumps({c: self.value(table, child, c) for c in self._kinds[table]}, default=str)
            self.add_log(
                type="DELETED", loggable_type=owner_type, loggable_id=owner_id,
                logged_entity_type=TABLE_TYPE[table], logged_entity_id=int(child["id"]), previous=previous,
            )  # fmt: skip
            return int(child["id"])

    def leave_group(self, account_id: int, group_id: int) -> None:
        """Remove an account from an account group: a DETACHED log on the account, no `updated_at` moves."""
        with self._writing(MEMBERSHIPS):
            members = self.tables[MEMBERSHIPS]
            pair = (int(account_id), int(group_id))
            gone = [k for k, m in members.items() if (m["account_id"], m["account_group_id"]) == pair]
            if not gone:
                raise KeyError(f"account {account_id} is not in account group {group_id}")
            for key in gone:
                del members[key]
        self._log_membership("DETACHED", account_id, group_id)

    def join_group(self, account_id: int, group_id: int) -> None:
        """Add an account to an account group: an ATTACHED log on the account, no `updated_at` moves."""
        with self._writing(MEMBERSHIPS):
            if int(account_id) not in self.tables["accounts"] or int(group_id) not in self.tables["account_groups"]:
                raise KeyError(f"no account {account_id} or no account group {group_id}")
            members = self.tables[MEMBERSHIPS]
            new_id = max(members, default=0) + 1
            members[new_id] = {"id": new_id, "account_id": int(account_id), "account_group_id": int(group_id)}
        self._log_membership("ATTACHED", account_id, group_id)

    def _log_membership(self, kind: str, account_id: int, group_id: int) -> None:
        self.add_log(
            type=kind, loggable_type="Account", loggable_id=int(account_id),
            logged_entity_type="AccountGroup", logged_entity_id=int(group_id),
            relation_data=json.dumps({"account_id": int(account_id), "account_group_id": int(group_id)}),
        )  # fmt: skip

    def archive_account(self, account_id: int, user_id: int = 1) -> None:
        """Archive an account: hidden from `accounts` unless `include_archived: true`."""
        with self.lock:
            self.update("accounts", account_id, archived_at=self._tick(), archived_by_user_id=user_id)

    def _held_ips(self, doomed: dict[str, list[Record]]) -> list[Record]:
        """IP assignments held by doomed RADIUS accounts and MAC addresses: they go with their holder."""
        held: list[Record] = []
        for table in ("radius_accounts", "uninventoried_mac_addresses"):
            link = LINKS[(TABLE_TYPE[table], "ip_assignments")]
            for record in doomed.get(table, []):
                held.extend(self.follow(table, link, record))
        return held

    def _release(self, doomed: dict[str, list[Record]]) -> None:
        """What Sonar does to shared things when an account goes: devices back to stock, IPs back to pools."""
        gone = {a["id"] for a in doomed.get("addresses", [])}
        for item in self.tables["inventory_items"].values():
            held_by = self.value("inventory_items", item, "inventoryitemable_type")
            if held_by == "Address" and item.get("inventoryitemable_id") in gone:
                item.update(inventoryitemable_type="InventoryLocation", inventoryitemable_id=1, account_service_id=None)
        for assignment in doomed.get("ip_assignments", []):
            pool = self.tables["ip_pools"].get(assignment.get("ip_pool_id") or 0)
            if pool is not None:
                pool["ips_available"] += 1

    def delete_account(self, account_id: int) -> None:
        """Delete an account and what hangs off it; its devices return to stock and its IPs to their pools."""
        with self.lock:
            account = self.tables["accounts"][int(account_id)]
            doomed: dict[str, list[Record]] = {}
            for (type_name, _relation), link in LINKS.items():
                if type_name == "Account" and link.many and link.through is None:
                    doomed.setdefault(link.target, []).extend(self.follow("accounts", link, account))
            phones = LINKS[("Contact", "phone_numbers")]
            doomed["phone_numbers"] = [p for c in doomed["contacts"] for p in self.follow("contacts", phones, c)]
            billing = LINKS[("Account", "account_billing_parameter")]
            doomed["account_billing_parameters"] = self.follow("accounts", billing, account)
            doomed[MEMBERSHIPS] = list(self._index(MEMBERSHIPS, "account_id").get(account["id"], []))
            doomed.setdefault("ip_assignments", []).extend(self._held_ips(doomed))
            with self._writing("accounts", "inventory_items", "ip_pools", *doomed):
                self._release(doomed)
                for table, records in doomed.items():
                    for record in records:
                        self.tables[table].pop(record["id"], None)
                del self.tables["accounts"][account["id"]]
