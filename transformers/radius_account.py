"""Sonar RADIUS account beyond its account's DATA services -> an internet service of its own in Splynx.

Why: Splynx authenticates a subscriber by an internet service's `login` and `password`, one login per
service, while Sonar keeps any number of RADIUS accounts on the account. The first ones pair with the
account's DATA services in id order and are their logins (transformers/service_access.py); each one
beyond gets a service of its own so that it still authenticates the morning after cutover. Billing does
not change: the extra service has the tariff of the account's last DATA service at a unit price of 0
(the plan is billed once, on its own service). A RADIUS account that pairs with a DATA service, or whose
account has no DATA service (no plan to give its service), is skipped with that reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.account_service import service_status, static_ip, static_ipv6
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, in_id_order, nested, parent, payload, source_id
from transformers.rules import clean_text, splynx_date
from transformers.service_access import pairing_rank
from transformers.validation import SkipRecord, Subject

ENTITY = "radius_account"
TARGET = "internet_service"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
NO_DATA_SERVICE = "the account has no DATA service: no plan for an internet service to log in to"


def last_data_service(record: Record) -> Record:
    """The account's DATA service whose plan the extra login's service takes; SkipRecord when it pairs with one."""
    account = nested(record, "account")
    services = in_id_order(entities(account.get("account_services")))
    if not services:
        raise SkipRecord(NO_DATA_SERVICE)
    if pairing_rank(source_id(record), entities(account.get("radius_accounts"))) < len(services):
        raise SkipRecord("the login and password of its DATA service (paired in id order)")
    return services[-1]


def _addresses(record: Record) -> dict[str, Any]:
    """The IPs Sonar gives this RADIUS account, in id order: the service's static IPv4 and IPv6 network.

    Read as an internet service's own (transformers/account_service.py): the same rules pick the first.
    """
    own = {"id": record.get("id"), "ip_assignments": in_id_order(entities(record.get("ip_assignments")))}
    v4, v6 = static_ip(own), static_ipv6(own)
    body: dict[str, Any] = {"taking_ipv4": 1 if v4 else 0}
    if v4:
        body["ipv4"] = v4
    if v6:
        body["taking_ipv6"], body["ipv6"] = 1, v6
    return body


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """An internet service carrying one extra RADIUS login, on the plan of the account's last DATA service."""
    plan = last_data_service(record)
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    username = clean_text(record.get("username"))
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "tariff_id": parent(ctx, subject, "tariff_id", "service", nested(plan, "service").get("id")),
        "description": f"RADIUS login {username}",
        "status": service_status(record, ctx),
        "quantity": 1,
        "unit_price": "0.00",  # the plan is billed on its own service: this one only authenticates
        "start_date": splynx_date(record.get("created_at")),
        "end_date": "0000-00-00",
        "login": username,
        "mac": "",
        **_addresses(record),
    }
    if record.get("password"):  # injected at load time only (etl/secrets.py); never staged
        body["password"] = str(record["password"])
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})
