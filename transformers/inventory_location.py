"""Sonar inventory location (a warehouse, a truck) -> Splynx location."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, payload
from transformers.rules import clean_text

ENTITY = "inventory_location"
TARGET = "location"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A Splynx location is a name; the address stays in Sonar (Splynx locations have none)."""
    return payload(TARGET, ENTITY, record, ctx, {"name": clean_text(record.get("name"))})
