"""Sonar's inventory reaches Splynx as Splynx keeps it: locations are stocks, vendors suppliers, items in stock.

Checked through the Splynx API alone (signed HTTP requests) against the Sonar simulator's own tables:
every inventory location is a stock of its name, every vendor a supplier carrying its marker, every
item a Sonar location holds sits in that location's stock, and every item costs what Sonar paid. A
second run writes nothing again.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fixtures.pipeline import SandboxFactory, actions, marker_of
from tests.fixtures.splynx import SignedClient

CUSTOMERS = 40


def test_locations_are_stocks_vendors_suppliers_and_items_sit_in_their_stock_at_their_cost(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=CUSTOMERS)
    tables = box.sonar.store.tables
    box.migrate_everything()
    box.etl("run", "--all")  # nothing changed in Sonar: nothing is written again
    with box.ledger() as ledger:
        for entity in ("inventory_location", "vendor", "inventory_item"):
            assert actions(ledger, 2, entity, ["create", "update"]) == {}, entity

    client = SignedClient(box.splynx, box.pair.key, box.pair.secret)
    stocks = {row["name"]: row["id"] for row in client.rows("admin/config/inventory-stocks")}
    locations = tables["inventory_locations"]
    assert {loc["name"] for loc in locations.values()} <= set(stocks)
    stock_of = {lid: stocks[loc["name"]] for lid, loc in locations.items()}
    assert len(set(stock_of.values())) == len(locations)  # one stock each, none of them Splynx's own

    suppliers = {marker_of(row): row for row in client.rows("admin/inventory/suppliers")}
    assert {f"vendor:{vid}": v["name"] for vid, v in tables["vendors"].items()} == {
        m: row["name"] for m, row in suppliers.items()
    }

    items = {marker_of(row): row for row in client.rows("admin/inventory/items")}
    in_stock = 0
    for item_id, item in tables["inventory_items"].items():
        row = items.get(f"inventory_item:{item_id}")
        if row is None:
            continue  # its customer's account is not migrated (archived)
        assert Decimal(row["cost_price"]) == Decimal(item["purchase_price"]) / 100, item_id
        if item.get("inventoryitemable_type") == "InventoryLocation":
            assert row["stock_id"] == stock_of[item["inventoryitemable_id"]], item_id
            in_stock += 1
    assert in_stock >= 10  # the generated spares, each in its location's stock


HOLDER_TABLES = {
    "Vehicle": ("vehicles", "vehicle"),
    "User": ("users", "user"),
    "NetworkSite": ("network_sites", "site"),
}
"""Sonar holder type -> (its simulator table, the kind its stock's name gives)."""


def test_vehicles_technicians_and_sites_holding_items_are_stocks_holding_those_items(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=CUSTOMERS)
    tables = box.sonar.store.tables
    box.migrate_everything()
    client = SignedClient(box.splynx, box.pair.key, box.pair.secret)
    stocks = {row["name"]: row["id"] for row in client.rows("admin/config/inventory-stocks")}
    items = {marker_of(row): row for row in client.rows("admin/inventory/items")}

    held = {(t, i["inventoryitemable_id"]) for i in tables["inventory_items"].values()
            if (t := i.get("inventoryitemable_type")) in HOLDER_TABLES}  # fmt: skip
    expected = {f"{tables['vehicles'][v]['name']} (vehicle {v})" for v in tables["vehicles"]}  # empty ones too
    expected |= {f"{tables[HOLDER_TABLES[t][0]][h]['name']} ({HOLDER_TABLES[t][1]} {h})" for t, h in held}
    assert expected <= set(stocks)
    assert not {n for n in stocks if n.endswith(("(user 1)", "(user 2)", "(user 5)"))}  # hold nothing: no stock
    checked = 0
    for item_id, item in tables["inventory_items"].items():
        kind = item.get("inventoryitemable_type")
        if kind not in HOLDER_TABLES:
            continue
        table, label = HOLDER_TABLES[kind]
        holder = item["inventoryitemable_id"]
        row = items[f"inventory_item:{item_id}"]
        assert row["stock_id"] == stocks[f"{tables[table][holder]['name']} ({label} {holder})"], item_id
        if item.get("status", "FUNCTIONAL") == "FUNCTIONAL":
            assert (row["status"], row["mark"]) == (("internal_usage", "used") if kind == "NetworkSite"
                                                    else ("stock", "new")), item_id  # fmt: skip
        checked += 1
    assert checked >= 6 and {k for k, _ in held} == set(HOLDER_TABLES)

    with box.ledger() as ledger:
        reasons = ledger.skip_reasons(1)
    assert reasons["user_stock"] == {"this user holds no inventory item: no stock needed": 3}
    assert reasons["network_site_stock"] == {"this site holds no inventory item: no stock needed": 1}
