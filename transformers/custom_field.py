"""Sonar custom field -> Splynx additional-field definition (module `customers`).

Only Account custom fields are migrated: their values are written on the customer as
`additional_attributes[sonar_<slug>]`. Custom fields of other Sonar entities (contacts, addresses,
tickets...) have no migrated record to live on and are skipped. Definitions carry no additional
attributes themselves; the loader finds an existing one by its name, which is also its Splynx id.
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, marker, source_id
from transformers.rules import clean_text, slug
from transformers.validation import SkipRecord

ENTITY = "custom_field"
TARGET = "additional_field"
MODULE = "customers"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
TYPES = {"TEXT": "string", "BOOLEAN": "boolean", "DATE": "date"}


def field_name(name: Any, custom_field_id: Any) -> str:
    """`sonar_<slug of the Sonar name>`, or `sonar_field_<id>` when the name has no letters or digits."""
    return slug(str(name or "")) or f"sonar_field_{custom_field_id}"


def splynx_value(kind: Any, value: Any) -> str:
    """A custom field value as Splynx stores it: booleans "1"/"0", others as text."""
    text = str(value if value is not None else "").strip()
    if str(kind).upper() == "BOOLEAN":
        return "1" if text.lower() in ("1", "true", "yes", "on") else "0"
    return text


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Name, title and type; Sonar enum options become a Splynx select."""
    sid = source_id(record)
    if str(record.get("entity_type")) != "Account":
        raise SkipRecord(f"a field of {record.get('entity_type')} records, which are not migrated")
    options = [o for o in (clean_text(v) for v in record.get("enum_options") or []) if o]
    body: dict[str, Any] = {
        "name": field_name(record.get("name"), sid),
        "title": clean_text(record.get("name")) or f"Sonar field {sid}",
        "type": "select" if options else TYPES.get(str(record.get("type")), "string"),
        "is_required": False,
        "is_unique": record.get("unique") is True,
        "is_add": True,
        "show_in_list": False,
        "searchable": True,
        "readonly": False,
        "disabled": False,
    }
    if options:
        body["select_values"] = ",".join(options)
    return SplynxPayload(TARGET, body, marker(ENTITY, sid), parent={"module": MODULE})
