"""Sonar IP pool -> Splynx IPv4 endnet of type `pool`, over the smallest network covering its range.

An IPv6 pool becomes an IPv6 endnet of type `static` (Splynx's IPv6 networks have no `pool` usage).

The exact range is kept in `sonar_ip_range` (the covering network may be larger). A pool whose covering
network is its whole subnet is folded into the subnet's network (see subnet.py) and skipped here; the
subnet's CIDR comes from the nested `subnet` the query asks for.
"""

from __future__ import annotations

from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.network import network_body, network_target
from transformers.payload import SplynxPayload
from transformers.records import Record, nested, payload, source_id
from transformers.rules import covering_cidr_of_range
from transformers.subnet import pool_fills_subnet
from transformers.validation import SkipRecord, Subject, fail, fix_hint

ENTITY = "ip_pool"
TARGET = "ipv4_network"
ALSO_TARGETS = ("ipv6_network",)  # an IPv6 record (see network.py)
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "ipv4_networks": [definition("sonar_ip_range", "Sonar IP range")],
    "ipv6_networks": [definition("sonar_ip_range", "Sonar IP range")],
}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """An endnet of type pool; skipped when it would duplicate its subnet's network."""
    sid = source_id(record)
    ip_range = str(record.get("ip_range") or "")
    subnet_cidr = nested(record, "subnet").get("subnet")
    try:
        covering = covering_cidr_of_range(ip_range)
    except ValueError:
        subject = Subject(ENTITY, sid)
        raise fail(
            subject,
            "invalid_ip_range",
            "network",
            ip_range,
            f"ip_range {ip_range!r} is not an IP range a.b.c.d-e.f.g.h (or IPv6 first-last)",
            fix_hint(subject, "network", "10.0.0.0", "correct the pool's range in Sonar"),
        ) from None
    if subnet_cidr and pool_fills_subnet(ip_range, str(subnet_cidr)):
        raise SkipRecord("the pool covers its whole subnet, which is migrated as the network")
    body = network_body(record, str(covering), ctx, "endnet", "pool", f"Sonar IP pool {ip_range}")
    return payload(network_target(str(covering)), ENTITY, record, ctx, body, sonar_ip_range=ip_range)
