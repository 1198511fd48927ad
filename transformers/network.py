"""What Sonar supernets, subnets and IP pools have in common as Splynx IPv4 networks."""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.records import Record
from transformers.rules import clean_text, split_cidr

# Sonar subnet type -> Splynx type_of_usage for an endnet: where customers' addresses come from.
USAGE = {"ACCOUNT": "static", "MIXED": "static", "NETWORK": "management", "EXCLUDED": "management"}


def network_body(
    record: Record, cidr: str, ctx: TransformContext, network_type: str, usage: str, comment: str
) -> dict[str, Any]:
    """The body of one IPv4 network: address and mask from the CIDR, title from the Sonar name."""
    network, mask = split_cidr(cidr)
    return {
        "network": network,
        "mask": mask,
        "title": clean_text(record.get("name")) or f"{network}/{mask}",
        "comment": comment,
        "location_id": ctx.default_location_id,
        "network_category": 1,
        "network_type": network_type,
        "type_of_usage": usage,
    }
