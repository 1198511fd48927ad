"""What Sonar vehicles, users and network sites holding inventory become: Splynx inventory stocks.

Sonar lets an item be held by an inventory location, a vehicle, a user (a field technician) or a network
site (`InventoryitemableType`); Splynx keeps an item's whereabouts as its stock only (`stock_id`, "Stock
location"), so each holder becomes a stock of its own. Its name carries the holder's kind and Sonar id,
``Service Van 1 (vehicle 1)``: stocks have no additional attributes, so the loader adopts a stock by its
name, and two technicians called the same must not share one. A vehicle is a stock even when empty (a truck
is loaded tomorrow, as an empty warehouse is a stock); a user or a site only while it holds items, or
every administrator and tower would become a stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, marker, source_id
from transformers.rules import clean_text
from transformers.validation import SkipRecord

TARGET = "inventory_stock"

HOLDER_ENTITIES: dict[str, str] = {
    "InventoryLocation": "inventory_location",
    "Vehicle": "vehicle",
    "User": "user_stock",
    "NetworkSite": "network_site_stock",
}
"""Sonar `InventoryitemableType` of a stock-keeping holder -> the ledger entity of its Splynx stock."""


def stock_name(record: Record, kind: str) -> str:
    """`<name> (<kind> <id>)`: unique per holder, readable in Splynx's stock list."""
    return f"{clean_text(record.get('name')) or 'unnamed'} ({kind} {source_id(record)})"


@dataclass(frozen=True)
class HolderStock:
    """The transformer of one kind of holder, shaped as a transformer module is (ENTITY, TARGET, transform)."""

    ENTITY: str
    kind: str
    only_if_holding: bool
    TARGET: str = TARGET
    ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def transform(self, record: Record, ctx: TransformContext) -> SplynxPayload:
        """The holder's stock; SkipRecord for a user or site that holds no item."""
        if self.only_if_holding and not entities(record.get("inventory_items")):
            raise SkipRecord(f"this {self.kind} holds no inventory item: no stock needed")
        return SplynxPayload(TARGET, {"name": stock_name(record, self.kind)}, marker(self.ENTITY, source_id(record)))


VEHICLE = HolderStock("vehicle", "vehicle", only_if_holding=False)
USER = HolderStock("user_stock", "user", only_if_holding=True)
NETWORK_SITE = HolderStock("network_site_stock", "site", only_if_holding=True)
