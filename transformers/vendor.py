"""Sonar vendor (whom an ISP buys equipment from) -> Splynx inventory supplier.

Not a Splynx *vendor*: that is the maker of a product (Sonar's manufacturer, transformers/manufacturer.py).
The blueprint's "Supplier Base" has name, address, contact_name, email, phone and tax_included. Sonar's
Vendor has a name, addresses and contacts (with e-mail and phone numbers); the address is the first
one's lines in one text, the contact the primary contact (else the first). Sonar keeps no "tax
included" flag on a vendor (its taxes are a list of rates), so tax_included is left to Splynx's default.
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, payload
from transformers.rules import clean_text

ENTITY = "vendor"
TARGET = "inventory_supplier"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def one_line_address(address: Record) -> str | None:
    """`line1, line2, city, subdivision zip, country` without the blanks; None for an empty address."""
    region = " ".join(p for p in (clean_text(address.get("subdivision")), clean_text(address.get("zip"))) if p)
    parts = (clean_text(address.get(k)) for k in ("line1", "line2", "city"))
    text = ", ".join(p for p in (*parts, region, clean_text(address.get("country"))) if p)
    return text or None


def main_contact(record: Record) -> Record:
    """The primary contact, else the first, else an empty record."""
    contacts = list(entities(record.get("contacts")))
    return next((c for c in contacts if c.get("primary")), contacts[0] if contacts else {})


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Name, one-line address, and the main contact's name, e-mail and first phone number."""
    body: dict[str, Any] = {"name": clean_text(record.get("name"))}
    addresses = list(entities(record.get("addresses")))
    address = one_line_address(addresses[0]) if addresses else None
    contact = main_contact(record)
    phones = [clean_text(p.get("number")) for p in entities(contact.get("phone_numbers"))]
    optional = {
        "address": address,
        "contact_name": clean_text(contact.get("name")),
        "email": clean_text(contact.get("email_address")),
        "phone": next((p for p in phones if p), None),
    }
    body.update({k: v for k, v in optional.items() if v})
    return payload(TARGET, ENTITY, record, ctx, body)
