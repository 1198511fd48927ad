"""Sonar service (a plan or a charge of the catalogue) -> the Splynx tariff of the same kind.

Sonar's service types map by what Splynx bills (docs/mapping.md, *Services*): DATA -> internet tariff,
RECURRING and EXPIRING (a recurring charge that stops after a number of periods) -> recurring tariff,
VOICE -> voice tariff, ONETIME -> one-time tariff. OVERAGE and ADJUSTMENT services are not catalogue
entries in Splynx (usage overage is Splynx's FUP/CAP, adjustments are transactions): they are skipped with
that reason, recorded in the ledger. A plan disabled in Sonar is migrated (existing subscribers keep it)
but hidden from the customer portal. Speeds: Sonar's kbit/s and Splynx's kbps are the same unit.

Prices: Sonar's `amount` is the price of one billing period of `billing_frequency` months; Splynx bills a
recurring tariff's price every month. The tariff therefore gets the monthly price (amount / months, to
Splynx's four decimals), never the period's price billed monthly; the period and its price are kept in
the tariff's additional fields (`sonar_billing_months`, `sonar_period_price`).

Taxes: Splynx's API cannot create taxes, so a taxed Sonar service takes the existing Splynx tax whose rate
is the sum of its Sonar taxes' rates (`ctx.taxes`, read at preflight); prices stay net (`with_vat` false).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, nested, partner_for, payload, source_id
from transformers.rules import CENT, clean_text, speed_kbps, tax_rate_key
from transformers.validation import SkipRecord, Subject, Unresolved, fail

ENTITY = "service"
TARGET = "internet_tariff"
ALSO_TARGETS = ("recurring_tariff", "one_time_tariff", "voice_tariff")
TARIFF_TARGETS: dict[str, str] = {
    "DATA": "internet_tariff",
    "RECURRING": "recurring_tariff",
    "EXPIRING": "recurring_tariff",
    "VOICE": "voice_tariff",
    "ONETIME": "one_time_tariff",
}
"""Sonar service type -> Splynx tariff target."""
NOT_TARIFFS: dict[str, str] = {
    "OVERAGE": "an overage charge is not a Splynx tariff (Splynx bills overage through FUP/CAP rules)",
    "ADJUSTMENT": "an adjustment is not a Splynx tariff (Splynx books adjustments as transactions)",
}
DETAIL_OF_TYPE: dict[str, str] = {
    "DATA": "data_service_detail",
    "RECURRING": "recurring_service_detail",
    "EXPIRING": "expiring_service_detail",
    "VOICE": "voice_service_detail",
}
"""Where a service type keeps its `billing_frequency` (months per billing period)."""
PERIOD_FIELDS = [
    definition("sonar_billing_months", "Sonar billing period (months)", "integer"),
    definition("sonar_period_price", "Sonar price per billing period", "decimal"),
]
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "tariffs_internet": [definition("sonar_technology", "Sonar technology code"), *PERIOD_FIELDS],
    "tariffs_custom": list(PERIOD_FIELDS),
    "tariffs_voice": list(PERIOD_FIELDS),
}
PRICE_PLACES = Decimal("0.0001")  # Splynx prices are decimal(19,4)


def billing_months(service: Record) -> int:
    """Months per billing period of a service (1 when Sonar gives none or nonsense)."""
    detail = nested(service, DETAIL_OF_TYPE.get(str(service.get("type")), ""))
    try:
        months = int(detail.get("billing_frequency") or 1)
    except (TypeError, ValueError):
        return 1
    return months if months > 0 else 1


def monthly_price(cents: int, months: int) -> str:
    """The price of one month of a period of `months` costing `cents`, exact to Splynx's four decimals.

    Why four decimals are enough: over a period of up to 99 months the rounding error stays below half a
    cent, so the period's total rounded to the cent is Sonar's.
    """
    return price_text(Decimal(int(cents)) * CENT / months)


def price_text(value: Decimal) -> str:
    """A price as Splynx keeps it (four decimals), written with two when it is whole cents."""
    price = value.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)
    return str(price.quantize(CENT) if price == price.quantize(CENT) else price)


def tariff_target(record: Record) -> str:
    """The Splynx tariff a Sonar service becomes; SkipRecord for the kinds that become none.

    The reason names no id (the ledger row has it), so that plan and report can group skips by reason.
    """
    kind = str(record.get("type"))
    if kind in NOT_TARIFFS:
        raise SkipRecord(f"{kind} service: {NOT_TARIFFS[kind]}")
    if kind not in TARIFF_TARGETS:
        raise SkipRecord(f"service type {kind!r}: no Splynx tariff takes it")
    return TARIFF_TARGETS[kind]


def _speed(detail: Record, key: str) -> int | None:
    """A speed in kbps, or None so that validation reports the missing field with its fix."""
    try:
        return speed_kbps(detail.get(key))
    except (TypeError, ValueError):
        return None


def partners(record: Record, ctx: TransformContext, subject: Subject) -> list[str]:
    """The plan's own company's partner plus the partners every tariff is shared with, in a stable order."""
    own = partner_for(ctx, subject, record.get("company_id"))
    return sorted({own, *ctx.tariff_partner_ids}, key=lambda p: (len(p), p))


def _common(record: Record, ctx: TransformContext, months: int) -> dict[str, Any]:
    """What every kind of tariff has: title, monthly price, partners, who may have it, where it shows."""
    return {
        "title": clean_text(record.get("name")),
        "price": monthly_price(int(record.get("amount") or 0), months),
        "with_vat": False,
        "partners_ids": partners(record, ctx, Subject(ENTITY, source_id(record))),
        "customer_categories": ["person", "company"],
        "available_for_locations": [ctx.default_location_id],
        "hide_on_admin_portal": False,
        "show_on_customer_portal": record.get("enabled") is not False,
    }


def tax_id(record: Record, ctx: TransformContext) -> str | Unresolved | None:
    """The Splynx tax of the summed rate of the service's Sonar taxes; None when untaxed or taxes were not read.

    Why by rate: a tax carries no migration marker and Splynx's API cannot create one, so the tax that
    charges the same percentage is the one to use. No such tax is the record's problem (left Unresolved
    so that `etl fix --set tax_id=N` can still settle it).
    """
    taxes = [nested(row, "tax") for row in entities(record.get("service_taxes"))]
    if not taxes or ctx.taxes is None:
        return None
    rate = tax_rate_key(sum(Decimal(str(t.get("rate") or 0)) for t in taxes))
    if rate in ctx.taxes:
        return ctx.taxes[rate]
    subject = Subject(ENTITY, source_id(record))
    named = " + ".join(f"{t.get('name')!r} ({tax_rate_key(t.get('rate'))} %)" for t in taxes)
    flat = " (a FLAT Sonar tax is an amount, read here as a percentage)" if any(
        t.get("application") == "FLAT" for t in taxes) else ""  # fmt: skip
    return Unresolved(fail(
        subject, "no_matching_tax", "tax_id", rate,
        f"Sonar tax {named} adds up to {rate} %, and Splynx has no tax of that rate{flat}",
        f"create a tax of rate {rate} in Splynx (Config > Finance > Taxes) and `etl resume`, or "
        f"`etl fix {subject.entity} {subject.source_id} --set tax_id=N` with the id of an existing Splynx tax",
    ).problem)  # fmt: skip


def _kind_fields(target: str, record: Record) -> dict[str, Any]:
    """The fields only one kind of tariff has."""
    if target == "internet_tariff":
        detail = nested(record, "data_service_detail")
        return {
            "speed_download": _speed(detail, "download_speed_kilobits_per_second"),
            "speed_upload": _speed(detail, "upload_speed_kilobits_per_second"),
            "billing_types": ["recurring"],
        }
    if target == "one_time_tariff":
        return {"enabled": record.get("enabled") is not False}
    if target == "voice_tariff":
        return {"type": "voip", "billing_types": ["recurring"]}  # Sonar's voice services are VoIP lines
    return {"billing_types": ["recurring"]}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Title, monthly price, speeds (internet) and availability of one catalogue service."""
    target = tariff_target(record)
    months = billing_months(record)
    fields = {**_common(record, ctx, months), "tax_id": tax_id(record, ctx), **_kind_fields(target, record)}
    body = {k: v for k, v in fields.items() if v is not None}
    facts: dict[str, Any] = {}
    if target != "one_time_tariff":
        facts = {"sonar_billing_months": str(months), "sonar_period_price": _period_price(record)}
    if target == "internet_tariff":
        facts["sonar_technology"] = nested(record, "data_service_detail").get("technology_code")
    return payload(target, ENTITY, record, ctx, body, **facts)


def _period_price(record: Record) -> str:
    return monthly_price(int(record.get("amount") or 0), 1)
