"""Each Sonar note about an account becomes a comment of its Splynx customer, once, and goes with rollback.

The transformer on its own (sticky notes pinned, the author mapped or named, the marker in the name);
then through a sandbox: a run carries every account note (and no note about anything else), a re-run
writes none again, a note written or edited in Sonar afterwards is found by the next incremental run (its
account did not change), and rollback removes every comment the runs made.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fixtures.pipeline import SandboxFactory, actions, entity_markers
from tests.fixtures.sonar_records import AccountNoteFactory
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord


def test_a_sticky_note_is_a_pinned_comment_by_its_author_with_the_marker_in_its_name(
    transform_ctx: TransformContext,
) -> None:
    record = AccountNoteFactory(id="5", created_at="2025-03-04T09:15:00-05:00")
    ctx = replace(transform_ctx, mapped_id=lambda entity, sid: "21" if (entity, sid) == ("user", "1") else None)
    payload = transform_record("account_note", record, ctx)
    body = payload.body
    assert payload.target == "customer_note" and payload.parent == {"customer_id": "31"}
    assert (body["customer_id"], body["datetime"], body["type"]) == ("31", "2025-03-04 14:15:00", "comment")
    assert (body["is_pinned"], body["class"], body["title"]) == (1, "warning", "Gate code 4471 - dog in yard.")
    assert body["comment"] == "Gate code 4471 - dog in yard.\nCall before visiting."
    assert body["name"] == "Sonar note 5 [sonar_id=account_note:5]" and payload.marker == "account_note:5"
    assert "additional_attributes" not in body


def test_a_note_by_a_user_not_migrated_names_its_author_and_an_empty_note_is_skipped(
    transform_ctx: TransformContext,
) -> None:
    ctx = replace(transform_ctx, mapped_id=lambda entity, sid: None)
    body = transform_record("account_note", AccountNoteFactory(id="6", user_id="9", priority="NORMAL",
                                                               message="x" * 80), ctx).body  # fmt: skip
    assert (body["administrator_id"], body["is_pinned"], body["class"]) == ("0", 0, "default")
    assert body["name"].startswith("by Sonar user 9, Sonar note 6 ") and len(body["title"]) == 50
    with pytest.raises(SkipRecord, match="the note is empty"):
        transform_record("account_note", AccountNoteFactory(id="7", message="  "), ctx)


def test_account_notes_are_carried_once_found_again_when_written_later_and_rolled_back(
    make_sandbox: SandboxFactory,
) -> None:
    from etl.sandbox.sonar_data import add_note, edit_note

    box = make_sandbox(customers=20)
    box.migrate_everything()
    with box.ledger() as ledger:
        customers = set(ledger.mapped("account"))
    notes = box.sonar.store.tables["notes"].values()
    about_customers = {str(n["id"]) for n in notes
                       if n["noteable_type"] == "Account" and str(n["noteable_id"]) in customers}  # fmt: skip
    assert about_customers and any(n["noteable_type"] != "Account" for n in notes)
    assert set(entity_markers(box.splynx, "account_note")) == about_customers

    account = min(customers, key=int)
    new_note = add_note(box.sonar.store, int(account), "Moved the router to the basement.")
    edited = min(about_customers, key=int)
    edit_note(box.sonar.store, int(edited), "Gate code changed to 9920.")
    box.etl("run", "--all")  # incremental: found through the notes, not the accounts
    with box.ledger() as ledger:
        assert actions(ledger, 2, "account_note", ["create", "update"]) == {"create": 1, "update": 1}
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    comments = {m: row for m, row in ((r["name"], r) for r in client.rows("admin/customers/customer-notes"))}
    assert any(f"account_note:{new_note}]" in name for name in comments)
    assert any(row["comment"] == "Gate code changed to 9920." for row in comments.values())
    box.check()
    box.etl("rollback", "2", "--yes")
    box.etl("rollback", "1", "--yes")
    assert entity_markers(box.splynx, "account_note") == {}
