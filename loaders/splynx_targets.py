"""The registry of Splynx targets the loader writes: where each lives and what "correct" means for it.

Why a table: the loader's algorithm (validate, write ahead, POST or PUT, adopt by marker, verify)
is the same for every target; only paths, the additional-fields module that carries the migration
marker, required fields, formats and references differ. Adding a target is adding a row here.
Target keys are the ones fixed in /work/notes/names.md.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.errors import ConfigError
from transformers.splynx_fields import FIELDS, MODULES
from transformers.validation import valid_email

MARKER_FIELD = "sonar_id"

EMAIL = "email"
DATE = "date"
IPV4 = "ipv4"

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
IPV4_RE = re.compile(r"(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}")
FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    EMAIL: valid_email,  # the transformers' rule (address lists allowed), so both sides agree
    DATE: lambda text: DATE_RE.fullmatch(text) is not None,
    IPV4: lambda text: IPV4_RE.fullmatch(text) is not None,
}


@dataclass(frozen=True)
class PathLookup:
    """A path parameter Splynx wants as an id that we know by value (an IP record's id, known by its address).

    Attributes:
        param: the path parameter to replace (`ip`).
        collection: the collection searched for the record (`admin/networking/ipv4-ip`).
        match: search attribute -> the path parameter holding its value (`ipv4_networks_id` -> `network_id`).
    """

    param: str
    collection: str
    match: Mapping[str, str]


@dataclass(frozen=True)
class Target:
    """One kind of Splynx record the loader can write.

    Attributes:
        key: registry key (`customer`, `internet_service`, ...).
        collection: collection path template (POST/search), None for PUT-only targets.
        item: item path template; `{id}` is the record's Splynx id, other names come from `parent`.
        module: additional-fields module holding the `sonar_id` marker, None if the target has none.
        required: fields that must be present and non-blank before we create.
        formats: field -> format name (email, date, ipv4) checked locally.
        choices: field -> allowed values, checked locally (Splynx would 422 anyway, but later).
        references: field -> target key the value (or each list element) must exist in.
        write_only: fields Splynx accepts but never returns (skipped by verification).
        ignore_on_verify: fields Splynx rewrites on its own (skipped by verification).
        undo: for a put-only target, the body that puts the record back as it was before we wrote it
            (rollback sends it); None: a put-only write is left in place (it goes with its parent).
        listed_by_name: an unmarked record with a numeric id (an inventory stock: no additional-fields
            module) is found by listing its collection for its name, not by GETting its name as its id.
        marker_in: an unmarked record whose text field carries the marker as `[sonar_id=<marker>]` (a network
            site: no additional-fields module, and a title an operator's own site may share) is found by
            listing its collection for that marker, never by its name.
        marker_scope: a body field the list for a `marker_in` marker is searched by (`customer_id`: a customer's
            comments, not every comment of every customer); the marker is still matched here.
        lookup: for a put-only target whose path names a record by an id we do not know (an IP record), how
            the loader finds that id from what we know (its network and address).
        create_only: fields sent with the POST alone (a ticket's opening message: a PUT would add another, or be
            refused), never with a PUT nor compared on verify.
        natural_key: a record that can carry no marker anywhere (a ticket message: no module, and every text
            field shown to the customer) is found by listing its owner's records (`marker_scope`) for one
            holding exactly these fields' values.
    """

    key: str
    collection: str | None
    item: str
    module: str | None
    required: tuple[str, ...] = ()
    formats: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    references: Mapping[str, str] = field(default_factory=dict)
    write_only: frozenset[str] = frozenset({"password"})
    ignore_on_verify: frozenset[str] = frozenset()
    undo: Mapping[str, Any] | None = None
    listed_by_name: bool = False
    marker_in: str | None = None
    marker_scope: str | None = None
    lookup: PathLookup | None = None
    natural_key: tuple[str, ...] = ()
    create_only: frozenset[str] = frozenset()

    @property
    def put_only(self) -> bool:
        """Records that always exist with their parent (customer info, billing): updated, never created."""
        return self.collection is None

    def collection_path(self, parent: Mapping[str, str]) -> str:
        """The collection path for POST and marker searches."""
        if self.collection is None:
            raise ConfigError(f"Splynx target {self.key} cannot be created, only updated")
        return _fill(self.collection, parent, self.key)

    def item_path(self, dest_id: str | None, parent: Mapping[str, str]) -> str:
        """The item path for GET/PUT/DELETE of one record."""
        return _fill(self.item, {**parent, "id": dest_id or ""}, self.key)

    def params(self) -> set[str]:
        """Path parameters the templates need besides `id`."""
        names = {n for t in (self.collection or "", self.item) for _, n, _, _ in string.Formatter().parse(t) if n}
        return names - {"id"}


def _fill(template: str, values: Mapping[str, Any], key: str) -> str:
    try:
        return template.format(**{k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ConfigError(
            f"Splynx target {key} needs path parameter {exc.args[0]}", fix="set it in the payload's parent"
        ) from None


def _required(key: str, *in_path: str) -> tuple[str, ...]:
    """What Splynx requires on create, from the one table of its rules (transformers/splynx_fields.py).

    Names in `in_path` are left out: the path carries them, whether or not the body repeats them.
    """
    return tuple(r.name for r in FIELDS[key] if r.required and r.name not in in_path)


def _choices(key: str, *names: str) -> dict[str, tuple[str, ...]]:
    """The allowed values of `names`, from the same table."""
    rules = {r.name: r for r in FIELDS[key]}
    return {name: rules[name].choices for name in names}


TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        Target(
            "partner",
            "admin/administration/partners",
            "admin/administration/partners/{id}",
            "partners",
            required=_required("partner"),
        ),
        Target(
            "administrator",
            "admin/administration/administrators",
            "admin/administration/administrators/{id}",
            "admins",
            required=_required("administrator"),
            formats={"email": EMAIL},
            references={"partner_id": "partner"},
        ),
        Target(
            "location",
            "admin/administration/locations",
            "admin/administration/locations/{id}",
            "locations",
            required=_required("location"),
        ),
        Target(
            "internet_tariff",
            "admin/tariffs/internet",
            "admin/tariffs/internet/{id}",
            "tariffs_internet",
            required=_required("internet_tariff"),
            references={"partners_ids": "partner", "available_for_locations": "location"},
        ),
        *(
            Target(
                key,
                f"admin/tariffs/{path}",
                f"admin/tariffs/{path}/{{id}}",
                MODULES[key],
                required=_required(key),
                references={"partners_ids": "partner", "available_for_locations": "location"},
            )
            for key, path in (
                ("recurring_tariff", "recurring"),
                ("one_time_tariff", "one-time"),
                ("voice_tariff", "voice"),
            )
        ),
        Target(
            "bundle_tariff",
            "admin/tariffs/bundle",
            "admin/tariffs/bundle/{id}",
            MODULES["bundle_tariff"],
            required=_required("bundle_tariff"),
            references={
                "partners_ids": "partner",
                "available_for_locations": "location",
                "internet_tariffs": "internet_tariff",
                "voice_tariffs": "voice_tariff",
                "custom_tariffs": "recurring_tariff",
            },
        ),
        Target(
            "ipv4_network",
            "admin/networking/ipv4",
            "admin/networking/ipv4/{id}",
            "ipv4_networks",
            required=_required("ipv4_network"),
            formats={"network": IPV4},
            choices=_choices("ipv4_network", "network_type", "type_of_usage"),
            references={"location_id": "location"},
        ),
        Target(
            "ipv6_network",
            "admin/networking/ipv6",
            "admin/networking/ipv6/{id}",
            "ipv6_networks",
            required=_required("ipv6_network"),
            choices=_choices("ipv6_network", "network_type", "type_of_usage"),
            references={"location_id": "location"},
        ),
        Target(  # no additional-fields module in the blueprint's list: the marker is in the description
            "network_site",
            "admin/networking/network-sites",
            "admin/networking/network-sites/{id}",
            None,
            required=_required("network_site"),
            references={"location_id": "location", "partners_ids": "partner"},
            marker_in="description",
        ),
        Target(  # an IPv4 address of a network: exists with its network (no POST in the blueprint), PUT only
            "ipv4_ip",
            None,
            "admin/networking/ipv4-ip/{network_id}--{ip}",
            None,
            required=_required("ipv4_ip"),
            references={"customer_id": "customer"},
            undo={"is_used": 0, "customer_id": 0, "title": "", "comment": ""},  # a free address, as Splynx made it
            lookup=PathLookup("ip", "admin/networking/ipv4-ip", {"ipv4_networks_id": "network_id", "ip": "ip"}),
        ),
        Target(  # an opening balance, debit or discount (HISTORY); module `billing_transactions` carries the marker
            "billing_transaction",
            "admin/finance/transactions",
            "admin/finance/transactions/{id}",
            "billing_transactions",
            required=_required("billing_transaction"),
            references={"customer_id": "customer"},
            choices=_choices("billing_transaction", "type", "source"),
        ),
        Target(  # a customer's comment: no additional-fields module, the marker in its `name` (docs/fidelity.md)
            "customer_note",
            "admin/customers/customer-notes",
            "admin/customers/customer-notes/{customer_id}--{id}",
            None,
            required=_required("customer_note"),
            references={"customer_id": "customer"},
            marker_in="name",
            marker_scope="customer_id",
        ),
        Target(  # a Sonar payment (HISTORY, full mode); module `payments` (the blueprint's list) carries the marker
            "payment",
            "admin/finance/payments",
            "admin/finance/payments/{id}",
            "payments",
            required=_required("payment"),
            references={"customer_id": "customer"},
            formats={"date": DATE},
        ),
        Target(  # a Sonar invoice (HISTORY, full mode); module `invoices` (the blueprint's list) carries the marker
            "invoice",
            "admin/finance/invoices",
            "admin/finance/invoices/{id}",
            "invoices",
            required=_required("invoice"),
            references={"customer_id": "customer"},
            formats={"date_created": DATE, "date_till": DATE},
            choices=_choices("invoice", "status", "use_transactions"),
            write_only=frozenset({"items.categoryIdForTransaction"}),  # a line's transaction category
        ),
        Target(  # a Sonar ticket (HISTORY); module `ticket` (the blueprint's list) carries the marker
            "ticket",
            "admin/support/tickets",
            "admin/support/tickets/{id}",
            "ticket",
            required=_required("ticket"),
            references={"customer_id": "customer"},
            create_only=frozenset({"message"}),  # the opening message, made with the ticket
            ignore_on_verify=frozenset({"created_at"}),  # whether Splynx keeps a given one: a guess
        ),
        Target(  # a ticket's reply or comment: no module, no hidden field: found by what it is (docs/fidelity.md)
            "ticket_message",
            "admin/support/ticket-messages",
            "admin/support/ticket-messages/{id}",
            None,
            required=_required("ticket_message"),
            references={"ticket_id": "ticket"},
            formats={"date": DATE},
            marker_scope="ticket_id",
            natural_key=("ticket_id", "date", "time", "message"),
        ),
        Target(  # no additional-fields module in the blueprint's list: no marker, adopted by its name
            "inventory_stock",
            "admin/config/inventory-stocks",
            "admin/config/inventory-stock/{id}",  # singular, as the blueprint's item path is
            None,
            required=_required("inventory_stock"),
            listed_by_name=True,
        ),
        Target(
            "inventory_supplier",
            "admin/inventory/suppliers",
            "admin/inventory/suppliers/{id}",
            "inventory_suppliers",
            required=_required("inventory_supplier"),
            formats={"email": EMAIL},
        ),
        Target(
            "inventory_vendor",
            "admin/inventory/vendors",
            "admin/inventory/vendors/{id}",
            "inventory_vendors",
            required=_required("inventory_vendor"),
        ),
        Target(
            "inventory_product",
            "admin/inventory/products",
            "admin/inventory/products/{id}",
            "inventory_products",
            required=_required("inventory_product"),
            references={"vendor_id": "inventory_vendor"},
        ),
        Target(
            "inventory_item",
            "admin/inventory/items",
            "admin/inventory/items/{id}",
            "inventory_items",
            required=_required("inventory_item"),
            references={"product_id": "inventory_product"},
        ),
        Target(  # an item's status, mark, stock, cost price: PUT right after its create (not in the APIB's create)
            "inventory_item_state",
            None,
            "admin/inventory/items/{item_id}",
            None,
            choices=_choices("inventory_item_state", "status", "mark"),
            references={"stock_id": "inventory_stock"},
        ),
        Target(  # an item's customer, PUT in the customers phase (the APIB allows it on update only)
            "inventory_item_customer",
            None,
            "admin/inventory/items/{item_id}",
            None,
            required=_required("inventory_item_customer"),
            references={"customer_id": "customer"},
            undo={"customer_id": 0},  # Splynx's "no customer"; rollback un-assigns before customers go
        ),
        Target(
            "customer",
            "admin/customers/customer",
            "admin/customers/customer/{id}",
            "customers",
            required=_required("customer"),
            formats={"email": EMAIL, "billing_email": EMAIL, "date_add": DATE},
            choices=_choices("customer", "status", "category"),
            references={"partner_id": "partner", "location_id": "location"},
            ignore_on_verify=frozenset({"customer_labels"}),
        ),
        Target("customer_info", None, "admin/customers/customer-info/{customer_id}", None, formats={"birthday": DATE}),
        Target("customer_billing", None, "admin/customers/customer-billing/{customer_id}", None),
        Target(
            "internet_service",
            "admin/customers/customer/{customer_id}/internet-services",
            "admin/customers/customer/{customer_id}/internet-services--{id}",
            "services_internet",
            required=_required("internet_service", "customer_id"),
            formats={"start_date": DATE, "ipv4": IPV4},
            choices=_choices("internet_service", "status"),
            references={"tariff_id": "internet_tariff"},
        ),
        *(
            Target(
                key,
                f"admin/customers/customer/{{customer_id}}/{path}",
                f"admin/customers/customer/{{customer_id}}/{path}--{{id}}",
                MODULES[key],
                required=_required(key, "customer_id"),
                formats={"start_date": DATE},
                choices=_choices(key, "status"),
                references={"tariff_id": tariff},
            )
            for key, path, tariff in (
                ("recurring_service", "recurring-services", "recurring_tariff"),
                ("voice_service", "voice-services", "voice_tariff"),
            )
        ),
        Target(
            "bundle_service",
            "admin/customers/customer/{customer_id}/bundle-services",
            "admin/customers/customer/{customer_id}/bundle-services--{id}",
            MODULES["bundle_service"],
            required=_required("bundle_service", "customer_id"),
            formats={"start_date": DATE},
            choices=_choices("bundle_service", "status"),
            references={"bundle_id": "bundle_tariff"},
        ),
        Target(
            "additional_field",
            "admin/config/additional-fields/{module}",
            "admin/config/additional-fields/{module}--{id}",
            None,
            required=_required("additional_field"),
        ),
    )
}

MARKER_MODULES: tuple[str, ...] = tuple(sorted({t.module for t in TARGETS.values() if t.module}))


def target(key: str) -> Target:
    """Look a target up, or raise ConfigError naming the known ones."""
    try:
        return TARGETS[key]
    except KeyError:
        raise ConfigError(f"unknown Splynx target {key!r}", fix=f"use one of: {', '.join(sorted(TARGETS))}") from None
