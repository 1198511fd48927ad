"""Incremental runs see child changes: a changed contact, address, service or held IP brings its account back.

Sonar bumps `updated_at` on the changed child only (its account's stays), so the extractor also asks
each child collection for records changed since the watermark and re-reads their accounts. The
simulator changes children on their own (`SonarStore.update_child`), and these tests do so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_store import SonarStore
from etl.selection import Selection
from extractors.sonar import SonarClient, SonarExtractor
from state.states import RunStatus
from tests.fixtures.pipeline import SERVICES, Sandbox, actions, marker_of
from tests.test_incremental import by_marker, migrated_once

SKIP = {4, 6, 8}  # the planted bad records and the archived account


def _accounts(store: SonarStore, count: int, relation: str) -> list[int]:
    """The first good accounts that have at least one record of `relation`."""
    found = [a["id"] for a in store.accounts(include_archived=False) if a["id"] not in SKIP]
    return [a for a in found if store.children(a, relation)][:count]


def _primary_contact(store: SonarStore, account_id: int) -> int:
    contacts = store.children(account_id, "contacts")
    return int(next((c for c in contacts if c["primary"]), contacts[0])["id"])


def _physical_address(store: SonarStore, account_id: int) -> int:
    addresses = store.children(account_id, "addresses")
    return int(next((a for a in addresses if a["type"] == "PHYSICAL"), addresses[0])["id"])


def test_child_changes_find_their_accounts_and_leave_the_account_itself_unchanged(
    sonar_sim: SonarSimulator,
) -> None:
    store = sonar_sim.store
    since = datetime.now(UTC) - timedelta(seconds=1)
    changes: dict[int, tuple[str, dict[str, Any]]] = {}
    relations: list[tuple[str, dict[str, Any]]] = [
        ("contacts", {"name": "Changed Contact"}),
        ("addresses", {"line1": "1 Changed Rd"}),
        ("account_services", {"quantity": 2}),
        ("ip_assignments", {"description": "moved"}),
        ("custom_field_data", {"value": "changed"}),
        ("account_billing_parameter", {"due_days": 21}),
        ("phone_numbers", {"number": "5125550199"}),
    ]
    for relation, change in relations:
        for account_id in (a["id"] for a in store.accounts(include_archived=False)):
            if account_id in SKIP or account_id in changes:
                continue
            before = store.get("accounts", account_id)["updated_at"]
            try:
                store.update_child(account_id, relation, **change)
            except (KeyError, IndexError):
                continue  # this generated account has no such child: the next one
            assert store.get("accounts", account_id)["updated_at"] == before  # the child moved, not the account
            changes[account_id] = (relation, change)
            break

    with SonarExtractor(SonarClient(sonar_sim.url, sonar_sim.token), page_size=10) as extractor:
        found = {i for page in extractor.account_pages(Selection(since=since)) for i in page.ids}

    assert sorted(r for r, _ in changes.values()) == sorted(r for r, _ in relations)
    assert found == {str(a) for a in changes}


def test_second_run_after_a_contact_changed_updates_only_that_customer(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    [account_id] = _accounts(store, 1, "contacts")
    store.update_child(account_id, "contacts", _primary_contact(store, account_id), email_address="moved@example.com")

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert {i.source_id for i in ledger.items(2, entity="account")} == {str(account_id)}
        assert actions(ledger, 2, "account") == {"update": 1}
    after = by_marker(sandbox)
    assert after[f"account:{account_id}"]["email"] == "moved@example.com"
    assert {m for m in after if after[m] != before[m]} == {f"account:{account_id}"}


def test_second_run_after_an_address_changed_updates_only_that_customer(sandbox: Sandbox) -> None:
    before = migrated_once(sandbox)
    store = sandbox.sonar.store
    [account_id] = _accounts(store, 1, "addresses")
    store.update_child(account_id, "addresses", _physical_address(store, account_id), line1="77 Changed Rd", line2=None)

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert {i.source_id for i in ledger.items(2, entity="account")} == {str(account_id)}
    after = by_marker(sandbox)
    assert after[f"account:{account_id}"]["street_1"] == "77 Changed Rd"
    assert {m for m in after if after[m] != before[m]} == {f"account:{account_id}"}


def test_second_run_after_a_service_changed_updates_only_that_service(sandbox: Sandbox) -> None:
    migrated_once(sandbox)
    store = sandbox.sonar.store
    [account_id] = _accounts(store, 1, "account_services")
    service_id = store.update_child(account_id, "account_services", name_override="Renamed Plan")

    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert {i.source_id for i in ledger.items(2, entity="account")} <= {str(account_id)}
        services = {i.source_id: i for i in ledger.items(2, entity="account_service")}
        assert services[str(service_id)].action == "update"
        assert all(s.action in ("update", "skip", None) for s in services.values())
        assert {i for i, s in services.items() if s.action == "update"} == {str(service_id)}
    rows = {marker_of(r): r for r in sandbox.splynx.rows(SERVICES)}
    assert rows[f"account_service:{service_id}"]["description"] == "Renamed Plan"


def _held_assignment(store: SonarStore, kind: str) -> dict[str, Any]:
    """The first IP assignment held by a `kind` (RadiusAccount, UninventoriedMacAddress, InventoryItem)."""
    for assignment in store.tables["ip_assignments"].values():
        if assignment.get("ipassignmentable_type") == kind:
            return assignment
    raise AssertionError(f"the generator plants no IP held by a {kind}")


def _holder_account(store: SonarStore, assignment: dict[str, Any]) -> int:
    holder = assignment["ipassignmentable_id"]
    kind = assignment["ipassignmentable_type"]
    if kind == "RadiusAccount":
        return int(store.tables["radius_accounts"][holder]["account_id"])
    if kind == "UninventoriedMacAddress":
        return int(store.tables["uninventoried_mac_addresses"][holder]["account_id"])
    service = store.tables["inventory_items"][holder]["account_service_id"]
    return int(store.tables["account_services"][service]["account_id"])


def test_an_ip_held_by_a_radius_account_mac_or_cpe_or_a_cpe_mac_that_changed_brings_its_account_back(
    sonar_sim: SonarSimulator,
) -> None:
    store = sonar_sim.store
    since = datetime.now(UTC) - timedelta(seconds=1)
    kinds = ("RadiusAccount", "UninventoriedMacAddress", "InventoryItem")
    held = [_held_assignment(store, kind) for kind in kinds]
    for assignment in held:
        store.update("ip_assignments", assignment["id"], description="moved")
    items = store.tables["inventory_items"]
    cpe = next(  # a CPE serving someone else than the accounts above: its MAC field replaced
        d for d in store.tables["inventory_model_field_data"].values()
        if items[d["inventory_item_id"]].get("account_service_id")
        and str(d["value"]).count(":") == 5
        and items[d["inventory_item_id"]]["account_service_id"] not in {a.get("ipassignmentable_id") for a in held}
    )  # fmt: skip
    store.update("inventory_model_field_data", cpe["id"], value="02:AA:BB:CC:DD:EE")
    service = store.tables["account_services"][items[cpe["inventory_item_id"]]["account_service_id"]]

    with SonarExtractor(SonarClient(sonar_sim.url, sonar_sim.token), page_size=10) as extractor:
        found = {i for page in extractor.account_pages(Selection(since=since)) for i in page.ids}

    expected = {str(_holder_account(store, a)) for a in held} | {str(service["account_id"])}
    assert found == expected - {str(a) for a in SKIP}
