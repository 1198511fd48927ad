"""Sonar subnet -> Splynx IPv4 network (an IPv6 subnet -> Splynx IPv6 network, by the same rules).

- No IP pools: an endnet; `static` for ACCOUNT/MIXED subnets (customers' addresses), `management` for
  NETWORK/EXCLUDED ones (infrastructure).
- IP pools that together leave room: a rootnet, and each pool becomes an endnet of type `pool` inside it.
- A pool whose covering network is the whole subnet: Splynx cannot hold two networks with the same
  address and mask, so the subnet stays the endnet (typed as above) and that pool is folded into it
  (ip_pool.py skips it).
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.network import USAGE, network_body, network_target
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, payload
from transformers.rules import covering_cidr_of_range, is_ipv6, split_cidr

ENTITY = "subnet"
TARGET = "ipv4_network"
ALSO_TARGETS = ("ipv6_network",)  # an IPv6 record (see network.py)
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def pool_fills_subnet(pool_range: Any, subnet_cidr: str) -> bool:
    """Whether a pool's covering network is the subnet itself (so it cannot be a separate network)."""
    if not pool_range or is_ipv6(pool_range) != is_ipv6(subnet_cidr):
        return False
    network, mask = split_cidr(subnet_cidr)
    covering = covering_cidr_of_range(str(pool_range))
    return (str(covering.network_address), covering.prefixlen) == (network, mask)


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """An endnet for a plain subnet, a rootnet for one that holds separate pools."""
    cidr = str(record.get("subnet"))
    pools = [p.get("ip_range") for p in entities(record.get("ip_pools"))]
    usage = USAGE.get(str(record.get("type")), "management")
    comment = f"Sonar subnet, type {record.get('type')}"
    if pools and not any(pool_fills_subnet(p, cidr) for p in pools):
        body = network_body(record, cidr, ctx, "rootnet", usage, comment)
    else:
        body = network_body(record, cidr, ctx, "endnet", usage, comment)
    return payload(network_target(cidr), ENTITY, record, ctx, body)
