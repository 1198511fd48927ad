"""The simulator's customer comments (`admin/customers/customer-notes`) over HTTP: CRUD, item path, refusals."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures.splynx import SignedClient

NOTES = "admin/customers/customer-notes"
CUSTOMERS = "admin/customers/customer"
MAIN_ADMIN = 1  # seeded


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def a_customer(client: SignedClient) -> int:
    return client.create(CUSTOMERS, {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1})


def a_note(customer: int, **overrides: Any) -> dict[str, Any]:
    """A comment with the blueprint's two required attributes."""
    return {"customer_id": customer, "comment": "Called about the outage on Friday.", **overrides}


def item(customer: int, note: int) -> str:
    """The blueprint's item path: `customer-notes/{customer_id}--{id}`."""
    return f"{NOTES}/{customer}--{note}"


def test_a_comment_reads_back_as_strings_with_the_live_defaults(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    note = splynx_client.create(NOTES, a_note(customer, title="Outage", administrator_id=MAIN_ADMIN))
    got = splynx_client.get(item(customer, note)).json()
    assert {k: got[k] for k in ("id", "customer_id", "administrator_id", "type", "class", "title", "name",
                                "comment", "values", "assigned_to", "is_done", "is_send", "is_pinned")} == {
        "id": str(note), "customer_id": str(customer), "administrator_id": str(MAIN_ADMIN), "type": "comment",
        "class": "default", "title": "Outage", "name": "", "comment": "Called about the outage on Friday.",
        "values": "", "assigned_to": "0", "is_done": "0", "is_send": "0", "is_pinned": "0",
    }  # fmt: skip
    assert got["datetime"] and got["pinned_date"] is None
    assert "additional_attributes" not in got


def test_comments_are_listed_and_searched_by_customer(splynx_client: SignedClient) -> None:
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    one = splynx_client.create(NOTES, a_note(first))
    two = splynx_client.create(NOTES, a_note(first, type="call", datetime="2026-11-05 10:30:00"))
    other = splynx_client.create(NOTES, a_note(second))
    assert [r["id"] for r in splynx_client.rows(NOTES)] == [str(one), str(two), str(other)]
    by_customer = splynx_client.get(NOTES, params={"main_attributes[customer_id]": first}).json()
    assert [r["id"] for r in by_customer] == [str(one), str(two)]
    calls = splynx_client.get(NOTES, params={"main_attributes[type]": "call"}).json()
    assert [(r["id"], r["datetime"]) for r in calls] == [(str(two), "2026-11-05 10:30:00")]


def test_a_comment_is_updated_and_deleted_on_its_item_path(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    note = splynx_client.create(NOTES, a_note(customer))
    updated = splynx_client.put(item(customer, note), json={"comment": "Resolved.", "class": "success",
                                                            "is_done": 1, "pinned_date": "0000-00-00 00:00:00"})
    assert updated.status_code == 202, updated.text
    got = splynx_client.get(item(customer, note)).json()
    assert (got["comment"], got["class"], got["is_done"], got["pinned_date"]) == (
        "Resolved.", "success", "1", "0000-00-00 00:00:00")
    assert splynx_client.delete(item(customer, note)).status_code == 204
    assert splynx_client.get(item(customer, note)).status_code == 404
    assert splynx_client.rows(NOTES) == []


def test_a_put_cannot_move_a_comment_to_another_customer(splynx_client: SignedClient) -> None:
    customer, other = a_customer(splynx_client), a_customer(splynx_client)
    note = splynx_client.create(NOTES, a_note(customer))
    assert splynx_client.put(item(customer, note), json={"customer_id": other}).status_code == 202
    assert splynx_client.get(item(customer, note)).json()["customer_id"] == str(customer)


def test_an_item_path_naming_another_customer_is_not_found(splynx_client: SignedClient) -> None:
    customer, other = a_customer(splynx_client), a_customer(splynx_client)
    note = splynx_client.create(NOTES, a_note(customer))
    for method in ("GET", "PUT", "DELETE"):
        answer = splynx_client.request(method, item(other, note), json={"comment": "x"})
        assert answer.status_code == 404, (method, answer.text)
    assert splynx_client.get(item(customer, note)).json()["comment"] == "Called about the outage on Friday."
    assert splynx_client.get(f"{NOTES}/{note}").status_code == 404  # the blueprint's path has both parts


def test_a_comment_without_its_text_or_customer_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert errors_of(splynx_client.post(NOTES, json={"customer_id": customer})) == {
        "comment": "Comment cannot be blank."}
    assert "customer_id" in errors_of(splynx_client.post(NOTES, json={"comment": "Hello"}))
    assert splynx_client.rows(NOTES) == []


def test_a_comment_on_an_unknown_customer_or_administrator_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    errors = errors_of(splynx_client.post(NOTES, json=a_note(customer + 100)))
    assert errors["customer_id"] == f"Customer is invalid: Customer {customer + 100} not found."
    errors = errors_of(splynx_client.post(NOTES, json=a_note(customer, administrator_id=99)))
    assert errors["administrator_id"] == "Administrator is invalid: Administrator 99 not found."
    splynx_client.create(NOTES, a_note(customer, administrator_id=0))


def test_a_type_or_class_outside_the_lists_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert errors_of(splynx_client.post(NOTES, json=a_note(customer, type="email"))) == {"type": "Type is invalid."}
    assert errors_of(splynx_client.post(NOTES, json=a_note(customer, **{"class": "black"}))) == {
        "class": "Class is invalid."}
    for kind in ("comment", "message", "call", "customer", "finance", "service", "support"):
        splynx_client.create(NOTES, a_note(customer, type=kind))
    for colour in ("default", "primary", "success", "warning", "danger", "info"):
        splynx_client.create(NOTES, a_note(customer, **{"class": colour}))


def test_a_title_longer_than_the_live_column_is_refused(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    errors = errors_of(splynx_client.post(NOTES, json=a_note(customer, title="t" * 51)))
    assert errors == {"title": "Title should contain at most 50 characters."}
    splynx_client.create(NOTES, a_note(customer, title="t" * 50))


def test_a_customer_with_a_comment_cannot_be_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    note = splynx_client.create(NOTES, a_note(customer))
    refused = splynx_client.delete(f"{CUSTOMERS}/{customer}")
    assert refused.status_code == 400 and "customer notes" in refused.text, refused.text
    assert refused.json()["error"]["internal_code"] == "ENTITY_CANNOT_BE_DELETED"
    assert splynx_client.delete(item(customer, note)).status_code == 204
    assert splynx_client.delete(f"{CUSTOMERS}/{customer}").status_code == 204
