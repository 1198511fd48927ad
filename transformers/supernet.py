"""Sonar supernet -> Splynx IPv4 root network (a container; addresses are assigned from its endnets)."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.network import network_body
from transformers.payload import SplynxPayload
from transformers.records import Record, payload

ENTITY = "supernet"
TARGET = "ipv4_network"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A rootnet over the supernet's CIDR."""
    body = network_body(record, str(record.get("subnet")), ctx, "rootnet", "management", "Sonar supernet")
    return payload(TARGET, ENTITY, record, ctx, body)
