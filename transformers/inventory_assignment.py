"""Sonar inventory item's holder -> the Splynx item's customer.

Why a separate entity from `inventory_item`: the APIB's *Item Create* body has no `customer_id` (only
*Item Update* / *Item Base* has it), and the item is created in the inventory phase, before any customer
exists. So the customers phase, after the accounts, PUTs `admin/inventory/items/{item_id}` with the
migrated customer's id. The Splynx item is the one `inventory_item` created for the same Sonar item.

In Sonar an item belongs to an account when its holder is an Address whose addressable is an Account,
or (equally) when its `account_service_id` names a service of an account; the address wins if both are
set and disagree, since that is where the device is. Items held anywhere else (an inventory location,
a user, a vehicle) have no customer and are skipped, unless an earlier run gave the item a customer
(the id map has its assignment): then the item went back to stock or elsewhere, and `customer_id` 0
takes it off that customer. So is an item whose account has no Splynx customer
(archived, outside the selection, or failed): the next run that finds the customer assigns the item,
because every run reads the assignments again (`--all` in full, a selection its accounts' items). The
item itself missing in Splynx is a failure.
"""

from __future__ import annotations

from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, marker, nested, optional_id, parent, source_id
from transformers.validation import SkipRecord, Subject

ENTITY = "inventory_assignment"
TARGET = "inventory_item_customer"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
NO_CUSTOMER = "0"
"""`items.customer_id` of an item no customer holds (the column's default)."""


def holder_account(record: Record) -> str | None:
    """The Sonar account holding the item: its address's account, else its service's account, else None."""
    holder = nested(record, "inventoryitemable")
    if record.get("inventoryitemable_type") == "Address" and holder.get("addressable_type") == "Account":
        found = optional_id(holder.get("addressable_id"))
        if found is not None:
            return found
    return optional_id(nested(record, "account_service").get("account_id"))


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """PUT the customer of the account holding the item onto the item created in the inventory phase."""
    sid = source_id(record)
    account_id = holder_account(record)
    if account_id is None:
        if ctx.migrated(ENTITY, sid):  # assigned by an earlier run: no customer any more
            return _assignment(sid, NO_CUSTOMER, ctx)
        where = record.get("inventoryitemable_type") or "nobody"
        raise SkipRecord(f"held by {where}, not at an account's address nor on its service: no customer")
    customer_id = ctx.dest_id("account", account_id)
    if customer_id is None:
        raise SkipRecord("held by an account that is not in Splynx (archived, not selected or failed)")
    return _assignment(sid, customer_id, ctx)


def _assignment(sid: str, customer_id: str, ctx: TransformContext) -> SplynxPayload:
    """The PUT of `customer_id` onto the Splynx item made for Sonar item `sid`."""
    item_id = parent(ctx, Subject(ENTITY, sid), "item_id", "inventory_item", sid)
    return SplynxPayload(TARGET, {"customer_id": customer_id}, marker(ENTITY, sid), parent={"item_id": item_id})
