"""Sonar inventory model -> Splynx inventory product; its manufacturer is the product's vendor."""

from __future__ import annotations

from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, optional_id, parent, payload, source_id
from transformers.rules import clean_text
from transformers.validation import Subject

ENTITY = "inventory_model"
TARGET = "inventory_product"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "inventory_products": [definition("sonar_model_name", "Sonar model name")],
}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Name, vendor (the migrated manufacturer) and the model number as a fact."""
    body: dict[str, Any] = {"name": clean_text(record.get("name"))}
    maker = optional_id(record.get("manufacturer_id"))
    if maker is not None:
        body["vendor_id"] = parent(ctx, Subject(ENTITY, source_id(record)), "vendor_id", "manufacturer", maker)
    return payload(TARGET, ENTITY, record, ctx, body, sonar_model_name=clean_text(record.get("model_name")))
