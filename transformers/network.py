"""What Sonar supernets, subnets and IP pools have in common as Splynx IPv4 or IPv6 networks.

Sonar keeps both families in the same records (a supernet's `subnet` is `198.18.0.0/15` or
`2001:db8::/32`); Splynx has one collection per family, with `mask` for IPv4 and `prefix` for IPv6, and
IPv6 networks know no `pool` usage (the blueprint lists `static` and `management` only).
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.records import Record, parent
from transformers.rules import clean_text, is_ipv6, split_cidr
from transformers.validation import Subject

IPV4_TARGET = "ipv4_network"
IPV6_TARGET = "ipv6_network"

# Sonar subnet type -> Splynx type_of_usage for an endnet: where customers' addresses come from.
USAGE = {"ACCOUNT": "static", "MIXED": "static", "NETWORK": "management", "EXCLUDED": "management"}


def network_target(cidr: str) -> str:
    """The Splynx target of a Sonar network: IPv4 or IPv6 networks, by the address family."""
    return IPV6_TARGET if is_ipv6(cidr) else IPV4_TARGET


def network_body(
    record: Record, cidr: str, ctx: TransformContext, network_type: str, usage: str, comment: str
) -> dict[str, Any]:
    """The body of one network: address and mask (IPv6: prefix) from the CIDR, title from the Sonar name."""
    network, length = split_cidr(cidr)
    ipv6 = is_ipv6(network)
    return {
        "network": network,
        "prefix" if ipv6 else "mask": length,
        "title": clean_text(record.get("name")) or f"{network}/{length}",
        "comment": comment,
        "location_id": ctx.default_location_id,
        "network_category": 1,
        "network_type": network_type,
        "type_of_usage": "static" if ipv6 and usage == "pool" else usage,
    }


def network_of(record: Record, ctx: TransformContext, subject: Subject, field: str = "network_id") -> str:
    """The Splynx network holding an assigned IP: its pool's when the pool is a network of its own, else its subnet's.

    `field` names the value in a missing-parent problem (`ipv4_ip.network_id` for a service's extra IP).
    """
    pool = record.get("ip_pool_id")
    if pool is not None and (found := ctx.dest_id("ip_pool", str(pool))) is not None:
        return found
    return parent(ctx, subject, field, "subnet", record.get("subnet_id"))
