"""A Sonar ticket reply -> a message of its Splynx ticket, by the customer or by staff (see ticket_message)."""

from __future__ import annotations

from typing import Any

from transformers import ticket_message
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record

ENTITY = "ticket_reply"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
TARGET = ticket_message.TARGET


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A reply the customer can read."""
    return ticket_message.message(ENTITY, record, ctx, internal=False)
