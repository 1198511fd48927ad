"""Reading Sonar records as the extractor's GraphQL queries return them, and the parts every payload shares.

Sonar records arrive exactly as GraphQL returns them: ids as strings, to-one relations as nested dicts
(or None), to-many relations as connections ``{"entities": [...]}``. Staged data may flatten a connection
to a plain list, so `entities()` accepts both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.validation import Subject, missing_parent

Record = Mapping[str, Any]


def entities(value: Any) -> list[Record]:
    """The records of a to-many relation: a connection dict, a plain list, or nothing."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = value.get("entities") or []
    return [item for item in value if isinstance(item, Mapping)]


def in_id_order(records: list[Record]) -> list[Record]:
    """Records sorted by their numeric id: the order Sonar's pairing rules count in (missing id first)."""
    return sorted(records, key=lambda r: int(str(r.get("id") or 0)))


def nested(record: Record, key: str) -> Record:
    """A to-one relation, or an empty mapping when Sonar returned null or the query did not ask for it."""
    value = record.get(key)
    return value if isinstance(value, Mapping) else {}


def source_id(record: Record) -> str:
    """The Sonar id as the string the ledger keys on."""
    return str(record["id"])


def optional_id(value: Any) -> str | None:
    """A foreign key that may be null: its string form, or None."""
    return None if value is None or value == "" else str(value)


def marker(entity: str, record_id: str) -> str:
    """The migration marker stored in Splynx: ``<entity>:<sonar id>``."""
    return f"{entity}:{record_id}"


def text_marker(marker_text: str, marker_field: str = "sonar_id") -> str:
    """The marker as a record without additional fields carries it in a text field: ``[sonar_id=<marker>]``."""
    return f"[{marker_field}={marker_text}]"


def marker_in_text(text: object, marker_field: str = "sonar_id") -> str | None:
    """The marker a text field carries (see `text_marker`), or None; the brackets keep `:7` apart from `:71`."""
    found = re.search(rf"\[{re.escape(marker_field)}=([^\]\s]+)\]", str(text or ""))
    return found[1] if found else None


def attributes(ctx: TransformContext, entity: str, record_id: str, **facts: Any) -> dict[str, str]:
    """Additional attributes: the marker first, then every fact as a string, a blank one as "".

    Why blanks are sent: an update must clear a fact that Sonar no longer has (the last group left, the
    other contacts deleted); leaving it out would keep the old text in Splynx.
    """
    values = {ctx.marker_field: marker(entity, record_id)}
    values.update({name: "" if value is None else str(value) for name, value in facts.items()})
    return values


def parent(ctx: TransformContext, subject: Subject, field: str, parent_entity: str, parent_sonar_id: Any) -> str:
    """The Splynx id of a record this one refers to; `missing_parent` when it was never migrated."""
    parent_id = str(parent_sonar_id)
    found = ctx.dest_id(parent_entity, parent_id)
    if found is None:
        raise missing_parent(subject, field, parent_entity, parent_id)
    return found


def admin_of(ctx: TransformContext, user_id: Any) -> str:
    """The Splynx administrator a Sonar user became; "0" (nobody) when it was not migrated.

    Why `mapped_id` first: `etl plan` gives `dest_id` a placeholder for unmapped parents, and an author or an
    assignee who was never migrated must read as nobody, not as that placeholder.
    """
    found = None if user_id is None else (ctx.mapped_id or ctx.dest_id)("user", str(user_id))
    return str(found) if found is not None else "0"


def partner_for(ctx: TransformContext, subject: Subject, company_id: Any) -> str:
    """The Splynx partner of a Sonar company; the default partner when the record has no company."""
    company = optional_id(company_id)
    return ctx.default_partner_id if company is None else parent(ctx, subject, "partner_id", "company", company)


def payload(
    target: str, entity: str, record: Record, ctx: TransformContext, body: dict[str, Any], **facts: Any
) -> SplynxPayload:
    """A payload whose body carries the migration marker (plus `facts` as additional attributes)."""
    sid = source_id(record)
    full = {**body, "additional_attributes": attributes(ctx, entity, sid, **facts)}
    return SplynxPayload(target, full, marker(entity, sid))
