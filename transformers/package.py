"""Sonar package (catalogue services sold together) -> a Splynx bundle tariff.

Why a bundle: Splynx groups internet, voice and recurring tariffs sold at one common price in a bundle
(`admin/tariffs/bundle`, its `internet_tariffs`, `voice_tariffs`, `custom_tariffs`), which is what a Sonar
package is. Sonar bills a package as the sum of its services, each at its own price; the bundle's price is
therefore that sum, each service at its monthly price (service.monthly_price) times its quantity. A ONETIME
service of the package is charged once when the package is added: it becomes the bundle's activation fee,
charged to new subscribers only (migrated subscribers' bundle services set theirs to 0). OVERAGE and
ADJUSTMENT services are no tariffs (transformers/service.py) and take no part. Prices are net (`with_vat`
false) as the tariffs'; Splynx taxes a bundle with its location's default bundle tax (docs/fidelity.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, nested, parent, payload, source_id
from transformers.rules import clean_text
from transformers.service import TARIFF_TARGETS, billing_months, monthly_price, partners, price_text
from transformers.validation import Subject

ENTITY = "package"
TARGET = "bundle_tariff"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
BUNDLE_LISTS: dict[str, str] = {
    "internet_tariff": "internet_tariffs",
    "voice_tariff": "voice_tariffs",
    "recurring_tariff": "custom_tariffs",
}
"""Splynx tariff kind -> the bundle's list of tariffs of that kind (one-time tariffs have none)."""


def kind(service: Record) -> str | None:
    """The Splynx tariff kind of a Sonar service, None for the types that are no tariff."""
    return TARIFF_TARGETS.get(str(service.get("type")))


def recurring_total(parts: Iterable[tuple[Record, int, int | None]]) -> str:
    """Monthly price of services billed together: each `(service, quantity, price override)` at its monthly price.

    ONETIME services and the types that are no tariff add nothing: they are not billed every month.
    """
    total = Decimal(0)
    for service, quantity, override in parts:
        if kind(service) in BUNDLE_LISTS:
            cents = int(service.get("amount") or 0) if override is None else int(override)
            total += Decimal(monthly_price(cents, billing_months(service))) * quantity
    return price_text(total)


def _members(record: Record) -> list[Record]:
    return [row for row in entities(record.get("package_services")) if nested(row, "service")]


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Title, partners, monthly price, activation fee and grouped tariffs of one package."""
    subject = Subject(ENTITY, source_id(record))
    members = _members(record)
    lists: dict[str, set[str]] = {name: set() for name in BUNDLE_LISTS.values()}
    for row in members:
        listed = BUNDLE_LISTS.get(kind(nested(row, "service")) or "")
        if listed:
            lists[listed].add(parent(ctx, subject, listed, "service", row.get("service_id")))
    once = [(nested(r, "service"), int(r.get("quantity") or 1)) for r in members]
    body: dict[str, Any] = {
        "title": clean_text(record.get("name")),
        "service_description": clean_text(record.get("name")),
        "partners_ids": partners(record, ctx, subject),
        "price": recurring_total((nested(r, "service"), int(r.get("quantity") or 1), None) for r in members),
        "with_vat": False,
        "activation_fee": monthly_price(
            sum(int(s.get("amount") or 0) * q for s, q in once if kind(s) == "one_time_tariff"), 1
        ),
        "billing_types": ["recurring"],
        "customer_categories": ["person", "company"],
        "available_for_locations": [ctx.default_location_id],
        "available_for_services": record.get("enabled") is not False,
        **{name: sorted(ids, key=int) for name, ids in lists.items()},
    }
    return payload(TARGET, ENTITY, record, ctx, body)
