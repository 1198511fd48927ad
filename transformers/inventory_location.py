"""Sonar inventory location (a warehouse, a truck) -> Splynx inventory stock.

A Splynx stock (Config / Inventory / Stocks, `admin/config/inventory-stocks`) is where items sit; the
blueprint's "Stock Base" is a name and nothing else, so the address stays in Sonar. Stocks have no
additional-fields module (the blueprint's module list has none), so they carry no migration marker:
the loader adopts a stock by its name (a resumed run finds the stock it created).
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, marker, source_id
from transformers.rules import clean_text

ENTITY = "inventory_location"
TARGET = "inventory_stock"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A name only: Stock Base has no other field (and no additional attributes for a marker)."""
    return SplynxPayload(TARGET, {"name": clean_text(record.get("name"))}, marker(ENTITY, source_id(record)))
