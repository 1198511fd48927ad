"""Sonar account service (a customer's DATA plan, with its IP assignment) -> Splynx internet service.

Only services whose Sonar service is DATA become internet services (their plan is a migrated tariff);
recurring extras and one-time fees are skipped. The service's status follows its account's by what it
does to billing: active for an active or blocked customer (both billed), stopped for a disabled
(Inactive) one, pending for a new one. The price is always sent: the override, else the plan's own
price. A static address comes from the service's IP assignments, else from the account's assignments
that name this service; without one the service takes no IPv4 (`taking_ipv4` 0). An IPv6 assignment
becomes the service's permanent IPv6 network (`taking_ipv6` 1, `ipv6`). Its login, password and MAC come
from the account's RADIUS accounts and MACs, paired with its DATA services in id order
(transformers/service_access.py); without a RADIUS account the login is generated and no password sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, nested, parent, payload, source_id
from transformers.rules import (
    cents_to_decimal,
    clean_text,
    customer_status,
    host_address,
    split_cidr,
    splynx_date,
)
from transformers.service_access import service_access
from transformers.validation import SkipRecord, Subject

ENTITY = "account_service"
TARGET = "internet_service"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "services_internet": [
        definition("sonar_price_override_reason", "Sonar price override reason"),
        definition("sonar_next_bill_date", "Sonar next bill date", "date"),
        definition("sonar_radius_extra", "Sonar RADIUS accounts without a service"),
        definition("sonar_mac_extra", "Sonar MAC addresses without a service"),
    ],
}
# By what Splynx does (docs/mapping.md, *Statuses*): a blocked customer loses access at the customer level
# while its services stay active and billed; an Inactive (`disabled`) customer's services are `stopped`, as
# Splynx itself sets them (not accounted, re-activated with the customer); `disabled` services are for an
# ended subscription, which Sonar's account status does not tell.
SERVICE_STATUS = {"active": "active", "blocked": "active", "disabled": "stopped", "new": "pending"}


def service_status(record: Record, ctx: TransformContext) -> str:
    """The Splynx service status implied by the account's status, `active` when the account is unknown."""
    status = nested(nested(record, "account"), "account_status")
    if not status:
        return "active"
    return SERVICE_STATUS[customer_status(status.get("name"), status.get("activates_account"), ctx.status_map)]


def _assignments(record: Record) -> list[Record]:
    """The service's own IP assignments, then the account's assignments that name this service."""
    own = entities(record.get("ip_assignments"))
    mine = [
        a
        for a in entities(nested(record, "account").get("ip_assignments"))
        if str(a.get("account_service_id")) == str(record["id"])
    ]
    return own + mine


def static_ip(record: Record) -> str | None:
    """The service's static IPv4: its own assignment, else the account's assignment for this service."""
    for assignment in _assignments(record):
        subnet = str(assignment.get("subnet") or "")
        if subnet and ":" not in subnet:
            return host_address(subnet)
    return None


def static_ipv6(record: Record) -> str | None:
    """The service's IPv6 assignment as a network (`2001:db8:1::/64`, or `/128` for one address)."""
    for assignment in _assignments(record):
        subnet = str(assignment.get("subnet") or "")
        if ":" in subnet:
            network, prefix = split_cidr(subnet)
            return f"{network}/{prefix}"
    return None


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Tariff, description, status, dates, price, IP, login, password and MAC of one subscription."""
    sid = source_id(record)
    subject = Subject(ENTITY, sid)
    service = nested(record, "service")
    if service and service.get("type") != "DATA":
        raise SkipRecord(f"account service {sid} is a {service.get('type')} service; only DATA services migrate")
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    ip = static_ip(record)
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
        "login": f"sonar-svc-{sid}",
        "taking_ipv4": 1 if ip else 0,
    }
    access = service_access(record)
    if access.radius is not None:  # the subscriber's RADIUS login; its password only once injected at load
        body["login"] = str(access.radius.get("username") or body["login"])
        if access.radius.get("password"):
            body["password"] = str(access.radius["password"])
    body["mac"] = access.mac or ""  # blank clears a MAC Sonar no longer has, as every migrated fact
    if ip:
        body["ipv4"] = ip
    ipv6 = static_ipv6(record)
    if ipv6:  # a permanent IPv6 network (taking_ipv6 1), only when Sonar assigned one
        body["taking_ipv6"], body["ipv6"] = 1, ipv6
    price = record.get("price_override")
    price = service.get("amount") if price is None else price
    if price is not None:  # always the price: whether Splynx bills an omitted unit_price at 0 is unknown
        body["unit_price"] = cents_to_decimal(int(price))
    result = payload(
        TARGET,
        ENTITY,
        record,
        ctx,
        body,
        sonar_price_override_reason=clean_text(record.get("price_override_reason")),
        sonar_next_bill_date=splynx_date(record.get("next_bill_date")),
        sonar_radius_extra=", ".join(access.extra_usernames),
        sonar_mac_extra=", ".join(access.extra_macs),
    )
    return replace(result, parent={"customer_id": customer_id})
