"""Sonar manufacturer -> Splynx inventory vendor (Splynx's "vendor" is the maker of a product)."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, payload
from transformers.rules import clean_text

ENTITY = "manufacturer"
TARGET = "inventory_vendor"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Name and marker."""
    return payload(TARGET, ENTITY, record, ctx, {"name": clean_text(record.get("name"))})
