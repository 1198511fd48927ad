"""The simulator's invoices over HTTP: items, computed totals, the debit transactions they book, and guards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from tests.fixtures.splynx import SignedClient

INVOICES = "admin/finance/invoices"
TRANSACTIONS = "admin/finance/transactions"
BILLING = "admin/customers/customer-billing"
CUSTOMERS = "admin/customers/customer"
SERVICE, DISCOUNT = 1, 2  # seeded transaction categories


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def a_customer(client: SignedClient) -> int:
    return client.create(CUSTOMERS, {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1})


def an_invoice(customer: int, **overrides: Any) -> dict[str, Any]:
    """Two items: 2 x 10.00 at 6.25 % VAT (21.2500) and 1 x 5.5 without tax (5.5000): 26.7500 in all."""
    items = [{"description": "Internet 100M, November", "quantity": 2, "price": "10", "tax": "6.25",
              "period_from": "2026-11-01", "period_to": "2026-11-30"},
             {"description": "Router rent", "price": "5.5"}]
    return {"customer_id": customer, "number": "INV-0001", "status": "not_paid", "date_created": "2026-11-01",
            "items": items, **overrides}


def deposit(client: SignedClient, customer: int) -> str:
    response = client.get(f"{BILLING}/{customer}")
    assert response.status_code == 200, response.text
    return str(response.json()["deposit"])


def invoice(client: SignedClient, invoice_id: int) -> dict[str, Any]:
    response = client.get(f"{INVOICES}/{invoice_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def transactions_of(client: SignedClient, invoice_id: int) -> list[dict[str, Any]]:
    return [t for t in client.rows(TRANSACTIONS) if t["invoice_id"] == str(invoice_id)]


def test_an_invoice_reads_back_with_its_items_and_computed_totals(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer, total="1", due="2", added_by="system"))
    got = invoice(splynx_client, created)
    assert {k: got[k] for k in ("id", "customer_id", "number", "status", "date_created", "date_till",
                                "date_payment", "use_transactions", "type", "is_sent", "total", "due",
                                "added_by", "added_by_id")} == {
        "id": str(created), "customer_id": str(customer), "number": "INV-0001", "status": "not_paid",
        "date_created": "2026-11-01", "date_till": "2026-11-01", "date_payment": "0000-00-00",
        "use_transactions": "1", "type": "one_time", "is_sent": "0", "total": "26.7500", "due": "26.7500",
        "added_by": "api", "added_by_id": "0",
    }  # fmt: skip
    assert got["real_create_datetime"] and got["additional_attributes"] == {}
    first, second = got["items"]
    assert {k: first[k] for k in ("description", "quantity", "price", "tax", "period_from", "period_to")} == {
        "description": "Internet 100M, November", "quantity": "2", "price": "10.0000", "tax": "6.2500",
        "period_from": "2026-11-01", "period_to": "2026-11-30",
    }  # fmt: skip
    assert (second["quantity"], second["tax"], second["period_from"]) == ("1", "0.0000", "0000-00-00")
    assert first["id"] != second["id"] and first["transaction_id"] != "0"


def test_an_invoice_books_one_debit_per_item_and_the_deposit_drops_by_its_total(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer))
    booked = transactions_of(splynx_client, created)
    assert [{k: t[k] for k in ("type", "customer_id", "quantity", "price", "tax_percent", "total", "date",
                               "category", "description", "period_from", "period_to", "source")} for t in booked] == [
        {"type": "debit", "customer_id": str(customer), "quantity": "2", "price": "10.0000", "tax_percent": "6.2500",
         "total": "21.2500", "date": "2026-11-01", "category": str(SERVICE), "description": "Internet 100M, November",
         "period_from": "2026-11-01", "period_to": "2026-11-30", "source": "manual"},
        {"type": "debit", "customer_id": str(customer), "quantity": "1", "price": "5.5000", "tax_percent": "0.0000",
         "total": "5.5000", "date": "2026-11-01", "category": str(SERVICE), "description": "Router rent",
         "period_from": "0000-00-00", "period_to": "0000-00-00", "source": "manual"},
    ]  # fmt: skip
    items = invoice(splynx_client, created)["items"]
    assert [i["transaction_id"] for i in items] == [t["id"] for t in booked]
    assert Decimal(deposit(splynx_client, customer)) == -Decimal("26.7500")


def test_an_item_may_name_its_transaction_category(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    body = an_invoice(customer, items=[{"description": "Loyalty", "price": "-3", "categoryIdForTransaction": DISCOUNT}])
    created = splynx_client.create(INVOICES, body)
    assert [t["category"] for t in transactions_of(splynx_client, created)] == [str(DISCOUNT)]
    bad = an_invoice(customer, number="INV-0002", items=[{"description": "x", "categoryIdForTransaction": 99}])
    assert errors_of(splynx_client.post(INVOICES, json=bad))["items"] == (
        "Item 1: Transaction category is invalid: Transaction category 99 not found.")


def test_an_invoice_without_transactions_is_a_document_only(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer, use_transactions="0"))
    got = invoice(splynx_client, created)
    assert (got["use_transactions"], got["total"]) == ("0", "26.7500")
    assert [i["transaction_id"] for i in got["items"]] == ["0", "0"]
    assert splynx_client.rows(TRANSACTIONS) == []
    assert deposit(splynx_client, customer) == "0.0000"


def test_due_follows_the_status(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    paid = splynx_client.create(INVOICES, an_invoice(customer, status="paid"))
    assert (invoice(splynx_client, paid)["total"], invoice(splynx_client, paid)["due"]) == ("26.7500", "0.0000")
    assert splynx_client.put(f"{INVOICES}/{paid}", json={"status": "pending", "note": "disputed"}).status_code == 202
    got = invoice(splynx_client, paid)
    assert (got["status"], got["due"], got["note"]) == ("pending", "26.7500", "disputed")
    assert Decimal(deposit(splynx_client, customer)) == -Decimal("26.75")  # the status moves no transaction


def test_the_required_attributes_are_required(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    for missing in ("customer_id", "number", "status", "items"):
        body = {k: v for k, v in an_invoice(customer).items() if k != missing}
        assert missing in errors_of(splynx_client.post(INVOICES, json=body)), missing
    assert splynx_client.rows(INVOICES) == [] and splynx_client.rows(TRANSACTIONS) == []


def test_bad_invoices_are_refused_with_the_field_and_item_named(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)

    def refused(**overrides: Any) -> dict[str, str]:
        return errors_of(splynx_client.post(INVOICES, json=an_invoice(customer, **overrides)))

    assert refused(items=[])["items"] == "Items cannot be blank."
    assert refused(items=[{"description": "a"}, {"price": "1"}])["items"] == "Item 2: Description cannot be blank."
    assert refused(items=[{"description": "  "}])["items"] == "Item 1: Description cannot be blank."
    assert refused(items=[{"description": "a", "quantity": 0}])["items"] == "Item 1: Quantity must be no less than 1."
    assert refused(items=[{"description": "a", "quantity": "two"}])["items"] == "Item 1: Quantity must be an integer."
    assert refused(items=[{"description": "a", "price": "ten"}])["items"] == "Item 1: Price must be a number."
    assert refused(items=[{"description": "a", "period_to": "30/11/2026"}])["items"] == (
        "Item 1: The format of Period to is invalid.")
    assert refused(items=[{"description": "d" * 256}])["items"] == (
        "Item 1: Description should contain at most 255 characters.")
    assert refused(items="none")["items"] == "Items must be an array."
    assert refused(items=["x"])["items"] == "Item 1: Item must be an object."
    assert refused(status="open")["status"] == "Status is invalid."
    assert refused(number="n" * 65)["number"] == "Number should contain at most 64 characters."
    assert refused(customer_id=customer + 100)["customer_id"] == (
        f"Customer ID is invalid: Customer {customer + 100} not found.")
    assert splynx_client.rows(INVOICES) == [] and splynx_client.rows(TRANSACTIONS) == []


def test_an_invoice_number_is_unique(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    first = splynx_client.create(INVOICES, an_invoice(customer))
    assert errors_of(splynx_client.post(INVOICES, json=an_invoice(customer)))["number"] == (
        'Number "INV-0001" has already been taken.')
    assert splynx_client.put(f"{INVOICES}/{first}", json={"number": "INV-0001"}).status_code == 202
    assert len(splynx_client.rows(TRANSACTIONS)) == 2


def test_a_put_of_an_items_price_rebooks_and_the_deposit_follows(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer))
    before = invoice(splynx_client, created)["items"]
    change = {"items": [{"id": before[1]["id"], "price": "7.25", "description": "Router rent (new model)"}]}
    assert splynx_client.put(f"{INVOICES}/{created}", json=change).status_code == 202
    got = invoice(splynx_client, created)
    assert [(i["id"], i["description"], i["price"]) for i in got["items"]] == [
        (before[0]["id"], "Internet 100M, November", "10.0000"), (before[1]["id"], "Router rent (new model)", "7.2500")]
    assert (got["total"], got["due"]) == ("28.5000", "28.5000")
    booked = transactions_of(splynx_client, created)
    assert [t["id"] for t in booked] == [i["transaction_id"] for i in before]  # rewritten in place
    assert [(t["description"], t["total"]) for t in booked][1] == ("Router rent (new model)", "7.2500")
    assert Decimal(deposit(splynx_client, customer)) == -Decimal("28.5")


def test_a_put_adds_an_item_without_id_and_refuses_an_unknown_id(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer))
    added = {"items": [{"description": "Installation", "price": "40"}]}
    assert splynx_client.put(f"{INVOICES}/{created}", json=added).status_code == 202
    got = invoice(splynx_client, created)
    assert [i["description"] for i in got["items"]][2] == "Installation" and got["total"] == "66.7500"
    assert len(transactions_of(splynx_client, created)) == 3
    assert Decimal(deposit(splynx_client, customer)) == -Decimal("66.75")
    unknown = splynx_client.put(f"{INVOICES}/{created}", json={"items": [{"id": 999, "price": "1"}]})
    assert errors_of(unknown)["items"] == "Item 1: Item 999 not found."
    blanked = splynx_client.put(f"{INVOICES}/{created}", json={"items": [{"id": got["items"][0]["id"],
                                                                          "description": ""}]})
    assert errors_of(blanked)["items"] == "Item 1: Description cannot be blank."
    assert invoice(splynx_client, created)["total"] == "66.7500"


def test_turning_transactions_off_and_on_books_and_unbooks(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer))
    assert splynx_client.put(f"{INVOICES}/{created}", json={"use_transactions": "0"}).status_code == 202
    assert splynx_client.rows(TRANSACTIONS) == [] and deposit(splynx_client, customer) == "0.0000"
    assert splynx_client.put(f"{INVOICES}/{created}", json={"use_transactions": "1"}).status_code == 202
    assert len(transactions_of(splynx_client, created)) == 2
    assert Decimal(deposit(splynx_client, customer)) == -Decimal("26.75")


def test_moving_an_invoice_to_another_customer_settles_both(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(first))
    assert splynx_client.put(f"{INVOICES}/{created}", json={"customer_id": second,
                                                            "date_created": "2026-11-15"}).status_code == 202
    assert {(t["customer_id"], t["date"]) for t in transactions_of(splynx_client, created)} == {
        (str(second), "2026-11-15")}
    assert deposit(splynx_client, first) == "0.0000"
    assert Decimal(deposit(splynx_client, second)) == -Decimal("26.75")


def test_deleting_an_invoice_deletes_its_transactions_and_restores_the_balance(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    splynx_client.create(TRANSACTIONS, {"type": "credit", "customer_id": customer, "price": "100", "tax_percent": 0,
                                        "date": "2026-10-01", "category": SERVICE, "description": "Opening balance"})
    created = splynx_client.create(INVOICES, an_invoice(customer))
    booked = [t["id"] for t in transactions_of(splynx_client, created)]
    assert Decimal(deposit(splynx_client, customer)) == Decimal("73.25")
    assert splynx_client.delete(f"{INVOICES}/{created}").status_code == 204
    assert splynx_client.get(f"{INVOICES}/{created}").status_code == 404
    assert all(splynx_client.get(f"{TRANSACTIONS}/{t}").status_code == 404 for t in booked)
    assert deposit(splynx_client, customer) == "100.0000"


def test_an_invoices_transaction_cannot_be_deleted_on_its_own(splynx_client: SignedClient) -> None:
    created = splynx_client.create(INVOICES, an_invoice(a_customer(splynx_client)))
    refused = splynx_client.delete(f"{TRANSACTIONS}/{transactions_of(splynx_client, created)[0]['id']}")
    assert refused.status_code == 400 and f"invoice {created}" in refused.text
    assert refused.json()["error"]["internal_code"] == "ENTITY_CANNOT_BE_DELETED"


def test_a_customer_with_an_invoice_cannot_be_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    created = splynx_client.create(INVOICES, an_invoice(customer, use_transactions="0"))
    refused = splynx_client.delete(f"{CUSTOMERS}/{customer}")
    assert refused.status_code == 400 and "invoices" in refused.text
    assert splynx_client.delete(f"{INVOICES}/{created}").status_code == 204
    assert splynx_client.delete(f"{CUSTOMERS}/{customer}").status_code == 204


def test_invoices_are_listed_and_searched_by_main_attributes(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    early = splynx_client.create(INVOICES, an_invoice(first, date_created="2026-10-01"))
    late = splynx_client.create(INVOICES, an_invoice(first, number="INV-0002"))
    other = splynx_client.create(INVOICES, an_invoice(second, number="INV-0003", status="paid"))
    assert [r["id"] for r in splynx_client.rows(INVOICES)] == [str(early), str(late), str(other)]
    by_customer = splynx_client.get(INVOICES, params={"main_attributes[customer_id]": first}).json()
    assert [r["id"] for r in by_customer] == [str(early), str(late)]
    paid = splynx_client.get(INVOICES, params={"main_attributes[status]": "paid"}).json()
    assert [r["id"] for r in paid] == [str(other)]
    newest = splynx_client.get(INVOICES, params={"order[id]": "DESC", "limit": 2, "offset": 0}).json()
    assert [r["id"] for r in newest] == [str(other), str(late)]
    head = splynx_client.head(INVOICES, params={"main_attributes[customer_id]": first})
    assert head.headers["X-total-count"] == "2"


def test_the_migration_marker_is_stored_and_found_on_invoices(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/invoices", json=definition).status_code == 201
    customer = a_customer(splynx_client)
    marked = splynx_client.create(INVOICES, an_invoice(customer, additional_attributes={"sonar_id": "invoice:7"}))
    splynx_client.create(INVOICES, an_invoice(customer, number="INV-0002"))
    found = splynx_client.get(INVOICES, params={"additional_attributes[sonar_id]": "invoice:7"}).json()
    assert [r["id"] for r in found] == [str(marked)]
    assert found[0]["additional_attributes"] == {"sonar_id": "invoice:7"}
    again = splynx_client.post(INVOICES, json=an_invoice(customer, number="INV-0003",
                                                         additional_attributes={"sonar_id": "invoice:7"}))
    assert "additional_attributes.sonar_id" in errors_of(again)


def test_options_lists_the_invoice_attributes(splynx_client: SignedClient) -> None:
    attributes = {a["name"]: a for a in splynx_client.options(INVOICES).json()["attributes"]}
    assert {n for n, a in attributes.items() if a["required"]} == {"customer_id", "number", "status", "items"}
    assert attributes["items"]["type"] == "array"
    assert attributes["status"]["values"] == ["not_paid", "paid", "pending", "deleted"]
