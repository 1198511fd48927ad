"""Sonar user -> Splynx administrator.

Sonar passwords cannot be read, so each administrator gets a strong random password from
`ctx.password_factory` (the one non-deterministic input, injected so tests stay deterministic) and must
reset it in Splynx. Disabled Sonar users are not migrated: they would get a working Splynx login.
"""

from __future__ import annotations

import re
from typing import Any

from transformers.context import FALLBACK_ROLE, SUPER_ADMIN_ROLE, TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, nested, payload, source_id
from transformers.rules import clean_text, normalize_email, normalize_phone
from transformers.validation import SkipRecord, Subject, fail

ENTITY = "user"
TARGET = "administrator"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def role_name(record: Record, ctx: TransformContext) -> str:
    """Super admins stay super; others take the role map's entry, else Splynx's role of the same name.

    Without either the role is `administrator`. The same-name rule needs the roles Splynx listed, so it
    applies only when they were read (`ctx.known_roles`).
    A role the target Splynx does not have (`ctx.known_roles`, read at preflight) fails the record
    naming the Sonar role and Splynx's roles, instead of a 422 from Splynx after the write was tried.
    """
    if record.get("super_admin") is True:
        return SUPER_ADMIN_ROLE
    sonar_role = (clean_text(nested(record, "role").get("name")) or "").lower()
    same_name = re.sub(r"[\s_]+", "-", sonar_role)  # Sonar "Financial Manager" -> Splynx "financial-manager"
    if sonar_role in ctx.role_map:
        mapped = ctx.role_map[sonar_role]
    elif ctx.known_roles is not None and same_name in ctx.known_roles:
        mapped = same_name
    else:
        mapped = FALLBACK_ROLE
    if ctx.known_roles is not None and mapped not in ctx.known_roles:
        raise fail(
            Subject(ENTITY, source_id(record)),
            "unknown_role",
            "role_name",
            mapped,
            f"Sonar role {sonar_role or '(none)'!r} maps to Splynx role {mapped!r}, which Splynx does not have "
            f"(it has {', '.join(sorted(ctx.known_roles))})",
            f'map it in etl.toml: [role_map] "{sonar_role or "(none)"}" = "<one of those>"',
        )
    return mapped


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Login from the username, role via the role map, a fresh password; disabled users are skipped."""
    if record.get("enabled") is False:
        raise SkipRecord("disabled in Sonar: a Splynx login would re-enable the user")
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
