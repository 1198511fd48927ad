"""Sonar supernet -> Splynx IPv4 (or IPv6) root network (a container; addresses are assigned from its endnets)."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.network import network_body, network_target
from transformers.payload import SplynxPayload
from transformers.records import Record, payload

ENTITY = "supernet"
TARGET = "ipv4_network"
ALSO_TARGETS = ("ipv6_network",)  # an IPv6 record (see network.py)
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A rootnet over the supernet's CIDR."""
    cidr = str(record.get("subnet"))
    body = network_body(record, cidr, ctx, "rootnet", "management", "Sonar supernet")
    return payload(network_target(cidr), ENTITY, record, ctx, body)
