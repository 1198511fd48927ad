"""Sonar account service (a customer's subscription to a catalogue service) -> the Splynx service of its kind.

By the Sonar service's type (transformers/service.py maps the catalogue the same way): DATA -> internet
service, RECURRING and EXPIRING -> recurring service, VOICE -> voice service (its phone number is the DID
Sonar assigned to the account for that service, paired in id order like RADIUS accounts). A ONETIME
account service is a charge Sonar has billed already (its debit is history, not a subscription): skipped
with that reason, as OVERAGE and ADJUSTMENT ones are. The price is the monthly price of the service's
billing period (service.monthly_price). The service's status follows its account's by what it
does to billing: active for an active or blocked customer (both billed), stopped for a disabled
(Inactive) one, pending for a new one. The price is always sent: the override, else the plan's own
price. A static address comes from the service's IP assignments, else from the account's assignments
that name this service; without one the service takes no IPv4 (`taking_ipv4` 0). An IPv6 assignment
becomes the service's permanent IPv6 network (`taking_ipv6` 1, `ipv6`). Its login, password and MAC come
from the account's RADIUS accounts and MACs, paired with its DATA services in id order
(transformers/service_access.py); without a RADIUS account the login is generated and no password sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.network import network_of
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, marker, nested, parent, payload, source_id, text_marker
from transformers.rules import (
    clean_text,
    customer_status,
    host_address,
    split_cidr,
    splynx_date,
)
from transformers.service import billing_months, monthly_price
from transformers.service_access import normal_mac, service_access
from transformers.validation import SkipRecord, Subject

ENTITY = "account_service"
TARGET = "internet_service"
ALSO_TARGETS = ("recurring_service", "voice_service")
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "services_internet": [
        definition("sonar_price_override_reason", "Sonar price override reason"),
        definition("sonar_next_bill_date", "Sonar next bill date", "date"),
        definition("sonar_mac_extra", "Sonar MAC addresses without a service"),
        definition("sonar_ip_extra", "Sonar IPv4 addresses beyond the service's static IP"),
    ],
}
# By what Splynx does (docs/mapping.md, *Statuses*): a blocked customer loses access at the customer level
# while its services stay active and billed; an Inactive (`disabled`) customer's services are `stopped`, as
# Splynx itself sets them (not accounted, re-activated with the customer); `disabled` services are for an
# ended subscription, which Sonar's account status does not tell.
SERVICE_STATUS = {"active": "active", "blocked": "active", "disabled": "stopped", "new": "pending"}
SERVICE_TARGETS: dict[str, str] = {
    "DATA": "internet_service",
    "RECURRING": "recurring_service",
    "EXPIRING": "recurring_service",
    "VOICE": "voice_service",
}
"""Sonar service type -> the Splynx service an account's subscription to it becomes."""
SKIPPED_TYPES: dict[str, str] = {
    "ONETIME": "ONETIME service: a one-time charge Sonar has billed already; it moves with the billing history",
    "OVERAGE": "OVERAGE service: usage overage is billed by Splynx's FUP/CAP rules, not a customer service",
    "ADJUSTMENT": "ADJUSTMENT service: an adjustment is a transaction in Splynx, not a customer service",
}
"""Sonar service types no Splynx customer service takes, with the reason recorded for each skipped record."""


def service_status(record: Record, ctx: TransformContext) -> str:
    """The Splynx service status implied by the account's status, `active` when the account is unknown."""
    status = nested(nested(record, "account"), "account_status")
    if not status:
        return "active"
    return SERVICE_STATUS[customer_status(status.get("name"), status.get("activates_account"), ctx.status_map)]


def _assignments(record: Record, held: Sequence[Record] = ()) -> list[Record]:
    """Every IP assignment that is this service's, in order of preference.

    The service's own, the account's that name this service, then those held by what the subscriber
    connects with (`held`: the paired RADIUS account's and MAC's) and by the service's inventory items
    (its CPE), Sonar's other `IpassignmentableType`s.
    """
    own = entities(record.get("ip_assignments"))
    mine = [
        a
        for a in entities(nested(record, "account").get("ip_assignments"))
        if str(a.get("account_service_id")) == str(record["id"])
    ]
    items = [a for item in entities(record.get("inventory_items")) for a in entities(item.get("ip_assignments"))]
    return own + mine + list(held) + items


def ipv4_addresses(record: Record, held: Sequence[Record] = ()) -> list[str]:
    """The service's IPv4 addresses, each once, the static one first."""
    found = (host_address(str(a.get("subnet"))) for a in _assignments(record, held) if _is_v4(a))
    return list(dict.fromkeys(found))


def _is_v4(assignment: Record) -> bool:
    subnet = str(assignment.get("subnet") or "")
    return bool(subnet) and ":" not in subnet


def static_ip(record: Record, held: Sequence[Record] = ()) -> str | None:
    """The service's static IPv4: the first of its addresses (see `_assignments` for the order)."""
    addresses = ipv4_addresses(record, held)
    return addresses[0] if addresses else None


def static_ipv6(record: Record, held: Sequence[Record] = ()) -> str | None:
    """The service's IPv6 assignment as a network (`2001:db8:1::/64`, or `/128` for one address)."""
    for assignment in _assignments(record, held):
        subnet = str(assignment.get("subnet") or "")
        if ":" in subnet:
            network, prefix = split_cidr(subnet)
            return f"{network}/{prefix}"
    return None


def service_macs(record: Record, paired: str | None) -> list[str]:
    """The service's MACs (Splynx `mac` takes a `, `-separated list): the paired one, then its CPEs', each once.

    The paired uninventoried MAC is the subscriber's own device; a CPE's MAC field (model field of type
    MAC_ADDRESS) is the ISP's device on this service: either may be what the network authenticates.
    """
    items = entities(record.get("inventory_items"))
    cpe = [normal_mac(m.get("value")) for item in items for m in entities(item.get("macs"))]
    return list(dict.fromkeys(m for m in [paired or "", *cpe] if m))


def service_target(record: Record) -> str:
    """The Splynx service an account service becomes; SkipRecord with the reason for those that become none."""
    kind = str(nested(record, "service").get("type") or "DATA")  # a service without its plan read: DATA
    if kind in SKIPPED_TYPES:
        raise SkipRecord(SKIPPED_TYPES[kind])
    if kind not in SERVICE_TARGETS:
        raise SkipRecord(f"service type {kind!r}: no Splynx service takes it")
    return SERVICE_TARGETS[kind]


def voice_phone(record: Record) -> str | None:
    """The DID number Sonar assigned to this voice line (None: validation reports the missing phone).

    The account's DIDs for this service, in id order, pair with its subscriptions to the same service in id
    order, first with first (Sonar assigns DIDs to the account and the service, not to a subscription).
    """
    account = nested(record, "account")
    service_id = str(record.get("service_id"))
    numbers = [
        str(nested(d, "did").get("number") or "")
        for d in sorted(entities(account.get("did_assignments")), key=lambda d: int(str(d.get("id") or 0)))
        if str(d.get("service_id")) == service_id
    ]
    siblings = {str(s["id"]) for s in entities(account.get("account_services"))
                if str(nested(s, "service").get("id")) == service_id} | {str(record["id"])}  # fmt: skip
    rank = sorted(siblings, key=int).index(str(record["id"]))
    return (numbers[rank] or None) if rank < len(numbers) else None


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Tariff, description, status, dates and monthly price of one subscription; IPs and logins for internet."""
    sid = source_id(record)
    subject = Subject(ENTITY, sid)
    target = service_target(record)
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    body = _common(record, ctx, subject, customer_id)
    if target == "voice_service":
        body["phone"] = voice_phone(record)
    if target != "internet_service":
        return replace(payload(target, ENTITY, record, ctx, body), parent={"customer_id": customer_id})
    return _internet(record, body, ctx, customer_id)


def _common(record: Record, ctx: TransformContext, subject: Subject, customer_id: str) -> dict[str, Any]:
    """The blueprint's Service Base: what every kind of customer service has, its monthly price included."""
    service = nested(record, "service")
    body: dict[str, Any] = {
        "customer_id": customer_id,  # in the path too; APIB marks it required in the body
        "tariff_id": parent(ctx, subject, "tariff_id", "service", record.get("service_id")),
        "description": clean_text(record.get("name_override"))
        or clean_text(service.get("name"))
        or f"Sonar service {record.get('service_id')}",
        "status": service_status(record, ctx),
        "quantity": int(record.get("quantity") or 1),
        "start_date": splynx_date(record.get("created_at")),
        "end_date": "0000-00-00",
    }
    if record.get("bundle_of"):  # in a package: its bundle service is billed the package (account_package.py)
        body["bundle_service_id"] = parent(ctx, subject, "bundle_service_id", "account_package", record["bundle_of"])
        body["unit_price"] = "0"
        return body
    price = record.get("price_override")
    price = service.get("amount") if price is None else price
    if price is not None:  # always the price: whether Splynx bills an omitted unit_price at 0 is unknown
        body["unit_price"] = monthly_price(int(price), billing_months(service))
    return body


def _internet(record: Record, body: dict[str, Any], ctx: TransformContext, customer_id: str) -> SplynxPayload:
    """An internet service: the subscriber's login, password, MAC, static IPv4 and IPv6."""
    access = service_access(record)
    addresses = ipv4_addresses(record, access.held_ips)
    ip = addresses[0] if addresses else None
    body.update(login=f"sonar-svc-{source_id(record)}", taking_ipv4=1 if ip else 0)
    if access.radius is not None:  # the subscriber's RADIUS login; its password only once injected at load
        body["login"] = str(access.radius.get("username") or body["login"])
        if access.radius.get("password"):
            body["password"] = str(access.radius["password"])
    body["mac"] = ", ".join(service_macs(record, access.mac))  # blank clears what Sonar no longer has
    if ip:
        body["ipv4"] = ip
    ipv6 = static_ipv6(record, access.held_ips)
    if ipv6:  # a permanent IPv6 network (taking_ipv6 1), only when Sonar assigned one
        body["taking_ipv6"], body["ipv6"] = 1, ipv6
    result = payload(
        TARGET,
        ENTITY,
        record,
        ctx,
        body,
        sonar_price_override_reason=clean_text(record.get("price_override_reason")),
        sonar_next_bill_date=splynx_date(record.get("next_bill_date")),
        sonar_mac_extra=", ".join(access.extra_macs),
        sonar_ip_extra=", ".join(addresses[1:]),
    )
    records = extra_ip_records(record, ctx, customer_id, addresses, access.held_ips)
    return replace(result, parent={"customer_id": customer_id}, extras=(*result.extras, *records))


EXTRA_IP_TITLE_LEN = 128


def extra_ip_records(
    record: Record, ctx: TransformContext, customer_id: str, addresses: list[str], held: Sequence[Record]
) -> tuple[SplynxPayload, ...]:
    """The IP record of each IPv4 address beyond the service's static one: used, for the service's customer.

    Why: a Splynx internet service takes one static IPv4 (`ipv4`); Sonar may give a subscriber more (the
    account's second static IP, one its RADIUS account or CPE holds). Listed in `sonar_ip_extra` alone,
    they would look free on their network the morning after cutover and be handed to someone else, so
    each is marked used on its network's IP record, as an IP no service takes is (transformers/ip_assignment.py),
    with this service's marker in the comment. Rollback frees them with the service.
    """
    if len(addresses) < 2:
        return ()
    subject, sid = Subject(ENTITY, source_id(record)), source_id(record)
    assigned: dict[str, Record] = {}
    for assignment in _assignments(record, held):
        if _is_v4(assignment):
            assigned.setdefault(host_address(str(assignment["subnet"])), assignment)
    tag = text_marker(marker(ENTITY, sid), ctx.marker_field)
    body = {
        "is_used": 1,
        "customer_id": customer_id,
        "title": f"Sonar account service {sid}: beyond {addresses[0]}"[:EXTRA_IP_TITLE_LEN],
        "comment": f"IPv4 of Sonar account service {sid} beyond its static IP {addresses[0]} {tag}",
    }
    return tuple(
        SplynxPayload(
            "ipv4_ip",
            body,
            marker(ENTITY, sid),
            parent={"network_id": network_of(assigned[ip], ctx, subject, "ipv4_ip.network_id"), "ip": ip},
        )
        for ip in addresses[1:]
    )
