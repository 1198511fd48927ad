"""The Splynx simulator serves the install's taxes read only, and tariffs may only name one of them."""

from __future__ import annotations

from tests.fixtures.splynx import SignedClient
from tests.test_splynx_simulator import TARIFFS, errors_of, tariff

TAXES = "admin/config/taxes"


def test_taxes_are_listed_and_read_by_id(splynx_client: SignedClient) -> None:
    taxes = splynx_client.get(TAXES).json()
    sales = next(t for t in taxes if t["name"] == "Sales tax")
    assert set(sales) == {
        "id", "name", "rate", "type", "archived", "accounting_tax_rates_id", "einvoicing_tax_rates_id"
    }  # fmt: skip
    assert float(sales["rate"]) == 6.25 and sales["type"] == "single"
    assert {float(t["rate"]) for t in taxes} >= {0.0, 6.25}
    assert splynx_client.get(f"{TAXES}/{sales['id']}").json()["name"] == "Sales tax"
    assert splynx_client.get(f"{TAXES}/999").status_code == 404


def test_taxes_cannot_be_created_changed_or_deleted(splynx_client: SignedClient) -> None:
    tax_id = splynx_client.get(TAXES).json()[0]["id"]
    assert splynx_client.post(TAXES, json={"name": "VAT", "rate": 20}).status_code == 405
    assert splynx_client.put(f"{TAXES}/{tax_id}", json={"rate": 1}).status_code == 405
    assert splynx_client.delete(f"{TAXES}/{tax_id}").status_code == 405
    assert splynx_client.post(f"{TAXES}/{tax_id}", json={}).status_code == 405


def test_a_tariff_takes_an_existing_tax_only(splynx_client: SignedClient) -> None:
    sales = next(t for t in splynx_client.get(TAXES).json() if t["name"] == "Sales tax")
    tid = splynx_client.create(TARIFFS, tariff(tax_id=sales["id"], with_vat=False))
    assert splynx_client.get(f"{TARIFFS}/{tid}").json()["tax_id"] == sales["id"]
    assert "tax_id" in errors_of(splynx_client.post(TARIFFS, json=tariff(title="Other", tax_id=999)))
    assert splynx_client.create(TARIFFS, tariff(title="Untaxed", tax_id=0))
