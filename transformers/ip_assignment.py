"""Sonar IP assignment no service takes -> the used IP record of its Splynx network (`ipv4-ip`).

Why: Splynx keeps a record per address of every IPv4 endnet (`admin/networking/ipv4-ip/{network}--{ip}`:
used or free, a title, a comment, a customer). An IP Sonar assigns to something that has no Splynx
service (a network site's router, an account without a DATA service, a MAC or CPE no service pairs
with) would otherwise look free in Splynx the morning after cutover, and be handed to someone else. So
it is marked used, titled by its holder, given the holder's customer, with the Sonar assignment and the
migration marker in its comment. A block (`/29`) marks each of its addresses, up to `MAX_BLOCK`.

Which IPs a service takes is the internet service's rule (transformers/account_service.py, service_access.py):
an account's own IPs and its RADIUS accounts' go to its DATA services (a RADIUS account beyond them is a
service of its own), a MAC's to the DATA service it pairs with in id order, a CPE's to the DATA service it
serves. Those are skipped here with that reason, as are IPv6 assignments (Splynx keeps no record per IPv6
address of a network) and the IPs of accounts that are not in Splynx.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.network import network_of
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, in_id_order, marker, nested, source_id, text_marker
from transformers.rules import clean_text
from transformers.service_access import pairing_rank
from transformers.validation import SkipRecord, Subject

ENTITY = "ip_assignment"
TARGET = "ipv4_ip"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
MAX_BLOCK = 256
"""Most addresses one assignment marks (a /24): a larger block is a network of its own, not IP records."""
TITLE_LEN = 128
HOLDER_NAMES = {"Account": "account", "RadiusAccount": "RADIUS account"}
"""How a skip reason names the holder: reasons carry no ids, so `etl plan` and the report group them."""


def data_service_ids(account: Record) -> list[str]:
    """The account's DATA services' ids, in id order."""
    services = entities(account.get("account_services"))
    return [str(s["id"]) for s in in_id_order(services) if nested(s, "service").get("type") == "DATA"]


def taken_by(record: Record) -> str | None:
    """Why a Splynx service holds this IP already (the reason it is skipped), None when no service does."""
    holder, account = nested(record, "holder"), nested(record, "account")
    kind, services = holder.get("type"), data_service_ids(account)
    if kind in ("Account", "RadiusAccount") and services:
        return f"a {HOLDER_NAMES[kind]}'s IP, on its account's internet service"
    if kind == "UninventoriedMacAddress":
        macs = entities(account.get("uninventoried_mac_addresses"))
        if pairing_rank(str(holder.get("id")), macs) < len(services):
            return "a MAC's IP, on the internet service it pairs with"
    if kind == "InventoryItem" and str(holder.get("account_service_id")) in services:
        return "a CPE's IP, on the internet service it serves"
    return None


def addresses(subnet: str, subject: Subject) -> list[str]:
    """Every address of an IPv4 assignment (`198.19.192.24/29` -> 8), SkipRecord for IPv6 or a block too large."""
    network = ipaddress.ip_network(subnet, strict=False)
    if network.version == 6:
        raise SkipRecord("IPv6: Splynx keeps no record per IPv6 address of a network")
    if network.num_addresses > MAX_BLOCK:
        raise SkipRecord(f"a block of {network.num_addresses} addresses: migrate it as a network, not IP records")
    return [str(a) for a in network]


def customer_of(record: Record, ctx: TransformContext) -> str:
    """The Splynx customer of the holder's account, "0" when the holder belongs to no account."""
    account_id = nested(record, "holder").get("account_id")
    if account_id is None:
        return "0"
    if nested(record, "account").get("archived_at"):
        raise SkipRecord("its account is archived (not migrated)")
    customer_id = ctx.dest_id("account", str(account_id))
    if customer_id is None:
        raise SkipRecord("its account is not in Splynx (not selected, or failed): the next run that has it writes it")
    return customer_id


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Each address of the assignment: used, titled by its holder, its customer's, the marker in the comment."""
    sid = source_id(record)
    subject = Subject(ENTITY, sid)
    reason = taken_by(record)
    if reason is not None:
        raise SkipRecord(reason)
    held = addresses(str(record.get("subnet") or ""), subject)
    holder = nested(record, "holder")
    what = clean_text(record.get("description"))
    title = f"Sonar {holder.get('type')} {holder.get('id')}" + (f": {what}" if what else "")
    tag = text_marker(marker(ENTITY, sid), ctx.marker_field)
    body = {
        "is_used": 1,
        "customer_id": customer_of(record, ctx),
        "title": title[:TITLE_LEN],
        "comment": f"Sonar IP assignment {sid} ({record.get('subnet')}) {tag}",
    }
    network_id = network_of(record, ctx, subject)
    first, *rest = (SplynxPayload(TARGET, body, marker(ENTITY, sid), parent={"network_id": network_id, "ip": a})
                    for a in held)  # fmt: skip
    return replace(first, extras=tuple(rest))
