"""Sonar account (with its contacts, addresses, billing parameter, groups and custom data) -> Splynx customer.

The customer body takes the primary contact's login, e-mail and first phone number, the physical
address (else the first one), the status via the status map and the category from the account type.
Two follow-up writes complete it: `customer_info` (the contact person) and `customer_billing` (bill day,
due days, grace days, the mailing address). Every Sonar fact without a Splynx field goes into an
additional attribute (see `ADDITIONAL_FIELDS` and docs/mapping.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.custom_field import splynx_value
from transformers.payload import SplynxPayload
from transformers.phone import international_phone
from transformers.records import Record, entities, marker, nested, optional_id, parent, partner_for, payload, source_id
from transformers.rules import (
    blocking_day,
    cents_to_decimal,
    clean_text,
    customer_category,
    customer_status,
    deactivation_days,
    gps,
    gps_from_geopoint,
    normalize_email,
    splynx_date,
    state_code,
    street,
)
from transformers.validation import Subject

ENTITY = "account"
TARGET = "customer"
SELF_PARENT = "parent_account_id"
"""A child account's parent is an account too: the load stage loads parents first (see etl.load_stage)."""
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "customers": [
        definition("sonar_account_status", "Sonar account status"),
        definition("sonar_account_type", "Sonar account type"),
        definition("sonar_groups", "Sonar account groups"),
        definition("sonar_contacts", "Sonar other contacts"),
        definition("sonar_next_bill_date", "Sonar next bill date", "date"),
        definition("sonar_next_recurring_charge", "Sonar next recurring charge", "decimal"),
        definition("sonar_parent_account", "Sonar parent account"),
        definition("sonar_archived_at", "Sonar archived on", "date"),
        definition("sonar_state", "Sonar state or province"),
    ],
}


def primary_contact(record: Record) -> Record:
    """The contact flagged primary, else the first one, else nothing."""
    contacts = entities(record.get("contacts"))
    return next((c for c in contacts if c.get("primary") is True), contacts[0] if contacts else {})


def first_phone(contact: Record) -> str | None:
    """The contact's first phone number, normalised, with its country calling code (`+1 4053951701`)."""
    for phone in entities(contact.get("phone_numbers")):
        number = international_phone(phone.get("number"), phone.get("country"), phone.get("extension"))
        if number:
            return number
    return None


def address_of(record: Record, kind: str) -> Record:
    """The first address of a type (PHYSICAL, MAILING...); for PHYSICAL, any address if none is typed so."""
    addresses = entities(record.get("addresses"))
    found = next((a for a in addresses if a.get("type") == kind), None)
    if found is None and kind == "PHYSICAL" and addresses:
        return addresses[0]
    return found or {}


def other_contacts(record: Record, primary: Record) -> str | None:
    """The non-primary contacts as compact JSON text (Splynx customers have one contact)."""
    others = [
        {
            "name": clean_text(c.get("name")),
            "role": clean_text(c.get("role")),
            "email": normalize_email(c.get("email_address")),
            "phones": [
                p
                for p in (
                    international_phone(n.get("number"), n.get("country"), n.get("extension"))
                    for n in entities(c.get("phone_numbers"))
                )
                if p
            ],
        }
        for c in entities(record.get("contacts"))
        if c is not primary
    ]
    return json.dumps(others, ensure_ascii=False, separators=(",", ":")) if others else None


def custom_values(record: Record, ctx: TransformContext, subject: Subject) -> dict[str, str]:
    """Custom field data under the additional-field names the custom_field migration created."""
    values: dict[str, str] = {}
    for datum in entities(record.get("custom_field_data")):
        field_id = str(datum.get("custom_field_id"))
        name = parent(ctx, subject, "additional_attributes", "custom_field", field_id)
        values[name] = splynx_value(nested(datum, "custom_field").get("type"), datum.get("value"))
    return values


def facts(record: Record, physical: Record) -> dict[str, Any]:
    """Sonar facts without a Splynx customer field, as additional attributes."""
    groups = group_names(record)
    charge = record.get("next_recurring_charge_amount")
    return {
        "sonar_account_status": clean_text(nested(record, "account_status").get("name")),
        "sonar_account_type": clean_text(nested(record, "account_type").get("name")),
        "sonar_groups": ", ".join(groups),
        "sonar_contacts": other_contacts(record, primary_contact(record)),
        "sonar_next_bill_date": splynx_date(record.get("next_bill_date")),
        "sonar_next_recurring_charge": None if charge is None else cents_to_decimal(int(charge)),
        "sonar_parent_account": optional_id(record.get("parent_account_id")),
        "sonar_archived_at": splynx_date(record.get("archived_at")),
        "sonar_state": state_code(physical.get("subdivision")),
    }


def subdivision_id(subdivision: object, ctx: TransformContext) -> str | None:
    """Splynx's state/province id for Sonar's `US_TX`: by the whole value, else by the state code `TX`.

    None when Splynx has no such state/province (or they were not read): the field is left out and
    `sonar_state` still keeps the state.
    """
    whole, code = clean_text(subdivision), state_code(subdivision)
    for key in (whole, code):
        if key and key.upper() in ctx.subdivisions:
            return ctx.subdivisions[key.upper()]
    return None


def group_names(record: Record) -> list[str]:
    """The account's group names, cleaned, sorted, without duplicates."""
    return sorted({g for g in (clean_text(g.get("name")) for g in entities(record.get("account_groups"))) if g})


def labels_of(record: Record, ctx: TransformContext) -> list[str] | None:
    """The Splynx label ids of the account's groups (`customer_labels`); None when Splynx has no labels.

    Why `[]` for an account in no group: an update must take off the label of a group it left; leaving
    the field out would keep it (docs/fidelity.md, "`updated_at` of children").
    """
    if not ctx.customer_labels:
        return None
    return [ctx.customer_labels[n.upper()] for n in group_names(record) if n.upper() in ctx.customer_labels]


def parent_customer(record: Record, ctx: TransformContext, subject: Subject) -> str | None:
    """The Splynx id of the parent account's customer; `missing_parent` when the parent was not migrated."""
    parent_id = optional_id(record.get(SELF_PARENT))
    return None if parent_id is None else parent(ctx, subject, "parent_id", ENTITY, parent_id)


def customer_body(record: Record, ctx: TransformContext, subject: Subject) -> dict[str, Any]:
    """The main customer fields."""
    contact, physical = primary_contact(record), address_of(record, "PHYSICAL")
    status = nested(record, "account_status")
    email = normalize_email(contact.get("email_address"))
    body: dict[str, Any] = {
        "name": clean_text(record.get("name")),
        "login": clean_text(contact.get("username")) or f"sonar{subject.source_id}",
        "status": customer_status(
            status.get("name"),
            status.get("activates_account"),
            ctx.status_map,
            ctx.delinquent_status if record.get("is_delinquent") is True else None,
        ),
        "category": customer_category(nested(record, "account_type").get("type")),
        "partner_id": partner_for(ctx, subject, record.get("company_id")),
        "parent_id": parent_customer(record, ctx, subject),
        "location_id": ctx.default_location_id,
        "email": email,
        "billing_email": email,
        "phone": first_phone(contact),
        "street_1": street(physical.get("line1"), physical.get("line2")),
        "zip_code": clean_text(physical.get("zip")),
        "city": clean_text(physical.get("city")),
        "subdivision_id": subdivision_id(physical.get("subdivision"), ctx),
        "gps": gps(physical.get("latitude"), physical.get("longitude")) or gps_from_geopoint(record.get("geopoint")),
        "date_add": splynx_date(record.get("activation_date") or record.get("created_at")),
        "customer_labels": labels_of(record, ctx),
    }
    return {k: v for k, v in body.items() if v is not None}


def billing_body(record: Record) -> dict[str, Any]:
    """customer_billing: the billing parameter's days, and the mailing address when there is one."""
    params, mailing = nested(record, "account_billing_parameter"), address_of(record, "MAILING")
    body: dict[str, Any] = {
        "enabled": True,
        "type": "recurring",
        "billing_date": params.get("bill_day"),
        "billing_due": blocking_day(params.get("due_days"), params.get("grace_days")),
        "grace_period": deactivation_days(params),
    }
    if mailing:
        body.update(
            billing_person=clean_text(record.get("name")),
            billing_street_1=street(mailing.get("line1"), mailing.get("line2")),
            billing_zip_code=clean_text(mailing.get("zip")),
            billing_city=clean_text(mailing.get("city")),
        )
    return {k: v for k, v in body.items() if v is not None}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The customer, with customer_info and customer_billing as follow-up writes."""
    subject = Subject(ENTITY, source_id(record))
    physical = address_of(record, "PHYSICAL")
    main = payload(TARGET, ENTITY, record, ctx, customer_body(record, ctx, subject), **facts(record, physical))
    main.body["additional_attributes"].update(custom_values(record, ctx, subject))
    tag = marker(ENTITY, subject.source_id)
    info = {"contact_person": clean_text(primary_contact(record).get("name"))}
    extras = (
        SplynxPayload("customer_info", {k: v for k, v in info.items() if v is not None}, tag),
        SplynxPayload("customer_billing", billing_body(record), tag),
    )
    return replace(main, extras=extras)
