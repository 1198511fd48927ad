"""The migration's phases and the order of entities within them.

Why a fixed order: Splynx refuses a record whose references do not exist yet, so parents
(partners, tariffs, networks, products) are loaded before the customers and services that
point at them; rollback walks the same list backwards. An item's customer (`inventory_assignment`) is
written in the customers phase, after the accounts: the item exists since the inventory phase, its
customer only now, and Splynx sets an item's customer by updating the item. A RADIUS account beyond its
account's DATA services (`radius_account`) becomes an internet service of its own, after the services. A
Sonar package becomes a bundle tariff after the tariffs it groups; a package on an account (`account_package`)
a bundle service before the services that join it. Last, an IP no service takes (`ip_assignment`) is marked
used on its network's IP record, for its customer. HISTORY follows: each customer's balance, carried over as
one opening-balance transaction (`account_balance`), or in the full-history mode its invoices with their debits
as lines (`account_invoice`), the debits no invoice carries and its discounts (`account_transaction`) and its
payments (`account_payment`) one by one; then reconciled (`etl reconcile`). Each
account's notes become its customer's comments (`account_note`), and its tickets Splynx tickets
(`ticket`) with their replies and internal comments as messages (`ticket_reply`, `ticket_comment`), in
either mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from etl.errors import ConfigError


class Phase(StrEnum):
    """Migration phases, in dependency order."""

    FOUNDATION = "foundation"
    NETWORK = "network"
    INVENTORY = "inventory"
    CUSTOMERS = "customers"
    HISTORY = "history"


PHASE_ENTITIES: dict[Phase, tuple[str, ...]] = {
    Phase.FOUNDATION: ("company", "custom_field", "user", "service", "package"),
    Phase.NETWORK: ("supernet", "subnet", "ip_pool", "network_site"),
    Phase.INVENTORY: (
        "inventory_location", "vehicle", "user_stock", "network_site_stock", "vendor", "manufacturer",
        "inventory_model", "inventory_item",
    ),
    Phase.CUSTOMERS: (
        "account", "inventory_assignment", "account_package", "account_service", "radius_account", "ip_assignment"
    ),
    Phase.HISTORY: (
        "account_balance", "account_invoice", "account_transaction", "account_payment", "account_note",
        "ticket", "ticket_reply", "ticket_comment",
    ),
}

ENTITY_PHASE: dict[str, Phase] = {e: p for p, entities in PHASE_ENTITIES.items() for e in entities}
ENTITY_ORDER: tuple[str, ...] = tuple(e for p in Phase for e in PHASE_ENTITIES[p])

# Which parent entities each entity's records reference (through the id map).
PARENTS: dict[str, tuple[str, ...]] = {
    "user": (),
    "service": ("company",),
    "package": ("company", "service"),  # a bundle names its partners and its services' tariffs
    "subnet": ("supernet",),
    "ip_pool": ("subnet",),
    "network_site": ("company",),  # every migrated partner may use a site (partners_ids)
    "inventory_model": ("manufacturer",),
    # its stock, when a location, a vehicle, a user or a network site holds it
    "inventory_item": ("inventory_model", "inventory_location", "vehicle", "user_stock", "network_site_stock"),
    "account": ("company",),
    "inventory_assignment": ("inventory_item", "account"),
    "account_package": ("account", "package"),
    # a packaged service names its bundle service; an IPv4 beyond its static IP, that IP's network
    "account_service": ("account", "service", "account_package", "subnet", "ip_pool"),
    "radius_account": ("account", "service"),
    "ip_assignment": ("account", "subnet", "ip_pool"),  # the customer, and the network holding the IP record
    "account_balance": ("account",),  # the customer whose opening balance it is
    "account_invoice": ("account",),  # the customer it bills
    "account_transaction": ("account",),  # the customer it debits or credits
    "account_payment": ("account",),  # the customer who paid
    "account_note": ("account",),  # the customer it is about (its author, a user, is optional)
    "ticket": ("account",),  # the customer it is about (its assignee, a user, is optional)
    "ticket_reply": ("ticket", "account"),  # its ticket, and the customer who wrote it
    "ticket_comment": ("ticket",),  # its ticket (its author, a user, is optional)
}


def parse_phases(values: Iterable[str] | None) -> tuple[Phase, ...]:
    """Turn `--phases foundation,network` (or repeated flags) into phases in dependency order."""
    names = [n.strip().lower() for v in (values or []) for n in v.split(",") if n.strip()]
    if not names:
        return tuple(Phase)
    unknown = [n for n in names if n not in {p.value for p in Phase}]
    if unknown:
        raise ConfigError(f"unknown phase {unknown[0]!r}", fix=f"use any of {', '.join(p.value for p in Phase)}")
    return tuple(p for p in Phase if p.value in names)


def rollback_order() -> tuple[str, ...]:
    """Entities children first: the order in which created records can be deleted."""
    return tuple(reversed(ENTITY_ORDER))
