"""What the Splynx simulator knows about each entity: paths, fields, types, defaults, references.

Why one declarative table: validation, search, OPTIONS and rendering all read the same field list, so a
field added here is validated, searchable and documented by OPTIONS at once, as in a Yii2 model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Field kinds: how a value is parsed on write, stored, searched and rendered.
INT, STR, DECIMAL, BOOL, DATE, DATETIME, EMAIL, IPV4, ENUM = (
    "int", "str", "decimal", "bool", "date", "datetime", "email", "ipv4", "enum",
)
INTS, ENUMS, LABELS = "ints", "enums", "labels"
OBJECTS = "objects"  # a list of sub-records (an invoice's items), each checked against the field's `parts`
OBJECT = "object"  # one sub-record (a ticket's inline first message), checked against the field's `parts`
TIME = "time"  # "HH:MM:SS" (a ticket message's `time`)

OPTIONS_TYPE = {
    INT: "integer", STR: "string", DECIMAL: "float", BOOL: "boolean", DATE: "date", DATETIME: "datetime",
    EMAIL: "email", IPV4: "string", ENUM: "enum", INTS: "array", ENUMS: "array", LABELS: "array", OBJECTS: "array",
    OBJECT: "object", TIME: "time",
}


@dataclass(frozen=True)
class Field:
    """One attribute of a Splynx model.

    Attributes:
        name: attribute name on the wire.
        kind: one of the kinds above.
        title: human label used in validation messages ("Full name cannot be blank.").
        required: must be present and non-blank on create (and stay so on update).
        default: value stored when a create omits it ("today": the date; "now": the DATETIME or TIME of the write).
        choices: allowed values for ENUM / ENUMS, or for an INT used as an enum.
        max_len: longest accepted string.
        ref: entity key the value (or each list element) must exist in; 0 means "none" when zero_ok.
        zero_ok: a 0 reference means "not set" rather than "unknown record".
        unique: no two records may share the value (blank values are exempt).
        writable: False for server-computed attributes (id, added_by, ...), silently ignored on write.
        secret: accepted on write, never returned (passwords).
        allow_zero_date: "0000-00-00" (a DATETIME: "0000-00-00 00:00:00") is accepted (MySQL's zero date =
            "endless", or "not set").
        update_only: not in the APIB's create body (inventory items' status, mark, customer): a POST's
            value is ignored and the default stored; a PUT sets it (docs/fidelity.md, a guess).
        min_value: smallest accepted INT (an invoice item's quantity: 1).
        parts: for an OBJECTS field, the attributes of each element (an invoice item's description, price, ...);
            for an OBJECT field, the attributes of the one sub-record.
        write_only: accepted on create only, neither stored in the record nor returned nor listed by OPTIONS:
            handed to the entity's rules after the create (splynx_rules.after_create: a ticket's inline `message`
            becomes its first ticket message); a PUT's value is ignored.
    """

    name: str
    kind: str = STR
    title: str = ""
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    max_len: int | None = None
    ref: str | None = None
    zero_ok: bool = False
    unique: bool = False
    writable: bool = True
    secret: bool = False
    allow_zero_date: bool = False
    update_only: bool = False
    min_value: int | None = None
    parts: tuple[Field, ...] = ()
    write_only: bool = False

    @property
    def label(self) -> str:
        """Title for messages, derived from the name when none is given."""
        return self.title or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Entity:
    """A Splynx model served over REST.

    Attributes:
        key: internal name, also the SQLite entity column.
        path: collection path under /api/2.0/ (for services the customer part is a template).
        module: additional-fields module whose definitions apply, or None when it carries none.
        fields: attributes besides `id`.
        title: singular, for messages ("Customer not found").
    """

    key: str
    path: str
    module: str | None
    fields: tuple[Field, ...]
    title: str

    def field(self, name: str) -> Field | None:
        """The field called `name`, or None."""
        return next((f for f in self.fields if f.name == name), None)


ID = Field("id", INT, "ID", writable=False)

# Where the facts come from (docs/fidelity.md lists each, and what is still a guess):
# lengths and enum values of administrators, customers and customer_info are the live database's columns
# (../shared/api/splynx-live/mysql-columns.tsv: tables admins, customers, customer_info); required flags
# are what OPTIONS answered (options-attributes.tsv). tests/test_splynx_contract.py checks this table
# against both captures; the divergences it tolerates are listed, with a reason, in docs/fidelity.md.

PARTNERS = Entity("partners", "admin/administration/partners", "partners", (
    ID, Field("name", STR, "Name", required=True, max_len=128),
), "Partner")

LOCATIONS = Entity("locations", "admin/administration/locations", "locations", (
    ID, Field("name", STR, "Name", required=True, max_len=128),
    *(Field(f"tax_for_tariff_{t}", INT, default=0) for t in ("bundle", "internet", "voice", "recurring", "onetime")),
    Field("tax_for_inventory_items", INT, default=0),
), "Location")

ADMIN_ROLES = ("super-administrator", "administrator", "manager", "engineer", "customer-creator", "financial-manager")

ADMINISTRATORS = Entity("administrators", "admin/administration/administrators", "admins", (
    ID,
    Field("partner_id", INT, "Partner", default=1, ref="partners", zero_ok=True),
    Field("role_name", ENUM, "Role", default="administrator", choices=ADMIN_ROLES, max_len=32),
    Field("login", STR, "Login", required=True, max_len=64, unique=True),
    Field("name", STR, "Name", required=True, max_len=64),
    Field("email", EMAIL, "E-mail", required=True, max_len=64, unique=True),
    Field("phone", STR, "Phone", default="", max_len=256),
    Field("timeout", INT, "Timeout", default=0),
    Field("router_access", ENUM, "Router access", default="none", choices=("none", "read", "write", "full")),
    Field("password", STR, "Password", secret=True, max_len=512),
    Field("last_ip", STR, writable=False, default=""),
    Field("last_dt", DATETIME, writable=False),
    Field("updated_at", DATETIME, writable=False),
), "Administrator")

TARIFFS_INTERNET = Entity("tariffs_internet", "admin/tariffs/internet", "tariffs_internet", (
    ID,
    Field("title", STR, "Title", required=True, max_len=64, unique=True),
    Field("service_name", STR, "Service description", max_len=128),
    Field("partners_ids", INTS, "Partners", required=True, ref="partners"),
    Field("price", DECIMAL, "Price", default="0.0000"),
    Field("with_vat", BOOL, "With VAT", default=1),
    Field("vat_percent", DECIMAL, "VAT percent", default="0.0000"),
    Field("speed_download", INT, "Download speed (kbps)", required=True),
    Field("speed_upload", INT, "Upload speed (kbps)", required=True),
    Field("speed_limit_at", INT, default=10),
    Field("speed_limit_type", ENUM, default="none", choices=("none", "percent", "fixed")),
    Field("aggregation", INT, default=1),
    Field("burst_limit", INT, default=0),
    Field("burst_threshold", INT, default=0),
    Field("burst_time", INT, default=0),
    Field("burst_type", ENUM, default="none", choices=("none", "percent", "fixed")),
    Field("billing_types", ENUMS, "Billing types", required=True, default=["recurring"],
          choices=("recurring", "prepaid", "prepaid_monthly")),
    Field("customer_categories", ENUMS, "Customer categories", required=True, default=["person", "company"],
          choices=("person", "company")),
    Field("available_for_locations", INTS, "Available for locations", required=True, default=[],
          ref="locations"),
    Field("hide_on_admin_portal", BOOL, default=0),
    Field("show_on_customer_portal", BOOL, default=0),
    Field("priority", ENUM, default="normal", choices=("low", "normal", "high")),
    Field("tax_id", INT, default=0, ref="taxes", zero_ok=True),
    Field("transaction_category_id", INT, default=0),
    Field("billing_days_count", INT, default=1),
    Field("custom_period", INT, default=0, choices=(0, 1)),
    Field("available_for_services", BOOL, default=1),
), "Tariff")

# Recurring, one-time and voice tariffs. Attributes and required flags: what a live OPTIONS listed for
# admin/tariffs/one-time and admin/tariffs/voice (options-attributes.tsv); lengths, enums and defaults of voice
# tariffs: the live `tariffs_voice` columns (mysql-columns.tsv). Recurring tariffs were not captured: their
# attributes are the blueprint's *Recurring tariff Base*, their flags and lengths those of voice tariffs (# guess).
# One-time tariffs' lengths are not captured either (# guess: as voice). `services` (the count of services on
# a tariff) is computed in rendering, as for internet tariffs.


def _plan_fields(title_len: int, description: Field) -> tuple[Field, ...]:
    """Attributes every tariff kind shares (APIB *Recurring/One-time/Voice tariff Base*, live OPTIONS)."""
    return (
        ID,
        Field("title", STR, "Title", required=True, max_len=title_len, unique=True),
        description,
        Field("partners_ids", INTS, "Partners", required=True, ref="partners"),
        Field("price", DECIMAL, "Price", default="0.0000"),
        Field("with_vat", BOOL, "Tax included", default=1),
        Field("vat_percent", DECIMAL, "Tax %", default="0.0000"),
        Field("customer_categories", ENUMS, "Customer category", required=True, default=["person", "company"],
              choices=("person", "company")),
        Field("available_for_locations", INTS, "Available locations", required=True, default=[],
              ref="locations"),
        Field("hide_on_admin_portal", BOOL, "Hide tariff on Admin portal", default=0),
        Field("show_on_customer_portal", BOOL, "Show tariff on Customer portal", default=0),
        Field("tax_id", INT, "Tax name", default=0, ref="taxes", zero_ok=True),
        Field("transaction_category_id", INT, "Transaction category", default=0),
    )


def _billing_fields() -> tuple[Field, ...]:
    """How a periodic tariff bills (recurring and voice; one-time tariffs have none of these)."""
    return (
        Field("billing_types", ENUMS, "Types of billing", required=True, default=["recurring"],
              choices=("recurring", "prepaid", "prepaid_monthly")),
        Field("billing_days_count", INT, "Days", default=1),
        Field("custom_period", INT, "Prepaid period", default=0, choices=(0, 1)),
        Field("available_for_services", BOOL, "Enabled", default=1),
    )


TARIFFS_RECURRING = Entity("tariffs_recurring", "admin/tariffs/recurring", "tariffs_custom", (
    *_plan_fields(64, Field("service_name", STR, "Service description", max_len=64)),  # lengths: guess
    *_billing_fields(),
), "Recurring tariff")

TARIFFS_ONE_TIME = Entity("tariffs_one_time", "admin/tariffs/one-time", "tariffs_one_time", (
    *_plan_fields(64, Field("service_description", STR, "Service description", max_len=64)),  # lengths: guess
    Field("enabled", BOOL, "Enabled", default=1),  # default: guess
), "One-time tariff")

TARIFFS_VOICE = Entity("tariffs_voice", "admin/tariffs/voice", "tariffs_voice", (
    *_plan_fields(64, Field("service_name", STR, "Service description", max_len=64)),
    *_billing_fields(),
    Field("type", ENUM, "Type", required=True, default="voip", choices=("voip", "mobile", "fix")),
    Field("customer_rate_table_id", INT, "Rate table", default=0),
    Field("buy_price_increase", INT, "Buy price increase", default=0),
    Field("connection_cost_included", BOOL, "Included pricing should cover the connection cost", default=1),
    *(Field(f"transaction_category_id_for_{t}", INT, f"Transaction category for {t}", default=0)
      for t in ("calls", "messages", "data")),
), "Voice tariff")

# Bundle tariffs: attributes of the blueprint's *Bundle tariff Base* (apib ~1413); required flags what a live
# OPTIONS answered for admin/tariffs/bundle (options-attributes.tsv: title, partners_ids, billing_types,
# customer_categories, available_for_locations). billing_types has no default here (required=True in the
# capture, "optional" in the blueprint: the capture wins). internet/voice/custom_tariffs are ids of tariffs of
# that kind (live tables bundle_to_tariffs_internet / bundle_to_tariffs_custom); lengths: as voice (# guess).
FEES = ("activation_fee", "cancellation_fee", "prior_cancellation_fee")
FEE_WHEN = ("create_service", "first_service_billing")

TARIFFS_BUNDLE = Entity("tariffs_bundle", "admin/tariffs/bundle", "bundle", (
    *_plan_fields(64, Field("service_description", STR, "Service description", max_len=64)),
    Field("billing_types", ENUMS, "Types of billing", required=True,
          choices=("recurring", "prepaid", "prepaid_monthly")),
    *(f for f in _billing_fields() if f.name != "billing_types"),
    *(Field(fee, DECIMAL, fee.replace("_", " ").capitalize(), default="0.0000") for fee in FEES),
    Field("change_to_other_bundle_fee", DECIMAL, "Change to other bundle fee", default="0.0000"),
    Field("issue_invoice_while_service_creation", BOOL, "Issue an invoice", default=0),
    Field("get_activation_fee_when", ENUM, "Get activation fee when", default="create_service", choices=FEE_WHEN),
    Field("contract_duration", INT, "Contract duration", default=0),
    Field("automatic_renewal", BOOL, "Automatic renewal", default=0),
    Field("auto_reactivate", BOOL, "Auto reactivate", default=0),
    Field("discount_period", INT, "Discount period", default=0),
    Field("discount_type", ENUM, "Discount type", default="percent", choices=("percent", "fixed")),
    Field("discount_value", DECIMAL, "Discount value", default="0.0000"),
    Field("internet_tariffs", INTS, "Internet tariffs plans", default=[], ref="tariffs_internet"),
    Field("voice_tariffs", INTS, "Voice tariffs plans", default=[], ref="tariffs_voice"),
    Field("custom_tariffs", INTS, "Recurring tariffs plans", default=[], ref="tariffs_recurring"),
    Field("customer_labels", LABELS, "Labels", default=[], ref="labels"),
), "Bundle tariff")

IPV4_NETWORKS = Entity("ipv4_networks", "admin/networking/ipv4", "ipv4_networks", (
    ID,
    Field("network", IPV4, "Network", required=True),
    Field("mask", INT, "Mask", required=True),
    Field("title", STR, "Title", required=True, max_len=128),
    Field("comment", STR, "Comment", default=""),
    Field("location_id", INT, "Location", required=True, ref="locations"),
    Field("network_category", INT, "Category", default=1),
    Field("network_type", ENUM, "Network type", default="endnet", choices=("rootnet", "endnet")),
    Field("type_of_usage", ENUM, "Type of usage", default="management", choices=("pool", "static", "management")),
    Field("allow_use_network_and_broadcast", BOOL, default=0),
    Field("used", INT, "Used", writable=False, default=0),
), "IPv4 network")

# IPv6 networks: attributes as a live OPTIONS listed them (network and title required), meanings from the
# blueprint's "IPv6 network Base" (prefix, type_of_usage static|management, default static). Guesses: the
# prefix default (64), title length (as IPv4), location_id default 1, an `ipv6_networks` additional-fields
# module; Splynx's own IPv6 IP records (ipv6-ip) are not simulated.
IPV6_NETWORKS = Entity("ipv6_networks", "admin/networking/ipv6", "ipv6_networks", (
    ID,
    Field("network", STR, "Network", required=True),
    Field("prefix", INT, "Prefix", default=64),
    Field("title", STR, "Title", required=True, max_len=128),
    Field("comment", STR, "Comment", default=""),
    Field("location_id", INT, "Location ID", default=1, ref="locations"),
    Field("network_category", INT, "Network category", default=1),
    Field("network_type", ENUM, "Network type", default="endnet", choices=("rootnet", "endnet")),
    Field("type_of_usage", ENUM, "Type of usage", default="static", choices=("static", "management")),
    Field("used", INT, "Used", writable=False, default=0),
), "IPv6 network")

# Network sites: attributes of the blueprint's "Network site Base" (location_id and partners_ids required,
# gps "lat,lng"); no OPTIONS or column capture. Guesses: lengths (none enforced), blank defaults, and no
# additional-fields module (the blueprint's module list has none, so `additional_attributes` are not kept).
NETWORK_SITES = Entity("network_sites", "admin/networking/network-sites", None, (
    ID,
    Field("title", STR, "Title", default=""),
    Field("description", STR, "Description", default=""),
    Field("address", STR, "Address", default=""),
    Field("gps", STR, "GPS", default=""),
    Field("location_id", INT, "Location", required=True, ref="locations"),
    Field("partners_ids", INTS, "Partners", required=True, ref="partners"),
), "Network site")

IPV4_IPS = Entity("ipv4_ips", "admin/networking/ipv4-ip", "ipv4_networks_ip", (
    ID,
    Field("ipv4_networks_id", INT, "Network", ref="ipv4_networks", writable=False),  # from the path
    Field("ip", IPV4, "IP", required=True),
    Field("hostname", STR, default="", max_len=128),
    Field("location_id", INT, default=0, ref="locations", zero_ok=True),
    Field("title", STR, default="", max_len=128),
    Field("comment", STR, default=""),
    Field("host_category", INT, default=0),
    Field("is_used", BOOL, default=0),
    Field("status", INT, default=9, choices=(0, 1, 2, 9)),
    Field("last_check", DATETIME),
    Field("customer_id", INT, "Customer", default=0, ref="customers", zero_ok=True),
    Field("card_id", INT, default=0),
    Field("module", STR, default=""),
    Field("module_item_id", INT, default=0),
), "IPv4 IP")

# Stocks: blueprint "Stock Base" (a name); not in the blueprint's additional-fields modules, so no module.
# Its item path is singular (`admin/config/inventory-stock/{id}`): STOCK_ITEM_PATH, resolved in splynx_api.
STOCKS = Entity("stocks", "admin/config/inventory-stocks", None, (
    ID, Field("name", STR, "Name", required=True),
), "Stock")
STOCK_ITEM_PATH = "admin/config/inventory-stock"

# Suppliers: blueprint "Supplier Base"; module `inventory_suppliers` in its additional-fields list.
SUPPLIERS = Entity("suppliers", "admin/inventory/suppliers", "inventory_suppliers", (
    ID,
    Field("name", STR, "Name", required=True),
    Field("address", STR, "Address", default=""),
    Field("contact_name", STR, "Contact name", default=""),
    Field("email", EMAIL, "E-mail", default=""),
    Field("phone", STR, "Phone", default=""),
    Field("tax_included", BOOL, "Tax included", default=False),
), "Supplier")

VENDORS = Entity("vendors", "admin/inventory/vendors", "inventory_vendors", (
    ID, Field("name", STR, "Name", required=True, max_len=128),
), "Vendor")

PRODUCTS = Entity("products", "admin/inventory/products", "inventory_products", (
    ID,
    Field("name", STR, "Name", required=True, max_len=128),
    Field("vendor_id", INT, "Vendor", default=0, ref="vendors", zero_ok=True),
    Field("category_id", INT, "Category", default=1),
    Field("rent_price", DECIMAL, default="0.0000"),
    Field("sold_price", DECIMAL, default="0.0000"),
    Field("filename_original", STR, writable=False, default=""),
    Field("filename", STR, writable=False, default=""),
    Field("file_link", STR, writable=False, default=""),
), "Product")

ITEMS = Entity("items", "admin/inventory/items", "inventory_items", (
    ID,
    Field("product_id", INT, "Product", required=True, ref="products"),
    Field("barcode", STR, "Barcode", default="", max_len=64, unique=True),
    Field("serial_number", STR, "Serial number", default="", max_len=64),
    Field("notes", STR, default=""),
    Field("status", ENUM, "Status", default="stock",
          choices=("stock", "internal_usage", "sold", "rent", "returned", "assigned"), update_only=True),
    Field("mark", ENUM, "Mark", default="new", choices=("new", "used", "broken"), update_only=True),
    Field("customer_id", INT, "Customer", default=0, ref="customers", zero_ok=True, update_only=True),
    Field("admin_id", INT, "Administrator", default=0, ref="administrators", zero_ok=True),
    Field("service_id", INT, default=0),
    Field("invoice_id", INT, default=0),
    Field("supplier_invoices_item_id", INT, default=0),
    Field("cost_price", DECIMAL, "Cost price", default="0.0000", update_only=True),
    Field("transaction_id", INT, default=0),
    Field("stock_id", INT, "Stock location", default=1, ref="stocks", zero_ok=True, update_only=True),
    Field("task_id", INT, default=0),
), "Inventory item")

CUSTOMER_STATUSES = ("new", "active", "blocked", "disabled")

CUSTOMERS = Entity("customers", "admin/customers/customer", "customers", (
    ID,
    Field("login", STR, "Portal login", max_len=128, unique=True),
    Field("status", ENUM, "Status", default="new", choices=CUSTOMER_STATUSES),
    Field("partner_id", INT, "Partner", required=True, ref="partners"),
    Field("location_id", INT, "Location", required=True, ref="locations"),
    Field("parent_id", INT, "Parent", default=0, ref="customers", zero_ok=True),
    Field("name", STR, "Full name", required=True, max_len=256),
    Field("email", EMAIL, "E-mail", default="", max_len=256),
    Field("billing_email", EMAIL, "Billing e-mail", default="", max_len=256),
    Field("phone", STR, "Phone number", default="", max_len=256),
    Field("category", ENUM, "Category", default="person", choices=("person", "company", "lead")),
    Field("street_1", STR, "Street", default="", max_len=255),
    Field("zip_code", STR, "ZIP code", default="", max_len=32),
    Field("city", STR, "City", default="", max_len=32),
    Field("subdivision_id", INT, "State/province", default=0, ref="states_provinces", zero_ok=True),
    Field("date_add", DATE, "Date added", default="today"),
    Field("conversion_date", DATE, "Conversion date", default="0000-00-00", allow_zero_date=True),
    Field("daily_prepaid_cost", DECIMAL, default="0.0000"),
    Field("billing_type", ENUM, "Billing type", default="recurring",
          choices=("recurring", "prepaid", "prepaid_monthly")),
    Field("gps", STR, "GPS", default="", max_len=256),
    Field("gdpr_agreed", ENUM, default="empty_answer", choices=("empty_answer", "decline", "accept")),
    Field("customer_labels", LABELS, "Labels", default=[], ref="labels"),
    Field("password", STR, "Password", secret=True, max_len=512),
    Field("mrr_total", DECIMAL, writable=False, default="0.0000"),
    Field("added_by", STR, writable=False, default="api"),
    Field("added_by_id", INT, writable=False, default=0),
    Field("last_online", DATETIME, writable=False),
    Field("last_update", DATETIME, writable=False),
), "Customer")

CUSTOMER_INFO = Entity("customer_info", "admin/customers/customer-info", None, (
    ID,
    Field("birthday", DATE, "Birthday", default="0000-00-00", allow_zero_date=True),
    Field("passport", STR, default="", max_len=32),
    Field("company_id", STR, default="", max_len=32),
    Field("contact_person", STR, default="", max_len=256),
    Field("vat_id", STR, default="", max_len=32),
    Field("updated_at", DATETIME, writable=False),
), "Customer info")

CUSTOMER_BILLING = Entity("customer_billing", "admin/customers/customer-billing", None, (
    Field("customer_id", INT, writable=False),
    Field("enabled", BOOL, default=1),
    Field("type", ENUM, default="recurring", choices=("recurring", "prepaid", "prepaid_monthly")),
    Field("deposit", DECIMAL, writable=False, default="0.0000"),
    Field("billing_date", INT, default=1),
    Field("billing_due", INT, default=14),
    Field("blocking_period", INT, default=0),
    Field("grace_period", INT, default=3),
    Field("make_invoices", BOOL, default=1),
    Field("payment_method", INT, default=1),
    Field("min_balance", DECIMAL, default="0.0000"),
    Field("request_auto_enable", BOOL, default=0),
    Field("reminder_enable", BOOL, default=0),
    Field("billing_person", STR, default="", max_len=255),
    Field("billing_street_1", STR, default="", max_len=255),
    Field("billing_zip_code", STR, default="", max_len=32),
    Field("billing_city", STR, default="", max_len=128),
    Field("sub_billing_mode", ENUM, default="independent", choices=("independent", "aggregated")),
    Field("send_finance_notification", BOOL, default=1),
    Field("partner_percent", DECIMAL, default="0.0000"),
), "Customer billing")

# Customer comments ("notes"): the blueprint's *Customer comment Base/Response* (apib ~2568) at
# `admin/customers/customer-notes`, item `customer-notes/{customer_id}--{id}`; the blueprint's additional-fields
# module list has none for them, so no module. Lengths, enums and defaults from the live `customer_notes` columns
# (title varchar(50), name varchar(255), comment and values text, type enum, is_done/is_send enum('0','1'),
# is_pinned tinyint). Required: customer_id and comment (the blueprint; no OPTIONS capture). The blueprint documents
# GET on the item only; PUT and DELETE there are a GUESS (a real Splynx admin UI edits and deletes comments, and the
# client needs them for updates and rollback). Guesses besides: `class` is checked against the blueprint's six
# values though the live column is a free varchar(32), and defaults to "default" (NOT NULL without a default
# live); `datetime` is stamped with the time of the create when omitted; administrator_id and assigned_to name an
# administrator, 0 meaning none. The live `deleted`, `is_edited` and `updated_at` columns are not simulated.
NOTE_TYPES = ("comment", "message", "call", "customer", "finance", "service", "support")
NOTE_CLASSES = ("default", "primary", "success", "warning", "danger", "info")
"""The blueprint's list of `class` values (the live column is varchar(32): Splynx's own check is not captured)."""

CUSTOMER_NOTES = Entity("customer_notes", "admin/customers/customer-notes", None, (
    ID,
    Field("customer_id", INT, "Customer", required=True, ref="customers"),
    Field("datetime", DATETIME, "Date and time"),
    Field("administrator_id", INT, "Administrator", default=0, ref="administrators", zero_ok=True),
    Field("type", ENUM, "Type", default="comment", choices=NOTE_TYPES),
    Field("class", ENUM, "Class", default="default", choices=NOTE_CLASSES, max_len=32),
    Field("title", STR, "Title", default="", max_len=50),
    Field("name", STR, "Name", default="", max_len=255),
    Field("comment", STR, "Comment", required=True),
    Field("values", STR, "Values", default=""),
    Field("pinned_date", DATETIME, "Pinned date", allow_zero_date=True),
    Field("scheduled_send_time", DATETIME, "Scheduled send time", allow_zero_date=True),
    Field("assigned_to", INT, "Assigned to", default=0, ref="administrators", zero_ok=True),
    Field("is_done", BOOL, "Is done", default=0),
    Field("is_send", BOOL, "Is send", default=0),
    Field("is_pinned", BOOL, "Is pinned", default=0),
), "Customer comment")

# Finance transactions: the blueprint's *Transaction Base* / *Transaction Response* (apib ~4983) at
# `admin/finance/transactions`, additional-fields module `billing_transactions` (the blueprint's module list);
# lengths, enums and defaults from the live `billing_transactions` columns. Required: the blueprint's five
# (type, customer_id, tax_percent, date, category) and `description`, which the live OPTIONS requires
# (options-attributes.tsv); docs/fidelity.md lists where that differs from the capture. `total` is computed
# (splynx_rules). A `debit` charges the customer, a `credit` pays (Splynx documentation, Finance > Transactions).
# The live `deleted` flag is not simulated: a DELETE removes the record, as for every other entity.
TRANSACTION_TYPES = ("debit", "credit")

BILLING_TRANSACTIONS = Entity("billing_transactions", "admin/finance/transactions", "billing_transactions", (
    ID,
    Field("type", ENUM, "Type", required=True, choices=TRANSACTION_TYPES),
    Field("customer_id", INT, "Customer", required=True, ref="customers"),
    Field("quantity", INT, "Quantity", default=1),
    Field("unit", STR, "Unit", default="", max_len=32),
    Field("price", DECIMAL, "Price", default="0.0000"),
    Field("tax_percent", DECIMAL, "Tax %", required=True),
    Field("total", DECIMAL, "Total", writable=False, default="0.0000"),
    Field("remind_amount", DECIMAL, "Remind amount", default="0.0000"),
    Field("date", DATE, "Transaction date", required=True),
    Field("category", INT, "Category", required=True, ref="transaction_categories"),
    Field("description", STR, "Description", required=True, max_len=255),
    Field("period_from", DATE, "From", default="0000-00-00", allow_zero_date=True),
    Field("period_to", DATE, "To", default="0000-00-00", allow_zero_date=True),
    Field("service_id", INT, "Service ID"),
    Field("payment_id", INT, "Payment"),
    Field("credit_note_id", INT, "Credit note ID", default=0),
    Field("invoice_id", INT, "Invoice ID"),
    Field("invoiced_by_id", INT, "Invoiced by ID"),
    Field("comment", STR, "Comment", default="", max_len=512),
    Field("to_invoice", BOOL, "Include transaction in next recurring invoice", default=0),
    # NOT NULL without a default in the live table: MySQL stores an enum's first member (# guess).
    Field("service_type", ENUM, "Service type", default="internet",
          choices=("internet", "voice", "custom", "bundle", "one_time")),
    Field("source", ENUM, "Source", default="manual", choices=("manual", "auto", "cdr", "config")),
    Field("tax_id", INT, "Tax name", default=0, ref="taxes", zero_ok=True),
    Field("sub_account_id", INT, "Account ID", default=0),
), "Transaction")

# Transaction categories: the blueprint's *TransactionCategories Base/Response*; name varchar(64) and
# is_base enum('0','1') from the live `billing_transactions_categories`. `is_base` marks Splynx's own
# categories, which "cannot be edited or deleted" (Splynx documentation, Config > Finance > Transaction
# categories): server-set here, so an API write cannot make a category undeletable.
TRANSACTION_CATEGORIES = Entity("transaction_categories", "admin/finance/transaction-categories", None, (
    ID,
    Field("name", STR, "Name", required=True, max_len=64),
    Field("is_base", BOOL, "Is base", writable=False, default=0),
    Field("accounting_category_id", INT, "Accounting category ID"),
    *(Field(f"einvoicing_{name}", INT, default=0)
      for name in ("category_id", "private_person_category_id", "type_id", "private_person_type_id")),
), "Transaction category")
SEEDED_TRANSACTION_CATEGORIES = ("Service", "Discount", "Payment", "Refund", "Correction")
"""Splynx's default categories, ids 1..5 ("set by default", Splynx documentation; the order is a guess)."""

# Payment methods: the blueprint's *PaymentMethods Base/Response* (apib ~5164) at `admin/finance/payment-methods`;
# attributes and required flags (name, is_active) as the live OPTIONS listed them (options-attributes.tsv). The
# live table was not captured: no lengths are enforced (# guess). name_1..name_5 are the titles the method gives
# a payment's field_1..field_5 ("Payer", ...). The blueprint's module list has no payment-methods module.
PAYMENT_METHODS = Entity("payment_methods", "admin/finance/payment-methods", None, (
    ID,
    Field("name", STR, "Name", required=True),
    Field("is_active", BOOL, "Active", required=True),
    *(Field(f"name_{n}", STR, f"Field {n}", default="") for n in range(1, 6)),
    Field("accounting_bank_accounts_id", INT, "Accounting bank accounts ID", default=0),
    Field("einvoicing_payment_methods_id", INT, "Einvoicing_payment_methods_id", default=0),
), "Payment method")
SEEDED_PAYMENT_METHODS = ("Cash", "Bank transfer", "Credit card", "PayPal", "Refill card")
"""What a fresh Splynx lists, ids 1..5: a guess (neither the blueprint nor the captures list them)."""

# Payments: the blueprint's *Payment Base/Response* (apib ~5124) at `admin/finance/payments`, additional-fields
# module `payments` (the blueprint's module list); titles as the live OPTIONS gave them, lengths and enums from
# the live `payments` columns (receipt_number varchar(32), comment varchar(256), field_1..5 varchar(512),
# is_sent and added_by enums). Required, a choice between two sources that disagree:
# * customer_id, payment_type, receipt_number, date, amount: the blueprint marks them required; the live OPTIONS
#   only customer_id. The blueprint wins here: the live columns are NOT NULL without a default, and a payment
#   without a method, a date or a sum is no payment.
# * field_1..field_5: the blueprint marks them required, the live OPTIONS not. The capture wins: they are free
#   text whose meaning the payment method names (name_1..name_5), so absent or "" is accepted and stored as "".
# Server-set (a write is ignored): transaction_id, the credit transaction the payment books (splynx_rules:
# live payments.transaction_id is NOT NULL); real_create_datetime, added_by, added_by_id, updated_at (stamped);
# remind_amount, the sum not allocated to an invoice, which the blueprint lists in the response only (kept at
# 0.0000 as its example shows, # guess: invoices are not simulated). The live `deleted` flag is not simulated.
PAYMENTS = Entity("payments", "admin/finance/payments", "payments", (
    ID,
    Field("customer_id", INT, "Customer ID", required=True, ref="customers"),
    Field("invoice_id", INT, "Invoice"),
    Field("credit_note_id", INT, "Credit note"),
    Field("request_id", INT, "Proforma Invoice"),
    Field("transaction_id", INT, "Transaction", writable=False, default=0),
    Field("payment_statement_id", INT, "Payment_statement_id"),
    Field("payment_type", INT, "Payment type", required=True, ref="payment_methods"),
    Field("receipt_number", STR, "Receipt Number", required=True, max_len=32),
    Field("date", DATE, "Date", required=True),
    Field("real_create_datetime", DATETIME, "Created", writable=False),
    Field("amount", DECIMAL, "Sum", required=True),
    Field("remind_amount", DECIMAL, "Unallocated amount", writable=False, default="0.0000"),
    Field("comment", STR, "Comment", default="", max_len=256),
    Field("is_sent", BOOL, "Sent?", default=0),
    Field("field_1", STR, "Payer", default="", max_len=512),
    *(Field(f"field_{n}", STR, f"#{n}", default="", max_len=512) for n in range(2, 6)),
    Field("note", STR, "Note", default=""),
    Field("memo", STR, "Memo", default=""),
    Field("added_by", ENUM, "Added_by", writable=False, default="api", choices=("system", "api", "admin")),
    Field("added_by_id", INT, "Added by", writable=False, default=0),
    Field("updated_at", DATETIME, "Updated_at", writable=False),
), "Payment")

# Invoices: the blueprint's *Invoice Base/Response* and *Invoice item* (apib ~5035) at `admin/finance/invoices`
# (apib ~4196: POST, GET, `/{id}` GET, PUT 202 with `items: [{id, description}]`, DELETE 204), additional-fields
# module `invoices` (the blueprint's module list); titles as the live OPTIONS gave them, lengths, enums and
# defaults from the live `invoices` columns (number varchar(64), status enum, use_transactions/is_sent/
# payd_from_deposit enum('0','1'), type enum default one_time, total/due decimal(19,4)). Required, a choice between
# two sources that disagree (as for PAYMENTS):
# * customer_id and status: both sources. status has no default here although the live column's is not_paid:
#   both sources mark it required, so a client must say whether the invoice is paid.
# * number: the blueprint marks it required, the live OPTIONS not. The blueprint wins: the live column is NOT NULL
#   without a default, and a migrated invoice must keep its Sonar number. Unique among invoices (# guess: Splynx
#   numbers its invoices from one sequence); a duplicate is a 422 on `number`.
# * items: the blueprint marks them required (OPTIONS does not list them): an empty list on create is a 422.
# Server-set (a write is ignored): total = Σ of the items' transaction totals (price * quantity * (1 + tax/100),
# each rounded half-up to 4 decimals as a transaction's: so the deposit moves by exactly the total); due = total
# while not_paid or pending, 0.0000 once paid or deleted (# guess); real_create_datetime, added_by, added_by_id
# (stamped as on payments). Guesses besides: date_created and date_updated default to today, date_till to
# date_created (due at once), date_payment to 0000-00-00 (not paid yet); payment_id is a plain number (no check
# that the payment exists: the two may be migrated in either order). use_transactions defaults to 1 (the live
# column's default): the invoice books one debit transaction per item (splynx_rules.book_invoice); with 0 it is a
# document only, booking nothing and leaving the deposit alone. The live `deleted` flag is not simulated.
#
# Items (# guesses: the live invoice-items table was not captured): description required, at most 255 characters
# (as a transaction's); quantity an integer >= 1, default 1; price and tax (VAT %) decimals, default 0; period_from/
# period_to dates, default 0000-00-00 (as a transaction's); categoryIdForTransaction an existing transaction
# category, default the seeded "Service"; sub_account_id, default 0. The blueprint's `unit` ("number, required") is
# ignored like any unknown attribute: the blueprint's own PUT example leaves it out. Each item gets an id from one
# sequence for all invoices (never reused), and `transaction_id`, the debit it booked (0 when none), both
# server-set. A PUT's items merge by `id` into the stored ones (the blueprint's example renames item 1 only); an
# element without `id` is a new item; items a PUT does not name are kept.
INVOICE_STATUSES = ("not_paid", "paid", "pending", "deleted")
INVOICE_UNPAID = ("not_paid", "pending")
"""Statuses in which the invoice's total is still due."""

INVOICE_ITEM = (
    Field("id", INT, "ID", writable=False),
    Field("description", STR, "Description", required=True, max_len=255),
    Field("quantity", INT, "Quantity", required=True, default=1, min_value=1),
    Field("price", DECIMAL, "Price", default="0.0000"),
    Field("tax", DECIMAL, "VAT %", default="0.0000"),
    Field("period_from", DATE, "Period from", default="0000-00-00", allow_zero_date=True),
    Field("period_to", DATE, "Period to", default="0000-00-00", allow_zero_date=True),
    Field("categoryIdForTransaction", INT, "Transaction category", ref="transaction_categories", zero_ok=True),
    Field("sub_account_id", INT, "Sub-account ID", default=0),
    Field("transaction_id", INT, "Transaction", writable=False, default=0),
)

INVOICES = Entity("invoices", "admin/finance/invoices", "invoices", (
    ID,
    Field("customer_id", INT, "Customer ID", required=True, ref="customers"),
    Field("date_created", DATE, "Document date", default="today"),
    Field("real_create_datetime", DATETIME, "Created", writable=False),
    Field("date_updated", DATE, "Last update", default="today"),
    Field("date_payment", DATE, "Payment date", default="0000-00-00", allow_zero_date=True),
    Field("date_till", DATE, "Payment due date"),
    Field("use_transactions", BOOL, "Use transactions", default=1),
    Field("note", STR, "Note", default=""),
    Field("memo", STR, "Memo", default=""),
    Field("number", STR, "Number", required=True, max_len=64, unique=True),
    Field("total", DECIMAL, "Total", writable=False, default="0.0000"),
    Field("due", DECIMAL, "Due", writable=False, default="0.0000"),
    Field("payment_id", INT, "Payment", default=0),
    Field("type", ENUM, "Type", default="one_time", choices=("one_time", "recurring")),
    Field("payd_from_deposit", BOOL, "Payd_from_deposit", default=0),
    Field("status", ENUM, "Status", required=True, choices=INVOICE_STATUSES),
    Field("is_sent", BOOL, "Sent?", default=0),
    Field("added_by", ENUM, "Added_by", writable=False, default="api", choices=("system", "api", "admin")),
    Field("added_by_id", INT, "Added by", writable=False, default=0),
    Field("items", OBJECTS, "Items", required=True, parts=INVOICE_ITEM),
), "Invoice")

SERVICE_STATUSES = ("active", "stopped", "disabled", "hidden", "pending")


def _service_base(tariff_key: str, *, description_len: int, unit_len: int,
                  discount_text_len: int | None) -> tuple[Field, ...]:  # fmt: skip
    """APIB *Service Base*: what every kind of customer service has (lengths differ by kind)."""
    return (
        ID,
        Field("customer_id", INT, "Customer", writable=False),
        Field("tariff_id", INT, "Tariff", required=True, ref=tariff_key),
        Field("status", ENUM, "Status", required=True, choices=SERVICE_STATUSES),
        Field("description", STR, "Description", required=True, max_len=description_len),
        Field("quantity", INT, "Quantity", default=1),
        Field("unit", STR, default="", max_len=unit_len),
        Field("unit_price", DECIMAL, "Unit price"),
        Field("start_date", DATE, "Start date", required=True),
        Field("end_date", DATE, "End date", default="0000-00-00", allow_zero_date=True),
        Field("discount", BOOL, default=0),
        Field("discount_type", ENUM, default="percent", choices=("percent", "fixed")),
        Field("discount_value", DECIMAL, default="0.0000"),
        Field("discount_start_date", DATE, default="0000-00-00", allow_zero_date=True),
        Field("discount_end_date", DATE, default="0000-00-00", allow_zero_date=True),
        Field("discount_text", STR, default="", max_len=discount_text_len),
    )


INTERNET_SERVICES = Entity("internet_services", "admin/customers/customer/{customer_id}/internet-services",
                           "services_internet", (
    *_service_base("tariffs_internet", description_len=255, unit_len=32, discount_text_len=None),
    Field("router_id", INT, default=0),
    Field("sector_id", INT, default=0),
    Field("login", STR, "Login", max_len=64, unique=True),
    Field("password", STR, "Password", secret=True, max_len=64),  # accepted, never returned (a guess)
    Field("taking_ipv4", INT, "Taking IPv4", default=0, choices=(0, 1, 2)),
    Field("ipv4", IPV4, "IPv4", default=""),
    Field("ipv4_route", STR, default=""),
    Field("ipv4_pool_id", INT, "IPv4 pool", default=0, ref="ipv4_networks", zero_ok=True),
    Field("ipv6", STR, default=""),
    Field("taking_ipv6", INT, "Taking IPv6", default=0, choices=(0, 1, 2)),  # blueprint; not in OPTIONS: a guess
    Field("mac", STR, "MAC", default="", max_len=255),
    Field("port_id", INT, default=0),
    Field("access_device", INT, default=0),
    Field("bundle_service_id", INT, default=0),
    Field("parent_id", INT, default=0),
    Field("period", INT, default=-1),
    Field("type", STR, writable=False, default="internet"),
), "Internet service")

# Recurring ("custom") and voice services: the blueprint's *Service Base* with *Customer Recurring service
# Base* / *Customer Voice service Base*; lengths, enums and defaults from the live `services_voice` columns
# (description and discount_text varchar(512), unit varchar(128), direction, period enum('-1'..'99')).
# Recurring services (`services_custom`) were not captured: the same lengths (# guess). The live services_voice
# table has no `phone` column (Splynx keeps numbers elsewhere); the simulator stores the blueprint's required
# `phone` on the service, unlimited in length (# guess).
SERVICE_PERIODS = tuple(range(-1, 100))


def _service_fields(tariff_key: str) -> tuple[Field, ...]:
    """APIB *Service Base* plus the bundle/parent attributes recurring and voice services share."""
    return (
        *_service_base(tariff_key, description_len=512, unit_len=128, discount_text_len=512),
        Field("bundle_service_id", INT, default=0),
        Field("parent_id", INT, default=0),
        Field("status_new", STR, default="", max_len=64),
        Field("on_approve", BOOL, default=0),
        Field("period", INT, default=-1, choices=SERVICE_PERIODS),
    )


RECURRING_SERVICES = Entity("recurring_services", "admin/customers/customer/{customer_id}/recurring-services",
                            "services_custom", (
    *_service_fields("tariffs_recurring"),
    Field("type", STR, writable=False, default="custom"),
), "Recurring service")

VOICE_SERVICES = Entity("voice_services", "admin/customers/customer/{customer_id}/voice-services",
                        "services_voice", (
    *_service_fields("tariffs_voice"),
    Field("voice_device_id", INT, "Voice device", default=0),
    Field("phone", STR, "Phone number", required=True),
    Field("direction", ENUM, "Direction", default="outgoing", choices=("incoming", "outgoing")),
    Field("type", STR, writable=False, default="voice"),
), "Voice service")

# Bundle services: the blueprint's *Customer Bundle service Base* (apib ~4000); lengths, enums and defaults
# from the live `services_bundle` columns (description and discount_text varchar(512), period enum('-1'..'99'),
# automatic_renewal/auto_reactivate/discount/on_approve enum('1','0') default 0). The live `status` is a
# varchar(64); the blueprint lists its values, which the simulator enforces as for the other services.
# An internet, voice or recurring service belongs to one through its `bundle_service_id` (0 = none).
BUNDLE_SERVICES = Entity("bundle_services", "admin/customers/customer/{customer_id}/bundle-services",
                         "services_bundle", (
    ID,
    Field("customer_id", INT, "Customer", writable=False),
    Field("bundle_id", INT, "Bundle", required=True, ref="tariffs_bundle"),
    Field("status", ENUM, "Status", required=True, choices=SERVICE_STATUSES),
    Field("description", STR, "Description", required=True, max_len=512),
    Field("unit_price", DECIMAL, "Unit price"),
    Field("start_date", DATE, "Start date", required=True),
    Field("end_date", DATE, "End date", required=True, allow_zero_date=True),
    Field("discount", BOOL, default=0),
    Field("discount_type", ENUM, default="percent", choices=("percent", "fixed")),
    Field("discount_value", DECIMAL, default="0.0000"),
    Field("discount_start_date", DATE, default="0000-00-00", allow_zero_date=True),
    Field("discount_end_date", DATE, default="0000-00-00", allow_zero_date=True),
    Field("discount_text", STR, default="", max_len=512),
    Field("automatic_renewal", BOOL, "Automatic renewal", default=0),
    Field("auto_reactivate", BOOL, "Auto reactivate", default=0),
    *(Field(fee, DECIMAL, fee.replace("_", " ").capitalize(), default="0.0000") for fee in FEES),
    Field("get_activation_fee_when", ENUM, "Get activation fee when", default="create_service", choices=FEE_WHEN),
    Field("issue_invoice_while_service_creation", BOOL, "Issue an invoice", default=0),
    Field("activation_fee_transaction_id", INT, default=0),
    Field("cancellation_fee_transaction_id", INT),
    Field("prior_cancellation_fee_transaction_id", INT, default=0),
    Field("parent_id", INT, default=0),
    Field("period", INT, default=-1, choices=SERVICE_PERIODS),
    Field("on_approve", BOOL, default=0),
    Field("type", STR, writable=False, default="bundle"),
), "Bundle service")

# A customer's services, served at `admin/customers/customer/{cid}/<kind>-services(--{id})`.
SERVICES: tuple[Entity, ...] = (INTERNET_SERVICES, RECURRING_SERVICES, VOICE_SERVICES)
# Every kind of service a customer holds: the tariff-billed ones and bundle services (which bill on `bundle_id`).
CUSTOMER_SERVICES: tuple[Entity, ...] = (*SERVICES, BUNDLE_SERVICES)
# Every tariff kind; and the service table that uses each tariff kind (one-time tariffs: none simulated).
TARIFFS: tuple[Entity, ...] = (TARIFFS_INTERNET, TARIFFS_RECURRING, TARIFFS_ONE_TIME, TARIFFS_VOICE, TARIFFS_BUNDLE)


def tariff_of(service: Entity) -> str:
    """The tariff entity a service's `tariff_id` refers to: each service kind has its own tariff table."""
    fld = service.field("tariff_id")
    if fld is None or fld.ref is None:
        raise ValueError(f"{service.key} has no tariff reference")
    return fld.ref


SERVICES_OF_TARIFF: dict[str, str] = {tariff_of(s): s.key for s in SERVICES}
PLAN_USES: dict[str, tuple[str, str]] = {
    **{tariff: (service, "tariff_id") for tariff, service in SERVICES_OF_TARIFF.items()},
    TARIFFS_BUNDLE.key: (BUNDLE_SERVICES.key, "bundle_id"),
}
"""Tariff kind -> (the service kind that bills on it, the service's field naming it): in use, `services` count."""

AF_TYPES = ("string", "integer", "decimal", "numeric", "date", "datetime", "boolean", "select",
            "select_multiple", "password", "file", "relation", "relation_multiple")
AF_MODULES = ("customers", "services_internet", "tariffs_internet", "partners", "locations", "admins",
              "ipv4_networks", "ipv4_networks_ip", "inventory_items", "inventory_products", "inventory_vendors",
              "inventory_suppliers", "routers", "ipv6_networks", "tariffs_custom", "tariffs_one_time", "tariffs_voice",
              "services_custom", "services_voice", "bundle", "services_bundle", "billing_transactions",
              "payments", "invoices", "ticket")

ADDITIONAL_FIELDS = Entity("additional_fields", "admin/config/additional-fields/{module}", None, (
    Field("module", STR, "Module", writable=False),
    Field("name", STR, "Name", required=True, max_len=64),
    Field("title", STR, "Title", required=True, max_len=128),
    Field("type", ENUM, "Type", required=True, choices=AF_TYPES),
    Field("default_value", STR, default=""),
    Field("min_length", INT, default=0),
    Field("max_length", INT, default=0),
    Field("is_required", BOOL, "Is required", default=0),
    Field("is_unique", BOOL, "Is unique", default=0),
    Field("is_add", BOOL, default=1),
    Field("show_in_list", BOOL, default=0),
    Field("searchable", BOOL, default=1),
    Field("readonly", BOOL, default=0),
    Field("disabled", BOOL, default=0),
    Field("hidden", BOOL, default=0),
    Field("select_values", STR, default=""),
    Field("relation_module", STR, default=""),
    Field("decimals", INT, default=2),
), "Additional field")

# APIB *Labels collection*: `customer_labels` of customers (and tariffs) are ids of these.
LABELS_CONFIG = Entity("labels", "admin/config/labels", None, (
    ID,
    Field("module", ENUM, "Module", required=True, choices=("ticket", "scheduling_task", "customers")),
    Field("label", STR, "Label", required=True, max_len=128, unique=True),
    Field("color", STR, "Color", default="#357bf2", max_len=7),
    Field("textColor", STR, writable=False, default="#fff"),
), "Label")

# Read and update only (the APIB has no POST nor DELETE): a new Splynx comes with its country's list.
STATES_PROVINCES = Entity("states_provinces", "admin/config/states-provinces", None, (
    ID,
    Field("code", STR, "Code", default="", max_len=32),
    Field("name", STR, "Name", required=True, max_len=128),
    Field("date_changed", DATE, "Date changed", writable=False),
    Field("is_default", BOOL, "Is default", default=0),
), "State/province")

# Read only (the APIB has GET only: `admin/config/taxes` and `/{id}`, *Tax Response*); a tax is made in the
# web UI (Config / Finance / Taxes). Tax groups (`type` group, with `items`) are not simulated.
TAXES = Entity("taxes", "admin/config/taxes", None, (
    ID,
    Field("name", STR, "Name", required=True, max_len=128),
    Field("rate", DECIMAL, "Rate", default="0.0000"),  # a percentage (APIB example: 2)
    Field("type", ENUM, "Type", default="single", choices=("single", "group")),
    Field("archived", INT, "Archived", default=0, choices=(0, 1)),
    Field("accounting_tax_rates_id", INT, default=0),
    Field("einvoicing_tax_rates_id", INT, default=0),
), "Tax")
SEEDED_TAXES: tuple[tuple[str, str], ...] = (("No tax", "0"), ("Sales tax", "6.25"), ("Sales and county tax", "7.25"))
"""What the simulated install has configured (name, rate %): the sandbox's Sonar taxes map to the last two."""

# What a US installation lists (our guess at the codes' form: `TX`, see docs/fidelity.md).
US_STATES: tuple[tuple[str, str], ...] = (
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"),
    ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
)

# -- support: tickets and their messages ----------------------------------------------------------------------
# Evidence: the blueprint's *Group Support* (apib ~6916: `admin/support/tickets` and `ticket-messages` with POST,
# GET, `/{id}` GET, PUT 202, DELETE 204; `tickets-statuses`, `tickets-groups`, `tickets-types` GET list and item
# only) and its data structures (~7171: *Ticket Base*, *Ticket Base Create*, *Ticket Message Base/Create/Response*,
# *Ticket Status Base*, *Ticket Group Response*, *Ticket Type Response*); the live `ticket` and `ticket_types`
# columns (mysql-columns.tsv) and the live OPTIONS of admin/support/tickets (type_id, subject, priority required).
# The live ticket-messages, -statuses and -groups tables were not captured: their lengths are not enforced.

# Read only (GET list and item): a fresh Splynx's support configuration, seeded (splynx.py), our guess at what it
# holds (docs/fidelity.md). `mark` is the blueprint's array of open/unresolved/closed.
TICKET_STATUSES = Entity("ticket_statuses", "admin/support/tickets-statuses", None, (
    ID,
    Field("title_for_agent", STR, "Title for agent", required=True),
    Field("title_for_customer", STR, "Title for customer", required=True),
    Field("label", STR, "Label", default="default"),
    Field("mark", ENUMS, "Mark", default=[], choices=("open", "unresolved", "closed")),
    Field("icon", STR, "Icon", default=""),
    Field("view_on_dashboard", BOOL, "View on dashboard", default=1),
), "Ticket status")
SEEDED_TICKET_STATUSES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("New", "danger", ("open", "unresolved"), "fa-ticket"),
    ("Work in progress", "warning", ("open", "unresolved"), "fa-tasks"),
    ("Resolved", "success", ("closed",), "fa-check"),
    ("Waiting on customer", "info", ("open",), "fa-user"),
    ("Waiting on agent", "primary", ("open", "unresolved"), "fa-user-secret"),
)
"""(title, label, mark, icon) of statuses 1..5: a guess (labels and icons too); 1 "New" is a ticket's default."""

TICKET_GROUPS = Entity("ticket_groups", "admin/support/tickets-groups", None, (
    ID,
    Field("title", STR, "Title", required=True),
    Field("description", STR, "Description", default=""),
    Field("agent_ids", INTS, "Agents", default=[], ref="administrators"),
), "Ticket group")
SEEDED_TICKET_GROUPS = ("Support", "Billing")
"""Groups 1..2, no agents: a guess. A Sonar group named otherwise is the client's to map (docs/fidelity.md)."""

# title varchar(255), background_color varchar(50) NULL: the live `ticket_types`; seeded without a colour.
TICKET_TYPES = Entity("ticket_types", "admin/support/tickets-types", None, (
    ID,
    Field("title", STR, "Title", required=True, max_len=255),
    Field("background_color", STR, "Background color", max_len=50),
), "Ticket type")
SEEDED_TICKET_TYPES = ("Question", "Incident", "Problem", "Feature request")
"""Types 1..4: a guess."""

# Ticket messages: the blueprint's *Ticket Message Base/Create/Response*. Required: ticket_id and message (the
# blueprint marks none; a message belongs to a ticket and says something: a guess). Guesses besides (docs/fidelity.md):
# source defaults to api (the write comes over the API); date and time to now; author_type, when a create omits
# it, is admin when admin_id is set, else customer when customer_id is, else api (splynx_rules); can_be_deleted
# defaults to 1 (the blueprint's example), the other flags to 0; mail_to/cc/bcc are free text (not checked as
# addresses); message_type is server-set: "note" for an admin's message hidden from the customer, else "message"
# ("change_ticket", a system message, is never made here). Not simulated: `files` (attachments: ignored like
# any unknown attribute) and `smsTo`. No additional-fields module (the blueprint's module list has none).
TICKET_MESSAGE_AUTHORS = ("admin", "customer", "api", "system")


def _message_fields() -> tuple[Field, ...]:
    """A ticket message's attributes besides `id` and `ticket_id` (shared with a ticket's inline `message`)."""
    return (
        Field("customer_id", INT, "Customer", default=0, ref="customers", zero_ok=True),
        Field("incoming_customer_id", INT, "Incoming customer", default=0),
        Field("admin_id", INT, "Administrator", default=0, ref="administrators", zero_ok=True),
        Field("api_id", INT, "API key", default=0),
        Field("source", ENUM, "Source", default="api",
              choices=("administration", "api", "portal", "public_form", "incoming")),
        Field("date", DATE, "Date", default="today"),
        Field("time", TIME, "Time", default="now"),
        Field("message", STR, "Message", required=True),
        Field("rawMessage", STR, "Raw message", default=""),
        Field("is_merged", BOOL, "Is merged", default=0),
        Field("can_be_deleted", BOOL, "Can be deleted", default=1),
        Field("hide_for_customer", BOOL, "Hide for customer", default=0),
        Field("mail_to", STR, "Mail to", default=""),
        Field("mail_cc", STR, "Mail Cc", default=""),
        Field("mail_bcc", STR, "Mail Bcc", default=""),
        Field("author_type", ENUM, "Author type", choices=TICKET_MESSAGE_AUTHORS),
        Field("message_type", ENUM, "Message type", writable=False, default="message",
              choices=("message", "note", "change_ticket")),
    )


TICKET_MESSAGES = Entity("ticket_messages", "admin/support/ticket-messages", None, (
    ID,
    Field("ticket_id", INT, "Ticket", required=True, ref="tickets"),
    *_message_fields(),
), "Ticket message")

# Tickets: the blueprint's *Ticket Base* / *Ticket Base Create* at `admin/support/tickets`, additional-fields module
# `ticket` (the blueprint's module list); subject varchar(256), the enums and their defaults from the live `ticket`
# columns; required as the live OPTIONS (type_id, subject, priority). Choices and guesses (docs/fidelity.md):
# * priority: the live column is a varchar(128); the blueprint's text lists low, medium, high, urgent: enforced.
# * customer_id 0 = no customer (a ticket may be a lead's or nobody's), assign_to 0 = nobody, group_id 0 or null =
#   no group (the live column is NULL by default); status_id defaults to 1 (the seeded "New"); all checked.
# * created_at and updated_at: the blueprint lists them in *Ticket Base* (not as read-only), so a migration may set
#   them; omitted, they are the write's time, and a PUT without updated_at stamps it (splynx_api._stamp).
# * source defaults to api (the live column has no default: the write comes over the API); unread_by_customer
#   and unread_by_admin (NOT NULL without default live) to 0; the other flags as the live defaults;
#   `closed` is not derived from the status' mark (a client sends both). reporter_id, incoming_customer_id,
#   task_id and related_account_id are plain numbers (what they name is not simulated).
# * `message` (*Ticket Base Create*): an optional inline *Ticket Message Create*, the ticket's first message
#   (splynx_rules), written on POST only, never returned; `watchers`, `moduleLabels` and `lead_id` are not
#   simulated (ignored). The live `deleted` flag is not simulated: DELETE removes the ticket and its messages.
TICKET_PRIORITIES = ("low", "medium", "high", "urgent")

TICKETS = Entity("tickets", "admin/support/tickets", "ticket", (
    ID,
    Field("customer_id", INT, "Customer ID", default=0, ref="customers", zero_ok=True),
    Field("incoming_customer_id", INT, "Incoming customer", default=0),
    Field("reporter_id", INT, "Reporter ID", default=0),
    Field("reporter_type", ENUM, "Reporter type", default="none",
          choices=("none", "api", "admin", "customer", "incoming")),
    Field("hidden", BOOL, "Hide", default=0),
    Field("assign_to", INT, "Assigned to", default=0, ref="administrators", zero_ok=True),
    Field("status_id", INT, "Status", default=1, ref="ticket_statuses"),
    Field("group_id", INT, "Group", ref="ticket_groups", zero_ok=True),
    Field("type_id", INT, "Type", required=True, ref="ticket_types"),
    Field("task_id", INT, "Task"),
    Field("subject", STR, "Subject", required=True, max_len=256),
    Field("priority", ENUM, "Priority", required=True, choices=TICKET_PRIORITIES),  # live: a varchar(128)
    Field("star", BOOL, "Star", default=0),
    Field("unread_by_customer", BOOL, "Unread by customer", default=0),
    Field("unread_by_admin", BOOL, "Unread by admin", default=0),
    Field("closed", BOOL, "Closed", default=0),
    Field("created_at", DATETIME, "Created Date & Time", default="now"),
    Field("updated_at", DATETIME, "Updated date & time", default="now"),
    Field("source", ENUM, "Source", default="api", choices=("api", "administration", "portal", "incoming", "widget")),
    Field("trash", BOOL, "Archive", default=0),
    Field("shareable", BOOL, "Shareable", default=0),
    Field("note", STR, "Note", default=""),
    Field("watching", BOOL, "Watching", default=0),
    Field("related_account_id", INT, "Related to", default=0),
    Field("related_account_type", ENUM, "Related account type", default="none", choices=("none", "main", "sub")),
    Field("hidden_from_related_account", BOOL, "Hidden from related account", default=0),
    Field("unread_by_related_account", BOOL, "Unread by related account", default=1),
    Field("message", OBJECT, "Message", parts=_message_fields(), write_only=True),
), "Ticket")

# The generic CRUD entities, served at `<path>` and `<path>/{id}`.
PLAIN_ENTITIES: tuple[Entity, ...] = (
    PARTNERS, LOCATIONS, ADMINISTRATORS, TARIFFS_INTERNET, IPV4_NETWORKS, STOCKS, SUPPLIERS, VENDORS, PRODUCTS, ITEMS,
    CUSTOMERS,
    IPV6_NETWORKS, LABELS_CONFIG, TARIFFS_RECURRING, TARIFFS_ONE_TIME, TARIFFS_VOICE, NETWORK_SITES, TARIFFS_BUNDLE,
    BILLING_TRANSACTIONS, TRANSACTION_CATEGORIES, PAYMENT_METHODS, PAYMENTS, INVOICES, TICKETS, TICKET_MESSAGES,
)
# Served GET-only at `<path>` (list, HEAD, OPTIONS) and `<path>/{id}`: configured in the web UI, seeded here.
READ_ONLY_ENTITIES: tuple[Entity, ...] = (TAXES, TICKET_STATUSES, TICKET_GROUPS, TICKET_TYPES)
ALL_ENTITIES: tuple[Entity, ...] = (
    *PLAIN_ENTITIES, IPV4_IPS, CUSTOMER_INFO, CUSTOMER_BILLING, INTERNET_SERVICES, RECURRING_SERVICES,
    VOICE_SERVICES, BUNDLE_SERVICES, ADDITIONAL_FIELDS, STATES_PROVINCES, TAXES, CUSTOMER_NOTES,
    TICKET_STATUSES, TICKET_GROUPS, TICKET_TYPES,
)
BY_KEY: dict[str, Entity] = {e.key: e for e in ALL_ENTITIES}
BY_PATH: dict[str, Entity] = {e.path: e for e in ALL_ENTITIES}
