"""The simulator's support tickets over HTTP: tickets, their messages, the read-only statuses/groups/types, guards."""

from __future__ import annotations

import sqlite3
from typing import Any

import requests

from tests.fixtures.splynx import SignedClient

TICKETS = "admin/support/tickets"
MESSAGES = "admin/support/ticket-messages"
STATUSES = "admin/support/tickets-statuses"
GROUPS = "admin/support/tickets-groups"
TYPES = "admin/support/tickets-types"
CUSTOMERS = "admin/customers/customer"
ADMIN = 1  # the seeded administrator
QUESTION, INCIDENT = 1, 2  # seeded ticket types
NEW, RESOLVED = 1, 3  # seeded ticket statuses
SUPPORT = 1  # seeded ticket group


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def a_customer(client: SignedClient) -> int:
    return client.create(CUSTOMERS, {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1})


def a_ticket(customer: int, **overrides: Any) -> dict[str, Any]:
    """What the loader sends: the three required attributes and the customer."""
    return {"customer_id": customer, "type_id": INCIDENT, "subject": "No internet since Monday",
            "priority": "high", **overrides}


def messages_of(client: SignedClient, ticket: int) -> list[dict[str, Any]]:
    response = client.get(MESSAGES, params={"main_attributes[ticket_id]": ticket})
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_ticket_with_an_inline_message_creates_its_first_message(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    inline = {"customer_id": customer, "message": "My router blinks red.", "date": "2026-11-02", "time": "09:15:00"}
    ticket = splynx_client.create(TICKETS, a_ticket(customer, message=inline, group_id=SUPPORT,
                                                    created_at="2026-11-02 09:15:00",
                                                    updated_at="2026-11-03 10:00:00"))
    got = splynx_client.get(f"{TICKETS}/{ticket}").json()
    assert {k: got[k] for k in ("id", "customer_id", "type_id", "status_id", "group_id", "assign_to", "subject",
                                "priority", "closed", "source", "created_at", "updated_at")} == {
        "id": str(ticket), "customer_id": str(customer), "type_id": str(INCIDENT), "status_id": str(NEW),
        "group_id": str(SUPPORT), "assign_to": "0", "subject": "No internet since Monday", "priority": "high",
        "closed": "0", "source": "api", "created_at": "2026-11-02 09:15:00", "updated_at": "2026-11-03 10:00:00",
    }  # fmt: skip
    assert "message" not in got and got["additional_attributes"] == {}
    [first] = messages_of(splynx_client, ticket)
    assert {k: first[k] for k in ("ticket_id", "customer_id", "admin_id", "message", "date", "time", "author_type",
                                  "message_type", "hide_for_customer")} == {
        "ticket_id": str(ticket), "customer_id": str(customer), "admin_id": "0", "message": "My router blinks red.",
        "date": "2026-11-02", "time": "09:15:00", "author_type": "customer", "message_type": "message",
        "hide_for_customer": "0",
    }  # fmt: skip


def test_a_ticket_without_a_message_has_none_and_gets_its_times_stamped(splynx_client: SignedClient) -> None:
    ticket = splynx_client.create(TICKETS, a_ticket(0))  # customer 0: nobody's ticket
    got = splynx_client.get(f"{TICKETS}/{ticket}").json()
    assert got["customer_id"] == "0" and got["created_at"] and got["updated_at"] and got["group_id"] is None
    assert messages_of(splynx_client, ticket) == []
    assert splynx_client.put(f"{TICKETS}/{ticket}", json={"subject": "Better subject", "status_id": RESOLVED,
                                                          "closed": 1, "message": {"message": "ignored"}}
                             ).status_code == 202
    got = splynx_client.get(f"{TICKETS}/{ticket}").json()
    assert (got["subject"], got["status_id"], got["closed"]) == ("Better subject", str(RESOLVED), "1")
    assert messages_of(splynx_client, ticket) == []


def test_a_ticket_is_refused_on_required_enum_and_reference_errors(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    assert set(errors_of(splynx_client.post(TICKETS, json={}))) == {"type_id", "subject", "priority"}
    missing_type = {k: v for k, v in a_ticket(customer).items() if k != "type_id"}
    assert errors_of(splynx_client.post(TICKETS, json=missing_type)) == {"type_id": "Type cannot be blank."}
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, subject="x" * 257))) == {
        "subject": "Subject should contain at most 256 characters."}
    assert splynx_client.post(TICKETS, json=a_ticket(customer, subject="x" * 256)).status_code == 201
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, priority="critical"))) == {
        "priority": "Priority is invalid."}
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, status_id=99))) == {
        "status_id": "Status is invalid: Ticket status 99 not found."}
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, assign_to=42))) == {
        "assign_to": "Assigned to is invalid: Administrator 42 not found."}
    assert set(errors_of(splynx_client.post(TICKETS, json=a_ticket(customer + 100, type_id=9, group_id=7)))) == {
        "customer_id", "type_id", "group_id"}
    assert splynx_client.post(TICKETS, json=a_ticket(customer, assign_to=ADMIN, group_id=0)).status_code == 201


def test_an_inline_message_is_validated_and_nothing_is_created_when_it_fails(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    before = len(splynx_client.rows(TICKETS))
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, message={"time": "25:00"}))) == {
        "message.time": "The format of Time is invalid.", "message.message": "Message cannot be blank."}
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, message={"message": "hi", "admin_id": 9}))
                     ) == {"message.admin_id": "Administrator is invalid: Administrator 9 not found."}
    assert errors_of(splynx_client.post(TICKETS, json=a_ticket(customer, message="hi"))) == {
        "message": "Message must be an object."}
    assert len(splynx_client.rows(TICKETS)) == before and splynx_client.rows(MESSAGES) == []


def test_tickets_are_listed_by_customer_and_by_their_migration_marker(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/ticket", json=definition).status_code == 201
    first, second = a_customer(splynx_client), a_customer(splynx_client)
    marked = splynx_client.create(TICKETS, a_ticket(first, additional_attributes={"sonar_id": "ticket:7"}))
    other = splynx_client.create(TICKETS, a_ticket(first, subject="Slow at night"))
    elsewhere = splynx_client.create(TICKETS, a_ticket(second))
    by_customer = splynx_client.get(TICKETS, params={"main_attributes[customer_id]": first}).json()
    assert [r["id"] for r in by_customer] == [str(marked), str(other)]
    found = splynx_client.get(TICKETS, params={"additional_attributes[sonar_id]": "ticket:7"}).json()
    assert [(r["id"], r["additional_attributes"]) for r in found] == [(str(marked), {"sonar_id": "ticket:7"})]
    assert splynx_client.get(f"{TICKETS}/{elsewhere}").json()["additional_attributes"] == {"sonar_id": ""}
    again = splynx_client.post(TICKETS, json=a_ticket(second, additional_attributes={"sonar_id": "ticket:7"}))
    assert "additional_attributes.sonar_id" in errors_of(again)
    newest = splynx_client.get(TICKETS, params={"order[id]": "DESC", "limit": 1}).json()
    assert [r["id"] for r in newest] == [str(elsewhere)]


def test_messages_are_created_listed_updated_and_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    ticket = splynx_client.create(TICKETS, a_ticket(customer))
    other_ticket = splynx_client.create(TICKETS, a_ticket(customer, subject="Another"))
    reply = splynx_client.create(MESSAGES, {"ticket_id": ticket, "customer_id": customer, "message": "Still down",
                                            "source": "portal", "files": ["ignored.txt"]})
    note = splynx_client.create(MESSAGES, {"ticket_id": ticket, "admin_id": ADMIN, "message": "Check the ONT",
                                           "hide_for_customer": 1, "date": "2026-11-04", "time": "13:05:09"})
    splynx_client.create(MESSAGES, {"ticket_id": other_ticket, "message": "Elsewhere"})
    listed = messages_of(splynx_client, ticket)
    assert [(m["id"], m["author_type"], m["message_type"]) for m in listed] == [
        (str(reply), "customer", "message"), (str(note), "admin", "note")]
    got = splynx_client.get(f"{MESSAGES}/{note}").json()
    assert (got["date"], got["time"], got["hide_for_customer"], got["can_be_deleted"]) == (
        "2026-11-04", "13:05:09", "1", "1")
    assert "files" not in got
    assert splynx_client.put(f"{MESSAGES}/{note}", json={"message": "Better message", "hide_for_customer": 0}
                             ).status_code == 202
    got = splynx_client.get(f"{MESSAGES}/{note}").json()
    assert (got["message"], got["message_type"], got["author_type"]) == ("Better message", "message", "admin")
    assert splynx_client.delete(f"{MESSAGES}/{reply}").status_code == 204
    assert splynx_client.get(f"{MESSAGES}/{reply}").status_code == 404
    assert [m["id"] for m in messages_of(splynx_client, ticket)] == [str(note)]


def test_a_message_is_refused_without_its_ticket_or_text(splynx_client: SignedClient) -> None:
    assert set(errors_of(splynx_client.post(MESSAGES, json={}))) == {"ticket_id", "message"}
    assert errors_of(splynx_client.post(MESSAGES, json={"ticket_id": 5, "message": "hi"})) == {
        "ticket_id": "Ticket is invalid: Ticket 5 not found."}
    ticket = splynx_client.create(TICKETS, a_ticket(0))
    assert set(errors_of(splynx_client.post(MESSAGES, json={"ticket_id": ticket, "message": "hi",
                                                            "author_type": "robot", "time": "9:5"}))) == {
        "author_type", "time"}


def test_deleting_a_ticket_deletes_its_messages(splynx_client: SignedClient) -> None:
    ticket = splynx_client.create(TICKETS, a_ticket(0, message={"admin_id": ADMIN, "message": "Opened by phone"}))
    kept = splynx_client.create(TICKETS, a_ticket(0))
    splynx_client.create(MESSAGES, {"ticket_id": ticket, "message": "Second"})
    splynx_client.create(MESSAGES, {"ticket_id": kept, "message": "Kept"})
    assert len(messages_of(splynx_client, ticket)) == 2
    assert splynx_client.delete(f"{TICKETS}/{ticket}").status_code == 204
    assert splynx_client.get(f"{TICKETS}/{ticket}").status_code == 404
    assert [m["ticket_id"] for m in splynx_client.rows(MESSAGES)] == [str(kept)]


def test_a_customer_with_tickets_cannot_be_deleted(splynx_client: SignedClient) -> None:
    customer = a_customer(splynx_client)
    ticket = splynx_client.create(TICKETS, a_ticket(customer))
    refused = splynx_client.delete(f"{CUSTOMERS}/{customer}")
    assert refused.status_code == 400 and "tickets (customer_id)" in refused.text
    assert splynx_client.delete(f"{TICKETS}/{ticket}").status_code == 204
    assert splynx_client.delete(f"{CUSTOMERS}/{customer}").status_code == 204


def test_statuses_groups_and_types_are_seeded_and_read_only(splynx_client: SignedClient) -> None:
    statuses = splynx_client.rows(STATUSES)
    assert [(s["id"], s["title_for_agent"], s["title_for_customer"], s["mark"]) for s in statuses] == [
        ("1", "New", "New", ["open", "unresolved"]), ("2", "Work in progress", "Work in progress",
                                                      ["open", "unresolved"]),
        ("3", "Resolved", "Resolved", ["closed"]), ("4", "Waiting on customer", "Waiting on customer", ["open"]),
        ("5", "Waiting on agent", "Waiting on agent", ["open", "unresolved"]),
    ]  # fmt: skip
    assert all(s["view_on_dashboard"] == "1" and s["label"] and s["icon"] for s in statuses)
    assert [(g["id"], g["title"], g["agent_ids"]) for g in splynx_client.rows(GROUPS)] == [
        ("1", "Support", []), ("2", "Billing", [])]
    assert [(t["id"], t["title"], t["background_color"]) for t in splynx_client.rows(TYPES)] == [
        ("1", "Question", None), ("2", "Incident", None), ("3", "Problem", None), ("4", "Feature request", None)]
    assert splynx_client.get(f"{TYPES}/{QUESTION}").json()["title"] == "Question"
    assert splynx_client.get(f"{STATUSES}/9").status_code == 404
    for path in (STATUSES, GROUPS, TYPES):
        assert splynx_client.post(path, json={"title": "Mine"}).status_code == 405
        assert splynx_client.put(f"{path}/1", json={"title": "Mine"}).status_code == 405
        assert splynx_client.delete(f"{path}/1").status_code == 405
        assert splynx_client.head(path).headers["X-total-count"] in ("2", "4", "5")
    assert len(splynx_client.rows(TYPES)) == 4


def test_the_support_setup_is_seeded_into_a_file_made_before_it_was_simulated(splynx_client: SignedClient) -> None:
    sim = splynx_client.sim
    sim.stop()
    assert sim.db_path is not None
    with sqlite3.connect(sim.db_path) as conn:  # what a file from before tickets holds: none of these rows
        for entity in ("ticket_statuses", "ticket_groups", "ticket_types"):
            conn.execute("DELETE FROM record WHERE entity = ?", (entity,))
            conn.execute("DELETE FROM seq WHERE entity = ?", (entity,))
    conn.close()
    sim.start()
    assert [s["title_for_agent"] for s in splynx_client.rows(STATUSES)][:1] == ["New"]
    assert [g["title"] for g in splynx_client.rows(GROUPS)] == ["Support", "Billing"]
    assert len(splynx_client.rows(TYPES)) == 4
    assert splynx_client.create(TICKETS, a_ticket(0)) >= 1


def test_the_ticket_module_takes_additional_field_definitions(splynx_client: SignedClient) -> None:
    definition = {"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": True}
    assert splynx_client.post("admin/config/additional-fields/ticket", json=definition).status_code == 201
    assert [d["name"] for d in splynx_client.rows("admin/config/additional-fields/ticket")] == ["sonar_id"]
    options = splynx_client.options(TICKETS).json()
    assert options["additional_attributes"] == [{"name": "sonar_id", "title": "Sonar ID", "type": "string",
                                                 "required": False}]
    attributes = {a["name"]: a for a in options["attributes"]}
    assert "message" not in attributes
    assert {n for n, a in attributes.items() if a["required"]} == {"type_id", "subject", "priority"}
    ticket = splynx_client.create(TICKETS, a_ticket(0, additional_attributes={"sonar_id": "ticket:42"}))
    assert splynx_client.put(f"{TICKETS}/{ticket}", json={"additional_attributes": {"sonar_id": "ticket:43"}}
                             ).status_code == 202
    assert splynx_client.get(f"{TICKETS}/{ticket}").json()["additional_attributes"] == {"sonar_id": "ticket:43"}
    bad = splynx_client.post(MESSAGES, json={"ticket_id": ticket, "message": "hi",
                                             "additional_attributes": {"sonar_id": "x"}})
    assert bad.status_code == 201  # messages have no module: the attribute is ignored like any unknown one
