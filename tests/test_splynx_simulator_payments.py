"""The simulator's payments and payment methods over HTTP: the credit transaction a payment books, and guards."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.splynx import SignedClient

PAYMENTS = "admin/finance/payments"
METHODS = "admin/finance/payment-methods"
TRANSACTIONS = "admin/finance/transactions"
BILLING = "admin/customers/customer-billing"
CASH, BANK_TRANSFER = 1, 2  # seeded payment methods
SERVICE, PAYMENT = 1, 3  # seeded transaction categories


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def a_customer(client: SignedClient) -> int:
    return client.create("admin/customers/customer", {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1})


def a_payment(customer: int, **overrides: Any) -> dict[str, Any]:
    """A 30.00 bank transfer with every attribute the blueprint requires (field_1..5 left out: optional live)."""
    return {"customer_id": customer, "payment_type": BANK_TRANSFER, "receipt_number": "R-1001",
            "date": "2026-11-05", "amount": "30", **overrides}


def deposit(client: SignedClient, customer: int) -> str:
    response = client.get(f"{BILLING}/{customer}")
    assert response.status_code == 200, response.text
    return str(response.json()["deposit"])


def transaction_of(client: SignedClient, payment: int) -> dict[str, Any]:
    """The transaction the payment names in `transaction_id`, as GET returns it."""
    transaction_id = client.get(f"{PAYMENTS}/{payment}").json()["transaction_id"]
    response = client.get(f"{TRANSACTIONS}/{transaction_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_payment_reads_back_as_strings_with_server_set_attributes(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(PAYMENTS, a_payment(customer, comment="November", field_1="Ada",
                                                       transaction_id=999, added_by="system"))
    got = splynx_client.get(f"{PAYMENTS}/{created}").json()
    assert {k: got[k] for k in ("id", "customer_id", "payment_type", "receipt_number", "date", "amount",
                                "remind_amount", "comment", "is_sent", "field_1", "field_2", "added_by")} == {
        "id": str(created), "customer_id": str(customer), "payment_type": "2", "receipt_number": "R-1001",
        "date": "2026-11-05", "amount": "30.0000", "remind_amount": "0.0000", "comment": "November", "is_sent": "0",
        "field_1": "Ada", "field_2": "", "added_by": "api",
    }  # fmt: skip
    assert got["transaction_id"] != "999" and got["real_create_datetime"]
    assert got["additional_attributes"] == {}


def test_a_payment_books_a_credit_transaction_that_the_deposit_counts(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    splynx_client.create(TRANSACTIONS, {"type": "debit", "customer_id": customer, "price": "49.99",
                                        "tax_percent": 0, "date": "2026-11-01", "category": SERVICE,
                                        "description": "Internet 100M, November"})
    payment = splynx_client.create(PAYMENTS, a_payment(customer))
    booked = transaction_of(splynx_client, payment)
    assert {k: booked[k] for k in ("type", "customer_id", "quantity", "price", "total", "date", "category",
                                   "description", "payment_id", "source")} == {
        "type": "credit", "customer_id": str(customer), "quantity": "1", "price": "30.0000", "total": "30.0000",
        "date": "2026-11-05", "category": str(PAYMENT), "description": "Payment #R-1001", "payment_id": str(payment),
        "source": "manual",
    }  # fmt: skip
    assert deposit(splynx_client, customer) == "-19.9900"


def test_the_booked_transaction_follows_the_payments_updates(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    payment = splynx_client.create(PAYMENTS, a_payment(first))
    before = transaction_of(splynx_client, payment)["id"]
    assert splynx_client.put(f"{PAYMENTS}/{payment}", json={"amount": "12.5", "date": "2026-11-20"}).status_code == 202
    moved = transaction_of(splynx_client, payment)
    assert (moved["id"], moved["total"], moved["date"]) == (before, "12.5000", "2026-11-20")
    assert deposit(splynx_client, first) == "12.5000"
    assert splynx_client.put(f"{PAYMENTS}/{payment}", json={"customer_id": second}).status_code == 202
    assert transaction_of(splynx_client, payment)["customer_id"] == str(second)
    assert (deposit(splynx_client, first), deposit(splynx_client, second)) == ("0.0000", "12.5000")


def test_deleting_a_payment_deletes_its_transaction_and_restores_the_balance(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    payment = splynx_client.create(PAYMENTS, a_payment(customer))
    booked = transaction_of(splynx_client, payment)["id"]
    assert deposit(splynx_client, customer) == "30.0000"
    assert splynx_client.delete(f"{PAYMENTS}/{payment}").status_code == 204
    assert splynx_client.get(f"{PAYMENTS}/{payment}").status_code == 404
    assert splynx_client.get(f"{TRANSACTIONS}/{booked}").status_code == 404
    assert deposit(splynx_client, customer) == "0.0000"


def test_the_booked_transaction_cannot_be_deleted_on_its_own(splynx_client: SignedClient) -> None:
    payment = splynx_client.create(PAYMENTS, a_payment(a_customer(splynx_client)))
    refused = splynx_client.delete(f"{TRANSACTIONS}/{transaction_of(splynx_client, payment)['id']}")
    assert refused.status_code == 400 and f"payment {payment}" in refused.text


def test_payments_are_listed_and_searched_by_main_attributes(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    early = splynx_client.create(PAYMENTS, a_payment(first, date="2026-10-01"))
    late = splynx_client.create(PAYMENTS, a_payment(first, receipt_number="R-1002"))
    other = splynx_client.create(PAYMENTS, a_payment(second, receipt_number="R-1003"))
    assert [r["id"] for r in splynx_client.rows(PAYMENTS)] == [str(early), str(late), str(other)]
    by_customer = splynx_client.get(PAYMENTS, params={"main_attributes[customer_id]": first}).json()
    assert [r["id"] for r in by_customer] == [str(early), str(late)]
    since = splynx_client.get(PAYMENTS, params={"main_attributes[date][0]": ">=",
                                                "main_attributes[date][1]": "2026-11-01"}).json()
    assert [r["id"] for r in since] == [str(late), str(other)]


def test_a_payment_without_a_customer_is_refused_and_books_nothing(splynx_client: SignedClient) -> None:
    body = {k: v for k, v in a_payment(a_customer(splynx_client)).items() if k != "customer_id"}
    assert "customer_id" in errors_of(splynx_client.post(PAYMENTS, json=body))
    assert splynx_client.rows(PAYMENTS) == [] and splynx_client.rows(TRANSACTIONS) == []


def test_a_payment_of_an_unknown_method_or_customer_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    errors = errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer, payment_type=99)))
    assert errors["payment_type"] == "Payment type is invalid: Payment method 99 not found."
    assert "customer_id" in errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer + 100)))


def test_a_receipt_number_longer_than_the_live_column_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    errors = errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer, receipt_number="r" * 33)))
    assert errors["receipt_number"] == "Receipt Number should contain at most 32 characters."
    splynx_client.create(PAYMENTS, a_payment(customer, receipt_number="r" * 32))


def test_a_payment_with_a_bad_date_or_amount_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert "date" in errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer, date="05/11/2026")))
    assert "amount" in errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer, amount="thirty")))


def test_the_blueprints_required_attributes_are_required(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    for missing in ("payment_type", "receipt_number", "date", "amount"):
        body = {k: v for k, v in a_payment(customer).items() if k != missing}
        assert missing in errors_of(splynx_client.post(PAYMENTS, json=body)), missing


def test_the_free_fields_may_be_absent_or_empty_as_the_live_options_say(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    empty = splynx_client.create(PAYMENTS, a_payment(customer, **{f"field_{n}": "" for n in range(1, 6)}))
    assert splynx_client.get(f"{PAYMENTS}/{empty}").json()["field_5"] == ""
    errors = errors_of(splynx_client.post(PAYMENTS, json=a_payment(customer, field_3="x" * 513)))
    assert errors["field_3"] == "#3 should contain at most 512 characters."


def test_a_customer_with_a_payment_cannot_be_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    payment = splynx_client.create(PAYMENTS, a_payment(customer))
    refused = splynx_client.delete(f"admin/customers/customer/{customer}")
    assert refused.status_code == 400 and "payments" in refused.text
    assert splynx_client.delete(f"{PAYMENTS}/{payment}").status_code == 204
    assert splynx_client.delete(f"admin/customers/customer/{customer}").status_code == 204


def test_the_default_payment_methods_are_listed(splynx_client: SignedClient) -> None:
    listed = splynx_client.rows(METHODS)
    assert [(r["id"], r["name"], r["is_active"]) for r in listed] == [
        ("1", "Cash", "1"), ("2", "Bank transfer", "1"), ("3", "Credit card", "1"), ("4", "PayPal", "1"),
        ("5", "Refill card", "1"),
    ]  # fmt: skip


def test_a_payment_method_is_created_updated_and_read(splynx_client: SignedClient) -> None:
    assert set(errors_of(splynx_client.post(METHODS, json={}))) == {"name", "is_active"}
    method = splynx_client.create(METHODS, {"name": "Direct debit", "is_active": True, "name_1": "IBAN"})
    assert method == 6
    assert splynx_client.put(f"{METHODS}/{method}", json={"is_active": False}).status_code == 202
    got = splynx_client.get(f"{METHODS}/{method}").json()
    assert (got["name"], got["is_active"], got["name_1"], got["name_2"]) == ("Direct debit", "0", "IBAN", "")
    assert splynx_client.delete(f"{METHODS}/{method}").status_code == 204


def test_a_payment_method_in_use_cannot_be_deleted(splynx_client: SignedClient) -> None:
    payment = splynx_client.create(PAYMENTS, a_payment(a_customer(splynx_client), payment_type=CASH))
    refused = splynx_client.delete(f"{METHODS}/{CASH}")
    assert refused.status_code == 400 and "payments (payment_type)" in refused.text
    assert splynx_client.delete(f"{PAYMENTS}/{payment}").status_code == 204
    assert splynx_client.delete(f"{METHODS}/{CASH}").status_code == 204


def test_deleted_payment_methods_stay_deleted_after_a_restart(splynx_client: SignedClient) -> None:
    for method in range(1, 6):
        assert splynx_client.delete(f"{METHODS}/{method}").status_code == 204
    splynx_client.sim.stop()
    splynx_client.sim.start()
    assert splynx_client.rows(METHODS) == []


def test_the_migration_marker_is_stored_and_found_on_payments(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/payments", json=definition).status_code == 201
    customer = a_customer(splynx_client)
    marked = splynx_client.create(PAYMENTS, a_payment(customer, additional_attributes={"sonar_id": "payment:7"}))
    splynx_client.create(PAYMENTS, a_payment(customer, receipt_number="R-1002"))
    found = splynx_client.get(PAYMENTS, params={"additional_attributes[sonar_id]": "payment:7"}).json()
    assert [r["id"] for r in found] == [str(marked)]
    again = splynx_client.post(PAYMENTS, json=a_payment(customer, additional_attributes={"sonar_id": "payment:7"}))
    assert "additional_attributes.sonar_id" in errors_of(again)
