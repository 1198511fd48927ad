"""What Splynx accepts in each field we write: required, kind, length, allowed values.

Why a local copy of Splynx's rules: a record that Splynx would refuse should fail before the write, with
a fix hint in Splynx field names, not as a 422 halfway through a run. This is the one place the
transformers and the loader take Splynx's limits from. Lengths and enum values of administrators, customers
and customer_info are the live database's columns (../shared/api/splynx-live/mysql-columns.tsv, tables
admins, customers, customer_info; `customer_billing.type` is `customers.billing_type`); required flags are
what a live Splynx answered to OPTIONS (options-attributes.tsv). The rest is a guess, named as one in
docs/fidelity.md. tests/test_splynx_contract.py checks this table against the captures (the simulator is
checked against them separately, and tests/test_transformers.py checks the two agree).
Only fields our transformers write (or a user may plausibly override) are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

STR, EMAIL, DATE, IPV4, ENUM, ENUMS, INT, INTS, DECIMAL, BOOL, RECORDS = (
    "str",
    "email",
    "date",
    "ipv4",
    "enum",
    "enums",
    "int",
    "ints",
    "decimal",
    "bool",
    "records",  # a list of objects, each checked against RECORD_RULES (an invoice's lines)
)
CUSTOMER_STATUSES = ("new", "active", "blocked", "disabled")
SERVICE_STATUSES = ("active", "stopped", "disabled", "hidden", "pending")
BILLING_TYPES = ("recurring", "prepaid", "prepaid_monthly")  # mysql-columns.tsv: customers.billing_type
ITEM_STATUSES = ("stock", "internal_usage", "sold", "rent", "returned", "assigned")
ITEM_MARKS = ("new", "used", "broken")


@dataclass(frozen=True)
class FieldRule:
    """One Splynx attribute as validation sees it."""

    name: str
    kind: str = STR
    required: bool = False
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    allow_zero_date: bool = False


def _f(
    name: str,
    kind: str = STR,
    *,
    required: bool = False,
    max_len: int | None = None,
    choices: tuple[str, ...] = (),
    zero: bool = False,
) -> FieldRule:
    return FieldRule(name, kind, required, max_len, choices, zero)


def _other_tariff(description: str, *, billing_types: bool, billing_required: bool = False) -> tuple[FieldRule, ...]:
    """The fields recurring, one-time and voice tariffs share (their blueprint Bases differ in little else)."""
    rules = (
        _f("title", required=True, max_len=64),
        _f(description, max_len=64),  # service_name (recurring, voice) or service_description (one-time)
        _f("partners_ids", INTS, required=True),
        _f("price", DECIMAL),
        _f("customer_categories", ENUMS, required=True, choices=("person", "company")),
        _f("available_for_locations", INTS, required=True),
        _f("with_vat", BOOL),
        _f("hide_on_admin_portal", BOOL),
        _f("show_on_customer_portal", BOOL),
        _f("tax_id", INT),  # blueprint: `tax_id` (number, optional), an id of admin/config/taxes
    )
    billing = _f("billing_types", ENUMS, required=billing_required, choices=BILLING_TYPES)
    return (*rules, billing) if billing_types else rules


def _service_base(*, description_len: int) -> tuple[FieldRule, ...]:
    """The blueprint's Service Base: what every kind of customer service has."""
    return (
        _f("customer_id", INT, required=True),
        _f("tariff_id", INT, required=True),
        _f("status", ENUM, required=True, choices=SERVICE_STATUSES),
        _f("description", required=True, max_len=description_len),
        _f("quantity", INT),
        _f("unit_price", DECIMAL),
        _f("start_date", DATE, required=True),
        _f("end_date", DATE, zero=True),
    )


FIELDS: dict[str, tuple[FieldRule, ...]] = {
    "partner": (_f("name", required=True, max_len=128),),
    "location": (_f("name", required=True, max_len=128),),
    "administrator": (
        _f("partner_id", INT),
        _f("role_name", max_len=32),  # admins.role_name varchar(32): roles are records (table roles), not an enum
        _f("login", required=True, max_len=64),
        _f("name", required=True, max_len=64),
        _f("email", EMAIL, required=True, max_len=64),
        _f("phone", max_len=256),
        _f("password", required=True, max_len=512),
    ),
    "internet_tariff": (
        _f("title", required=True, max_len=64),
        _f("service_name", max_len=128),
        _f("partners_ids", INTS, required=True),
        _f("price", DECIMAL),
        _f("speed_download", INT, required=True),
        _f("speed_upload", INT, required=True),
        _f("billing_types", ENUMS, required=True, choices=BILLING_TYPES),
        _f("customer_categories", ENUMS, required=True, choices=("person", "company")),
        _f("available_for_locations", INTS, required=True),
        _f("with_vat", BOOL),
        _f("hide_on_admin_portal", BOOL),
        _f("show_on_customer_portal", BOOL),
        _f("tax_id", INT),
    ),
    # Recurring, one-time and voice tariffs: the blueprint's "Recurring/One-time/Voice tariff Base" (title
    # required, unique), required flags as OPTIONS answered (one-time, voice: title, partners_ids,
    # customer_categories, available_for_locations; voice also type and billing_types); lengths of the live
    # tariffs_voice table (title varchar(64), service_name varchar(64)). Recurring tariffs were not captured
    # live: the voice table's limits are assumed for them (docs/fidelity.md).
    "recurring_tariff": _other_tariff("service_name", billing_types=True, billing_required=True),  # as voice: guess
    "one_time_tariff": _other_tariff("service_description", billing_types=False),
    "voice_tariff": (
        *_other_tariff("service_name", billing_types=True, billing_required=True),
        _f("type", ENUM, required=True, choices=("voip", "mobile", "fix")),  # tariffs_voice.type enum
    ),
    # Bundles: the blueprint's "Bundle tariff Base" (title, partners_ids required) and OPTIONS (billing_types
    # required); no column capture of the bundle table: title and service_description at most 64 as the other
    # tariffs' (a guess, docs/fidelity.md). "Customer Bundle service Base" for the
    # customer's bundle: customer_id, bundle_id, status, description, start_date, end_date required;
    # services_bundle.description is varchar(512) live.
    "bundle_tariff": (
        _f("title", required=True, max_len=64),  # guess: as the voice tariff table's
        _f("service_description", max_len=64),  # guess: as the voice tariff table's
        _f("partners_ids", INTS, required=True),
        _f("price", DECIMAL),
        _f("activation_fee", DECIMAL),
        _f("with_vat", BOOL),
        _f("billing_types", ENUMS, required=True, choices=BILLING_TYPES),
        _f("customer_categories", ENUMS, required=True, choices=("person", "company")),  # OPTIONS: required
        _f("available_for_locations", INTS, required=True),  # OPTIONS: required
        _f("internet_tariffs", INTS),
        _f("voice_tariffs", INTS),
        _f("custom_tariffs", INTS),
        _f("available_for_services", BOOL),
    ),
    "bundle_service": (
        _f("customer_id", INT, required=True),
        _f("bundle_id", INT, required=True),
        _f("status", ENUM, required=True, choices=SERVICE_STATUSES),
        _f("description", required=True, max_len=512),
        _f("unit_price", DECIMAL),
        _f("start_date", DATE, required=True),
        _f("end_date", DATE, required=True, zero=True),
        _f("activation_fee", DECIMAL),
    ),
    "ipv4_network": (
        _f("network", IPV4, required=True),
        _f("mask", INT, required=True),
        _f("title", required=True, max_len=128),
        _f("location_id", INT, required=True),
        _f("network_category", INT),
        _f("network_type", ENUM, choices=("rootnet", "endnet")),
        _f("type_of_usage", ENUM, choices=("pool", "static", "management")),
    ),
    "ipv6_network": (  # blueprint "IPv6 network Base"; required flags as OPTIONS answered (network, title)
        _f("network", required=True),
        _f("prefix", INT),
        _f("title", required=True, max_len=128),
        _f("location_id", INT),
        _f("network_category", INT),
        _f("network_type", ENUM, choices=("rootnet", "endnet")),
        _f("type_of_usage", ENUM, choices=("static", "management")),
    ),
    "network_site": (  # blueprint "Network site Base" (location_id, partners_ids required); no capture: no lengths
        _f("title"),
        _f("description"),
        _f("address"),
        _f("gps"),
        _f("location_id", INT, required=True),
        _f("partners_ids", INTS, required=True),
    ),
    "inventory_vendor": (_f("name", required=True, max_len=128),),
    "inventory_stock": (_f("name", required=True),),  # blueprint "Stock Base"; no length captured
    "inventory_supplier": (  # blueprint "Supplier Base"; no OPTIONS or column capture: lengths unknown
        _f("name", required=True),
        _f("address"),
        _f("contact_name"),
        _f("email", EMAIL),
        _f("phone"),
    ),
    "inventory_product": (_f("name", required=True, max_len=128), _f("vendor_id", INT)),
    "inventory_item": (
        _f("product_id", INT, required=True),
        _f("barcode", max_len=64),
        _f("serial_number", max_len=64),
        _f("status", ENUM, choices=ITEM_STATUSES),
        _f("mark", ENUM, choices=ITEM_MARKS),
    ),
    # The follow-up PUT of an item's status, mark, stock and cost price: the APIB's create body has none of
    # them (Item Response and the live OPTIONS do: stock_id integer, cost_price float).
    "inventory_item_state": (
        _f("status", ENUM, choices=ITEM_STATUSES),
        _f("mark", ENUM, choices=ITEM_MARKS),
        _f("customer_id", INT),
        _f("stock_id", INT),
        _f("cost_price", DECIMAL),
    ),
    # An item's customer, PUT once the customer exists: the APIB's Item Update (Item Base) has customer_id,
    # Item Create does not. 0 is "no customer" (the rollback's undo).
    "inventory_item_customer": (_f("customer_id", INT, required=True),),
    # An IPv4 address's record in its network: the blueprint's "IPv4 IP Base" and its PUT example (title,
    # host_category, customer_id, is_used); no live capture of ipv4_networks_ip: title at most 128 as the
    # IPv4 network's title (a guess, docs/fidelity.md), is_used 1 or 0 as the blueprint says.
    "billing_transaction": (  # blueprint "Transaction Base"; lengths: live billing_transactions columns
        _f("type", ENUM, required=True, choices=("debit", "credit")),
        _f("customer_id", INT, required=True),
        _f("price", DECIMAL),
        _f("tax_percent", DECIMAL, required=True),
        _f("date", DATE, required=True),
        _f("category", INT, required=True),
        _f("description", required=True, max_len=255),  # the live OPTIONS requires it
        _f("comment", max_len=512),
        _f("source", ENUM, choices=("manual", "auto", "cdr", "config")),
    ),
    # A payment: blueprint "Payment Base" (customer_id, payment_type, receipt_number, date, amount and
    # field_1..5 required there; the live OPTIONS requires customer_id only: every one is sent, the free
    # fields blank); lengths from the live `payments` columns.
    "payment": (
        _f("customer_id", INT, required=True),
        _f("payment_type", INT, required=True),
        _f("receipt_number", required=True, max_len=32),
        _f("date", DATE, required=True),
        _f("amount", DECIMAL, required=True),
        _f("comment", max_len=256),
        *(_f(f"field_{n}", max_len=512) for n in range(1, 6)),
        _f("note"),
    ),
    # An invoice: blueprint "Invoice Base" (customer_id, status, number and items required; the live OPTIONS
    # requires customer_id and status only: the live `number` column is NOT NULL, so it is sent); lengths and
    # enums from the live `invoices` columns.
    "invoice": (
        _f("customer_id", INT, required=True),
        _f("number", required=True, max_len=64),
        _f("date_created", DATE),
        _f("date_till", DATE),
        _f("status", ENUM, required=True, choices=("not_paid", "paid", "deleted", "pending")),
        _f("use_transactions", ENUM, choices=("0", "1")),
        _f("type", ENUM, choices=("one_time", "recurring")),
        _f("note"),
        _f("memo"),
        _f("items", RECORDS, required=True),
    ),
    # One line of an invoice: blueprint "Invoice item" (description and quantity required; `unit`, marked
    # required there, is a number the example leaves out: not sent, docs/fidelity.md). No live capture of the
    # lines: the description's 255 is a guess, as billing_transactions.description.
    "invoice_item": (
        _f("description", required=True, max_len=255),
        _f("quantity", INT, required=True),
        _f("price", DECIMAL),
        _f("tax", DECIMAL),
        _f("period_from", DATE),
        _f("period_to", DATE),
        _f("categoryIdForTransaction", INT),
    ),
    # A ticket: blueprint "Ticket Base" (type_id, subject, priority required, as the live OPTIONS says);
    # subject varchar(256) and the enums from the live `ticket` columns, the priorities from the blueprint.
    "ticket": (
        _f("customer_id", INT),
        _f("reporter_type", ENUM, choices=("admin", "customer", "api", "incoming", "none")),
        _f("subject", required=True, max_len=256),
        _f("priority", ENUM, required=True, choices=("low", "medium", "high", "urgent")),
        _f("status_id", INT, required=True),
        _f("group_id", INT),
        _f("type_id", INT, required=True),
        _f("assign_to", INT),
        _f("closed", ENUM, choices=("0", "1")),
        _f("note"),
    ),
    # A ticket message: blueprint "Ticket Message Base" (no field marked required; ticket_id and message are
    # what a message is); author_type from its enum.
    "ticket_message": (
        _f("ticket_id", INT, required=True),
        _f("message", required=True),
        _f("date", DATE, required=True),
        _f("author_type", ENUM, choices=("admin", "customer", "api", "system")),
        _f("customer_id", INT),
        _f("admin_id", INT),
        _f("hide_for_customer", ENUM, choices=("0", "1")),
    ),
    # A customer comment: blueprint "Customer comment Base" (customer_id and comment required); lengths and
    # the type list from the live `customer_notes` columns, the class list from the blueprint.
    "customer_note": (
        _f("customer_id", INT, required=True),
        _f("comment", required=True),
        _f("datetime"),
        _f("administrator_id", INT),
        _f("type", ENUM, choices=("comment", "message", "call", "customer", "finance", "service", "support")),
        _f("class", ENUM, max_len=32, choices=("default", "primary", "success", "warning", "danger", "info")),
        _f("title", max_len=50),
        _f("name", max_len=255),
        _f("is_pinned", BOOL),
    ),
    "ipv4_ip": (
        _f("is_used", BOOL, required=True),
        _f("customer_id", INT),
        _f("title", max_len=128),
        _f("comment"),
    ),
    "customer": (
        _f("login", max_len=128),
        _f("status", ENUM, choices=CUSTOMER_STATUSES),
        _f("partner_id", INT, required=True),
        _f("location_id", INT, required=True),
        _f("name", required=True, max_len=256),
        _f("email", EMAIL, max_len=256),
        _f("billing_email", EMAIL, max_len=256),
        _f("phone", max_len=256),
        _f("category", ENUM, choices=("person", "company", "lead")),
        _f("street_1", max_len=255),
        _f("zip_code", max_len=32),
        _f("city", max_len=32),
        _f("date_add", DATE),
        _f("gps", max_len=256),
    ),
    "customer_info": (
        _f("birthday", DATE, zero=True),
        _f("passport", max_len=32),
        _f("company_id", max_len=32),
        _f("contact_person", max_len=256),
        _f("vat_id", max_len=32),
    ),
    "customer_billing": (
        _f("billing_date", INT),
        _f("billing_due", INT),
        _f("grace_period", INT),
        _f("billing_person", max_len=255),
        _f("billing_street_1", max_len=255),
        _f("billing_zip_code", max_len=32),
        _f("billing_city", max_len=128),
        _f("type", ENUM, choices=BILLING_TYPES),
    ),
    "internet_service": (
        _f("customer_id", INT, required=True),  # APIB, Customers > Internet services: Service Base
        _f("tariff_id", INT, required=True),
        _f("status", ENUM, required=True, choices=SERVICE_STATUSES),
        _f("description", required=True, max_len=255),
        _f("quantity", INT),
        _f("unit_price", DECIMAL),
        _f("start_date", DATE, required=True),
        _f("end_date", DATE, zero=True),
        _f("login", max_len=64),
        _f("taking_ipv4", ENUM, choices=("0", "1", "2")),
        _f("ipv4", IPV4),
    ),
    # APIB "Customer Recurring service Base" / "Customer Voice service Base" (both Service Base);
    # services_voice.description is varchar(512) live, phone required by the blueprint.
    "recurring_service": _service_base(description_len=512),
    "voice_service": (
        *_service_base(description_len=512),
        _f("phone", required=True),  # services_voice has no phone column live: no length known
        _f("direction", ENUM, choices=("incoming", "outgoing")),  # services_voice.direction enum
    ),
    "additional_field": (
        _f("name", required=True, max_len=64),
        _f("title", required=True, max_len=128),
        _f(
            "type",
            ENUM,
            required=True,
            choices=(
                "string",
                "integer",
                "decimal",
                "numeric",
                "date",
                "datetime",
                "boolean",
                "select",
                "select_multiple",
                "password",
                "file",
                "relation",
                "relation_multiple",
            ),
        ),
    ),
}

# The additional-fields module whose definitions apply to a target's `additional_attributes`.
MODULES: dict[str, str] = {
    "partner": "partners", "administrator": "admins", "location": "locations",
    "internet_tariff": "tariffs_internet", "ipv4_network": "ipv4_networks", "ipv6_network": "ipv6_networks",
    "inventory_vendor": "inventory_vendors", "inventory_product": "inventory_products",
    "inventory_supplier": "inventory_suppliers",
    "inventory_item": "inventory_items", "customer": "customers", "internet_service": "services_internet",
    "recurring_tariff": "tariffs_custom", "one_time_tariff": "tariffs_one_time", "voice_tariff": "tariffs_voice",
    "recurring_service": "services_custom", "voice_service": "services_voice",
    "bundle_tariff": "bundle", "bundle_service": "services_bundle", "billing_transaction": "billing_transactions",
    "payment": "payments", "invoice": "invoices", "ticket": "ticket",
}  # fmt: skip

RECORD_RULES: dict[tuple[str, str], str] = {("invoice", "items"): "invoice_item"}
"""(target, RECORDS field) -> the FIELDS key each of its records is checked against."""
