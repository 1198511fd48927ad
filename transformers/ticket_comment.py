"""A Sonar ticket comment (staff only) -> a message of its Splynx ticket hidden from the customer."""

from __future__ import annotations

from typing import Any

from transformers import ticket_message
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record

ENTITY = "ticket_comment"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
TARGET = ticket_message.TARGET


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """An internal note: a staff member's, never shown to the customer."""
    return ticket_message.message(ENTITY, record, ctx, internal=True)
