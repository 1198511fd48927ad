"""`etl rollback RUN`: delete exactly what a run created, children first, and resume after a failure.

What existed before the run (a customer created in Splynx by hand, the seeded partner and location)
and what a run only updated are never deleted.
"""

from __future__ import annotations

import time

import requests
from sqlalchemy import select

from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import (
    CUSTOMERS,
    EVENT,
    Sandbox,
    SandboxFactory,
    entity_markers,
    marker_of,
    run_ids,
    splynx_markers,
)
from tests.fixtures.splynx import signed_header

INVENTORY_PRODUCTS = "admin/inventory/products"  # deleted after the items (which are un-assigned first)


def create_customer_by_hand(box: Sandbox) -> int:
    """A customer that was in Splynx before any migration.

    Its nonce is a past clock reading in centiseconds, as the loader's are: the loader's later
    nonces must stay greater than the last one Splynx saw for the key.
    """
    nonce = int(time.time() * 100) - 100
    response = requests.post(
        box.splynx.api_url + CUSTOMERS,
        json={"name": "Walk-in Customer", "partner_id": 1, "location_id": 1, "login": "walkin",
              "status": "active", "category": "person"},
        headers={"Authorization": signed_header(box.pair.key, box.pair.secret, nonce)},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def migrate(box: Sandbox, limit: int = 5) -> None:
    """`etl run --limit N` that succeeds (the planted bad accounts fixed by overrides first)."""
    box.fix_planted_problems()
    box.etl("run", "--limit", str(limit))


def rollback_order(ledger: Ledger, run_id: int) -> list[str]:
    """Entities in the order the rollback moved their items to rolled_back (first occurrence)."""
    query = select(EVENT.c.entity).where(EVENT.c.run_id == run_id, EVENT.c.to_state == ItemState.ROLLED_BACK)
    with ledger.reader.connect() as conn:
        seen = list(conn.execute(query.order_by(EVENT.c.id)).scalars())
    return list(dict.fromkeys(seen))


def test_rollback_deletes_what_the_run_created_children_first_and_nothing_else(sandbox: Sandbox) -> None:
    walk_in = create_customer_by_hand(sandbox)
    migrate(sandbox)
    assert len(sandbox.customers()) == 5

    result = sandbox.etl("rollback", "1", "--yes")

    assert "rolled back by run 2" in result.output
    assert splynx_markers(sandbox.splynx) == {}
    customers = sandbox.splynx.rows(CUSTOMERS)
    assert [c["id"] for c in customers] == [walk_in] and marker_of(customers[0]) is None
    assert [p["id"] for p in sandbox.splynx.rows("admin/administration/partners")] == [1]
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert not ledger.items(1, state=[ItemState.LOADED, ItemState.VERIFIED])
        assert all(not ledger.mapped(entity) for entity in ledger.counts(1))
        order = rollback_order(ledger, 1)
        assert order.index("account_service") < order.index("account") < order.index("company")
        assert order.index("inventory_item") < order.index("inventory_model") < order.index("manufacturer")


def test_rollback_deletes_bundle_services_after_the_services_that_belong_to_them(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=60)
    services = box.sonar.store.tables["account_services"].values()
    packaged = sorted({s["account_id"] for s in services if s.get("unique_package_relationship_id")})
    assert len(packaged) >= 2, "the generator must put packages on some accounts"
    box.etl("init")
    box.etl("run", *(arg for account in packaged[:2] for arg in ("--customer", str(account))))
    assert len(entity_markers(box.splynx, "account_package")) == 2 and entity_markers(box.splynx, "package")

    box.etl("rollback", "1", "--yes")  # Splynx refuses to delete a bundle service its services still name

    assert splynx_markers(box.splynx) == {}
    with box.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        order = rollback_order(ledger, 1)
        assert order.index("account_service") < order.index("account_package") < order.index("account")
        assert order.index("package") < order.index("service")


def test_rollback_of_a_run_that_only_updated_deletes_nothing(sandbox: Sandbox) -> None:
    migrate(sandbox)
    sandbox.sonar.store.update_account(1, name="Renamed Customer 1")
    sandbox.etl("run", "--limit", "5")
    with sandbox.ledger() as ledger:
        assert {i.action for i in ledger.items(2, state=ItemState.VERIFIED)} == {"update"}
    rows = sandbox.splynx.rows(CUSTOMERS)

    result = sandbox.etl("rollback", "2", "--yes")

    assert "nothing left to roll back" in result.output
    assert sandbox.splynx.rows(CUSTOMERS) == rows
    with sandbox.ledger() as ledger:
        assert ledger.dest_id("account", "1") is not None


def test_an_interrupted_rollback_resumes_where_it_stopped(sandbox: Sandbox) -> None:
    migrate(sandbox)
    sandbox.splynx.forbidden.add(INVENTORY_PRODUCTS)  # services, customers, items go, then a delete is refused

    failed = sandbox.etl("rollback", "1", "--yes", code=None)

    assert failed.exit_code != 0 and len(failed.output.strip().splitlines()) == 1
    with sandbox.ledger() as ledger:
        first = ledger.runs(kind="rollback")[0]
        assert first.status == RunStatus.FAILED  # closed, not left running
        done = {i.entity for i in ledger.items(1, state=ItemState.ROLLED_BACK)}
        assert {"account_service", "account", "inventory_item"} <= done and "inventory_model" not in done
        assert not ledger.mapped("account") and ledger.mapped("inventory_model")
    assert sandbox.customers() == []

    sandbox.splynx.forbidden.clear()
    sandbox.etl("rollback", "1", "--yes")

    assert splynx_markers(sandbox.splynx) == {}
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert run_ids(ledger, "rollback") == [2, 3]
        second = ledger.get_run(3)
        assert second.status == RunStatus.SUCCEEDED and "already gone 0" in (second.message or "")
