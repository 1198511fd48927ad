"""Seed data for the Sonar simulator: a small regional ISP, deterministic for a given seed.

Reference data (companies, users, inventory locations, vendors) is built with factory-boy factories fed by
Faker. Customers are drawn from Faker-generated pools (names, streets, cities, companies) with one seeded
`random.Random`: calling Faker a dozen times per customer would take minutes for 100 000 customers, the
pools keep it to seconds while the values stay Faker's realistic ones.

Shape: 2 companies, 3 roles and 5 users, 4 account statuses (Active 80 %, Inactive, Suspended, Terminated;
some terminated accounts are archived), RESIDENTIAL/COMMERCIAL account types, 4 account groups, 7 DATA plans
(one legacy, disabled) plus 3 other services, 1 supernet with 8 subnets and 7 pools, inventory locations,
manufacturers, vendors, 6 models with MAC/serial fields, CPE items at customers' addresses and stock at
locations, 2 custom fields. Per account: 1-3 contacts (1-2 phone numbers each), 1-2 addresses, 0-3 services,
a static IP for those with the "Static IP Address" service, a billing parameter. Most accounts with a DATA
service have a RADIUS account (some two) and an uninventoried MAC address (`_access`).

Other service types and holders (`_more_services`, its own random stream, appended after everything above
so the records above do not move): recurring details for the RECURRING services, a yearly DATA plan
("Fiber 300 Annual", for ~3 % of accounts that had no service), a quarterly RECURRING service, a VOICE
service with DIDs (~10 % of DATA accounts), OVERAGE, EXPIRING and ADJUSTMENT services without subscribers,
and IPv4 assignments held by RADIUS accounts (~5 %), uninventoried MACs (~3 %) and a few DATA devices.
Accounts 1-10 get none of it (tests poke at them). Last (`_taxes`, its own random stream too): 2 taxes,
one on "Router Rental", both on "Managed Wi-Fi (quarterly)". After them (`_packages`, its own stream):
up to 3 packages from the most common DATA + RECURRING combinations (one disabled) plus one nobody took;
a third of the accounts holding such a combination have those account services tagged with the package.
Then (`_loose_ips`, no randomness) the first 2 accounts (after 1-10) without a DATA service get one static
IP each from the "Core infrastructure" subnet, after the sites' addresses: IPs no service takes. Last
(`_held_stock`, its own stream): 2-3 vehicles, and spare devices held by all but the last vehicle, by
users 3 and 4 (technicians) and by the first two network sites. Last of all (`_transactions`, its own
stream): six monthly cycles of `core_transactions` for every live account with services, a DEBIT per
billed service on the 1st and mostly a full PAYMENT days later, some paying part, skipping, overpaying or
getting a DISCOUNT. After them (`_payments`, its own stream): the Sonar `Payment` behind each PAYMENT
transaction (`payment_type` from its description, a check number, card charge id or ACH trace as its
`reference`), linked by the transaction's `payment_id`. Then (`_invoices`, no randomness): the Sonar
`Debit` behind each DEBIT transaction (linked by its `debit_id`) and one `Invoice` per account and cycle
holding that cycle's debits, its `remaining_due` what the account's credits leave unpaid (oldest invoice
first). `add_payment` books one more payment after generation and settles the invoices again.
Then (`_notes`, its own stream): 1-3 notes on ~15 % of the live accounts (support and finance texts, a
few multi-line, one ~3000 characters long; ~10 % STICKY, ~3 % STICKY_WITH_CONFIRMATION, ~10 % written by
Sonar itself with no user, ~10 % edited later), then a handful on stock devices and network sites, so a
client must filter on `noteable_type`. `add_note` writes one more after generation, `edit_note` edits one.
Last (`_tickets`, its own streams): 3 ticket groups (Support, Billing, Field Services); 1-3 tickets on ~12 %
of the live accounts (at least 3 accounts), opened in the six months before NOW (~70 % CLOSED, 15 % OPEN,
8 % PENDING_EXTERNAL, 7 % PENDING_INTERNAL; mostly MEDIUM; ~20 % unassigned), each with 1-4 replies
alternating staff and customer (one ticket with none yet, one customer reply several paragraphs long) and
0-2 internal comments by staff; then 2 tickets about network sites, so a client must filter on
`ticketable_type`.

Deliberately bad records (only when there are at least 10 customers), in `store.problem_account_ids`:
    - ``primary_contact_without_email`` (account 3): the primary contact has no email address; Splynx
      needs one for the customer portal and invoices.
    - ``name_too_long`` (account 4): a 300-character name; Splynx customer names are at most 256 (live capture).
    - ``duplicate_login`` (account 6): its primary contact's username equals account 5's
      (``duplicate_login_original``); Splynx logins are unique, so the second one is refused.
Account 8 is always Terminated and archived (when there are at least 10 customers).
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from factory import declarations, faker
from factory import random as factory_random
from factory.base import DictFactory
from faker import Faker

from etl.sandbox.sonar_query import Record, parse_datetime
from etl.sandbox.sonar_store import MEMBERSHIPS, TYPE_TABLE, SonarStore, format_datetime

START = datetime(2018, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
STATE_CENTRES = {  # the ISP's footprint: state -> (latitude, longitude) near its middle
    "TX": (31.0, -97.5), "OK": (35.5, -97.5), "KS": (38.5, -98.0), "MO": (38.4, -92.5),
    "AR": (34.8, -92.4), "LA": (31.0, -92.0), "NE": (41.5, -99.8), "CO": (39.0, -105.5),
}  # fmt: skip
STATES = tuple(STATE_CENTRES)

DEFAULTS: dict[str, Record] = {
    "accounts": {"is_delinquent": False, "company_id": 1},
    "contacts": {"contactable_type": "Account", "primary": False, "language": "en", "marketing_opt_in": False},
    "phone_numbers": {"country": "US", "sms_opt_in": False, "phone_number_type_id": 1},
    "addresses": {"addressable_type": "Account", "type": "PHYSICAL", "country": "US", "serviceable": True,
                  "is_anchor": False, "timezone": "AMERICACHICAGO"},
    "account_services": {"quantity": 1},
    "core_transactions": {"type": "DEBIT", "description": "Monthly services", "tax_total": 0},
    "payments": {"amount_remaining": 0, "company_id": 1, "fee": 0, "is_autopay": True, "payment_type": "CREDITCARD",
                 "status": "SUCCEEDED", "successful": True},
    "invoices": {"auto_pay_attempts": 0, "child_invoice_remaining_due": 0, "company_id": 1, "delinquent": False,
                 "frozen": False, "late_fee_applied": False, "late_fee_only": False, "number_of_months": 1,
                 "pending_email": False, "remaining_due": 0, "status": "PAID", "tax_committed": False,
                 "total_debits": 0, "total_taxes": 0, "void": False},
    "debits": {"company_id": 1, "number_of_months": 1, "quantity": 1, "reversed": False, "type": "DATA",
               "service_name": "Monthly services"},
    "tickets": {"description": "", "priority": "MEDIUM", "status": "OPEN", "subject": "", "is_spam": False},
    "ticket_replies": {"body": "", "incoming": False},
    "ticket_comments": {"body": "", "user_id": 1},
    "ticket_groups": {"enabled": True, "name": "", "private": False},
    "ip_assignments": {"ipassignmentable_type": "Account", "soft": False, "description": "Static IP"},
    "custom_field_data": {"customfielddataable_type": "Account"},
    "inventory_items": {"flapping": False, "icmp_status_flap_count": 0, "snmp_status_flap_count": 0,
                        "status": "FUNCTIONAL", "inventoryitemable_type": "Address", "quantity": 1},
    "account_billing_parameters": {
        "aggregate_invoice_taxes": False, "aggregate_linked_debits": False, "auto_pay_day": "BILL_DAY",
        "auto_pay_days": 0, "bill_day_mode": "FIXED", "bill_mode": "INVOICE", "default_for": "ACCOUNT_TYPE",
        "due_days": 14, "due_days_day": "INVOICE_DAY", "grace_days": 7, "lifeline": False, "months_to_bill": 1,
        "print_invoice": False, "switch_status_after_delinquency": False, "tax_exempt": False, "bill_day": 1,
    },
    "vehicles": {"gps_tracking_enabled": False, "gps_tracking_always": False, "gps_tracking_start_time": "08:00:00",
                 "gps_tracking_end_time": "17:00:00",
                 **{f"gps_tracking_day_{d}": False for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                                              "saturday", "sunday")}},
}  # fmt: skip
"""Column values shared by most records; records store only what differs (see sonar_store)."""

ACCOUNT_STATUSES = (  # name, activates_account, colour, icon, share of accounts
    ("Active", True, "2ECC71", "CHECKMARK759628", 0.80),
    ("Inactive", False, "95A5A6", "BLOCKS759663", 0.06),
    ("Suspended", False, "F39C12", "PAUSE759839", 0.08),
    ("Terminated", False, "E74C3C", "STOP759926", 0.06),
)
DELINQUENT_EVERY = 40
"""Every 40th account in an activating status is delinquent (late, still served): no random draw, so the
rest of the generated data does not move."""
DATA_PLANS = (  # name, cents, down kbit/s, up kbit/s, technology, enabled, share of data subscribers
    ("Fiber 100", 4999, 100_000, 100_000, "FIBER", True, 0.25),
    ("Fiber 300", 6999, 300_000, 300_000, "FIBER", True, 0.25),
    ("Fiber 1 Gig", 8999, 1_000_000, 1_000_000, "FIBER", True, 0.15),
    ("Wireless 25", 5499, 25_000, 5_000, "TERRESTRIALFIXEDWIRELESS", True, 0.15),
    ("Wireless 50", 6999, 50_000, 10_000, "TERRESTRIALFIXEDWIRELESS", True, 0.12),
    ("Business Fiber 500", 14999, 500_000, 500_000, "FIBER", True, 0.05),
    ("Legacy DSL 10", 3999, 10_000, 1_000, "ASYMMETRICXDSL", False, 0.03),
)
OTHER_SERVICES = (  # name, type, cents
    ("Static IP Address", "RECURRING", 1000),
    ("Router Rental", "RECURRING", 800),
    ("Installation Fee", "ONETIME", 9900),
)
MODELS = (  # name, model_name, manufacturer, category, for technology (None = router)
    ("Calix GigaSpire u6", "GS4220E", "Calix", "Optical Network Terminals", "FIBER"),
    ("Calix 716GE-I", "716GE-I", "Calix", "Optical Network Terminals", "FIBER"),
    ("Ubiquiti LTU Long-Range", "LTU-LR", "Ubiquiti", "Radios", "TERRESTRIALFIXEDWIRELESS"),
    ("Cambium ePMP Force 300-25", "C050900C073A", "Cambium Networks", "Radios", "ASYMMETRICXDSL"),
    ("MikroTik hAP ac2", "RBD52G-5HacD2HnD", "MikroTik", "Routers", None),
    ("TP-Link Archer AX55", "AX3000", "TP-Link", "Routers", None),
)
MANUFACTURERS = ("Ubiquiti", "MikroTik", "Cambium Networks", "Calix", "TP-Link")
CATEGORIES = ("Customer Premises Equipment", "Routers", "Optical Network Terminals", "Radios")
VENDORS = ("Streakwave Wireless", "Baltic Networks", "KGP Logistics")
ACCOUNT_GROUPS = ("VIP", "Fiber Build 2021", "North Tower", "South Tower")
PERMISSIONS = {
    "Administrator": ["READ_ACCOUNT", "CREATE_ACCOUNT", "UPDATE_ACCOUNT", "READ_ACCOUNT_STATUS", "READ_ALL_LOGS"],
    "Technician": ["READ_ACCOUNT"],
    "Billing": ["READ_ACCOUNT", "UPDATE_ACCOUNT", "MANAGE_SONAR_BILLING"],
}


# factory-boy's declarations are untyped; these typed handles keep mypy's untyped-call check useful elsewhere.
FakerAttribute: Callable[..., Any] = faker.Faker
LazyAttribute: Callable[..., Any] = declarations.LazyAttribute
reseed_random: Callable[[int], None] = factory_random.reseed_random


def _build(factory_class: type[DictFactory], **overrides: Any) -> Record:
    """Build one record from a DictFactory (factory-boy's own return type is untyped)."""
    return dict(factory_class.build(**overrides))


class CompanyFactory(DictFactory):
    """A company the ISP does business as."""

    name = FakerAttribute("company")
    enabled = True
    default = False
    country = "US"
    isp_type = None
    phone_number = FakerAttribute("numerify", text="##########")
    website_address = LazyAttribute(lambda o: f"https://www.{o.name.split()[0].strip(',').lower()}.net")
    primary_color = "1F6FB2"
    secondary_color = "F2F2F2"
    show_remittance_slip = True


class UserFactory(DictFactory):
    """A staff user who logs in to Sonar."""

    name = FakerAttribute("name")
    public_name = LazyAttribute(lambda o: o.name.split()[0])
    username = LazyAttribute(lambda o: o.name.lower().replace(" ", ".").replace("..", "."))
    email_address = LazyAttribute(lambda o: f"{o.username}@example-isp.net")
    enabled = True
    super_admin = False
    completed_setup = True
    language = "en"
    mobile_number = FakerAttribute("numerify", text="##########")


class LocationAddressFactory(DictFactory):
    """The street address of an inventory location."""

    line1 = FakerAttribute("street_address")
    city = FakerAttribute("city")
    subdivision = "US_TX"
    zip = FakerAttribute("zipcode_in_state", state_abbr="TX")
    addressable_type = "InventoryLocation"


@dataclass
class _Pools:
    """Faker values drawn once, combined per customer with a fast RNG."""

    first: list[str]
    last: list[str]
    streets: list[str]
    cities: list[tuple[str, str, str, float, float]]
    companies: list[str]
    domains: list[str]

    @classmethod
    @lru_cache(maxsize=4)
    def build(cls, seed: int) -> _Pools:
        """Draw the pools (cached: they are read-only and the same for the same seed)."""
        fake = Faker("en_US")
        fake.seed_instance(seed)
        cities = []
        for _ in range(240):
            state = fake.random_element(STATES)
            lat, lon = (c + fake.pyfloat(min_value=-1.5, max_value=1.5) for c in STATE_CENTRES[state])
            cities.append((fake.city(), state, fake.zipcode_in_state(state), round(lat, 6), round(lon, 6)))
        return cls(
            first=[fake.first_name() for _ in range(400)],
            last=[fake.last_name() for _ in range(800)],
            streets=[fake.street_address() for _ in range(1500)],
            cities=cities,
            companies=[fake.company() for _ in range(400)],
            domains=sorted({fake.free_email_domain() for _ in range(40)}),
        )


@dataclass
class _Builder:
    """Accumulates tables with per-table id counters."""

    tables: dict[str, dict[int, Record]] = field(
        default_factory=lambda: {t: {} for t in [*TYPE_TABLE.values(), MEMBERSHIPS]}
    )

    def add(self, table: str, **values: Any) -> int:
        rows = self.tables[table]
        new_id = len(rows) + 1
        rows[new_id] = {"id": new_id, **values}
        return new_id


def _stamp(record: Record, moment: datetime) -> Record:
    text = format_datetime(moment)
    record.setdefault("created_at", text)
    record.setdefault("updated_at", text)
    return record


def _reference_data(b: _Builder, seed: int) -> None:
    """Companies, users, statuses, types, groups, services, network, inventory catalogue, custom fields."""
    reseed_random(seed)
    b.add("companies", **_build(CompanyFactory, name="Prairie Fiber & Wireless", default=True))
    b.add("companies", **_build(CompanyFactory, name="Prairie Business Networks"))
    for role, permissions in PERMISSIONS.items():
        b.add("roles", name=role, applied_permissions=permissions)
    for n, role_id in enumerate((1, 1, 2, 2, 3)):
        b.add("users", **_build(UserFactory, super_admin=n == 0), role_id=role_id)
    for name, activates, color, icon, _ in ACCOUNT_STATUSES:
        b.add("account_statuses", name=name, activates_account=activates, color=color, icon=icon)
    b.add("account_types", name="Residential", type="RESIDENTIAL", color="3498DB", icon="ANCHOR759433")
    b.add("account_types", name="Commercial", type="COMMERCIAL", color="8E44AD", icon="BRIEFCASE759327")
    for name in ACCOUNT_GROUPS:
        b.add("account_groups", name=name)
    for name, cents, down, up, tech, enabled, _ in DATA_PLANS:
        sid = b.add("services", name=name, type="DATA", application="DEBIT", amount=cents, enabled=enabled,
                    company_id=1, display_if_zero=False)  # fmt: skip
        b.add("data_service_details", service_id=sid, download_speed_kilobits_per_second=down,
              upload_speed_kilobits_per_second=up, billing_frequency=1, technology_code=tech)  # fmt: skip
    for name, kind, cents in OTHER_SERVICES:
        b.add("services", name=name, type=kind, application="DEBIT", amount=cents, enabled=True, company_id=1,
              display_if_zero=False)  # fmt: skip
    for name, sms in (("Mobile", True), ("Home", False), ("Work", False)):
        b.add("phone_number_types", name=name, sms_capable=sms)
    _network(b)
    _inventory_catalogue(b)
    b.add("custom_fields", name="Legacy ID", entity_type="Account", type="TEXT", required=False, unique=True)
    b.add("custom_fields", name="Paperless billing", entity_type="Account", type="BOOLEAN", required=False,
          unique=False)  # fmt: skip
    for table in b.tables.values():
        for record in table.values():
            _stamp(record, START)


def _network(b: _Builder) -> None:
    """One public supernet split in /18 subnets; all but the last carry one static-IP pool."""
    supernet = ipaddress.IPv4Network("198.18.0.0/15")
    sid = b.add("supernets", name="Public static", subnet=str(supernet), largest_cidr_available=None)
    for n, net in enumerate(supernet.subnets(new_prefix=18)):
        core = n == 7
        subnet_id = b.add("subnets", name="Core infrastructure" if core else f"Static block {n + 1}",
                          subnet=str(net), supernet_id=sid, type="NETWORK" if core else "ACCOUNT",
                          polling_priority=1)  # fmt: skip
        if not core:
            first, last = net.network_address + 10, net.broadcast_address - 1
            b.add("ip_pools", name=f"Static pool {n + 1}", subnet_id=subnet_id, ip_range=f"{first}-{last}",
                  ips_available=int(last) - int(first) + 1)  # fmt: skip
    _ipv6_network(b)


def _ipv6_network(b: _Builder) -> None:
    """An IPv6 supernet (documentation prefix) with a customer /48 holding one pool, and a core /48."""
    sid = b.add("supernets", name="IPv6 allocation", subnet="2001:db8::/32", largest_cidr_available=None)
    customers = b.add("subnets", name="IPv6 customers", subnet="2001:db8:1::/48", supernet_id=sid, type="ACCOUNT",
                      polling_priority=1)  # fmt: skip
    b.add("ip_pools", name="IPv6 pool", subnet_id=customers, ip_range="2001:db8:1::100-2001:db8:1::1ff",
          ips_available=256)  # fmt: skip
    b.add("subnets", name="IPv6 core", subnet="2001:db8:ffff::/48", supernet_id=sid, type="NETWORK",
          polling_priority=1)  # fmt: skip


def _inventory_catalogue(b: _Builder) -> None:
    """Locations (with addresses), manufacturers, categories, vendors, models and their MAC/serial fields."""
    for n, name in enumerate(("Main Warehouse", "Service Truck 12", "North Tower Shed")):
        lid = b.add("inventory_locations", name=name, default_shipping_location=n == 0)
        b.add("addresses", **_build(LocationAddressFactory), addressable_id=lid, serviceable=False)
    for name in MANUFACTURERS:
        b.add("manufacturers", name=name)
    for name in CATEGORIES:
        b.add("inventory_model_categories", name=name, icon="BOX759780")
    for name in VENDORS:
        b.add("vendors", name=name, archived=False, currency="USD", payment_terms="NET_30",
              automate_approved_purchase_orders=False)  # fmt: skip
    for n, (name, model_name, maker, category, _tech) in enumerate(MODELS):
        mid = b.add("inventory_models", name=name, model_name=model_name, default_vendor_id=n % 3 + 1,
                    manufacturer_id=MANUFACTURERS.index(maker) + 1,
                    inventory_model_category_id=CATEGORIES.index(category) + 1,
                    device_type="OTHER", enabled=True, generic=False, icon="ANTENNA759818", is_segmentable=False,
                    unit_of_measurement="EACH")  # fmt: skip
        b.add("inventory_model_fields", inventory_model_id=mid, name="MAC Address", type="MAC_ADDRESS",
              primary=True, required=True, unique="GLOBAL")  # fmt: skip
        b.add("inventory_model_fields", inventory_model_id=mid, name="Serial Number", type="TEXT",
              primary=False, required=True, unique="LOCAL")  # fmt: skip


class _Customers:
    """Generates accounts and everything hanging off them, one account at a time."""

    def __init__(self, b: _Builder, pools: _Pools, rng: random.Random, count: int) -> None:
        self.b, self.pools, self.rng, self.count = b, pools, rng, count
        self.pool_cursor = {pid: 0 for pid in b.tables["ip_pools"]}
        self.device_serial = 0
        self.status_weights = [s[4] for s in ACCOUNT_STATUSES]
        self.plan_weights = [p[6] for p in DATA_PLANS]
        self.extras = {name: len(DATA_PLANS) + n + 1 for n, (name, _, _) in enumerate(OTHER_SERVICES)}

    def account(self, index: int) -> None:
        """One account: its row, billing parameter, contacts, addresses, services, IPs, devices, extras."""
        r, p = self.rng, self.pools
        status = r.choices(range(1, 5), self.status_weights)[0]
        commercial = r.random() < 0.12
        first, last = r.choice(p.first), r.choice(p.last)
        created = START + (NOW - START) * (index / max(self.count, 1)) + timedelta(minutes=r.randrange(1440))
        updated = created if r.random() < 0.4 else created + (NOW - created) * r.random()
        stamps = {"created_at": format_datetime(created), "updated_at": format_datetime(updated)}
        account: Record = {
            "name": r.choice(p.companies) if commercial else f"{first} {last}",
            "account_status_id": status, "account_type_id": 2 if commercial else 1,
            "activation_date": created.date().isoformat(), "activation_time": created.strftime("%H:%M:%S"),
            "next_bill_date": date(2025, 6 + (status != 1), 1).isoformat(),
            "data_usage_percentage": r.randrange(101) if status == 1 else None, **stamps,
        }  # fmt: skip
        if commercial and r.random() < 0.5:
            account["company_id"] = 2
        if status == 3 or (status == 1 and index % DELINQUENT_EVERY == DELINQUENT_EVERY - 1):
            account["is_delinquent"] = True  # suspended for non-payment, or late but still served
        if status == 4 and r.random() < 0.4:
            account.update(archived_at=stamps["updated_at"], archived_by_user_id=1)
        if updated != created:
            account["_version"] = str(r.randrange(2, 7))
        account_id = self.b.add("accounts", **account)
        switch = {"switch_status_after_delinquency": True, "days_of_delinquency_for_status_switch": 30,
                  "delinquency_account_status_id": 3} if account.get("is_delinquent") else {}
        self.b.add("account_billing_parameters", account_id=account_id, bill_day=1, **switch, **stamps)
        self._contacts(account_id, first, last, stamps)
        address_id = self._addresses(account_id, stamps)
        account["next_recurring_charge_amount"] = self._services(account_id, status, address_id, stamps)
        self.b.tables["accounts"][account_id]["next_recurring_charge_amount"] = account["next_recurring_charge_amount"]
        self._extras(account_id, stamps)

    def _contacts(self, account_id: int, first: str, last: str, stamps: Record) -> None:
        r, p = self.rng, self.pools
        for n in range(r.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]):
            if n:
                first, last = r.choice(p.first), r.choice(p.last)
            handle = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            contact: Record = {"contactable_id": account_id, "name": f"{first} {last}", **stamps}
            if n == 0:
                contact.update(primary=True, username=f"{handle}{account_id}", role="Account holder")
            else:
                contact["role"] = r.choice(("Billing", "Spouse", "Technical", None))
            if n == 0 or r.random() < 0.7:
                contact["email_address"] = f"{handle}{account_id}@{r.choice(p.domains)}"
            if r.random() < 0.15:
                contact["marketing_opt_in"] = True
            contact_id = self.b.add("contacts", **contact)
            for k in range(1 if r.random() < 0.8 else 2):
                number = f"{r.choice((512, 405, 316, 816, 479, 225))}{r.randrange(2000000, 9999999)}"
                self.b.add("phone_numbers", contact_id=contact_id, number=number, phone_number_type_id=k + 1,
                           number_formatted=f"({number[:3]}) {number[3:6]}-{number[6:]}",
                           sms_opt_in=k == 0 and r.random() < 0.5, **stamps)  # fmt: skip

    def _addresses(self, account_id: int, stamps: Record) -> int:
        """A physical (service) address and sometimes a mailing one; returns the physical address id."""
        r, p = self.rng, self.pools
        physical = 0
        for kind in ("PHYSICAL", "MAILING") if r.random() < 0.25 else ("PHYSICAL",):
            city, state, zipcode, lat, lon = r.choice(p.cities)
            address: Record = {"addressable_id": account_id, "line1": r.choice(p.streets), "city": city,
                               "subdivision": f"US_{state}", "zip": zipcode, **stamps}  # fmt: skip
            if r.random() < 0.1:
                address["line2"] = f"Apt {r.randrange(1, 400)}"
            if kind == "PHYSICAL":
                address.update(latitude=lat, longitude=lon)
            else:
                address.update(type="MAILING", serviceable=False)
            address_id = self.b.add("addresses", **address)
            physical = physical or address_id
        return physical

    def _services(self, account_id: int, status: int, address_id: int, stamps: Record) -> int:
        """0-3 services (a DATA plan first); a static IP and devices follow from them. Returns monthly cents."""
        r = self.rng
        count = r.choices((0, 1, 2, 3), (0.03, 0.55, 0.3, 0.12) if status in (1, 3) else (0.5, 0.4, 0.1, 0))[0]
        if not count:
            return 0
        plan = r.choices(range(len(DATA_PLANS)), self.plan_weights)[0]
        extras = r.sample(["Static IP Address", "Router Rental"], count - 1) if count > 1 else []
        total = DATA_PLANS[plan][1]
        data_service = self.b.add("account_services", account_id=account_id, service_id=plan + 1, **stamps)
        for extra in extras:
            self.b.add("account_services", account_id=account_id, service_id=self.extras[extra], **stamps)
            total += OTHER_SERVICES[self.extras[extra] - len(DATA_PLANS) - 1][2]
        if "Static IP Address" in extras:
            self._static_ip(account_id, data_service, stamps)
        if r.random() < 0.6:
            tech = DATA_PLANS[plan][4]
            cpe = 1 + next(n for n, m in enumerate(MODELS) if m[4] == tech) + (r.random() < 0.3 and tech == "FIBER")
            self._device(cpe, address_id, data_service, stamps)
            if "Router Rental" in extras or r.random() < 0.3:
                self._device(5 + (r.random() < 0.5), address_id, data_service, stamps)
        return total

    def _static_ip(self, account_id: int, account_service_id: int, stamps: Record) -> None:
        """The next free address of the first pool with room, as Sonar's get_next_ip_address would give."""
        for pool_id, used in self.pool_cursor.items():
            pool = self.b.tables["ip_pools"][pool_id]
            if used < pool["ips_available"]:
                first = ipaddress.ip_address(pool["ip_range"].split("-")[0])
                self.pool_cursor[pool_id] = used + 1
                self.b.add("ip_assignments", subnet=f"{first + used}/32", subnet_id=pool["subnet_id"],
                           ip_pool_id=pool_id, ipassignmentable_id=account_id,
                           account_service_id=account_service_id, **stamps)  # fmt: skip
                return

    def _device(self, model_id: int, holder_id: int, account_service_id: int | None, stamps: Record,
                holder_type: str = "Address") -> None:  # fmt: skip
        """An inventory item with its MAC address and serial number field data."""
        self.device_serial += 1
        n = self.device_serial
        item: Record = {"inventory_model_id": model_id, "inventoryitemable_id": holder_id, **stamps}
        if holder_type != "Address":
            item["inventoryitemable_type"] = holder_type
        if account_service_id is not None:
            item.update(account_service_id=account_service_id, overall_status="GOOD", icmp_device_status="GOOD")
        item_id = self.b.add("inventory_items", **item)
        mac = ":".join(f"{b:02X}" for b in (0x02, model_id, (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255))
        self.b.add("inventory_model_field_data", inventory_item_id=item_id, value=mac,
                   inventory_model_field_id=2 * model_id - 1, **stamps)  # fmt: skip
        self.b.add("inventory_model_field_data", inventory_item_id=item_id, value=f"SN{model_id}{n:08d}",
                   inventory_model_field_id=2 * model_id, **stamps)  # fmt: skip

    def _extras(self, account_id: int, stamps: Record) -> None:
        """Custom field data and account group membership for some accounts."""
        r = self.rng
        if r.random() < 0.5:
            self.b.add("custom_field_data", custom_field_id=1, customfielddataable_id=account_id,
                       value=f"LEG-{account_id:06d}", **stamps)  # fmt: skip
        if r.random() < 0.3:
            self.b.add("custom_field_data", custom_field_id=2, customfielddataable_id=account_id,
                       value=r.choice(("true", "false")), **stamps)  # fmt: skip
        if r.random() < 0.25:
            self.b.add(MEMBERSHIPS, account_id=account_id, account_group_id=r.randrange(1, len(ACCOUNT_GROUPS) + 1))

    def stock(self) -> None:
        """Spare devices in the inventory locations, a few of them failed or lost."""
        stamps = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
        for n in range(10 + self.count // 50):
            self._device(n % len(MODELS) + 1, n % 3 + 1, None, stamps, holder_type="InventoryLocation")
        items = self.b.tables["inventory_items"]
        for item_id in list(items)[-3:]:
            items[item_id]["status"] = "FAILED"


RADIUS_SHARE, SECOND_RADIUS_SHARE = 0.85, 0.1
MAC_SHARE, SECOND_MAC_SHARE = 0.6, 0.05
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _access(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """RADIUS accounts (with passwords) and uninventoried MACs for most accounts with a DATA service.

    Why a generator of its own (`random.Random` seeded from the main seed): drawing from the customers'
    stream would shift every value generated after it, and many tests depend on the seeded data.
    Some accounts get a second RADIUS account or MAC while having one DATA service (the "extra" rule).
    """
    rng = random.Random(f"access-{seed}")
    data_accounts = sorted(
        {s["account_id"] for s in tables["account_services"].values() if s["service_id"] <= len(DATA_PLANS)}
    )
    for account_id in data_accounts:
        account = tables["accounts"][account_id]
        stamps = {"created_at": account["created_at"], "updated_at": account["updated_at"]}
        if rng.random() < RADIUS_SHARE:
            for n in range(2 if rng.random() < SECOND_RADIUS_SHARE else 1):
                rid = len(tables["radius_accounts"]) + 1
                password = "".join(rng.choices(PASSWORD_ALPHABET, k=14))
                username = f"pppoe{account_id:06d}" + (f"-{n + 1}" if n else "")
                tables["radius_accounts"][rid] = {"id": rid, "account_id": account_id, "username": username,
                                                  "password": password, **stamps}  # fmt: skip
        if rng.random() < MAC_SHARE:
            for _ in range(2 if rng.random() < SECOND_MAC_SHARE else 1):
                mid = len(tables["uninventoried_mac_addresses"]) + 1
                mac = ":".join(f"{b:02x}" for b in (0x0A, *rng.randbytes(5)))
                tables["uninventoried_mac_addresses"][mid] = {"id": mid, "account_id": account_id,
                                                              "mac_address": mac, **stamps}  # fmt: skip


MORE_SERVICES = (  # name, type, application, cents, detail table, billing frequency (months per period)
    ("Fiber 300 Annual", "DATA", "DEBIT", 69999, "data_service_details", 12),
    ("Managed Wi-Fi (quarterly)", "RECURRING", "DEBIT", 2997, "recurring_service_details", 3),
    ("Home Phone", "VOICE", "DEBIT", 2499, "voice_service_details", 1),
    ("Data Overage 50 GB", "OVERAGE", "DEBIT", 1000, None, None),
    ("Equipment Installment (12 months)", "EXPIRING", "DEBIT", 1500, "expiring_service_details", 1),
    ("Goodwill Credit", "ADJUSTMENT", "CREDIT", 500, None, None),
)
"""Services after DATA_PLANS and OTHER_SERVICES: ids 11-16."""
FIRST_MORE_SERVICE = len(DATA_PLANS) + len(OTHER_SERVICES) + 1
SERVICE_IDS = {name: FIRST_MORE_SERVICE + n for n, (name, *_rest) in enumerate(MORE_SERVICES)}
DATA_SERVICE_IDS = frozenset({*range(1, len(DATA_PLANS) + 1), SERVICE_IDS["Fiber 300 Annual"]})
"""Every DATA service id of the generated catalogue."""
PHONE_SHARE, WIFI_SHARE, INSTALL_SHARE, ANNUAL_SHARE = 0.10, 0.05, 0.05, 0.03
RADIUS_IP_SHARE, MAC_IP_SHARE, DEVICE_IP_SHARE = 0.05, 0.03, 0.02
UNTOUCHED_ACCOUNTS = 10
"""Accounts 1-10 get no extra services, DIDs or held IPs: the tests that poke at them stay valid."""
VOICE_DETAIL: Record = {
    "cost_per_minute_local_in_thousandths": 0, "cost_per_minute_long_distance_in_thousandths": 50,
    "country": "US", "first_interval_in_seconds": 60, "inbound_toll_free_rate_per_minute_in_thousandths": 0,
    "local_minutes": None, "long_distance_minutes": 500, "rollup_generic_parameters": False,
    "show_call_detail_records_on_invoice": True, "sub_interval_in_seconds": 6, "sub_type": "VOICE",
    "unlimited_local_minutes": True, "unlimited_long_distance_minutes": False,
}  # fmt: skip
DID_AREA_CODES = (306, 405, 316, 512, 620, 785, 816, 479)


def _add(tables: dict[str, dict[int, Record]], table: str, **values: Any) -> int:
    rows = tables[table]
    new_id = max(rows, default=0) + 1
    rows[new_id] = {"id": new_id, **values}
    return new_id


def _sample(rng: random.Random, candidates: list[int], share: float, of: int | None = None) -> set[int]:
    """`share` of `of` (default: of the candidates), at least one, drawn from the candidates."""
    if not candidates:
        return set()
    count = max(1, round(share * (len(candidates) if of is None else of)))
    return set(rng.sample(candidates, min(len(candidates), count)))


def _next_free_ip(tables: dict[str, dict[int, Record]]) -> tuple[str, int, int] | None:
    """The next free IPv4 address of the first pool with room (after the static IPs), taken from the pool."""
    for pool_id, pool in tables["ip_pools"].items():
        first_text, last_text = pool["ip_range"].split("-")
        first = ipaddress.ip_address(first_text)
        if first.version != 4 or pool["ips_available"] <= 0:
            continue
        used = int(ipaddress.ip_address(last_text)) - int(first) + 1 - pool["ips_available"]
        pool["ips_available"] -= 1
        return f"{first + used}/32", pool["subnet_id"], pool_id
    return None


PURCHASE_CENTS = {1: (8_900, 12_900), 2: (4_500, 7_900), 3: (1_999, 3_499)}  # model's vendor -> cents range


def _purchase_prices(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """What each item cost (`purchase_price`, integer cents), from a random stream of its own.

    Why its own stream, and last: only this field is added to existing items, so every other generated
    value stays as it was (tests depend on the seeded data).
    """
    rng = random.Random(f"purchase-{seed}")
    models = tables["inventory_models"]
    for item in tables["inventory_items"].values():
        low, high = PURCHASE_CENTS[models[item["inventory_model_id"]]["default_vendor_id"]]
        item["purchase_price"] = rng.randrange(low, high + 1)


def _more_services(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """The other service types, their subscribers, DIDs and IPs held by things other than accounts.

    Its own `random.Random` and only appended records (ids after the existing ones), so everything
    generated before stays as it was; only the IPv4 pools' `ips_available` counts go down.
    """
    rng = random.Random(f"services-{seed}")
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    extras = {name: len(DATA_PLANS) + n + 1 for n, (name, _, _) in enumerate(OTHER_SERVICES)}
    for name in ("Static IP Address", "Router Rental"):
        _add(tables, "recurring_service_details", service_id=extras[name], billing_frequency=1, **start)
    for name, kind, application, cents, detail, frequency in MORE_SERVICES:
        sid = _add(tables, "services", name=name, type=kind, application=application, amount=cents, enabled=True,
                   company_id=1, display_if_zero=False, **start)  # fmt: skip
        if detail == "data_service_details":
            _add(tables, detail, service_id=sid, download_speed_kilobits_per_second=300_000,
                 upload_speed_kilobits_per_second=300_000, billing_frequency=frequency, technology_code="FIBER",
                 **start)  # fmt: skip
        elif detail == "voice_service_details":
            _add(tables, detail, service_id=sid, billing_frequency=frequency, **VOICE_DETAIL, **start)
        elif detail == "expiring_service_details":
            _add(tables, detail, service_id=sid, billing_frequency=frequency, times_to_run=12, **start)
        elif detail is not None:
            _add(tables, detail, service_id=sid, billing_frequency=frequency, **start)
    provider = _add(tables, "voice_providers", name="Bandwidth", **start)

    served: dict[int, set[int]] = {}
    for subscription in tables["account_services"].values():
        served.setdefault(subscription["account_id"], set()).add(subscription["service_id"])
    eligible = [a for a in tables["accounts"] if a > UNTOUCHED_ACCOUNTS]
    data_accounts = [a for a in eligible if served.get(a, set()) & DATA_SERVICE_IDS]
    phone, wifi = _sample(rng, data_accounts, PHONE_SHARE), _sample(rng, data_accounts, WIFI_SHARE)
    install = _sample(rng, data_accounts, INSTALL_SHARE)
    annual = _sample(rng, [a for a in eligible if a not in served], ANNUAL_SHARE, of=len(eligible))
    numbers: set[str] = set()
    for account_id in sorted(phone | wifi | install | annual):
        account = tables["accounts"][account_id]
        stamps = {"created_at": account["created_at"], "updated_at": account["updated_at"]}
        if account_id in annual:
            _add(tables, "account_services", account_id=account_id, service_id=SERVICE_IDS["Fiber 300 Annual"],
                 **stamps)  # fmt: skip
            if rng.random() < RADIUS_SHARE:  # one RADIUS account, never two: one login per DATA service
                password = "".join(rng.choices(PASSWORD_ALPHABET, k=14))
                _add(tables, "radius_accounts", account_id=account_id, username=f"pppoe{account_id:06d}",
                     password=password, **stamps)  # fmt: skip
        if account_id in phone:
            _add(tables, "account_services", account_id=account_id, service_id=SERVICE_IDS["Home Phone"], **stamps)
            number = ""
            while not number or number in numbers:
                number = f"{rng.choice(DID_AREA_CODES)}{rng.randrange(555, 559)}{rng.randrange(10000):04d}"
            numbers.add(number)
            did = _add(tables, "dids", number=number, voice_provider_id=provider, rate_center_id=None, **stamps)
            _add(tables, "did_assignments", account_id=account_id, did_id=did, service_id=SERVICE_IDS["Home Phone"],
                 **stamps)  # fmt: skip
        if account_id in wifi:
            _add(tables, "account_services", account_id=account_id,
                 service_id=SERVICE_IDS["Managed Wi-Fi (quarterly)"], **stamps)  # fmt: skip
        if account_id in install:
            _add(tables, "account_services", account_id=account_id, service_id=extras["Installation Fee"], **stamps)
    _held_ips(tables, rng)


def _held_ips(tables: dict[str, dict[int, Record]], rng: random.Random) -> None:
    """IPv4 addresses held by RADIUS accounts, uninventoried MACs and DATA devices (no account service)."""
    subscriptions = tables["account_services"]

    def owner(account_service_id: int | None) -> int:
        subscription = subscriptions.get(account_service_id or 0)
        if subscription is None or subscription["service_id"] not in DATA_SERVICE_IDS:
            return 0
        return int(subscription["account_id"])

    holders = (
        ("RadiusAccount", "radius_accounts", "RADIUS framed IP", RADIUS_IP_SHARE,
         lambda r: r["account_id"] > UNTOUCHED_ACCOUNTS),
        ("UninventoriedMacAddress", "uninventoried_mac_addresses", "DHCP reservation", MAC_IP_SHARE,
         lambda r: r["account_id"] > UNTOUCHED_ACCOUNTS),
        ("InventoryItem", "inventory_items", "Device management IP", DEVICE_IP_SHARE,
         lambda r: owner(r.get("account_service_id")) > UNTOUCHED_ACCOUNTS),
    )  # fmt: skip
    for holder_type, table, description, share, wanted in holders:
        rows = tables[table]
        for holder_id in sorted(_sample(rng, [i for i, r in rows.items() if wanted(r)], share)):
            free = _next_free_ip(tables)
            if free is None:
                return
            subnet, subnet_id, pool_id = free
            holder = rows[holder_id]
            _add(tables, "ip_assignments", subnet=subnet, subnet_id=subnet_id, ip_pool_id=pool_id,
                 ipassignmentable_type=holder_type, ipassignmentable_id=holder_id, description=description,
                 created_at=holder["created_at"], updated_at=holder["updated_at"])  # fmt: skip


SITE_PLACES = ("North", "Prairie Hill", "Cedar Creek", "Red River", "Mesa", "Lakeside", "Granite", "Willow Bend")
SITE_ROADS = ("Tower Rd", "County Rd 12", "Ridge Ln", "Water Tower Dr", "Range Rd 4")
SITE_IP_DESCRIPTIONS = ("Tower router", "Sector AP management", "Backhaul")


def _network_sites(tables: dict[str, dict[int, Record]], customers: int, seed: int) -> None:
    """Towers: 3 + customers/100 network sites, their addresses and the IPs Sonar assigns to them.

    Its own `random.Random`, only appended records and no pool touched (the IPs come from the "Core
    infrastructure" subnet, which has no pool), so everything generated before stays as it was. Site 2
    has no geopoint (its address's coordinates stand in), sites 3, 7, 11... have no address (Sonar asks
    for one at creation, but it can be deleted later), the last site holds no IP.
    """
    rng = random.Random(f"sites-{seed}")
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    core = next((sid, s) for sid, s in tables["subnets"].items() if s.get("type") == "NETWORK")
    hosts = ipaddress.IPv4Network(core[1]["subnet"]).network_address + 10
    count = 3 + customers // 100
    for n in range(count):
        state = ("OK", "KS", "TX")[n % 3]
        lat, lon = (round(c + rng.uniform(-1.5, 1.5), 6) for c in STATE_CENTRES[state])
        place = SITE_PLACES[n % len(SITE_PLACES)]
        site = _add(tables, "network_sites", name=f"{place} Tower {n + 1}",
                    geopoint=None if n == 1 else f"({lat}, {lon})", height_in_meters=float(rng.randrange(20, 90)),
                    **start)  # fmt: skip
        if n % 4 != 2:
            _add(tables, "addresses", addressable_type="NetworkSite", addressable_id=site, serviceable=False,
                 line1=f"{rng.randrange(100, 9999)} {rng.choice(SITE_ROADS)}", city=place,
                 subdivision=f"US_{state}", zip=f"{rng.randrange(66000, 79999)}", latitude=lat, longitude=lon,
                 **start)  # fmt: skip
        for k in range(0 if n == count - 1 else rng.randrange(1, 4)):
            size = 29 if k == 2 else 32
            first = hosts if size == 32 else ipaddress.IPv4Address((int(hosts) + 8) & ~7)
            hosts = first + (1 if size == 32 else 8)
            _add(tables, "ip_assignments", subnet=f"{first}/{size}", subnet_id=core[0], ip_pool_id=None,
                 ipassignmentable_type="NetworkSite", ipassignmentable_id=site,
                 description=SITE_IP_DESCRIPTIONS[k], **start)  # fmt: skip


TAXES = (("State sales tax", 6.25), ("County tax", 1.0))  # name, rate in percent (a guess: docs/fidelity.md)
TAXED_SERVICES = {"Router Rental": ("State sales tax",), "Managed Wi-Fi (quarterly)": ("State sales tax", "County tax")}
"""Which catalogue services carry which taxes: one service with one tax, one with two (their rates add up)."""


def _taxes(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """Two percentage taxes and the service taxes that attach them to a couple of services.

    Its own `random.Random` and only appended records, so everything generated before stays as it was;
    the random stream only draws each service tax's (zero or small) exemption amount.
    """
    rng = random.Random(f"taxes-{seed}")
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    tax_ids = {name: _add(tables, "taxes", name=name, rate=rate, application="PERCENTAGE", type="GLOBAL", **start)
               for name, rate in TAXES}  # fmt: skip
    service_ids = {s["name"]: sid for sid, s in tables["services"].items()}
    for service, names in TAXED_SERVICES.items():
        for name in names if service in service_ids else ():  # a catalogue without it (tests) taxes nothing
            _add(tables, "service_taxes", service_id=service_ids[service], tax_id=tax_ids[name],
                 exemption_amount=rng.choice((0, 0, 100)), **start)  # fmt: skip


PACKAGES = (  # name, enabled, rollup_services: given in turn to the most common combinations
    ("Home bundle", True, True),
    ("Family bundle", True, False),
    ("Gigabit bundle", False, False),  # disabled: no new subscriber, the existing ones keep it
)
UNSUBSCRIBED_PACKAGE = ("Business bundle", ("Business Fiber 500", "Static IP Address", "Router Rental"))
"""A package nobody has taken (Sonar lists it all the same)."""
PACKAGE_SHARE = 1 / 3
"""Of the accounts whose DATA and RECURRING services are exactly a package's, this share took the package."""
PACKAGED_TYPES = ("DATA", "RECURRING")


def _combinations(tables: dict[str, dict[int, Record]]) -> dict[tuple[int, ...], list[int]]:
    """Per combination of one DATA and 1+ RECURRING service ids: the accounts that hold exactly those.

    Other types (VOICE, ONETIME...) are ignored: an account with a phone line besides its bundle still
    has the bundle. So are the services `_more_services` adds (add-ons bought later, such as the quarterly
    Wi-Fi): the packages and their subscribers then do not depend on that stream, so a store generated
    without it tags the same records. Accounts 1-10 are left out (tests poke at them).
    """
    kinds = {sid: s["type"] for sid, s in tables["services"].items() if sid < FIRST_MORE_SERVICE}
    held: dict[int, list[int]] = {}
    for subscription in tables["account_services"].values():
        if kinds.get(subscription["service_id"]) in PACKAGED_TYPES:
            held.setdefault(subscription["account_id"], []).append(subscription["service_id"])
    found: dict[tuple[int, ...], list[int]] = {}
    for account_id, service_ids in sorted(held.items()):
        types = Counter(kinds[sid] for sid in service_ids)
        if account_id > UNTOUCHED_ACCOUNTS and types["DATA"] == 1 and types["RECURRING"] >= 1:
            found.setdefault(tuple(sorted(service_ids)), []).append(account_id)
    return found


def _add_package(tables: dict[str, dict[int, Record]], name: str, enabled: bool, rollup: bool,
                 service_ids: tuple[int, ...], stamps: Record) -> int:  # fmt: skip
    """One package and its package services (quantity 1 each), in the services' company."""
    company = tables["services"][service_ids[0]].get("company_id", 1)
    package_id = _add(tables, "packages", name=name, enabled=enabled, rollup_services=rollup, company_id=company,
                      **stamps)  # fmt: skip
    for service_id in service_ids:
        _add(tables, "package_services", package_id=package_id, service_id=service_id, quantity=1, **stamps)
    return package_id


def _packages(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """Packages made of the most common DATA + RECURRING combinations, and the accounts that took them.

    Its own `random.Random`; no account service is added or removed: a third of the accounts holding a
    combination get `package_id` and one shared `unique_package_relationship_id` on those services, as
    Sonar's AddPackageToAccount leaves them (one account service per package service, one relationship).
    """
    rng = random.Random(f"packages-{seed}")
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    combinations = sorted(_combinations(tables).items(), key=lambda c: (-len(c[1]), c[0]))
    by_account: dict[int, list[Record]] = {}
    for subscription in tables["account_services"].values():
        by_account.setdefault(subscription["account_id"], []).append(subscription)
    for (name, enabled, rollup), (service_ids, accounts) in zip(PACKAGES, combinations, strict=False):
        package_id = _add_package(tables, name, enabled, rollup, service_ids, start)
        for account_id in sorted(_sample(rng, accounts, PACKAGE_SHARE)):
            relationship = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            for subscription in by_account[account_id]:
                if subscription["service_id"] in service_ids:
                    subscription.update(package_id=package_id, unique_package_relationship_id=relationship)
    names, members = UNSUBSCRIBED_PACKAGE
    ids = {s["name"]: sid for sid, s in tables["services"].items()}
    if all(m in ids for m in members):
        _add_package(tables, names, True, True, tuple(ids[m] for m in members), start)


LOOSE_IPS = 2
"""How many accounts without a DATA service get a static IP of their own (one each): an IP no service takes."""


def _loose_ips(tables: dict[str, dict[int, Record]]) -> None:
    """An IP of the "Core infrastructure" subnet for the first accounts (after 1-10) that have no DATA service.

    No randomness and only appended records: the addresses follow the highest one already used in that
    subnet (the network sites'), so nothing generated before changes.
    """
    kinds = {sid: s["type"] for sid, s in tables["services"].items()}
    with_data = {s["account_id"] for s in tables["account_services"].values() if kinds[s["service_id"]] == "DATA"}
    bare = [aid for aid, a in sorted(tables["accounts"].items()) if aid not in with_data and not a.get("archived_at")]
    chosen = [aid for aid in bare if aid > UNTOUCHED_ACCOUNTS][:LOOSE_IPS]
    core_id, core = next((sid, s) for sid, s in tables["subnets"].items() if s.get("type") == "NETWORK")
    used = [ipaddress.ip_network(a["subnet"]) for a in tables["ip_assignments"].values() if a["subnet_id"] == core_id]
    after = max((n.broadcast_address for n in used), default=ipaddress.IPv4Network(core["subnet"]).network_address + 9)
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    for n, account_id in enumerate(chosen, start=1):
        _add(tables, "ip_assignments", subnet=f"{after + n}/32", subnet_id=core_id, ip_pool_id=None,
             ipassignmentable_type="Account", ipassignmentable_id=account_id, description="Office router",
             **start)  # fmt: skip


VEHICLES = (("Service Van 1", "Ford", "Transit 250", 2021), ("Bucket Truck 2", "Ram", "5500", 2019),
            ("Service Van 3", "Ford", "Transit 350", 2023))
"""Vehicles: name, manufacturer, model, year; 2 + customers/250 of them (at most these)."""
TECHNICIANS = (3, 4)
"""Users (field technicians) carrying spare devices."""


def _held_stock(tables: dict[str, dict[int, Record]], customers: int, seed: int) -> None:
    """Vehicles, and spare devices held by vehicles, technicians and the first network sites.

    Sonar's `InventoryitemableType` lets a vehicle, a user or a network site hold items as an inventory
    location does. Its own `random.Random` and only appended records, so everything before stays put.
    The last vehicle holds nothing (an empty truck is a stock all the same); the last site holds nothing
    either (and so is no stock); a technician's or site's items are FUNCTIONAL, one van item FAILED.
    """
    rng = random.Random(f"held-stock-{seed}")
    start = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    vehicles = []
    for name, make, model, year in VEHICLES[: min(len(VEHICLES), 2 + customers // 250)]:
        vin = f"1FT{rng.randrange(10**13, 10**14)}"
        record = {"name": name, "manufacturer": make, "model": model, "year": year, "vin": vin, **start}
        vehicles.append(_add(tables, "vehicles", **record))
    sites = sorted(tables["network_sites"])[:-1][:2]
    holders = [*(("Vehicle", v) for v in vehicles[:-1]), *(("User", u) for u in TECHNICIANS),
               *(("NetworkSite", s) for s in sites)]  # fmt: skip
    serial = 0
    for holder_type, holder_id in holders:
        for _ in range(rng.randrange(1, 4)):
            serial += 1
            model_id = rng.randrange(1, len(MODELS) + 1)
            item_id = _add(tables, "inventory_items", inventory_model_id=model_id, inventoryitemable_type=holder_type,
                           inventoryitemable_id=holder_id, status="FAILED" if serial == 2 else "FUNCTIONAL",
                           purchase_price=rng.randrange(40, 400) * 100, **start)  # fmt: skip
            mac = ":".join(f"{b:02X}" for b in (0x06, model_id, 0, 0, serial >> 8, serial & 255))
            _add(tables, "inventory_model_field_data", inventory_item_id=item_id, value=mac,
                 inventory_model_field_id=2 * model_id - 1, **start)  # fmt: skip
            _add(tables, "inventory_model_field_data", inventory_item_id=item_id, value=f"HS{model_id}{serial:06d}",
                 inventory_model_field_id=2 * model_id, **start)  # fmt: skip


HISTORY_MONTHS = 6
"""Monthly billing cycles of transaction history per billed account, the last one ending at NOW."""
BILLING_HOUR = 6
"""The hour (UTC) of the monthly billing run that posts the debits on the 1st."""
DEBIT_DESCRIPTION = "Monthly services"
PAYMENT_METHODS = ("Payment - Credit card", "Payment - ACH", "Payment - Check")
PAYMENT_WEIGHTS = (0.6, 0.3, 0.1)
"""How accounts pay (one way each, every month)."""
HISTORY_MIX = (("partial", 0.08), ("skip", 0.05), ("overpay", 0.04), ("discount", 0.03))
"""Share of billed accounts with one unusual month (the rest, ~80 %, pay every debit in full):
a partial payment or a skipped month (they owe), an overpayment (a credit balance), a loyalty discount."""
DISCOUNT_CENTS = (500, 1000, 1500)
OVERPAY_CENTS = (1000, 2500, 5000)
MIN_DEBIT_CENTS = 100
"""A floor for the monthly debit, should an account's services add up to (almost) nothing: then one
"Monthly services" debit of this amount replaces the per-service ones."""

Event = tuple[datetime, str, int, str]
"""One transaction before it is stored: moment, TransactionType, amount (cents, positive), description."""
Charge = tuple[int, str, str, int, str]
"""One monthly debit of an account: service id, service name, ServiceType, cents, description."""


def _cycle_starts() -> list[datetime]:
    """The billing runs of the HISTORY_MONTHS months before NOW (the 1st of each), oldest first."""
    starts: list[datetime] = []
    year, month = NOW.year, NOW.month
    for _ in range(HISTORY_MONTHS):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        starts.append(datetime(year, month, 1, BILLING_HOUR, tzinfo=UTC))
    return starts[::-1]


def _monthly_charges(tables: dict[str, dict[int, Record]]) -> dict[int, list[Charge]]:
    """Per live (not archived) account with services: the debits a month bills, in service id order.

    One per subscription to a DEBIT application service with a positive `amount` (times its quantity),
    described by the service's name, whatever the service's billing period: a simplification (an annual
    plan or a one-time fee debits its price every month), enough for realistic-looking balances. Should
    they add up to less than MIN_DEBIT_CENTS, one "Monthly services" debit of MIN_DEBIT_CENTS instead,
    booked against the account's first service (Sonar's `Debit.service_id` is non-null).
    """
    services = tables["services"]
    subscribed: dict[int, list[tuple[int, int, int]]] = {}  # account -> (service id, subscription id, cents)
    for subscription in tables["account_services"].values():
        service = services[subscription["service_id"]]
        debit = service.get("application", "DEBIT") == "DEBIT"
        cents = service["amount"] * subscription.get("quantity", 1) if debit else 0
        subscribed.setdefault(subscription["account_id"], []).append(
            (subscription["service_id"], subscription["id"], cents)
        )
    accounts = tables["accounts"]
    charges: dict[int, list[Charge]] = {}
    for account_id, held in sorted(subscribed.items()):
        if account_id not in accounts or accounts[account_id].get("archived_at"):
            continue
        held.sort()
        billed = [(sid, services[sid]["name"], services[sid]["type"], cents, services[sid]["name"])
                  for sid, _subscription, cents in held if cents > 0]  # fmt: skip
        if sum(c[3] for c in billed) < MIN_DEBIT_CENTS:
            first = services[held[0][0]]
            billed = [(held[0][0], first["name"], first["type"], MIN_DEBIT_CENTS, DEBIT_DESCRIPTION)]
        charges[account_id] = billed
    return charges


def _monthly_totals(charges: dict[int, list[Charge]]) -> dict[int, int]:
    """Per billed account: what a month bills, in cents (the sum of its charges)."""
    return {account_id: sum(c[3] for c in billed) for account_id, billed in charges.items()}


def _split_debit(event: Event, charges: list[Charge]) -> list[Event]:
    """A month's DEBIT event as one event per charge, at the same moment (their amounts add up to it)."""
    assert event[2] == sum(c[3] for c in charges), (event, charges)
    return [(event[0], "DEBIT", c[3], c[4]) for c in charges]


def _profiles(rng: random.Random, account_ids: list[int]) -> dict[int, tuple[str, int]]:
    """Which accounts have an unusual month, and which month: exact shares, at least one account each.

    Why exact counts and not a draw per account: a small store (tests use 50-100 customers) then always
    holds an account that owes, one in credit and one with a discount.
    """
    shuffled = list(account_ids)
    rng.shuffle(shuffled)
    profiles: dict[int, tuple[str, int]] = {}
    taken = 0
    for kind, share in HISTORY_MIX:
        count = max(1, round(share * len(shuffled)))
        for account_id in shuffled[taken : taken + count]:
            profiles[account_id] = (kind, rng.randrange(HISTORY_MONTHS))
        taken += count
    return profiles


def _account_history(rng: random.Random, cents: int, profile: tuple[str, int], method: str) -> list[Event]:
    """One account's cycles: a debit on the 1st, maybe a discount that day, a payment a few days later."""
    kind, odd_month = profile
    events: list[Event] = []
    for n, start in enumerate(_cycle_starts()):
        events.append((start, "DEBIT", cents, DEBIT_DESCRIPTION))
        month_kind = kind if n == odd_month else "full"
        paid = cents
        if month_kind == "discount":
            off = min(rng.choice(DISCOUNT_CENTS), cents)
            events.append((start + timedelta(hours=3, minutes=rng.randrange(60)), "DISCOUNT", off, "Loyalty discount"))
            paid -= off
        elif month_kind == "partial":
            paid = round(cents * rng.uniform(0.3, 0.8))
        elif month_kind == "overpay":
            paid = cents + rng.choice(OVERPAY_CENTS)
        if month_kind != "skip" and paid > 0:
            when = start + timedelta(days=rng.randrange(2, 10), minutes=rng.randrange(1440))
            events.append((when, "PAYMENT", paid, method))
    return events


def _transaction(account_id: int, event: Event, balance: int, unique_id: str, text: str) -> Record:
    """One `core_transactions` record holding only what differs from its DEFAULTS (no id yet)."""
    _moment, kind, amount, description = event
    record: Record = {"account_id": account_id, "amount": amount, "running_balance": balance, "datetime": text,
                      "created_at": text, "updated_at": text, "sonar_unique_id": unique_id}  # fmt: skip
    if kind != "DEBIT":
        record["type"] = kind
    if description != DEBIT_DESCRIPTION:
        record["description"] = description
    if kind == "PAYMENT":
        record["successful"] = True
    return record


def _transactions(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """Six months of debits, payments and a few discounts for every live account with services.

    Its own `random.Random` and only appended records, so everything generated before stays put. A
    positive `running_balance` is what the customer owes after the transaction (docs/fidelity.md, a
    guess). Ids follow `datetime` across all accounts (oldest first), and timestamps are shared strings,
    so a million transactions cost one small dict each.

    A month's debit is one DEBIT transaction per charge (`_monthly_charges`), all at the billing run's
    moment, in service id order, the running balance following each. The history is drawn for the month's
    total, and the first debit of a month takes the uuid drawn for it; the others draw theirs from a
    stream of their own, so the main stream (profiles, payments, discounts) does not depend on how many
    services an account has.
    """
    rng = random.Random(f"history-{seed}")
    split_rng = random.Random(f"debit-split-{seed}")
    charges = _monthly_charges(tables)
    totals = _monthly_totals(charges)
    profiles = _profiles(rng, list(totals))
    texts: dict[datetime, str] = {}
    pending: list[tuple[datetime, int, int, Record]] = []
    for account_id, cents in totals.items():
        method = rng.choices(PAYMENT_METHODS, PAYMENT_WEIGHTS)[0]
        balance, seq = 0, 0
        for event in _account_history(rng, cents, profiles.get(account_id, ("full", 0)), method):
            text = texts.setdefault(event[0], format_datetime(event[0]))
            unique_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            parts = _split_debit(event, charges[account_id]) if event[1] == "DEBIT" else [event]
            for n, part in enumerate(parts):
                balance += part[2] if part[1] == "DEBIT" else -part[2]
                if n:
                    unique_id = str(uuid.UUID(int=split_rng.getrandbits(128), version=4))
                record = _transaction(account_id, part, balance, unique_id, text)
                pending.append((part[0], account_id, seq, record))
                seq += 1
    rows = tables["core_transactions"]
    next_id = max(rows, default=0) + 1
    for new_id, (*_key, record) in enumerate(sorted(pending, key=lambda p: p[:3]), start=next_id):
        rows[new_id] = {"id": new_id, **record}


PAYMENT_TYPES = {"Payment - Credit card": "CREDITCARD", "Payment - ACH": "BANKACCOUNT", "Payment - Check": "CHECK",
                 "Payment - Cash": "CASH", "Payment - Wire": "WIRE"}  # fmt: skip
"""A PAYMENT transaction's description -> its Payment's `payment_type`.

The generated history uses the PAYMENT_METHODS only; cash and wire are for `add_payment`: giving some
generated payments those types would mean rewriting their transactions' descriptions."""
PAYMENT_DESCRIPTIONS = {payment_type: description for description, payment_type in PAYMENT_TYPES.items()}
AUTOPAY_TYPES = frozenset({"CREDITCARD", "BANKACCOUNT"})
"""Payment types charged automatically (a card or bank account on file); a check or cash is handed in."""


def _reference(rng: random.Random, payment_type: str) -> str | None:
    """The `reference` a payment of this type carries (at most 32 characters); None for cash.

    A check's number, a card processor's charge id (Stripe's `ch_` form), an ACH trace number (15 digits)
    or a wire's Fed reference: what a bookkeeper matches the payment against.
    """
    if payment_type == "CHECK":
        return f"CHK-{rng.randrange(100_000, 1_000_000)}"
    if payment_type == "CREDITCARD":
        return f"ch_{rng.getrandbits(96):024x}"
    if payment_type == "BANKACCOUNT":
        return f"ACH-{rng.randrange(10**14, 10**15)}"
    if payment_type == "WIRE":
        return f"WIRE-{rng.randrange(10**11, 10**12)}"
    return None


def _payment(transaction: Record, company_id: int, payment_type: str, reference: str | None) -> Record:
    """The Payment behind one PAYMENT transaction, holding only what differs from its DEFAULTS (no id yet).

    Amount, account, moment and description are the transaction's: Sonar books one from the other.
    """
    full: Record = {
        "account_id": transaction["account_id"], "amount": transaction["amount"],
        "payment_datetime": transaction["datetime"], "created_at": transaction["created_at"],
        "updated_at": transaction["updated_at"], "description": transaction.get("description"),
        "company_id": company_id, "payment_type": payment_type, "is_autopay": payment_type in AUTOPAY_TYPES,
        "reference": reference,
    }  # fmt: skip
    defaults = DEFAULTS["payments"]
    return {k: v for k, v in full.items() if v is not None and (k not in defaults or defaults[k] != v)}


def _company_of(tables: dict[str, dict[int, Record]], account_id: int) -> int:
    """The company an account belongs to (the default one unless it says otherwise)."""
    company = tables["accounts"][account_id].get("company_id")
    return int(DEFAULTS["accounts"]["company_id"] if company is None else company)


def _payments(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """A Sonar Payment behind every PAYMENT transaction, which points at it by `payment_id`.

    Its own `random.Random` (only the references are drawn), appended records and one new column on the
    payment transactions, so every value generated before stays as it was. Payment ids follow the
    transactions' (chronological) order; the ids are counted here, not looked up per record, because a
    large store holds half a million payments.
    """
    rng = random.Random(f"payments-{seed}")
    payments = tables["payments"]
    next_id = max(payments, default=0) + 1
    transactions = tables["core_transactions"]
    for transaction_id in sorted(transactions):
        transaction = transactions[transaction_id]
        if transaction.get("type") != "PAYMENT":
            continue
        payment_type = PAYMENT_TYPES[transaction["description"]]
        company_id = _company_of(tables, transaction["account_id"])
        payments[next_id] = {"id": next_id, **_payment(transaction, company_id, payment_type,
                                                        _reference(rng, payment_type))}  # fmt: skip
        transaction["payment_id"] = next_id
        next_id += 1


INVOICE_DUE_DAYS = 14
"""An invoice is due this many days after its date (the billing parameters' default `due_days`)."""
PAID, UNPAID = "PAID", "UNPAID"
"""Invoice `status` values. A guess: the real schema types `Invoice.status` as a bare String and spells out
no values; these say whether `remaining_due` is 0."""


def _invoice_status(remaining_due: int) -> str:
    return PAID if remaining_due == 0 else UNPAID


def _settle(totals: list[int], credit: int) -> list[int]:
    """What each invoice (oldest first) still owes once `credit` cents are applied to them oldest first."""
    remaining: list[int] = []
    for total in totals:
        applied = min(total, max(credit, 0))
        credit -= applied
        remaining.append(total - applied)
    return remaining


def _is_credit(kind: Any, successful: Any) -> bool:
    """Whether a transaction pays invoices off: a DISCOUNT, or a PAYMENT that went through."""
    return kind == "DISCOUNT" or (kind == "PAYMENT" and bool(successful))


@lru_cache(maxsize=64)
def _cycle_dates(moment_text: str) -> tuple[str, str, str]:
    """An invoice's `date`, `due_date` and `end_date` (the day before the next monthly cycle starts)."""
    day = parse_datetime(moment_text).date()
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    end = max(following - timedelta(days=1), day)
    return day.isoformat(), (day + timedelta(days=INVOICE_DUE_DAYS)).isoformat(), end.isoformat()


def _invoices(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """An invoice per account and billing cycle, and a Sonar `Debit` behind each DEBIT transaction.

    No randomness (`seed` is for symmetry with its neighbours); only appended records and one new
    column on the DEBIT transactions, `debit_id` (hidden, like `payment_id`), so every value generated
    before stays as it was. The debits of one account at one moment are one invoice: `date` the cycle's
    day, `due_date` INVOICE_DUE_DAYS later, `end_date` the day before the next cycle, `total_debits` the
    sum of its debits, no taxes. Debit ids follow their transactions', invoice ids the cycles' (oldest
    first, then by account). Each debit's service comes from `_monthly_charges`, matched in order.

    `remaining_due` (a documented rule, not Sonar's): everything the account's DISCOUNTs and successful
    PAYMENTs add up to (up to NOW) is applied to its invoices oldest first; what an invoice is then
    still owed is its `remaining_due`, and `status` is PAID when that is 0, else UNPAID. Read from the
    transactions, not the payments table, so `_payments` does not change it.
    """
    del seed
    charges = _monthly_charges(tables)
    transactions = tables["core_transactions"]
    cycles: dict[tuple[int, str], list[Record]] = {}  # (account, moment) -> its DEBIT transactions, in order
    credits: dict[int, int] = {}
    for transaction_id in sorted(transactions):
        transaction = transactions[transaction_id]
        kind = transaction.get("type", DEFAULTS["core_transactions"]["type"])
        account_id = transaction["account_id"]
        if kind == "DEBIT":
            cycles.setdefault((account_id, transaction["datetime"]), []).append(transaction)
        elif _is_credit(kind, transaction.get("successful")):
            credits[account_id] = credits.get(account_id, 0) + transaction["amount"]
    invoices, debits = tables["invoices"], tables["debits"]
    invoice_id = max(invoices, default=0) + 1
    by_account: dict[int, list[Record]] = {}
    behind: dict[int, tuple[Record, Charge]] = {}  # DEBIT transaction id -> its invoice and charge
    for (account_id, moment), billed in cycles.items():  # in order of first transaction id: chronological
        company_id = _company_of(tables, account_id)
        day, due, end = _cycle_dates(moment)
        invoice: Record = {"id": invoice_id, "account_id": account_id, "date": day, "due_date": due,
                           "end_date": end, "total_debits": sum(t["amount"] for t in billed),
                           "created_at": moment, "updated_at": moment}  # fmt: skip
        if company_id != DEFAULTS["invoices"]["company_id"]:
            invoice["company_id"] = company_id
        invoices[invoice_id] = invoice
        by_account.setdefault(account_id, []).append(invoice)
        for transaction, charge in zip(billed, charges[account_id], strict=True):
            assert transaction["amount"] == charge[3], (transaction, charge)
            behind[transaction["id"]] = (invoice, charge)
        invoice_id += 1
    for debit_id, transaction_id in enumerate(sorted(behind), start=max(debits, default=0) + 1):
        transaction = transactions[transaction_id]
        invoice, (service_id, service_name, service_type, cents, description) = behind[transaction_id]
        debit: Record = {"id": debit_id, "account_id": invoice["account_id"], "amount": cents,
                         "description": description, "service_id": service_id, "service_name": service_name,
                         "invoice_id": invoice["id"], "created_at": transaction["datetime"],
                         "updated_at": transaction["datetime"]}  # fmt: skip
        if service_type != DEFAULTS["debits"]["type"]:
            debit["type"] = service_type
        if "company_id" in invoice:
            debit["company_id"] = invoice["company_id"]
        debits[debit_id] = debit
        transaction["debit_id"] = debit_id
    for account_id, owed in by_account.items():  # stored even when PAID: a raw record read should not lie
        remaining = _settle([i["total_debits"] for i in owed], credits.get(account_id, 0))
        for invoice, due_now in zip(owed, remaining, strict=True):
            invoice.update(remaining_due=due_now, status=_invoice_status(due_now))


def _resettle(store: SonarStore, account_id: int) -> None:
    """Re-apply an account's credits to its invoices (the `_invoices` rule) and update those that move."""
    history = store.where("core_transactions", "account_id", account_id)
    credit = sum(int(t["amount"]) for t in history
                 if _is_credit(store.value("core_transactions", t, "type"),
                               store.value("core_transactions", t, "successful")))  # fmt: skip
    owed = sorted(store.where("invoices", "account_id", account_id), key=lambda i: i["id"])
    totals = [int(store.value("invoices", i, "total_debits")) for i in owed]
    for invoice, due_now in zip(owed, _settle(totals, credit), strict=True):
        if due_now != store.value("invoices", invoice, "remaining_due"):
            store.update("invoices", invoice["id"], remaining_due=due_now, status=_invoice_status(due_now))


def _latest_balance(store: SonarStore, account_id: int) -> tuple[int, datetime | None]:
    """An account's running balance after its latest transaction (by datetime, then id), and that moment."""
    history = store.where("core_transactions", "account_id", account_id)
    latest = max(history, key=lambda t: (parse_datetime(t["datetime"]), t["id"]), default=None)
    if latest is None:
        return 0, None
    return int(latest["running_balance"]), parse_datetime(latest["datetime"])


def add_payment(
    store: SonarStore,
    account_id: int,
    cents: int,
    when: datetime | None = None,
    payment_type: str = "CREDITCARD",
) -> tuple[int, int]:
    """Book a payment on an account after generation; returns (transaction id, payment id).

    Why a function here and not a store method: both records are built as the generated ones are
    (`_transaction`, `_payment`, `_reference`), so a booked payment cannot drift from them. The PAYMENT
    transaction's `running_balance` continues the account's latest one. The account's invoices are
    settled again as `_invoices` settles them (its credits applied oldest invoice first): those whose
    `remaining_due` changes get the new one and its `status`, with `updated_at` and `_version` moving as
    any update's. Nothing else moves (no account's `updated_at`, no other record). `datetime`,
    `payment_datetime` and `created_at` are `when` (default: now), as in the generated history;
    `updated_at` is the store's clock, which only moves forward, so a run reading changes since the
    previous one sees the payment even when it is back-dated.

    Raises:
        KeyError: no such account.
        ValueError: `cents` is not positive, `payment_type` has no description here (see PAYMENT_TYPES),
            or `when` precedes the account's latest transaction (whose balance would then be wrong).
    """
    if cents <= 0 or payment_type not in PAYMENT_DESCRIPTIONS:
        raise ValueError(f"cannot book {cents} cents as a {payment_type!r} payment")
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    with store.lock:
        account_id = int(account_id)
        if account_id not in store.tables["accounts"]:
            raise KeyError(f"no account {account_id}")
        balance, latest = _latest_balance(store, account_id)
        if latest is not None and moment < latest:
            raise ValueError(f"{format_datetime(moment)} precedes account {account_id}'s latest transaction")
        rng = random.Random(f"added-payment-{account_id}-{len(store.tables['payments'])}")
        event = (moment, "PAYMENT", cents, PAYMENT_DESCRIPTIONS[payment_type])
        unique_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        transaction = _transaction(account_id, event, balance - cents, unique_id, format_datetime(moment))
        payment = _payment(transaction, _company_of(store.tables, account_id), payment_type,
                           _reference(rng, payment_type))  # fmt: skip
        payment_id = store.insert("payments", **payment)
        transaction_id = store.insert("core_transactions", **transaction, payment_id=payment_id)
        _resettle(store, account_id)
        return transaction_id, payment_id


NOTED_SHARE = 0.15
"""Share of live accounts with notes (1-3 each): realistic, and light on every end-to-end test of the sandbox."""
NOTE_PRIORITIES = ("NORMAL", "STICKY", "STICKY_WITH_CONFIRMATION")
NOTE_PRIORITY_WEIGHTS = (0.87, 0.10, 0.03)
"""Sonar's NotePriority members, and how often each is written: a sticky note pops up on the account."""
SYSTEM_SHARE_OF_NORMAL = 0.115
"""Share of the NORMAL notes Sonar itself writes (no user): ~10 % of all notes."""
EDITED_NOTE_SHARE = 0.1
MIN_NOTE_AGE = timedelta(hours=1)
"""An account created less than this before NOW has no notes yet (a large store's newest accounts)."""
NOTE_TEXTS: dict[str, tuple[str, ...]] = {
    "NORMAL": (
        "Customer called about slow speeds in the evening; rebooted CPE remotely.",
        "Payment arrangement: ${amount} on the {day} until balance cleared.",
        "Customer asked for a copy of last month's invoice; emailed the PDF.",
        "Updated card on file at customer's request; new card ending {last4}.",
        "Intermittent drops reported. Signal at -{signal} dBm; truck roll scheduled for {weekday}.",
        "Waived the ${fee} late fee as a one-time courtesy.",
        "Customer is moving in {month} and wants service transferred to the new address.",
        "Router replaced under warranty; old unit returned to stock.",
        "Asked about upgrading to Fiber 500; promised a callback with pricing.",
        "Autopay declined twice (insufficient funds); customer will pay by phone on the {day}.",
        "Speed test on site: {down} Mbps down / {up} Mbps up. Customer satisfied.",
        "Billing approved a ${amount} outage credit.",
        "Outage follow-up:\n- customer confirms service back since {weekday}\n- credited 3 days\n- no further action",
        "Called in upset about the bill increase; explained the rate change letter from March and offered the "
        "loyalty discount, which the customer declined for now.",
    ),
    "STICKY": (
        "Gate code {code} — dog in yard.",
        "Call before visiting: customer works nights and sleeps until 2 pm.",
        "Equipment is in the basement utility room; use the side door.",
        "Customer prefers email only: no phone calls.",
        "Tax exempt: certificate on file, expires {month} 2026.",
        "Spanish speaker; ask for {first} (daughter) for account questions.",
        "Access:\nGate code {code}\nPark by the barn, not the house.",
    ),
    "STICKY_WITH_CONFIRMATION": (
        "Verify the caller's account PIN before discussing anything: a social-engineering attempt is on record.",
        "Do NOT disconnect for non-payment: medical equipment on site (letter on file).",
        "Account in dispute with billing: confirm with finance before applying any credit or change.",
        "Only the account holder may make changes; a former partner has called pretending to be them.",
    ),
}
"""What staff write, per priority: support and finance notes; access instructions and warnings stick."""
SYSTEM_NOTE_TEXTS = (
    "Autopay declined: card expired. Reminder email sent to the primary contact.",
    "Invoice #{invoice} emailed to the primary contact.",
    "Status changed by the delinquency automation.",
    "Welcome email sent.",
)
"""What Sonar itself writes (no user): always NORMAL."""
NOTE_WORDS: dict[str, tuple[str, ...]] = {
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "month": ("January", "March", "May", "July", "September", "November"),
    "first": ("Maria", "Lucia", "Ana", "Sofia"),
    "day": ("1st", "5th", "15th", "20th", "28th"),
}
OTHER_NOTES = (
    ("InventoryItem", "RMA requested: port 2 dead, confirmed on the bench."),
    ("InventoryItem", "Returned by a customer; factory reset and firmware updated."),
    ("InventoryItem", "Cosmetic damage to the case; fine for a loaner."),
    ("NetworkSite", "Tower climb scheduled; the landlord wants 24 h notice for gate access."),
    ("NetworkSite", "Generator fuel checked, 3/4 full.\nNext service due in the autumn."),
)
"""Notes about stock devices (the first InventoryLocation items) and the first network sites."""
LONG_NOTE = "\n\n".join((
    "Escalation history (copied from the old CRM when the account was migrated; keep for reference).",
    "Initial install: customer requested a roof mount facing the north tower. The installer found the roof "
    "line blocked by two mature oak trees and mounted the radio on a 10 ft mast on the east gable instead. "
    "Signal at install -61 dBm, capacity 78% on both chains. Customer signed off on the mast location and "
    "was told that tree growth may require a taller mast in a few years.",
    "Year two: repeated evening slowdowns. Remote checks showed the sector AP at 90% airtime between 7 and "
    "11 pm. Network team moved the account to the new 5 GHz sector; speeds recovered. Customer was credited "
    "one month as a goodwill gesture after three tickets in six weeks.",
    "Year three: lightning strike damaged the PoE injector and the customer's own router. We replaced the "
    "injector and the radio at no charge under the surge policy; the customer's router was not ours and was "
    "not covered. Customer disputed this by phone and by letter; billing reviewed and upheld the policy but "
    "offered a discounted rental router, which the customer accepted.",
    "Year four: customer reported the oaks had grown into the path. Signal had fallen to -74 dBm with "
    "frequent re-associations. Scheduled a tech with the bucket truck; mast extended to 20 ft and the radio "
    "re-aimed. Signal back to -63 dBm. Customer asked about fiber availability; address is outside the "
    "current build area, added to the interest list for the next phase.",
    "Billing notes: account has been on autopay since year two. Two declined payments in year four were due "
    "to a replaced card; customer updated the card by phone both times within a week. No late fees were "
    "charged because the customer called before the due date. Payment history otherwise clean.",
    "Access: long gravel driveway, locked farm gate. The code changes every spring and the customer emails "
    "it to support; check the most recent sticky note before dispatch. Two dogs, friendly but loud; the "
    "customer asks that techs call ten minutes before arriving so the dogs can be brought in.",
    "Preferences: customer prefers email for anything non-urgent and a call to the landline for outages. "
    "Customer does not want marketing calls and has asked twice to be removed from promotional lists; the "
    "marketing opt-out is set on the primary contact. Paper invoices were stopped at the customer's request.",
    "Open items: fiber interest list (see above); possible mast replacement if the oaks keep growing; the "
    "customer has asked to be told of any planned maintenance on the north tower at least two days ahead, "
    "because they work from home and run a small accounting business from the house during tax season.",
    "Summary for new staff: long-standing, reasonable customer with a difficult line of sight. Most problems "
    "have been physical (trees, lightning) rather than network-side. Be patient, read this note first, and "
    "check the tower sector load before sending a truck.",
))  # fmt: skip
"""The one long note (~3000 characters): an account's history pasted in from an older system."""

NoteDraft = tuple[datetime, int, Record]
"""A generated note before its id: moment created, noteable id, record."""


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole second strictly after `start` and strictly before `end` (at least 2 s apart)."""
    return start + timedelta(seconds=rng.randrange(1, int((end - start).total_seconds())))


def _note_text(rng: random.Random, template: str) -> str:
    """A note's message: the template with its placeholders (if any) filled in."""
    if "{" not in template:
        return template
    words = {name: rng.choice(choices) for name, choices in NOTE_WORDS.items()}
    return template.format(
        amount=rng.choice((25, 40, 50, 75, 100)), fee=rng.choice((5, 10, 15)), last4=f"{rng.randrange(10_000):04d}",
        signal=rng.randrange(68, 80), code=f"{rng.randrange(1000, 10_000)}", down=rng.randrange(80, 500),
        up=rng.randrange(10, 100), invoice=rng.randrange(100_000, 1_000_000), **words,
    )  # fmt: skip


def _note_times(rng: random.Random, since: datetime) -> tuple[datetime, datetime]:
    """When a note was written (after `since`, before NOW) and last edited: mostly never, so the same."""
    created = _between(rng, since, NOW)
    if rng.random() >= EDITED_NOTE_SHARE or NOW - created < timedelta(seconds=2):
        return created, created
    return created, _between(rng, created, NOW)


def _note_record(noteable: tuple[str, int], message: str, priority: str, user_id: int | None,
                 times: tuple[datetime, datetime]) -> Record:  # fmt: skip
    """One `notes` record (no id yet); an edited one is at `_version` 2."""
    created, updated = times
    record: Record = {
        "message": message, "noteable_type": noteable[0], "noteable_id": noteable[1], "priority": priority,
        "user_id": user_id, "created_at": format_datetime(created), "updated_at": format_datetime(updated),
    }  # fmt: skip
    if updated != created:
        record["_version"] = "2"
    return record


def _account_note(rng: random.Random, users: list[int], account_id: int, born: datetime) -> NoteDraft:
    """One note on an account created at `born`: by a staff user, or by Sonar itself (a NORMAL one)."""
    times = _note_times(rng, born)
    priority = rng.choices(NOTE_PRIORITIES, NOTE_PRIORITY_WEIGHTS)[0]
    if priority == "NORMAL" and rng.random() < SYSTEM_SHARE_OF_NORMAL:
        user_id, template = None, rng.choice(SYSTEM_NOTE_TEXTS)
    else:
        user_id, template = rng.choice(users), rng.choice(NOTE_TEXTS[priority])
    message = _note_text(rng, template)
    return times[0], account_id, _note_record(("Account", account_id), message, priority, user_id, times)


def _noted_accounts(rng: random.Random, accounts: dict[int, Record]) -> list[int]:
    """Which live accounts get notes: an exact share (at least one), so a small test store always has some."""
    live = [i for i, a in sorted(accounts.items())
            if not a.get("archived_at") and NOW - parse_datetime(a["created_at"]) >= MIN_NOTE_AGE]  # fmt: skip
    return sorted(rng.sample(live, max(1, round(NOTED_SHARE * len(live))))) if live else []


def _notes(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """Notes: 1-3 on ~15 % of the live accounts, one of them long, then a few on devices and network sites.

    Its own `random.Random` and only appended records, so everything generated before stays put. The
    account notes' ids follow their `created_at`; the others come after them, so a store generated without
    network sites holds the same account and device notes. Every column is stored (no DEFAULTS), as a
    client reads raw `noteable_type`s to tell an account's note from another's.
    """
    rng = random.Random(f"notes-{seed}")
    users = sorted(tables["users"])
    drafts: list[NoteDraft] = []
    for account_id in _noted_accounts(rng, tables["accounts"]):
        born = parse_datetime(tables["accounts"][account_id]["created_at"])
        drafts.extend(_account_note(rng, users, account_id, born) for _ in range(rng.randint(1, 3)))
    if drafts:
        rng.choice(drafts)[2].update(message=LONG_NOTE, priority="NORMAL")
    drafts.sort(key=lambda draft: draft[:2])
    records = [draft[2] for draft in drafts]
    items = tables["inventory_items"]
    stock = [i for i in sorted(items) if items[i].get("inventoryitemable_type") == "InventoryLocation"]
    noteables = {"InventoryItem": stock, "NetworkSite": sorted(tables["network_sites"])}
    taken = dict.fromkeys(noteables, 0)
    for kind, message in OTHER_NOTES:
        if taken[kind] < len(noteables[kind]):
            noteable = (kind, noteables[kind][taken[kind]])
            records.append(_note_record(noteable, message, "NORMAL", rng.choice(users), _note_times(rng, START)))
            taken[kind] += 1
    notes = tables["notes"]
    for new_id, record in enumerate(records, start=max(notes, default=0) + 1):
        notes[new_id] = {"id": new_id, **record}


def add_note(
    store: SonarStore,
    account_id: int,
    message: str,
    priority: str = "NORMAL",
    user_id: int | None = None,
    when: datetime | None = None,
) -> int:
    """Write a note on an account after generation, as a staff user (or Sonar itself: None); returns its id.

    `created_at` is `when` (default: now); `updated_at` is the store's clock, which only moves forward, so
    a run reading notes changed since the previous one sees it even when it is back-dated. The account's
    own `updated_at` does not move: in Sonar a note is a record of its own.

    Raises:
        KeyError: no such account or user.
        ValueError: an empty message, a priority that is no NotePriority member, or `when` before the
            account was created or in the future.
    """
    if not message.strip() or priority not in NOTE_PRIORITIES:
        raise ValueError(f"cannot write a {priority!r} note saying {message!r}")
    with store.lock:
        account = store.tables["accounts"].get(int(account_id))
        if account is None:
            raise KeyError(f"no account {account_id}")
        if user_id is not None and int(user_id) not in store.tables["users"]:
            raise KeyError(f"no user {user_id}")
        fields: Record = {"message": message, "noteable_type": "Account", "noteable_id": int(account_id),
                          "priority": priority, "user_id": None if user_id is None else int(user_id)}  # fmt: skip
        if when is not None:
            moment = when.astimezone(UTC).replace(microsecond=0)
            if moment < parse_datetime(account["created_at"]) or moment > datetime.now(UTC):
                raise ValueError(f"{format_datetime(moment)} is outside account {account_id}'s life")
            fields["created_at"] = format_datetime(moment)
        return store.insert("notes", **fields)


def edit_note(store: SonarStore, note_id: int, message: str) -> None:
    """Change a note's message: `updated_at` moves to the store's clock and `_version` goes up by one.

    Raises:
        KeyError: no such note.
        ValueError: an empty message (Sonar's `message` is required).
    """
    if not message.strip():
        raise ValueError(f"cannot empty note {note_id}")
    store.update("notes", int(note_id), message=message)


TICKET_GROUPS = ("Support", "Billing", "Field Services")
"""Sonar ticket groups (all enabled, none private), ids 1-3 in this order."""
TICKETED_SHARE = 0.12
"""Share of live accounts with tickets (1-3 each); at least 3 accounts (all, in a smaller store)."""
MIN_TICKETED_ACCOUNTS = 3
TICKET_WINDOW = timedelta(days=182)
"""Tickets are opened in the last six months before NOW."""
MIN_TICKET_AGE = timedelta(days=2)
"""Nothing is opened later than this before NOW, so every reply, comment and closing fits before NOW."""
TICKET_STATUSES = ("CLOSED", "OPEN", "PENDING_EXTERNAL", "PENDING_INTERNAL")
TICKET_STATUS_WEIGHTS = (0.70, 0.15, 0.08, 0.07)
TICKET_PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
TICKET_PRIORITY_WEIGHTS = (0.15, 0.62, 0.20, 0.03)
UNASSIGNED_SHARE = 0.2
SILENT_TICKET_SHARE = 0.04
"""Share of tickets nobody has replied to yet (at least one ticket is kept so)."""
TICKET_TOPICS: tuple[tuple[str, str, str], ...] = (  # subject, group, the customer's opening message
    ("No internet since this morning", "Support",
     "Hi, my internet has been down since about 7 this morning. The light on the router is red and I have "
     "already unplugged it and plugged it back in twice. I work from home, so please let me know when someone "
     "can look at it."),
    ("Slow speeds in the evening", "Support",
     "Every evening from around 7 pm the connection gets really slow. Speed tests show {down} Mbps when I pay "
     "for much more. During the day it is fine. Streaming keeps buffering. Can you check what is going on?"),
    ("Question about my bill", "Billing",
     "Hello, my last invoice is ${amount} higher than usual and I don't understand why. I haven't changed "
     "anything on my plan. Could someone explain the charges to me?"),
    ("Charged twice this month", "Billing",
     "It looks like my card was charged twice for this month's service. Both payments show on my bank "
     "statement. Please refund the duplicate payment."),
    ("Update my payment card", "Billing",
     "My card on file expires at the end of the month. What is the easiest way to update it? I'd rather not "
     "read the number out over the phone."),
    ("Moving to a new address", "Field Services",
     "We are moving house on the {day} of next month. The new address is about ten miles away. Can our "
     "service be moved there, and do we need a new installation appointment?"),
    ("Router keeps rebooting", "Support",
     "The router restarts by itself several times a day, usually while we are on video calls. All the lights "
     "go off and it takes a few minutes to come back. It is the router you provided."),
    ("Request a static IP", "Support",
     "I need a static IP address for a security camera system at home. What does it cost and how long does it "
     "take to set up? Please add it to my account if possible."),
    ("Wi-Fi does not reach the upstairs rooms", "Support",
     "The Wi-Fi signal is very weak in the bedrooms upstairs. Downstairs it is fine. Do you offer a mesh "
     "system or an extender that would help?"),
    ("Cable cut by landscapers", "Field Services",
     "Our landscapers cut the cable that runs across the yard to the house this afternoon. The internet is "
     "down completely. Can a technician come out to repair it?"),
    ("Upgrade my plan", "Billing",
     "I'd like to upgrade to a faster plan. What options are there at my address, and would the price change "
     "from the next bill or right away?"),
    ("Cancel my service", "Billing",
     "We are leaving the area at the end of the month and need to cancel our service. How do we return the "
     "equipment, and will the last bill be prorated?"),
)  # fmt: skip
SITE_TICKET_TOPICS: tuple[tuple[str, str], ...] = (  # subject, the staff member's opening message
    ("Sector AP dropping customers at {site}",
     "Monitoring shows the east sector AP at {site} rebooting several times since last night. Twelve customers "
     "have called in. Needs a check of the PoE and the radio on the next climb."),
    ("Generator alarm at {site}",
     "The generator at {site} reported a low-fuel alarm overnight. Please schedule a fuel delivery and check "
     "the transfer switch while on site."),
    ("Backhaul link to {site} degraded",
     "The licensed backhaul to {site} has dropped to half capacity since the storm. Alignment or water in a "
     "connector is suspected; needs a tower crew."),
)  # fmt: skip
STAFF_REPLIES: dict[str, tuple[str, ...]] = {  # per ticket group
    "Support": (
        "Thanks for getting in touch. I've run a remote check on your equipment and can see it online; could you "
        "restart the router once more and let us know if the problem continues?",
        "Our network team found a fault on the line and has fixed it. Everything looks good from our side now. "
        "Could you confirm it is working for you?",
        "Could you send us a photo of the lights on the front of the router? That will help us narrow it down.",
        "Thanks for your patience. We've replaced the equipment and the connection has been stable since then, "
        "so I'll close this ticket. Reply here if anything comes up again.",
    ),
    "Billing": (
        "I've looked into this for you. The charge is the prorated amount for the days before your plan change, "
        "so your next invoice will be back to the usual amount.",
        "I've refunded the duplicate payment of ${amount}; it should show on your statement within 3-5 business "
        "days.",
        "That's all set up on your account now. The change takes effect from your next billing cycle.",
        "You can update the card yourself in the customer portal under Billing > Payment methods, or we can send "
        "you a secure link by e-mail.",
    ),
    "Field Services": (
        "We have scheduled a technician visit for {weekday} between 8 am and noon. Please make sure someone over "
        "18 is at home.",
        "The technician has finished the repair and the connection tested at full speed. Let us know if anything "
        "else comes up.",
        "We can move your service; the new address is in our coverage area. I've booked the installation for "
        "{weekday}.",
    ),
}  # fmt: skip
CUSTOMER_REPLIES = (
    "Thanks, it's working again.",
    "Still the same problem this evening, unfortunately.",
    "{weekday} morning works for us. Thank you!",
    "I restarted it again and the lights are green now. I'll keep an eye on it.",
    "Thanks for explaining, that makes sense.",
    "It dropped out twice again last night around 9 pm.",
    "Photo attached. The internet light is blinking orange.",
    "Great, thank you for sorting this out so quickly.",
)
SITE_REPLIES = (  # the tower contractor's side of a network site's ticket
    "Crew can be on site {weekday} morning, weather permitting.",
    "Work completed: connector re-sealed and alignment checked. Readings attached.",
    "Fuel delivered, tank full. Transfer switch tested OK.",
)
SITE_CONTRACTOR = ("Plains Tower Services", "dispatch@plainstowerservices.com")
TICKET_COMMENTS = (
    "Checked the ONT: light levels fine, escalating to field team.",
    "Remote reboot of the CPE done; signal at -{signal} dBm, within range.",
    "Customer has called twice about this; please prioritise.",
    "Billing: verified the proration, no credit due.",
    "Issued a ${amount} credit as agreed with the team lead.",
    "Sector AP showing high airtime in the evenings; network team is aware.",
    "Truck roll booked for {weekday}; the customer has a dog, call ahead.",
    "Waiting on the customer to confirm before closing.",
)
LONG_REPLY = "\n\n".join((
    "Hello, I'm writing again because the problem is still not fixed and I want to explain everything in one "
    "place so I don't have to repeat it on the phone.",
    "It started about three weeks ago. Every evening, usually between 7 and 11 pm, the connection slows down "
    "until web pages barely load. My son's online classes freeze and my video calls drop. I have run speed "
    "tests at different times: in the morning I get close to what I pay for, in the evening sometimes less "
    "than 5 Mbps.",
    "I have done everything your support team asked: restarted the router many times, plugged my laptop "
    "directly into the router with a cable, turned off every other device, and even reset the router to "
    "factory settings. Nothing changed. The technician who came out last week said the signal was fine and "
    "that it must be our Wi-Fi, but it happens on the cable too.",
    "I have been a customer for several years and have always paid on time, so I would appreciate it if "
    "someone could look at this properly. I would also like to know whether I can get a credit for the weeks "
    "the service has not worked as it should.",
    "I'm available any weekday after 3 pm if a technician needs to come back. Thank you.",
))  # fmt: skip
"""The one long reply (several paragraphs): a customer's recap of a ticket that has gone on for weeks."""


@dataclass
class _TicketPlan:
    """One ticket before its id: who it is about, what it says and how its conversation goes."""

    created: datetime
    order: int
    ticket: Record
    replies: int
    comments: int
    customer: tuple[str, str | None]  # author and e-mail address of the incoming replies
    topic_words: dict[str, Any] = field(default_factory=dict)
    long_reply: bool = False


def _ticket_words(rng: random.Random) -> dict[str, Any]:
    """Values for the placeholders of the ticket texts."""
    return {"weekday": rng.choice(NOTE_WORDS["weekday"]), "day": rng.choice(NOTE_WORDS["day"]),
            "amount": rng.choice((12, 25, 40, 60)), "down": rng.randrange(3, 20),
            "signal": rng.randrange(55, 70)}  # fmt: skip


def _ticketed_accounts(rng: random.Random, accounts: dict[int, Record]) -> list[int]:
    """Which live accounts get tickets: an exact share, at least `MIN_TICKETED_ACCOUNTS`."""
    live = [i for i, a in sorted(accounts.items())
            if not a.get("archived_at") and NOW - parse_datetime(a["created_at"]) >= 2 * MIN_TICKET_AGE]  # fmt: skip
    count = min(len(live), max(MIN_TICKETED_ACCOUNTS, round(TICKETED_SHARE * len(live))))
    return sorted(rng.sample(live, count))


def _ticket_record(rng: random.Random, users: list[int], subject: str, description: str, group: int) -> Record:
    """The columns every ticket has: status, priority, group, assignee (closing details come later)."""
    return {
        "subject": subject, "description": description, "ticket_group_id": group, "company_id": 1,
        "status": rng.choices(TICKET_STATUSES, TICKET_STATUS_WEIGHTS)[0],
        "priority": rng.choices(TICKET_PRIORITIES, TICKET_PRIORITY_WEIGHTS)[0],
        "user_id": None if rng.random() < UNASSIGNED_SHARE else rng.choice(users),
        "closed_at": None, "closed_by_user_id": None, "due_date": None, "is_spam": False, "parent_ticket_id": None,
    }  # fmt: skip


def _conversation(rng: random.Random) -> tuple[int, int]:
    """How many replies (0-4) and internal comments (0-2) a ticket gets."""
    replies = 0 if rng.random() < SILENT_TICKET_SHARE else rng.randint(1, 4)
    return replies, rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0]


def _account_ticket_plans(rng: random.Random, tables: dict[str, dict[int, Record]],
                          users: list[int]) -> list[_TicketPlan]:  # fmt: skip
    """1-3 tickets per ticketed account; one gets no reply yet, one a long reply from the customer."""
    accounts = tables["accounts"]
    primary = {c["contactable_id"]: c for c in tables["contacts"].values()
               if c.get("primary") and c.get("contactable_type", "Account") == "Account"}  # fmt: skip
    plans: list[_TicketPlan] = []
    for account_id in _ticketed_accounts(rng, accounts):
        account = accounts[account_id]
        since = max(NOW - TICKET_WINDOW, parse_datetime(account["created_at"]) + MIN_TICKET_AGE)
        contact = primary.get(account_id, {})
        name = str(contact.get("name") or account["name"])
        handle = ".".join(name.lower().replace("'", "").split()[:2])
        customer = (name, contact.get("email_address") or f"{handle}{account_id}@gmail.com")  # wrote in from home
        for _ in range(rng.randint(1, 3)):
            subject, group, text = rng.choice(TICKET_TOPICS)
            words = _ticket_words(rng)
            ticket = _ticket_record(rng, users, subject, text.format(**words), TICKET_GROUPS.index(group) + 1)
            ticket.update(ticketable_type="Account", ticketable_id=account_id,
                          company_id=account.get("company_id", DEFAULTS["accounts"]["company_id"]))  # fmt: skip
            created = _between(rng, since, NOW - MIN_TICKET_AGE)
            plans.append(_TicketPlan(created, len(plans), ticket, *_conversation(rng), customer, words))
    if plans and not any(p.replies == 0 for p in plans):
        rng.choice(plans).replies = 0
    talking = [p for p in plans if p.replies > 0]
    if talking:
        chosen = rng.choice(talking)
        chosen.replies, chosen.long_reply = max(2, chosen.replies), True
    return plans


def _site_ticket_plans(rng: random.Random, tables: dict[str, dict[int, Record]],
                       users: list[int]) -> list[_TicketPlan]:  # fmt: skip
    """2 tickets about network sites (none without sites), opened and assigned by staff."""
    sites = sorted(tables["network_sites"])
    plans: list[_TicketPlan] = []
    for n, site_id in enumerate(rng.sample(sites, min(2, len(sites)))):
        subject, text = SITE_TICKET_TOPICS[n % len(SITE_TICKET_TOPICS)]
        name = str(tables["network_sites"][site_id]["name"])
        group = TICKET_GROUPS.index("Field Services") + 1
        ticket = _ticket_record(rng, users, subject.format(site=name), text.format(site=name), group)
        ticket.update(ticketable_type="NetworkSite", ticketable_id=site_id, user_id=rng.choice(users))
        created = _between(rng, NOW - TICKET_WINDOW, NOW - MIN_TICKET_AGE)
        plans.append(_TicketPlan(created, n, ticket, *_conversation(rng), SITE_CONTRACTOR, _ticket_words(rng)))
    return plans


def _gap(rng: random.Random, after: datetime) -> datetime:
    """The next moment of a conversation: minutes, hours or days after `after`, always before NOW."""
    scale = rng.choices((3600, 12 * 3600, 3 * 86400), (0.4, 0.35, 0.25))[0]
    room = int((NOW - after).total_seconds()) // 2
    return after + timedelta(seconds=max(1, min(rng.randrange(300, scale), room)))


def _tickets(tables: dict[str, dict[int, Record]], seed: int) -> None:
    """Tickets: 1-3 on ~30 % of the live accounts, then 2 about network sites, with replies and comments.

    Its own `random.Random`s and only appended records (three ticket groups, the tickets, their replies
    and comments), so everything generated before stays put. The account tickets' ids follow their
    `created_at`, as do their replies' and comments'; the network sites' (their own stream) come after
    them, so a store generated without network sites holds the same account tickets. A reply alternates
    staff (`incoming` false, the assignee or another user) and the customer (`incoming` true, the primary
    contact's name and e-mail; a network site's: the tower contractor); comments are internal notes by
    staff. A ticket's `updated_at` is its last reply, comment or closing. Every column is stored.
    """
    stamp = {"created_at": format_datetime(START), "updated_at": format_datetime(START)}
    for name in TICKET_GROUPS:
        _add(tables, "ticket_groups", name=name, enabled=True, private=False, **stamp)
    users = sorted(tables["users"])
    rng = random.Random(f"tickets-{seed}")
    _write_tickets(rng, tables, users, _account_ticket_plans(rng, tables, users))
    site_rng = random.Random(f"site-tickets-{seed}")
    _write_tickets(site_rng, tables, users, _site_ticket_plans(site_rng, tables, users))


def _write_tickets(rng: random.Random, tables: dict[str, dict[int, Record]], users: list[int],
                   plans: list[_TicketPlan]) -> None:  # fmt: skip
    """Append the planned tickets (oldest first), then their replies and comments (oldest first)."""
    plans.sort(key=lambda p: (p.created, p.order))
    tickets = tables["tickets"]
    replies: list[tuple[datetime, Record]] = []
    comments: list[tuple[datetime, Record]] = []
    for ticket_id, plan in enumerate(plans, start=max(tickets, default=0) + 1):
        ticket, moment = plan.ticket, plan.created
        staff = ticket["user_id"] or rng.choice(users)
        kinds = ["reply"] * plan.replies + ["comment"] * plan.comments
        rng.shuffle(kinds)
        said = 0
        for kind in kinds:
            moment = _gap(rng, moment)
            at = {"ticket_id": ticket_id, "created_at": format_datetime(moment), "updated_at": format_datetime(moment)}
            if kind == "comment":
                body = rng.choice(TICKET_COMMENTS).format(**_ticket_words(rng))
                comments.append((moment, {**at, "body": body, "user_id": rng.choice((staff, rng.choice(users)))}))
                continue
            incoming = said % 2 == 1
            said += 1
            if incoming:
                pool = SITE_REPLIES if ticket["ticketable_type"] == "NetworkSite" else CUSTOMER_REPLIES
                body = LONG_REPLY if plan.long_reply else rng.choice(pool).format(**plan.topic_words)
                plan.long_reply = False  # only the first customer reply of its ticket is the long one
                author, email, user_id = plan.customer[0], plan.customer[1], None
            else:
                group = TICKET_GROUPS[int(ticket["ticket_group_id"]) - 1]
                body = rng.choice(STAFF_REPLIES[group]).format(**plan.topic_words)
                user = tables["users"][staff]
                author, email, user_id = str(user["name"]), user.get("email_address"), staff
            replies.append((moment, {**at, "body": body, "incoming": incoming, "author": author,
                                     "author_email": email, "user_id": user_id, "headers": None, "raw_body": None,
                                     "signature": None}))  # fmt: skip
        if ticket["status"] == "CLOSED":
            moment = _gap(rng, moment)
            ticket.update(closed_at=format_datetime(moment), closed_by_user_id=staff)
        tickets[ticket_id] = {"id": ticket_id, **ticket, "created_at": format_datetime(plan.created),
                              "updated_at": format_datetime(moment)}  # fmt: skip
    for table, rows in (("ticket_replies", replies), ("ticket_comments", comments)):
        rows.sort(key=lambda row: (row[0], row[1]["ticket_id"]))
        target = tables[table]
        for new_id, (_, record) in enumerate(rows, start=max(target, default=0) + 1):
            target[new_id] = {"id": new_id, **record}

def _plant_problems(tables: dict[str, dict[int, Record]]) -> dict[str, int]:
    """Turn accounts 3-6 into the documented bad records and archive account 8 (see module docstring)."""
    accounts = tables["accounts"]
    if len(accounts) < 10:
        return {}
    primary = {c["contactable_id"]: c for c in tables["contacts"].values() if c.get("primary")}
    for account_id in (3, 4, 5, 6):
        accounts[account_id].update(account_status_id=1, is_delinquent=False)
        accounts[account_id].pop("archived_at", None)
    primary[3].pop("email_address", None)
    accounts[4]["name"] = ("Northwest Regional Agricultural Cooperative Holding Company " * 5)[:300].strip()
    primary[6]["username"] = primary[5]["username"]
    accounts[8].update(account_status_id=4, archived_at=accounts[8]["updated_at"], archived_by_user_id=1)
    return {
        "primary_contact_without_email": 3,
        "name_too_long": 4,
        "duplicate_login_original": 5,
        "duplicate_login": 6,
    }


def generate(customers: int, seed: int = 42) -> SonarStore:
    """Build a store with the reference data and `customers` accounts, identical for identical arguments."""
    b = _Builder()
    _reference_data(b, seed)
    generator = _Customers(b, _Pools.build(seed), random.Random(seed), customers)
    for index in range(customers):
        generator.account(index)
    generator.stock()
    for pool_id, used in generator.pool_cursor.items():
        b.tables["ip_pools"][pool_id]["ips_available"] -= used
    _access(b.tables, seed)
    _more_services(b.tables, seed)
    _purchase_prices(b.tables, seed)
    problems = _plant_problems(b.tables)
    _network_sites(b.tables, customers, seed)
    _taxes(b.tables, seed)
    _packages(b.tables, seed)
    _loose_ips(b.tables)
    _held_stock(b.tables, customers, seed)
    _transactions(b.tables, seed)
    _payments(b.tables, seed)
    _invoices(b.tables, seed)
    _notes(b.tables, seed)
    _tickets(b.tables, seed)
    for table, rows in b.tables.items():
        for record in rows.values():
            if table != MEMBERSHIPS and "created_at" not in record:
                _stamp(record, START)
    return SonarStore(b.tables, {t: {**DEFAULTS.get(t, {}), "_version": "1"} for t in TYPE_TABLE.values()}, problems)
