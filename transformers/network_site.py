"""Sonar network site (a tower, a POP) -> Splynx network site (`admin/networking/network-sites`).

Splynx network sites have no additional-fields module (the blueprint's module list has none), so what
Splynx has no field for goes into the free-text `description`: the IPs Sonar assigns to the site
(`IpAssignment.ipassignmentable_type = NetworkSite`), the mast height, and the migration marker as
``[sonar_id=network_site:<id>]`` on the last line, by which the loader finds a site it cannot confirm.
A site belongs to no Sonar company, so every migrated partner may use it (`partners_ids`).
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, marker, source_id, text_marker
from transformers.rules import clean_text, gps, gps_from_geopoint, state_code, street

ENTITY = "network_site"
TARGET = "network_site"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Title, one-line address, "lat,lng" (the site's geopoint, else its address's), partners, description."""
    sid = source_id(record)
    address = next(iter(entities(record.get("addresses"))), {})
    body = {
        "title": clean_text(record.get("name")) or "",
        "description": description(record, text_marker(marker(ENTITY, sid), ctx.marker_field)),
        "address": one_line_address(address),
        "gps": gps_from_geopoint(record.get("geopoint"))
        or gps(address.get("latitude"), address.get("longitude"))
        or "",
        "location_id": ctx.default_location_id,
        "partners_ids": sorted({ctx.default_partner_id, *ctx.tariff_partner_ids}, key=lambda p: (len(p), p)),
    }
    return SplynxPayload(TARGET, body, marker(ENTITY, sid))


def description(record: Record, marker_line: str) -> str:
    """The site's IPs (or "none"), its height when Sonar has one, and the marker line last."""
    held = entities(record.get("ip_assignments"))
    ips = sorted((str(a["subnet"]) for a in held if a.get("subnet")), key=_ip_order)
    lines = [f"Sonar IPs: {', '.join(ips) or 'none'}"]
    height = record.get("height_in_meters")
    if height not in (None, "", 0):
        lines.append(f"Height: {Decimal(str(height)).normalize():f} m")
    return "\n".join([*lines, marker_line])


def one_line_address(address: Record) -> str:
    """Splynx's one-text-field address, e.g. `1200 Tower Rd, Oklahoma City, OK 73102`; "" when none."""
    region = " ".join(p for p in (state_code(address.get("subdivision")), clean_text(address.get("zip"))) if p)
    parts = (street(address.get("line1"), address.get("line2")), clean_text(address.get("city")), region)
    return ", ".join(p for p in parts if p)


def _ip_order(text: str) -> tuple[int, int, str]:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return (9, 0, text)
    return (network.version, int(network.network_address), text)
