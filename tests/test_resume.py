"""Stop on the first bad record, fix it (locally or at the source), resume: only what was left runs.

The sandbox plants two bad accounts: 4 has a 300-character name (refused by the transformer) and 6
reuses account 5's login (refused by Splynx). With one worker the load order is fixed, so account 6
is the one refused.
"""

from __future__ import annotations

from typing import Any

from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import (
    CUSTOMERS,
    Sandbox,
    entity_markers,
    event_count,
    item_events,
    marker_of,
    states,
)

ONE_WORKER = ("--workers", "1")


def failed_ids(ledger: Ledger, run_id: int, entity: str = "account") -> set[str]:
    """Sonar ids of a run's failed items of one entity."""
    return {i.source_id for i in ledger.items(run_id, state=ItemState.FAILED, entity=entity)}


def verified_events(ledger: Ledger, run_id: int) -> dict[tuple[str, str], int]:
    """Event counts of the run's verified items: a resume must not touch them."""
    verified = {(i.entity, i.source_id) for i in ledger.items(run_id, state=ItemState.VERIFIED)}
    return {key: n for key, n in item_events(ledger, run_id).items() if key in verified}


def splynx_customers(box: Sandbox) -> dict[str, dict[str, Any]]:
    """Migrated Splynx customers by marker."""
    return {str(marker_of(row)): row for row in box.customers()}


def test_stop_on_error_stops_at_the_first_failure_and_a_local_fix_resumes_only_what_was_left(
    sandbox: Sandbox,
) -> None:
    result = sandbox.etl("run", "--all", *ONE_WORKER, code=1)
    assert "etl resume 1" in result.output

    with sandbox.ledger() as ledger:
        run = ledger.get_run(1)
        assert run.status == RunStatus.FAILED
        assert failed_ids(ledger, 1) == {"4"}  # the first failure, and nothing was attempted after it
        assert states(ledger, 1, "account")["extracted"] > 0
        assert "verified" not in states(ledger, 1, "account_service")
        before = verified_events(ledger, 1)
    first_customers = splynx_customers(sandbox)
    assert first_customers and "account:4" not in first_customers

    listing = sandbox.etl("failures").output
    for expected in ("account", "4", "name", "256", "etl fix account 4"):
        assert expected in listing

    sandbox.etl("fix", "account", "4", "--set", "name=Northwest Regional Cooperative")
    sandbox.etl("resume", code=1)  # goes on until account 6's login is refused by Splynx
    with sandbox.ledger() as ledger:
        assert failed_ids(ledger, 1) == {"6"}
    sandbox.etl("fix", "account", "6", "--set", "login=sonar-6")
    sandbox.etl("resume", "1")

    after = splynx_customers(sandbox)
    for marker, row in first_customers.items():
        assert after[marker]["id"] == row["id"]  # created once, never again
    new_ids = [row["id"] for marker, row in after.items() if marker not in first_customers]
    assert min(new_ids) > max(row["id"] for row in first_customers.values())  # only the rest was POSTed
    assert after["account:4"]["name"] == "Northwest Regional Cooperative"
    assert after["account:6"]["login"] == "sonar-6"
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
        assert {k: n for k, n in item_events(ledger, 1).items() if k in before} == before
    sandbox.check()


def test_a_fix_at_the_source_is_re_extracted_on_resume(sandbox: Sandbox) -> None:
    sandbox.etl("init")
    sandbox.etl("fix", "account", "4", "--set", "name=Northwest Regional Cooperative")
    sandbox.etl("run", "--all", *ONE_WORKER, code=1)
    with sandbox.ledger() as ledger:
        assert failed_ids(ledger, 1) == {"6"}
        stale_hash = ledger.item(1, "account", "6").source_hash  # type: ignore[union-attr]

    store = sandbox.sonar.store
    contact = next(c for c in store.tables["contacts"].values() if c["contactable_id"] == 6 and c.get("primary"))
    store.update("contacts", contact["id"], username="danny.steele.six")
    sandbox.etl("resume")

    with sandbox.ledger() as ledger:
        item = ledger.item(1, "account", "6")
        assert item is not None and item.state == ItemState.VERIFIED
        assert item.source_hash != stale_hash  # fetched again from Sonar, not the staged copy
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
    assert splynx_customers(sandbox)["account:6"]["login"] == "danny.steele.six"
    sandbox.check()


def test_continue_on_error_records_every_failure_and_migrates_the_rest(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--all", "--continue-on-error", code=1)

    visible = {str(i) for i, a in sandbox.sonar.store.tables["accounts"].items() if a.get("archived_at") is None}
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.FAILED
        refused = failed_ids(ledger, 1)
        assert "4" in refused and refused & {"5", "6"} and len(refused) == 2
        orphans = ledger.items(1, state=ItemState.FAILED, entity="account_service")
        assert orphans and all(i.error_field == "customer_id" for i in orphans)  # their account failed
        assert states(ledger, 1, "account")["verified"] == len(visible) - 2
    assert set(entity_markers(sandbox.splynx, "account")) == visible - refused
    sandbox.check()


def test_resume_of_a_succeeded_run_writes_nothing(sandbox: Sandbox) -> None:
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--limit", "12")
    rows = sandbox.splynx.rows(CUSTOMERS)
    with sandbox.ledger() as ledger:
        events = event_count(ledger)

    result = sandbox.etl("resume", "1")

    assert "nothing to resume" in result.output
    with sandbox.ledger() as ledger:
        assert event_count(ledger) == events
    assert sandbox.splynx.rows(CUSTOMERS) == rows


def test_a_second_run_of_the_same_selection_skips_everything_unchanged(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--limit", "3")  # accounts 1, 2 and 3: active, none refused
    rows = sandbox.splynx.rows(CUSTOMERS)

    sandbox.etl("run", "--limit", "3")

    with sandbox.ledger() as ledger:
        for entity, per_state in ledger.counts(2).items():
            assert set(per_state) == {"skipped"}, entity
        assert sum(states(ledger, 2, "account").values()) == 3
    assert sandbox.splynx.rows(CUSTOMERS) == rows  # not even a PUT
