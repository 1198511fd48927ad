"""Sonar inventory item -> Splynx inventory item.

Barcode and serial number come from the item's model field data: the MAC address field (Sonar's
primary, globally unique identifier) is the barcode, a field named like "serial" the serial number.
Sonar's status and whereabouts become Splynx's status and mark:

| Sonar status | held by                                 | Splynx status    | mark   |
|--------------|-----------------------------------------|------------------|--------|
| FUNCTIONAL   | inventory location, vehicle, user       | stock            | new    |
| FUNCTIONAL   | network site (deployed infrastructure)  | internal_usage   | used   |
| FUNCTIONAL   | anywhere else (an address: a customer)  | assigned         | used   |
| FAILED       | any                                     | returned         | broken |
| LOST         | any                                     | internal_usage   | broken |

Where the item is (`InventoryLocation:1`, `Address:6`) and the account service it serves are kept as
additional attributes: Splynx's customer link needs the customer, which Sonar knows only via the address.

The APIB's *Item Create* body has product, barcode, serial number and notes only; status and mark are
in *Item Response* (and the live OPTIONS). So the item is created with the create attributes and, when
a follow-up PUT sets its status and mark (`inventory_item_state`), the way customer_info follows a
customer. Always, even for `stock`/`new` (what a new item has): the body must not depend on whether the
item exists yet (change detection compares bodies across runs), and an item taken back to stock must
become `stock` again.

The same PUT carries the item's stock and cost price, which the create body lacks too (live OPTIONS
lists `stock_id` "Stock location" and `cost_price` "Cost price", float): an item held by a Sonar
inventory location, vehicle, user or network site goes to that holder's stock (transformers/holder_stock.py;
a missing parent until the holder is migrated); an item at an address keeps Splynx's stock. Sonar's
`purchase_price` (integer cents) is the cost price.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.additional_fields import definition
from transformers.context import TransformContext
from transformers.holder_stock import HOLDER_ENTITIES
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, marker, nested, parent, payload, source_id
from transformers.rules import cents_to_decimal, clean_text
from transformers.validation import Subject

ENTITY = "inventory_item"
TARGET = "inventory_item"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {
    "inventory_items": [
        definition("sonar_location", "Sonar location"),
        definition("sonar_account_service", "Sonar account service"),
        definition("sonar_status", "Sonar status"),
    ],
}
IN_STOCK = frozenset({"InventoryLocation", "Vehicle", "User"})
"""Holders whose items are spares, not in use: Splynx `stock`/`new`."""
DEPLOYED = "NetworkSite"


def status_and_mark(status: Any, holder_type: Any) -> tuple[str, str]:
    """Splynx (status, mark) for a Sonar item status and the type of record holding the item."""
    if status == "FAILED":
        return "returned", "broken"
    if status == "LOST":
        return "internal_usage", "broken"
    if holder_type in IN_STOCK:
        return "stock", "new"
    return ("internal_usage", "used") if holder_type == DEPLOYED else ("assigned", "used")


def identifiers(record: Record) -> tuple[str | None, str | None]:
    """(barcode, serial number) from the model field data: the MAC address and the serial field."""
    barcode = serial = None
    for datum in entities(record.get("inventory_model_field_data")):
        field = nested(datum, "inventory_model_field")
        value = clean_text(datum.get("value"))
        if field.get("type") == "MAC_ADDRESS" and barcode is None:
            barcode = value.upper() if value else None
        elif "serial" in str(field.get("name", "")).lower() and serial is None:
            serial = value
    return barcode, serial


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """Product, identifiers, status and mark; whereabouts as facts."""
    sid = source_id(record)
    status, mark = status_and_mark(record.get("status"), record.get("inventoryitemable_type"))
    barcode, serial = identifiers(record)
    body: dict[str, Any] = {
        "product_id": parent(
            ctx, Subject(ENTITY, sid), "product_id", "inventory_model", record.get("inventory_model_id")
        ),
    }
    if barcode:
        body["barcode"] = barcode
    if serial:
        body["serial_number"] = serial
    holder = f"{record.get('inventoryitemable_type')}:{record.get('inventoryitemable_id')}"
    main = payload(
        TARGET,
        ENTITY,
        record,
        ctx,
        body,
        sonar_location=holder,
        sonar_account_service=record.get("account_service_id"),
        sonar_status=record.get("status"),
    )
    state = SplynxPayload("inventory_item_state", state_body(record, ctx, status, mark), marker(ENTITY, sid))
    return replace(main, extras=(state,))


def state_body(record: Record, ctx: TransformContext, status: str, mark: str) -> dict[str, Any]:
    """Status and mark; the stock of the holding location, vehicle, user or site; the cost price."""
    body: dict[str, Any] = {"status": status, "mark": mark}
    holder = HOLDER_ENTITIES.get(str(record.get("inventoryitemable_type")))
    if holder is not None:
        subject = Subject(ENTITY, source_id(record))
        body["stock_id"] = parent(
            ctx, subject, "inventory_item_state.stock_id", holder, record.get("inventoryitemable_id")
        )
    if record.get("purchase_price") is not None:
        body["cost_price"] = cents_to_decimal(record["purchase_price"])
    return body
