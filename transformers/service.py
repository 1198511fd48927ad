"""Sonar DATA service (a plan) -> Splynx internet tariff.

Other service types (recurring extras, one-time fees, voice...) are not internet tariffs and are skipped.
A plan disabled in Sonar is migrated (existing subscribers keep it) but hidden from the customer portal.
Speeds: Sonar's kbit/s and Splynx's kbps are the same unit.
"""

from __future__ import annotations

from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, nested, partner_for, payload, source_id
from transformers.rules import cents_to_decimal, clean_text, speed_kbps
from transformers.validation import SkipRecord, Subject

ENTITY = "service"
TARGET = "internet_tariff"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "tariffs_internet": [definition("sonar_technology", "Sonar technology code")],
}


def _speed(detail: Record, key: str) -> int | None:
    """A speed in kbps, or None so that validation reports the missing field with its fix."""
    try:
        return speed_kbps(detail.get(key))
    except (TypeError, ValueError):
        return None


def partners(record: Record, ctx: TransformContext, subject: Subject) -> list[str]:
    """The plan's own company's partner plus the partners every tariff is shared with, in a stable order."""
    own = partner_for(ctx, subject, record.get("company_id"))
    return sorted({own, *ctx.tariff_partner_ids}, key=lambda p: (len(p), p))


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Title, price, speeds and availability of one plan."""
    sid = source_id(record)
    if str(record.get("type")) != "DATA":
        raise SkipRecord(f"service {sid} is a {record.get('type')} service; only DATA services become tariffs")
    detail = nested(record, "data_service_detail")
    enabled = record.get("enabled") is not False
    body: dict[str, Any] = {
        "title": clean_text(record.get("name")),
        "price": cents_to_decimal(int(record.get("amount") or 0)),
        "with_vat": False,
        "speed_download": _speed(detail, "download_speed_kilobits_per_second"),
        "speed_upload": _speed(detail, "upload_speed_kilobits_per_second"),
        "partners_ids": partners(record, ctx, Subject(ENTITY, sid)),
        "billing_types": ["recurring"],
        "customer_categories": ["person", "company"],
        "available_for_locations": [ctx.default_location_id],
        "hide_on_admin_portal": False,
        "show_on_customer_portal": enabled,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return payload(TARGET, ENTITY, record, ctx, body, sonar_technology=detail.get("technology_code"))
