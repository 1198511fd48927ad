"""The simulator's inventory stocks and suppliers, and an item's stock and cost price, over HTTP."""

from __future__ import annotations

import requests

from tests.fixtures.splynx import SignedClient

STOCKS = "admin/config/inventory-stocks"
STOCK = "admin/config/inventory-stock"  # the blueprint's item path is singular
SUPPLIERS = "admin/inventory/suppliers"
ITEMS = "admin/inventory/items"


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def an_item(client: SignedClient) -> int:
    vendor = client.create("admin/inventory/vendors", {"name": "Ubiquiti"})
    product = client.create("admin/inventory/products", {"name": "UAP", "vendor_id": vendor})
    return client.create(ITEMS, {"product_id": product, "barcode": "AA:BB"})


def test_a_stock_is_created_on_the_plural_path_and_read_on_the_singular_one(splynx_client: SignedClient) -> None:
    stock = splynx_client.create(STOCKS, {"name": "Service Truck 12"})
    assert splynx_client.get(f"{STOCK}/{stock}").json()["name"] == "Service Truck 12"
    assert splynx_client.get(f"{STOCKS}/{stock}").status_code == 404
    assert splynx_client.put(f"{STOCK}/{stock}", json={"name": "Truck 12"}).status_code == 202
    assert {r["name"] for r in splynx_client.get(STOCKS).json()} == {"Main stock", "Truck 12"}


def test_a_stock_needs_a_name(splynx_client: SignedClient) -> None:
    assert "name" in errors_of(splynx_client.post(STOCKS, json={}))


def test_a_stock_holding_an_item_cannot_be_deleted_until_the_item_is_gone(splynx_client: SignedClient) -> None:
    stock = splynx_client.create(STOCKS, {"name": "Main Warehouse"})
    item = an_item(splynx_client)
    assert splynx_client.put(f"{ITEMS}/{item}", json={"stock_id": stock}).status_code == 202
    refused = splynx_client.delete(f"{STOCK}/{stock}")
    assert refused.status_code == 400 and "items" in refused.text
    assert splynx_client.delete(f"{ITEMS}/{item}").status_code == 204
    assert splynx_client.delete(f"{STOCK}/{stock}").status_code == 204


def test_an_items_stock_and_cost_price_are_set_by_update_not_by_create(splynx_client: SignedClient) -> None:
    stock = splynx_client.create(STOCKS, {"name": "North Tower Shed"})
    vendor = splynx_client.create("admin/inventory/vendors", {"name": "MikroTik"})
    product = splynx_client.create("admin/inventory/products", {"name": "hAP", "vendor_id": vendor})
    item = splynx_client.create(ITEMS, {"product_id": product, "stock_id": stock, "cost_price": "9.99"})
    created = splynx_client.get(f"{ITEMS}/{item}").json()
    assert (created["stock_id"], created["cost_price"]) == ("1", "0.0000")  # the APIB's Item Create has neither
    assert splynx_client.put(f"{ITEMS}/{item}", json={"stock_id": stock, "cost_price": "129.99"}).status_code == 202
    updated = splynx_client.get(f"{ITEMS}/{item}").json()
    assert (updated["stock_id"], updated["cost_price"]) == (str(stock), "129.9900")


def test_an_item_cannot_be_put_in_a_stock_that_does_not_exist(splynx_client: SignedClient) -> None:
    item = an_item(splynx_client)
    assert "stock_id" in errors_of(splynx_client.put(f"{ITEMS}/{item}", json={"stock_id": 999}))


def test_a_supplier_has_the_blueprints_fields_and_is_found_by_its_marker(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/inventory_suppliers", json=definition).status_code == 201
    body = {"name": "Streakwave", "address": "1 Depot Road", "contact_name": "Dana", "email": "dana@example.com",
            "phone": "5595550100", "additional_attributes": {"sonar_id": "vendor:1"}}  # fmt: skip
    supplier = splynx_client.create(SUPPLIERS, body)
    got = splynx_client.get(f"{SUPPLIERS}/{supplier}").json()
    assert {k: got[k] for k in ("name", "address", "contact_name", "email", "phone")} == {
        k: body[k] for k in ("name", "address", "contact_name", "email", "phone")
    }
    found = splynx_client.get(SUPPLIERS, params={"additional_attributes[sonar_id]": "vendor:1"}).json()
    assert [r["id"] for r in found] == [str(supplier)]


def test_a_supplier_needs_a_name_and_a_valid_email(splynx_client: SignedClient) -> None:
    errors = errors_of(splynx_client.post(SUPPLIERS, json={"email": "not an email"}))
    assert {"name", "email"} <= set(errors)
