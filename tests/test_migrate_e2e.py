"""`etl run` end to end: real simulators over HTTP, the real CLI, the ledger and Splynx checked after.

Each selection mode migrates exactly what it names (and the parents those records reference), every
record lands once, and the ledger's id map is what Splynx holds.
"""

from __future__ import annotations

from datetime import datetime

from etl.sandbox.sonar_store import SonarStore
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import (
    CUSTOMERS,
    Sandbox,
    SandboxFactory,
    entity_markers,
    marker_of,
    run_ids,
    states,
)
from transformers.inventory_item import status_and_mark

ALL_CUSTOMERS = 300  # every visible customer of a store with every planted case; scale: benchmarks/migrate.py
FOUNDATION = {"company", "custom_field", "user", "service", "package"}


def visible_accounts(store: SonarStore) -> dict[str, dict[str, object]]:
    """Sonar accounts an `--all` selection sees (archived ones are hidden by default)."""
    return {str(i): a for i, a in store.tables["accounts"].items() if a.get("archived_at") is None}


def services_of(store: SonarStore, account_ids: set[str]) -> set[str]:
    """Account-service ids belonging to the given accounts."""
    return {str(i) for i, s in store.tables["account_services"].items() if str(s["account_id"]) in account_ids}


def catalogue(store: SonarStore) -> set[str]:
    """Sonar's services of every type: each becomes a Splynx tariff of its kind, or a skipped item with its reason."""
    return {str(i) for i in store.tables["services"]}


def item_ids(box: Sandbox, run_id: int, entity: str) -> set[str]:
    """Sonar ids of one entity's items in a run."""
    with box.ledger() as ledger:
        return {i.source_id for i in ledger.items(run_id, entity=entity)}


def test_one_customer_migrates_the_customer_and_only_the_parents_it_references(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--customer", "1")

    store = sandbox.sonar.store
    own_services = services_of(store, {"1"})
    plans = {str(store.tables["account_services"][int(s)]["service_id"]) for s in own_services}
    assert item_ids(sandbox, 1, "account") == {"1"}
    assert item_ids(sandbox, 1, "account_service") == own_services
    assert item_ids(sandbox, 1, "service") == plans
    companies = {str(store.value("accounts", store.tables["accounts"][1], "company_id"))}
    companies |= {str(store.value("services", store.tables["services"][int(p)], "company_id")) for p in plans}
    assert item_ids(sandbox, 1, "company") == companies
    items = store.tables["inventory_items"].items()
    devices = {str(i) for i, d in items if str(d.get("account_service_id")) in own_services}
    assert item_ids(sandbox, 1, "inventory_item") == devices
    assert [marker_of(c) for c in sandbox.customers()] == ["account:1"]
    assert set(entity_markers(sandbox.splynx, "service")) <= plans
    assert len(plans) < len(store.tables["services"])  # a customer selection is not everything
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
    sandbox.check()


def test_limit_migrates_a_hundred_customers_active_first(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=130)
    box.fix_planted_problems()
    box.etl("run", "--limit", "100", "--workers", "8")

    accounts = item_ids(box, 1, "account")
    assert len(accounts) == 100
    assert len(box.customers()) == 100
    store = box.sonar.store
    active = {a for a, r in visible_accounts(store).items() if store.value("accounts", r, "account_status_id") == 1}
    assert accounts <= active or active <= accounts  # active ones first
    assert item_ids(box, 1, "account_service") == services_of(store, accounts)
    markers = box.check()
    assert markers["account:4"] == 1 and markers["account:6"] == 1  # fixed by overrides before the run
    long_name = next(c for c in box.customers() if marker_of(c) == "account:4")
    assert long_name["name"] == "Northwest Regional Cooperative"


def test_all_migrates_every_visible_customer_exactly_once(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=ALL_CUSTOMERS)
    box.fix_planted_problems()
    box.etl("run", "--all", "--workers", "8")

    store = box.sonar.store
    visible = visible_accounts(store)
    assert set(entity_markers(box.splynx, "account")) == set(visible)
    assert "8" not in visible  # the archived account stays behind
    with box.ledger() as ledger:
        run = ledger.get_run(1)
        assert run.status == RunStatus.SUCCEEDED
        assert states(ledger, 1, "account") == {"verified": len(visible)}
        assert sum(states(ledger, 1, "service").values()) == len(catalogue(store))
    markers = box.check()
    assert sum(1 for m in markers if m.startswith("account:")) == len(visible)


def test_status_filter_migrates_only_accounts_in_that_status(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--status", "Suspended")

    store = sandbox.sonar.store
    suspended = {a for a, r in visible_accounts(store).items() if store.value("accounts", r, "account_status_id") == 3}
    assert suspended, "the seed has suspended accounts"
    assert item_ids(sandbox, 1, "account") == suspended
    assert set(entity_markers(sandbox.splynx, "account")) == suspended
    sandbox.check()


def test_since_until_window_selects_accounts_created_or_updated_inside_it(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    stamps = sorted(str(a["created_at"]) for a in visible_accounts(store).values())
    since, until = stamps[len(stamps) // 4][:10], stamps[len(stamps) // 2][:10]

    sandbox.etl("run", "--since", since, "--until", until, "--continue-on-error")  # code 0 unless 4/6 inside
    expected = {
        a for a, r in visible_accounts(store).items()
        if any(since <= str(r[c])[:10] and _day(r[c]) <= _day(until + "T23:59:59+00:00")
               for c in ("created_at", "updated_at"))
    }  # fmt: skip
    assert expected and len(expected) < len(visible_accounts(store))
    assert item_ids(sandbox, 1, "account") == expected


def _day(stamp: object) -> datetime:
    return datetime.fromisoformat(str(stamp))


def test_phases_foundation_first_then_the_rest(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--all", "--phases", "foundation")
    with sandbox.ledger() as ledger:
        assert set(ledger.counts(1)) <= FOUNDATION
    assert sandbox.customers() == []
    assert entity_markers(sandbox.splynx, "service")

    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all", "--phases", "network,inventory,customers")
    with sandbox.ledger() as ledger:
        assert not set(ledger.counts(2)) & FOUNDATION
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
    assert set(entity_markers(sandbox.splynx, "account")) == set(visible_accounts(sandbox.sonar.store))
    sandbox.check()


def test_customers_phase_alone_on_an_empty_id_map_names_the_missing_parents_and_stops(sandbox: Sandbox) -> None:
    result = sandbox.etl("run", "--limit", "5", "--phases", "customers", code=1)

    assert "needs company" in result.output and "etl resume" in result.output
    with sandbox.ledger() as ledger:
        (run_id,) = run_ids(ledger)
        run = ledger.get_run(run_id)
        assert run.status == RunStatus.FAILED
        failed = ledger.items(run_id, state=ItemState.FAILED)
        assert len(failed) == 1  # stop-on-error: the first one, nothing after it
        assert "not been migrated" in (failed[0].error_message or "")
        assert failed[0].error_field == "partner_id" and "FOUNDATION" in (failed[0].fix_hint or "")
        assert not ledger.items(run_id, state=ItemState.VERIFIED)
    assert sandbox.splynx.rows(CUSTOMERS) == []


def splynx_customer_of(box: Sandbox, account_id: str) -> dict[str, object]:
    """The Splynx customer carrying an account's marker."""
    return next(c for c in box.customers() if marker_of(c) == f"account:{account_id}")


def test_child_account_loads_after_its_parent_and_points_at_it(sandbox: Sandbox) -> None:
    accounts = sandbox.sonar.store.tables["accounts"]
    accounts[2]["parent_account_id"] = 3  # the child is read before its parent
    accounts[3]["parent_account_id"] = 5  # and the parent has a parent of its own
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")

    child, parent, grandparent = (splynx_customer_of(sandbox, a) for a in ("2", "3", "5"))
    assert str(child["parent_id"]) == str(parent["id"])
    assert str(parent["parent_id"]) == str(grandparent["id"])
    assert str(grandparent["parent_id"]) == "0"
    sandbox.check()


def test_child_account_whose_parent_is_not_migrated_fails_with_missing_parent(sandbox: Sandbox) -> None:
    sandbox.sonar.store.tables["accounts"][2]["parent_account_id"] = 8  # archived: not in an --all selection
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all", "--continue-on-error", code=None)

    with sandbox.ledger() as ledger:
        (failed,) = [i for i in ledger.items(1, state=ItemState.FAILED) if i.entity == "account"]
    assert failed.source_id == "2" and failed.error_field == "parent_id"
    assert "account:2" not in {marker_of(c) for c in sandbox.customers()}


def test_customer_state_becomes_the_splynx_state_province_read_at_preflight(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--customer", "1")

    (customer,) = sandbox.customers()
    states = {row["id"]: row["code"] for row in sandbox.splynx.rows("admin/config/states-provinces")}
    assert customer["subdivision_id"] in states
    assert states[customer["subdivision_id"]] == customer["additional_attributes"]["sonar_state"]


def test_account_groups_become_splynx_customer_labels_created_once_by_title(sandbox: Sandbox) -> None:
    store = sandbox.splynx.store
    vip = store.next_id("labels")  # made by hand before the migration
    hand_made = {"id": vip, "module": "customers", "label": "VIP", "color": "#000000", "textColor": "#fff"}
    store.put("labels", vip, hand_made)
    sandbox.etl("run", "--customer", "1")
    sandbox.etl("run", "--customer", "2")

    labels = {row["label"]: row["id"] for row in sandbox.splynx.rows("admin/config/labels")}
    assert labels["VIP"] == vip  # adopted by its title, not created again
    assert set(labels) == {g["name"] for g in sandbox.sonar.store.tables["account_groups"].values()}
    customers = sandbox.customers()
    assert any(c["customer_labels"] for c in customers)
    for customer in customers:
        groups = customer["additional_attributes"].get("sonar_groups")
        wanted = sorted(labels[name] for name in groups.split(", ")) if groups else []
        assert sorted(customer["customer_labels"]) == wanted


def test_inventory_items_get_their_status_and_mark_by_an_update_after_the_create(sandbox: Sandbox) -> None:
    sandbox.etl("run", "--all", "--phases", "foundation,network,inventory")

    items = {marker_of(row): row for row in sandbox.splynx.rows("admin/inventory/items")}
    store = sandbox.sonar.store
    assert items
    for sonar_id, record in store.tables["inventory_items"].items():
        row = items.get(f"inventory_item:{sonar_id}")
        if row is None:
            continue
        status = store.value("inventory_items", record, "status")
        holder = store.value("inventory_items", record, "inventoryitemable_type")
        expected = status_and_mark(status, holder)
        assert (row["status"], row["mark"]) == expected, sonar_id
    assert {(r["status"], r["mark"]) for r in items.values()} - {("stock", "new")}  # some needed the update
    sandbox.check()


def test_one_child_customer_brings_its_parents_along(sandbox: Sandbox) -> None:
    accounts = sandbox.sonar.store.tables["accounts"]
    accounts[2]["parent_account_id"] = 3
    accounts[3]["parent_account_id"] = 5
    sandbox.etl("run", "--customer", "2")

    assert item_ids(sandbox, 1, "account") == {"2", "3", "5"}
    child, parent, grandparent = (splynx_customer_of(sandbox, a) for a in ("2", "3", "5"))
    assert str(child["parent_id"]) == str(parent["id"])
    assert str(parent["parent_id"]) == str(grandparent["id"])
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
    sandbox.check()


def test_delinquency_becomes_a_blocked_customer_and_the_status_switch_its_deactivation_period(
    sandbox: Sandbox,
) -> None:
    tables = sandbox.sonar.store.tables
    served = next(a for a, r in visible_accounts(sandbox.sonar.store).items()
                  if r["account_status_id"] == 1 and a not in {"3", "4", "5", "6"})
    tables["accounts"][int(served)]["is_delinquent"] = True
    params = next(p for p in tables["account_billing_parameters"].values() if str(p["account_id"]) == served)
    params.update(switch_status_after_delinquency=True, days_of_delinquency_for_status_switch=30,
                  delinquency_account_status_id=3)  # Suspended: does not activate the account
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")

    customer = splynx_customer_of(sandbox, served)
    assert customer["status"] == "blocked"  # no access, still billed: what Splynx does to a late payer
    (billing,) = [b for b in sandbox.splynx.rows("customer_billing") if b["id"] == customer["id"]]
    assert (billing["billing_due"], billing["grace_period"]) == (21, 30)
    services = sandbox.splynx.rows(f"admin/customers/customer/{customer['id']}/internet-services")
    assert services and {s["status"] for s in services} == {"active"}
    sandbox.check()
