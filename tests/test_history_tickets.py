"""Tickets: each Sonar ticket about an account becomes a Splynx ticket, its replies and comments messages.

First the rules on their own: the ticket's transform (status, priority, group, assignee, opening message,
what Splynx has no place for kept in the note), the messages' (a customer's reply, a staff reply, an internal
comment), the lookups read from Splynx and the one-line refusal when it lacks a status or the type. Then
through a sandbox: `etl run --all` carries every ticket of the migrated customers once with every reply and
comment, none about a network site; a re-run writes nothing; a message whose POST answer was lost is
recognised by what it is, not written twice; rollback removes them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from etl.errors import ConfigError
from etl.preflight import ticket_lookups
from tests.fixtures.pipeline import SandboxFactory, actions, entity_markers, marker_of
from tests.fixtures.splynx import SignedClient
from transformers.context import TicketLookups, TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError

LOOKUPS = TicketLookups(
    statuses={"OPEN": "1", "PENDING_INTERNAL": "5", "PENDING_EXTERNAL": "4", "CLOSED": "3"},
    groups={"support": "1", "billing": "2"},
    type_id="1",
)


def _ctx(ctx: TransformContext, **changes: Any) -> TransformContext:
    return replace(ctx, tickets=LOOKUPS, **changes)


def _ticket(**changes: Any) -> dict[str, Any]:
    record = {"id": "70", "created_at": "2025-03-04T15:20:05+00:00", "subject": "  No internet  since this morning",
              "description": "Lights are red on the router.\nI restarted it twice.", "status": "CLOSED",
              "priority": "CRITICAL", "ticketable_id": "1", "ticketable_type": "Account", "user_id": None,
              "ticket_group": {"id": "3", "name": "Billing"}}  # fmt: skip
    return {**record, **changes}


def test_a_ticket_keeps_its_subject_status_priority_group_and_opening_message(transform_ctx: TransformContext) -> None:
    result = transform_record("ticket", _ticket(), _ctx(transform_ctx))
    body = result.body
    assert result.target == "ticket" and result.marker == "ticket:70" == body["additional_attributes"]["sonar_id"]
    assert (body["customer_id"], body["priority"]) == ("31", "urgent")
    assert body["subject"] == "No internet since this morning"
    assert (body["status_id"], body["closed"], body["group_id"], body["type_id"]) == ("3", "1", "2", "1")
    assert (body["assign_to"], body["created_at"], body["note"]) == ("0", "2025-03-04 15:20:05", "Sonar ticket 70")
    assert body["message"] == {"message": "Lights are red on the router.\nI restarted it twice.",
                               "author_type": "customer", "customer_id": "31", "date": "2025-03-04",
                               "time": "15:20:05"}  # fmt: skip
    opened = transform_record("ticket", _ticket(status="PENDING_EXTERNAL", description=" "), _ctx(transform_ctx)).body
    assert (opened["status_id"], opened["closed"]) == ("4", "0") and "message" not in opened


def test_what_splynx_has_no_place_for_is_kept_in_the_note(transform_ctx: TransformContext) -> None:
    body = transform_record(
        "ticket", _ticket(ticket_group={"id": "9", "name": "Field Services"}, user_id="8"), _ctx(transform_ctx)
    ).body
    assert body["group_id"] == "0" and body["assign_to"] == "0"
    assert "Sonar group Field Services (no Splynx ticket group of that name: map it under [ticket_groups])" in (
        body["note"]
    )
    assert "assigned in Sonar to user 8, who was not migrated" in body["note"]
    users = {("user", "8"): "5"}
    assigned = _ctx(transform_ctx, mapped_id=lambda e, s: users.get((e, s)) or transform_ctx.dest_id(e, s))
    assert transform_record("ticket", _ticket(user_id="8"), assigned).body["assign_to"] == "5"


def test_a_ticket_without_lookups_or_a_known_status_fails_naming_the_setting(transform_ctx: TransformContext) -> None:
    with pytest.raises(ValidationError) as unread:
        transform_record("ticket", _ticket(), replace(transform_ctx, tickets=None))
    assert unread.value.problem.code == "no_ticket_lookups"
    partial = replace(LOOKUPS, statuses={"OPEN": "1"})
    with pytest.raises(ValidationError) as unknown:
        transform_record("ticket", _ticket(), replace(transform_ctx, tickets=partial))
    assert (unknown.value.problem.code, unknown.value.problem.value) == ("no_ticket_status", "CLOSED")
    assert "[ticket_statuses]" in (unknown.value.problem.fix or "")


def _reply(**changes: Any) -> dict[str, Any]:
    record = {"id": "501", "created_at": "2025-03-04T16:00:00+00:00", "ticket_id": "70", "body": "Still down.",
              "incoming": True, "author": "Ann", "user_id": None,
              "ticket": {"id": "70", "ticketable_id": "1", "ticketable_type": "Account"}}  # fmt: skip
    return {**record, **changes}


def test_replies_and_comments_are_messages_by_their_authors(transform_ctx: TransformContext) -> None:
    ctx = _ctx(transform_ctx, mapped_id=lambda e, s: {("ticket", "70"): "900", ("user", "4"): "7",
                                                       ("account", "1"): "31"}.get((e, s)))  # fmt: skip
    ctx = replace(ctx, dest_id=lambda e, s: {("ticket", "70"): "900", ("account", "1"): "31"}.get((e, s)))
    customer = transform_record("ticket_reply", _reply(), ctx)
    assert customer.target == "ticket_message" and customer.marker == "ticket_reply:501"
    assert customer.parent == {"ticket_id": "900"}
    assert customer.body == {"ticket_id": "900", "date": "2025-03-04", "time": "16:00:00", "message": "Still down.",
                             "hide_for_customer": "0", "author_type": "customer", "customer_id": "31"}  # fmt: skip
    staff = transform_record("ticket_reply", _reply(incoming=False, user_id="4"), ctx).body
    assert (staff["author_type"], staff["admin_id"], staff["hide_for_customer"]) == ("admin", "7", "0")
    note = transform_record("ticket_comment", {**_reply(id="33", user_id="4"), "incoming": None}, ctx)
    assert note.marker == "ticket_comment:33"
    assert (note.body["author_type"], note.body["admin_id"], note.body["hide_for_customer"]) == ("admin", "7", "1")
    with pytest.raises(SkipRecord, match="the ticket reply is empty"):
        transform_record("ticket_reply", _reply(body="  "), ctx)
    with pytest.raises(ValidationError) as orphan:
        transform_record("ticket_reply", _reply(ticket_id="71"), ctx)
    assert orphan.value.problem.code == "missing_parent"


class _Lists:
    """A Splynx client that only lists: what `ticket_lookups` reads."""

    def __init__(self, lists: dict[str, list[dict[str, Any]]]) -> None:
        self.lists = lists

    def list(self, path: str, **_: Any) -> list[dict[str, Any]]:
        return self.lists[path]


STATUSES = [
    {"id": 1, "title_for_agent": "New"}, {"id": 3, "title_for_agent": "Resolved"},
    {"id": 4, "title_for_agent": "Waiting on customer"}, {"id": 5, "title_for_agent": "Waiting on agent"},
]  # fmt: skip


def test_ticket_lookups_find_titles_and_refuse_what_splynx_lacks_in_one_line(tmp_path: Any) -> None:
    from etl.config import Settings

    lists = {"admin/support/tickets-statuses": STATUSES,
             "admin/support/tickets-types": [{"id": 2, "title": "Incident"}],
             "admin/support/tickets-groups": [{"id": 1, "title": "Support"}]}  # fmt: skip
    settings = Settings(ticket_type="incident", ticket_groups={"field services": "Support"})
    found = ticket_lookups(_Lists(lists), settings)  # type: ignore[arg-type]
    assert found.statuses == {"OPEN": "1", "PENDING_INTERNAL": "5", "PENDING_EXTERNAL": "4", "CLOSED": "3"}
    assert (found.type_id, found.groups) == ("2", {"support": "1", "field services": "1"})
    with pytest.raises(ConfigError, match="no ticket type titled 'Question'") as no_type:
        ticket_lookups(_Lists(lists), Settings())  # type: ignore[arg-type]
    assert "[tickets]" in (no_type.value.fix or "") and "incident" in str(no_type.value)
    with pytest.raises(ConfigError, match="no ticket status titled 'Closed'") as no_status:
        ticket_lookups(_Lists(lists), Settings(ticket_type="Incident", ticket_statuses={"CLOSED": "Closed"}))  # type: ignore[arg-type]
    assert "[ticket_statuses]" in (no_status.value.fix or "")


# -- through a sandbox ----------------------------------------------------------------------------------


def _messages(client: SignedClient) -> Counter[tuple[str, str, str, str]]:
    rows = client.rows("admin/support/ticket-messages")
    return Counter((str(r["ticket_id"]), str(r["date"]), str(r["time"]), str(r["message"])) for r in rows)


def test_every_ticket_of_a_migrated_customer_is_carried_once_with_its_messages(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=20)
    box.migrate_everything()
    box.etl("run", "--all")  # nothing changed: nothing written again
    with box.ledger() as ledger:
        customers = {s: d for s, (d, _) in ledger.mapped("account").items()}
        for entity in ("ticket", "ticket_reply", "ticket_comment"):
            assert actions(ledger, 2, entity, ["create", "update"]) == {}, entity
    tables = box.sonar.store.tables
    sonar = {str(t["id"]): t for t in tables["tickets"].values()
             if t["ticketable_type"] == "Account" and str(t["ticketable_id"]) in customers}  # fmt: skip
    assert set(entity_markers(box.splynx, "ticket")) == set(sonar) and sonar
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    tickets = {m.split(":", 1)[1]: row for row in client.rows("admin/support/tickets")
               if (m := marker_of(row)) and m.startswith("ticket:")}  # fmt: skip
    for sid, row in tickets.items():
        assert str(row["customer_id"]) == customers[str(sonar[sid]["ticketable_id"])]
        assert (row["closed"] in ("1", 1)) == (sonar[sid]["status"] == "CLOSED")
    messages = _messages(client)
    assert max(messages.values()) == 1  # no message twice
    replies = [r for r in tables["ticket_replies"].values() if str(r["ticket_id"]) in sonar]
    comments = [c for c in tables["ticket_comments"].values() if str(c["ticket_id"]) in sonar]
    openings = [t for t in sonar.values() if str(t.get("description") or "").strip()]
    assert sum(messages.values()) == len(replies) + len(comments) + len(openings)
    hidden = [r for r in client.rows("admin/support/ticket-messages") if str(r["hide_for_customer"]) == "1"]
    assert len(hidden) == len(comments)

    box.etl("rollback", "2", "--yes")
    box.etl("rollback", "1", "--yes")
    assert not client.rows("admin/support/tickets") and not client.rows("admin/support/ticket-messages")


def test_a_message_whose_answer_was_lost_is_recognised_not_written_twice(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=10)
    box.fix_planted_problems()
    box.etl("run", "--all", "--phases", "foundation,network,inventory,customers")
    box.splynx.faults.only = r"^POST admin/support/ticket-messages$"
    box.splynx.faults.drop_next = 2  # committed, then the connection drops before the answer
    box.etl("run", "--all", "--phases", "history", env=box.env(ETL_SPLYNX_SETTLE_SECONDS="0"))
    assert box.splynx.faults.injected["drop"] == 2
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    assert max(_messages(client).values()) == 1
    box.check()
