"""A second `etl run --all` after Sonar changed: only new and changed customers are written.

New accounts are created, changed ones updated in place (same Splynx id), unchanged ones not even
read again (the watermark), and accounts deleted or archived in Sonar are reported — and, with
`--sync-deletes`, disabled in Splynx, never deleted. `etl plan` predicts all of it without writing.
"""

from __future__ import annotations

from typing import Any

from etl.sandbox.sonar_store import SonarStore
from state.states import RunStatus
from tests.fixtures.pipeline import Sandbox, actions, event_count, marker_of, run_ids

CHANGED = (1, 2)
DELETED, ARCHIVED = 9, 10


def add_customer(store: SonarStore, n: int) -> int:
    """A new active Sonar account with a primary contact and an address, as a sales rep would enter it."""
    return store.add_account(
        f"New Customer {n}",
        contacts=[{"name": f"New Customer {n}", "email_address": f"new{n}@example.com", "primary": True,
                   "username": f"new.customer{n}",
                   "phone_numbers": [{"number": "5125550100", "phone_number_type_id": 1}]}],
        addresses=[{"line1": f"{n} Main St", "city": "Austin", "subdivision": "US_TX", "zip": "78701"}],
    )  # fmt: skip


def change_sonar(store: SonarStore) -> list[int]:
    """Two new accounts, two renamed, one deleted, one archived; returns the new ids."""
    new = [add_customer(store, n) for n in (1, 2)]
    for account_id in CHANGED:
        store.update_account(account_id, name=f"Renamed Customer {account_id}")
    store.delete_account(DELETED)
    store.archive_account(ARCHIVED)
    return new


def by_marker(box: Sandbox) -> dict[str, dict[str, Any]]:
    """Migrated Splynx customers by marker."""
    return {str(marker_of(row)): row for row in box.customers()}


def migrated_once(box: Sandbox) -> dict[str, dict[str, Any]]:
    """A successful first `--all` (the planted bad records fixed by overrides first)."""
    box.migrate_everything(workers=8)
    return by_marker(box)


def test_second_all_run_writes_only_new_and_changed_customers(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    new = change_sonar(sandbox.sonar.store)

    result = sandbox.etl("run", "--all", "--sync-deletes")

    assert "2 account(s) no longer in Sonar" in result.output
    with sandbox.ledger() as ledger:
        assert run_ids(ledger) == [1, 2]
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert actions(ledger, 2, "account") == {"create": 2, "update": 2}
        assert {i.source_id for i in ledger.items(2, entity="account")} == {*map(str, new), *map(str, CHANGED)}
    after = by_marker(sandbox)
    assert len(after) == len(before) + 2
    for account_id in CHANGED:
        row = after[f"account:{account_id}"]
        assert row["id"] == before[f"account:{account_id}"]["id"]  # updated in place
        assert row["name"] == f"Renamed Customer {account_id}"
    for account_id in (DELETED, ARCHIVED):
        row = after[f"account:{account_id}"]  # still there: a migration never deletes
        assert row["id"] == before[f"account:{account_id}"]["id"] and row["status"] == "disabled"
    untouched = set(before) - {f"account:{i}" for i in (*CHANGED, DELETED, ARCHIVED)}
    assert all(after[m] == before[m] for m in untouched)
    sandbox.check()


def test_deleted_accounts_are_only_reported_without_sync_deletes(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    sandbox.sonar.store.delete_account(DELETED)

    result = sandbox.etl("run", "--all")

    assert "1 account(s) no longer in Sonar" in result.output
    assert by_marker(sandbox)[f"account:{DELETED}"] == before[f"account:{DELETED}"]
    with sandbox.ledger() as ledger:
        assert not ledger.items(2, entity="account")  # nothing changed, nothing to write
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert "1 account(s) gone from Sonar" in (ledger.get_run(2).message or "")


def test_plan_predicts_creates_updates_skips_and_deletes_and_writes_nothing(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    change_sonar(sandbox.sonar.store)
    with sandbox.ledger() as ledger:
        events = event_count(ledger)

    output = sandbox.etl("plan", "--all").output

    row = next(line for line in output.splitlines() if "│ account " in line)
    create, update, skip, invalid, delete = (int(c) for c in row.split("│")[2:7])
    unchanged = len(before) - len(CHANGED) - 2  # less the deleted and the archived one
    assert (create, update, skip, invalid, delete) == (2, 2, unchanged, 0, 2)
    with sandbox.ledger() as ledger:
        assert event_count(ledger) == events
        assert run_ids(ledger) == [1]
    assert by_marker(sandbox) == before


def pilot_sharing_a_plan_across_companies(store: SonarStore) -> int:
    """An account of company 1 whose plan an account of company 2 also has (so its tariff needs both partners)."""
    accounts = store.tables["accounts"]
    plans: dict[int, set[int]] = {}
    for service in store.tables["account_services"].values():
        company = accounts[int(service["account_id"])].get("company_id", 1)
        plans.setdefault(int(service["service_id"]), set()).add(company)
    data = {i for i, s in store.tables["services"].items() if s["type"] == "DATA"}
    shared = {plan for plan, companies in plans.items() if companies >= {1, 2} and plan in data}
    return next(
        int(s["account_id"]) for _, s in sorted(store.tables["account_services"].items())
        if int(s["service_id"]) in shared and accounts[int(s["account_id"])].get("company_id", 1) == 1
        and accounts[int(s["account_id"])].get("archived_at") is None and int(s["account_id"]) not in (4, 6)
    )  # fmt: skip


def _tariffs(box: Sandbox) -> list[dict[str, Any]]:
    """Splynx's tariffs of every kind (a pilot customer's plan and add-ons)."""
    kinds = ("internet", "recurring", "voice", "one-time")
    return [t for kind in kinds for t in box.splynx.rows(f"admin/tariffs/{kind}")]


def test_a_pilot_customer_run_does_not_poison_the_later_full_run(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    pilot = pilot_sharing_a_plan_across_companies(store)
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--customer", str(pilot))
    tariffs = _tariffs(sandbox)  # the pilot's plan and add-ons: tariffs of every kind
    assert tariffs and all(len(t["partners_ids"]) == 1 for t in tariffs)  # only the pilot's partner so far

    sandbox.etl("run", "--all", "--continue-on-error")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert not [i for i in ledger.items(2) if i.state == "failed"]
        assert actions(ledger, 2, "service", ("update",))["update"] == len(tariffs)  # PUT with every partner
        partners = {dest for dest, _ in ledger.mapped("company").values()}
    after = _tariffs(sandbox)
    assert {t["id"] for t in tariffs} <= {t["id"] for t in after}  # the pilot's tariff updated in place
    assert all({str(p) for p in t["partners_ids"]} == partners for t in after)
    sandbox.check()
