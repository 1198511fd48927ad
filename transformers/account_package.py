"""Sonar package on an account (its services sharing one package relationship) -> a Splynx bundle service.

Sonar keeps no record of its own for it (extractors/sonar.py `_with_members`): the package's account services
share a `unique_package_relationship_id`, and the lowest id among them names it. The bundle service is
billed what Sonar bills for these services every month: the sum of their monthly prices (their overrides,
else the plans' prices, times their quantities; transformers/package.py `recurring_total`). The services
themselves join it (`bundle_service_id`) at a unit price of 0 (transformers/account_service.py), so that
Splynx bills the package once, whichever of the two it would bill. Its status follows the account's as a
service's does; its activation fee is 0 (Sonar charged it when the package was added).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.account_service import service_status
from transformers.context import TransformContext
from transformers.package import recurring_total
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, nested, parent, payload, source_id
from transformers.rules import clean_text, splynx_date
from transformers.validation import Subject

ENTITY = "account_package"
TARGET = "bundle_service"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def bundle_price(record: Record) -> str:
    """What Sonar bills the account for the package's services every month."""
    parts = []
    for member in entities(record.get("members")):
        override = member.get("price_override")
        quantity = int(member.get("quantity") or 1)
        parts.append((nested(member, "service"), quantity, None if override is None else int(override)))
    return recurring_total(parts)


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Customer, bundle, status, dates and monthly price of one package on an account."""
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "bundle_id": parent(ctx, subject, "bundle_id", "package", record.get("package_id")),
        "status": service_status(record, ctx),
        "description": clean_text(nested(record, "package").get("name")) or f"Sonar package {record.get('package_id')}",
        "unit_price": bundle_price(record),
        "start_date": splynx_date(record.get("created_at")),
        "end_date": "0000-00-00",
        "activation_fee": "0",
        "issue_invoice_while_service_creation": False,
    }
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})
