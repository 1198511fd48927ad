"""The simulator's finance transactions and transaction categories, and the customer balance they keep, over HTTP."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.splynx import SignedClient

TRANSACTIONS = "admin/finance/transactions"
CATEGORIES = "admin/finance/transaction-categories"
BILLING = "admin/customers/customer-billing"
SERVICE, PAYMENT = 1, 3  # seeded default categories


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def a_customer(client: SignedClient) -> int:
    return client.create("admin/customers/customer", {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1})


def a_transaction(customer: int, **overrides: Any) -> dict[str, Any]:
    """A debit of 49.99 without tax, with every attribute the blueprint requires."""
    return {"type": "debit", "customer_id": customer, "price": "49.99", "tax_percent": 0, "date": "2026-11-01",
            "category": SERVICE, "description": "Internet 100M, November", **overrides}


def deposit(client: SignedClient, customer: int) -> str:
    response = client.get(f"{BILLING}/{customer}")
    assert response.status_code == 200, response.text
    return str(response.json()["deposit"])


def test_a_new_customer_has_a_zero_balance(splynx_client: SignedClient) -> None:
    assert deposit(splynx_client, a_customer(splynx_client)) == "0.0000"


def test_the_balance_is_credits_minus_debits(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    splynx_client.create(TRANSACTIONS, a_transaction(customer))
    splynx_client.create(TRANSACTIONS, a_transaction(customer, type="credit", price="20", category=PAYMENT,
                                                     description="Payment, thank you"))
    assert deposit(splynx_client, customer) == "-29.9900"


def test_a_transaction_reads_back_with_its_total_as_strings(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(TRANSACTIONS, a_transaction(customer, quantity=2, price="10", tax_percent="7.25"))
    got = splynx_client.get(f"{TRANSACTIONS}/{created}").json()
    assert {k: got[k] for k in ("id", "type", "customer_id", "quantity", "price", "tax_percent", "total", "date",
                                "category", "source", "to_invoice")} == {
        "id": str(created), "type": "debit", "customer_id": str(customer), "quantity": "2", "price": "10.0000",
        "tax_percent": "7.2500", "total": "21.4500", "date": "2026-11-01", "category": "1", "source": "manual",
        "to_invoice": "0",
    }  # fmt: skip
    assert deposit(splynx_client, customer) == "-21.4500"


def test_a_written_total_is_ignored(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(TRANSACTIONS, a_transaction(customer, total="1000"))
    assert splynx_client.get(f"{TRANSACTIONS}/{created}").json()["total"] == "49.9900"


def test_a_transaction_without_a_date_or_a_category_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    for missing in ("date", "category"):
        body = {k: v for k, v in a_transaction(customer).items() if k != missing}
        assert missing in errors_of(splynx_client.post(TRANSACTIONS, json=body))
    assert splynx_client.rows(TRANSACTIONS) == []


def test_a_transaction_of_an_unknown_customer_or_category_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert "customer_id" in errors_of(splynx_client.post(TRANSACTIONS, json=a_transaction(customer + 100)))
    assert "category" in errors_of(splynx_client.post(TRANSACTIONS, json=a_transaction(customer, category=99)))


def test_a_transaction_of_another_type_than_debit_or_credit_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert "type" in errors_of(splynx_client.post(TRANSACTIONS, json=a_transaction(customer, type="refund")))


def test_a_description_longer_than_the_live_column_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    errors = errors_of(splynx_client.post(TRANSACTIONS, json=a_transaction(customer, description="x" * 256)))
    assert errors["description"] == "Description should contain at most 255 characters."
    splynx_client.create(TRANSACTIONS, a_transaction(customer, description="x" * 255))


def test_the_migration_marker_is_stored_and_found(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/billing_transactions",
                              json=definition).status_code == 201
    customer = a_customer(splynx_client)
    marked = splynx_client.create(TRANSACTIONS, a_transaction(customer,
                                                              additional_attributes={"sonar_id": "debit:7"}))
    splynx_client.create(TRANSACTIONS, a_transaction(customer))
    assert splynx_client.get(f"{TRANSACTIONS}/{marked}").json()["additional_attributes"] == {"sonar_id": "debit:7"}
    found = splynx_client.get(TRANSACTIONS, params={"additional_attributes[sonar_id]": "debit:7"}).json()
    assert [r["id"] for r in found] == [str(marked)]


def test_deleting_a_transaction_restores_the_balance(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    splynx_client.create(TRANSACTIONS, a_transaction(customer, type="credit", price="20", category=PAYMENT))
    debit = splynx_client.create(TRANSACTIONS, a_transaction(customer))
    assert deposit(splynx_client, customer) == "-29.9900"
    assert splynx_client.delete(f"{TRANSACTIONS}/{debit}").status_code == 204
    assert deposit(splynx_client, customer) == "20.0000"
    assert splynx_client.get(f"{TRANSACTIONS}/{debit}").status_code == 404


def test_updating_a_transaction_moves_the_balances_it_touches(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    debit = splynx_client.create(TRANSACTIONS, a_transaction(first))
    assert splynx_client.put(f"{TRANSACTIONS}/{debit}", json={"price": "10"}).status_code == 202
    assert deposit(splynx_client, first) == "-10.0000"
    assert splynx_client.put(f"{TRANSACTIONS}/{debit}", json={"customer_id": second}).status_code == 202
    assert (deposit(splynx_client, first), deposit(splynx_client, second)) == ("0.0000", "-10.0000")


def test_a_customer_with_transactions_cannot_be_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    debit = splynx_client.create(TRANSACTIONS, a_transaction(customer))
    refused = splynx_client.delete(f"admin/customers/customer/{customer}")
    assert refused.status_code == 400 and "billing transactions" in refused.text
    assert splynx_client.delete(f"{TRANSACTIONS}/{debit}").status_code == 204
    assert splynx_client.delete(f"admin/customers/customer/{customer}").status_code == 204


def test_the_default_categories_are_listed(splynx_client: SignedClient) -> None:
    listed = splynx_client.rows(CATEGORIES)
    assert [(r["id"], r["name"], r["is_base"]) for r in listed] == [
        ("1", "Service", "1"), ("2", "Discount", "1"), ("3", "Payment", "1"), ("4", "Refund", "1"),
        ("5", "Correction", "1"),
    ]  # fmt: skip


def test_a_default_category_is_neither_edited_nor_deleted(splynx_client: SignedClient) -> None:
    assert "name" in errors_of(splynx_client.put(f"{CATEGORIES}/{SERVICE}", json={"name": "Services"}))
    refused = splynx_client.delete(f"{CATEGORIES}/{SERVICE}")
    assert refused.status_code == 400 and "default category" in refused.text


def test_an_added_category_is_edited_and_deleted_once_unused(splynx_client: SignedClient) -> None:
    assert "name" in errors_of(splynx_client.post(CATEGORIES, json={"name": "n" * 65}))
    category = splynx_client.create(CATEGORIES, {"name": "Installation"})
    assert splynx_client.get(f"{CATEGORIES}/{category}").json()["is_base"] == "0"
    assert splynx_client.put(f"{CATEGORIES}/{category}", json={"name": "Install fee"}).status_code == 202
    debit = splynx_client.create(TRANSACTIONS, a_transaction(a_customer(splynx_client), category=category))
    refused = splynx_client.delete(f"{CATEGORIES}/{category}")
    assert refused.status_code == 400 and "billing transactions" in refused.text
    assert splynx_client.delete(f"{TRANSACTIONS}/{debit}").status_code == 204
    assert splynx_client.delete(f"{CATEGORIES}/{category}").status_code == 204
