"""Sonar company -> Splynx partner (the "do business as" unit both systems have)."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, payload
from transformers.rules import clean_text

ENTITY = "company"
TARGET = "partner"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Name and marker: a Splynx partner has nothing else."""
    return payload(TARGET, ENTITY, record, ctx, {"name": clean_text(record.get("name"))})
