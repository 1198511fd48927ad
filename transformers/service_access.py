"""What a subscriber authenticates with: the RADIUS account and MAC address an internet service gets.

Sonar keeps RADIUS accounts and uninventoried MAC addresses on the account, not on a service (SDL
`Account.radius_accounts`, `Account.uninventoried_mac_addresses`; neither type names a service), while
Splynx keeps `login`, `password` and `mac` on each internet service. The rule (docs/mapping.md): an
account's RADIUS accounts in id order pair with its DATA services in id order, first with first; MACs
likewise. A RADIUS account left over (more RADIUS accounts than DATA services) becomes an internet
service of its own (transformers/radius_account.py); a MAC left over is never dropped in silence: the
account's last DATA service lists it (`sonar_mac_extra`) and the load stage records a warning event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transformers.records import Record, entities, in_id_order, nested

MAC_HEX = re.compile(r"[0-9A-Fa-f]{12}")
MAC_SEPARATORS = re.compile(r"[\s:.\-]")


@dataclass(frozen=True)
class ServiceAccess:
    """The login, password and MAC one service gets, and what its account has beyond its DATA services."""

    radius: Record | None
    mac: str | None
    extra_macs: tuple[str, ...] = ()
    held_ips: tuple[Record, ...] = ()
    """IP assignments Sonar gives the paired RADIUS account and MAC (IpassignmentableType RadiusAccount,
    UninventoriedMacAddress): the subscriber's addresses, so this service's."""


def data_service_ids(record: Record) -> list[str]:
    """The account's DATA services' ids in id order, this one among them even if the account's list lacks it."""
    services = entities(nested(record, "account").get("account_services"))
    ids = {str(s["id"]) for s in services if nested(s, "service").get("type") == "DATA"} | {str(record["id"])}
    return sorted(ids, key=int)


def pairing_rank(holder_id: str, holders: list[Record]) -> int:
    """A RADIUS account's or MAC's place among its account's, in id order; one the list lacks comes last.

    The DATA service in the same place (id order too) is the one it pairs with (`service_access`).
    """
    ids = [str(h.get("id")) for h in in_id_order(holders)]
    return ids.index(holder_id) if holder_id in ids else len(ids)


def normal_mac(value: object) -> str:
    """`AA:BB:CC:DD:EE:FF` from any common spelling (case, `-`, `.`, none); the text itself if not a MAC."""
    text = str(value or "").strip()
    digits = MAC_SEPARATORS.sub("", text)
    if not MAC_HEX.fullmatch(digits):
        return text
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()


def service_access(record: Record) -> ServiceAccess:
    """The service's share of its account's RADIUS accounts and MACs (pure: reads the folded account)."""
    account = nested(record, "account")
    services = data_service_ids(record)
    rank = services.index(str(record["id"]))
    radius = in_id_order(entities(account.get("radius_accounts")))
    mac_records = in_id_order(entities(account.get("uninventoried_mac_addresses")))
    macs = [normal_mac(m.get("mac_address")) for m in mac_records]
    last = rank == len(services) - 1
    paired = [found[rank] for found in (radius, mac_records) if rank < len(found)]
    return ServiceAccess(
        radius=radius[rank] if rank < len(radius) else None,
        mac=macs[rank] if rank < len(macs) else None,
        extra_macs=tuple(macs[len(services) :]) if last else (),
        held_ips=tuple(ip for holder in paired for ip in entities(holder.get("ip_assignments"))),
    )


def paired_radius(record: Record) -> Record | None:
    """The RADIUS account this service's login and password come from, if its account has one for it."""
    service = nested(record, "service")
    if not nested(record, "account") or (service and service.get("type") != "DATA"):
        return None
    return service_access(record).radius


__all__ = ["ServiceAccess", "data_service_ids", "normal_mac", "paired_radius", "pairing_rank", "service_access"]
