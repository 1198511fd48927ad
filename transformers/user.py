"""Sonar user -> Splynx administrator.

Sonar passwords cannot be read, so each administrator gets a strong random password from
`ctx.password_factory` (the one non-deterministic input, injected so tests stay deterministic) and must
reset it in Splynx. Disabled Sonar users are not migrated: they would get a working Splynx login.
"""

from __future__ import annotations

from typing import Any

from transformers.context import FALLBACK_ROLE, SUPER_ADMIN_ROLE, TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, nested, payload
from transformers.rules import clean_text, normalize_email, normalize_phone
from transformers.validation import SkipRecord

ENTITY = "user"
TARGET = "administrator"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def role_name(record: Record, ctx: TransformContext) -> str:
    """Super admins stay super; others take the role map's entry for their Sonar role."""
    if record.get("super_admin") is True:
        return SUPER_ADMIN_ROLE
    sonar_role = (clean_text(nested(record, "role").get("name")) or "").lower()
    return ctx.role_map.get(sonar_role, FALLBACK_ROLE)


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Login from the username, role via the role map, a fresh password; disabled users are skipped."""
    if record.get("enabled") is False:
        raise SkipRecord(f"user {record['id']} is disabled in Sonar; a Splynx login would re-enable it")
    body: dict[str, Any] = {
        "login": clean_text(record.get("username")),
        "name": clean_text(record.get("name")),
        "email": normalize_email(record.get("email_address")),
        "role_name": role_name(record, ctx),
        "partner_id": ctx.default_partner_id,
        "password": ctx.password_factory(),
    }
    phone = normalize_phone(record.get("mobile_number"))
    if phone:
        body["phone"] = phone
    return payload(TARGET, ENTITY, record, ctx, body)
