"""Splynx inventory items keep their customer: created in the inventory phase, assigned in the customers phase.

Why two writes: the APIB's *Item Create* has no `customer_id` (only *Item Update* does), and the customer
does not exist yet when the inventory is loaded. These tests drive the real CLI against both simulators
and read Splynx back: every item held at an account's address or on its service carries that account's
customer, items in stock carry none, a moved item follows its new account, and a rollback leaves nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from etl.rollback import undoable_items
from etl.sandbox.sonar_store import SonarStore
from loaders.splynx import SplynxLoader
from loaders.splynx_targets import target
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import EVENT, Sandbox, marker_of, states
from tests.fixtures.splynx import SignedClient
from tests.test_splynx_simulator import _prepare, errors_of
from transformers import inventory_assignment
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError

ITEMS = "admin/inventory/items"

# --- the transformer ---------------------------------------------------------------------------------


def item(holder: str = "Address", holder_id: int = 6, **fields: Any) -> dict[str, Any]:
    """A staged `inventory_assignment` record: an item, its holder and its service folded in."""
    return {"id": "41", "inventoryitemable_type": holder, "inventoryitemable_id": str(holder_id), **fields}


CTX = TransformContext.from_id_map({("inventory_item", "41"): "900", ("account", "7"): "17", ("account", "8"): "18"})


def test_an_item_at_an_accounts_address_is_put_with_that_customer_on_the_item_made_for_it() -> None:
    record = item(inventoryitemable={"id": "6", "addressable_type": "Account", "addressable_id": "7"})
    result = transform_record("inventory_assignment", record, CTX)
    assert (result.target, result.body, result.parent) == ("inventory_item_customer", {"customer_id": "17"},
                                                          {"item_id": "900"})  # fmt: skip
    assert not result.extras and result.marker == "inventory_assignment:41"


def test_an_item_on_an_accounts_service_is_that_accounts_and_the_address_wins_when_both_say() -> None:
    on_service = item("Vehicle", 2, account_service_id="5", account_service={"id": "5", "account_id": "8"})
    assert transform_record("inventory_assignment", on_service, CTX).body == {"customer_id": "18"}
    both = {**on_service, **item(inventoryitemable={"addressable_type": "Account", "addressable_id": "7"})}
    assert inventory_assignment.holder_account(both) == "7"


@pytest.mark.parametrize(
    "record",
    [
        item("InventoryLocation", 1),
        item(inventoryitemable={"addressable_type": "InventoryLocation", "addressable_id": "1"}),
        item("User", 3, account_service=None),
    ],
    ids=["in stock", "at a location's address", "with a user"],
)
def test_an_item_held_by_no_account_is_skipped_naming_its_holder(record: dict[str, Any]) -> None:
    with pytest.raises(SkipRecord, match="not at an account's address nor on its service"):
        transform_record("inventory_assignment", record, CTX)


def test_an_item_of_an_account_not_in_splynx_is_skipped_and_a_missing_item_fails() -> None:
    archived = item(inventoryitemable={"addressable_type": "Account", "addressable_id": "99"})
    with pytest.raises(SkipRecord, match="an account that is not in Splynx"):
        transform_record("inventory_assignment", archived, CTX)
    unmade = {**item(inventoryitemable={"addressable_type": "Account", "addressable_id": "7"}), "id": "42"}
    with pytest.raises(ValidationError) as failed:
        transform_record("inventory_assignment", unmade, CTX)
    assert failed.value.problem.field == "item_id" and "inventory_item 42" in failed.value.problem.message


# --- the Splynx simulator ---------------------------------------------------------------------------


def test_the_simulator_sets_an_items_customer_by_update_only_checks_it_and_guards_its_delete(
    splynx_client: SignedClient,
) -> None:
    ids = _prepare(splynx_client)
    item_id = splynx_client.create(ITEMS, {"product_id": ids["product"], "customer_id": ids["customer"]})
    path, customer = f"{ITEMS}/{item_id}", f"admin/customers/customer/{ids['customer']}"
    assert int(splynx_client.get(path).json()["customer_id"]) == 0  # Item Create has no customer_id

    assert "customer_id" in errors_of(splynx_client.put(path, json={"customer_id": 999}))
    assert splynx_client.put(path, json={"customer_id": ids["customer"]}).status_code == 202
    assert int(splynx_client.get(path).json()["customer_id"]) == ids["customer"]
    assert splynx_client.delete(customer).status_code == 400  # the item still holds it
    assert splynx_client.put(path, json=dict(target("inventory_item_customer").undo or {})).status_code == 202
    assert splynx_client.delete(customer).status_code == 204


def test_the_loader_undoes_an_items_customer_and_counts_a_vanished_item_as_gone(
    splynx_loader: SplynxLoader, splynx_client: SignedClient
) -> None:
    ids = _prepare(splynx_client)
    item_id = splynx_client.create(ITEMS, {"product_id": ids["product"]})
    splynx_client.put(f"{ITEMS}/{item_id}", json={"customer_id": ids["customer"]})

    assert splynx_loader.undo("inventory_item_customer", {"item_id": str(item_id)}) is True
    assert int(splynx_client.get(f"{ITEMS}/{item_id}").json()["customer_id"]) == 0
    assert splynx_loader.undo("inventory_item_customer", {"item_id": "9999"}) is False


# --- end to end -------------------------------------------------------------------------------------


def address_of(store: SonarStore, account_id: int) -> int:
    """The first address of an account."""
    addresses = store.tables["addresses"]
    owned = (i for i, a in addresses.items() if a["addressable_id"] == account_id)
    return min(i for i in owned if store.value("addresses", addresses[i], "addressable_type") == "Account")


def service_of(store: SonarStore, account_id: int) -> int:
    """The first service of an account."""
    return min(i for i, s in store.tables["account_services"].items() if s["account_id"] == account_id)


def expected_account(store: SonarStore, record: dict[str, Any]) -> str | None:
    """The account holding a Sonar item, read straight from the simulator's tables (not the transformer)."""
    if store.value("inventory_items", record, "inventoryitemable_type") == "Address":
        address = store.tables["addresses"][record["inventoryitemable_id"]]
        if store.value("addresses", address, "addressable_type") == "Account":
            return str(address["addressable_id"])
    service = store.tables["account_services"].get(record.get("account_service_id") or 0)
    return None if service is None else str(service["account_id"])


def plant_held_items(store: SonarStore) -> tuple[int, int]:
    """An item at account 2's address on no service, and one on account 7's service held in a vehicle."""
    at_address = store.insert("inventory_items", inventory_model_id=1, inventoryitemable_id=address_of(store, 2))
    on_service = store.insert("inventory_items", inventory_model_id=2, inventoryitemable_type="Vehicle",
                              inventoryitemable_id=1, account_service_id=service_of(store, 7))  # fmt: skip
    return at_address, on_service


def customers_of_items(box: Sandbox) -> dict[str, int]:
    """Sonar item id -> the Splynx customer id its Splynx item holds (0: none)."""
    rows = box.splynx.rows(ITEMS)
    return {str(marker_of(r)).split(":", 1)[1]: int(r.get("customer_id") or 0) for r in rows if marker_of(r)}


def assert_items_follow_their_accounts(box: Sandbox, only: set[str] | None = None) -> int:
    """Each migrated item holds its account's Splynx customer, or none; returns how many are assigned."""
    store = box.sonar.store
    held = customers_of_items(box)
    assigned = 0
    with box.ledger() as ledger:
        for sonar_id, customer_id in held.items():
            account = expected_account(store, store.tables["inventory_items"][int(sonar_id)])
            if only is not None and account not in only:
                account = None
            want = ledger.dest_id("account", account) if account else None
            assert customer_id == int(want or 0), f"item {sonar_id}: account {account}, Splynx customer {customer_id}"
            assigned += want is not None
    return assigned


def test_all_gives_every_held_item_its_customer_and_items_in_stock_none(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    at_address, on_service = plant_held_items(store)
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")

    held = customers_of_items(sandbox)
    assert len(held) == len(store.tables["inventory_items"])
    assert assert_items_follow_their_accounts(sandbox) > 2
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
        customer = {a: int(ledger.dest_id("account", a) or 0) for a in ("2", "7")}
        assert set(states(ledger, 1, "inventory_assignment")) == {"verified", "skipped"}
        details = select(EVENT.c.detail).where(EVENT.c.run_id == 1, EVENT.c.entity == "inventory_assignment",
                                               EVENT.c.to_state == ItemState.SKIPPED)  # fmt: skip
        with ledger.reader.connect() as conn:
            assert any("held by InventoryLocation" in (d or "") for d in conn.execute(details).scalars())
    assert (held[str(at_address)], held[str(on_service)]) == (customer["2"], customer["7"])
    in_stock = [str(i) for i, r in store.tables["inventory_items"].items()
                if store.value("inventory_items", r, "inventoryitemable_type") == "InventoryLocation"]  # fmt: skip
    assert in_stock and all(held[i] == 0 for i in in_stock)
    sandbox.check()


def test_one_customer_run_assigns_that_customers_items(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    at_address, _ = plant_held_items(store)
    sandbox.etl("run", "--customer", "2")

    held = customers_of_items(sandbox)
    own = {str(i) for i, r in store.tables["inventory_items"].items() if expected_account(store, r) == "2"}
    assert str(at_address) in own and set(held) == own  # the address-only item came along too
    with sandbox.ledger() as ledger:
        customer = int(ledger.dest_id("account", "2") or 0)
        assert ledger.get_run(1).status == RunStatus.SUCCEEDED
    assert customer and set(held.values()) == {customer}
    sandbox.check()


def test_an_item_moved_to_another_account_in_sonar_is_reassigned_by_the_next_run(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    at_address, _ = plant_held_items(store)
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")
    store.update("inventory_items", at_address, inventoryitemable_id=address_of(store, 9))
    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        moved = ledger.item(2, "inventory_assignment", str(at_address))
        assert moved is not None and moved.state == ItemState.VERIFIED
        assert states(ledger, 2, "inventory_assignment").get("verified") == 1  # the others are unchanged
        assert customers_of_items(sandbox)[str(at_address)] == int(ledger.dest_id("account", "9") or 0)
    assert_items_follow_their_accounts(sandbox)
    sandbox.check()


def test_an_item_taken_back_to_stock_loses_its_customer_on_the_next_run(sandbox: Sandbox) -> None:
    store = sandbox.sonar.store
    at_address, _ = plant_held_items(store)
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")
    assert customers_of_items(sandbox)[str(at_address)] != 0
    store.update("inventory_items", at_address, inventoryitemable_type="InventoryLocation", inventoryitemable_id=1)
    sandbox.etl("run", "--all")

    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert states(ledger, 2, "inventory_assignment").get("verified") == 1
    assert customers_of_items(sandbox)[str(at_address)] == 0
    assert_items_follow_their_accounts(sandbox)
    sandbox.check()


def test_rollback_unassigns_the_items_before_deleting_their_customers_and_leaves_splynx_empty(
    sandbox: Sandbox,
) -> None:
    plant_held_items(sandbox.sonar.store)
    sandbox.fix_planted_problems()
    sandbox.etl("run", "--all")
    with sandbox.ledger() as ledger:
        assert undoable_items(ledger, 1, "inventory_assignment")

    result = sandbox.etl("rollback", "1", "--yes")

    assert "put back" in result.output
    assert [r for r in sandbox.splynx.rows(ITEMS) if marker_of(r)] == []
    assert [r for r in sandbox.splynx.rows("admin/customers/customer") if marker_of(r)] == []
    with sandbox.ledger() as ledger:
        assert ledger.get_run(1).status == RunStatus.ROLLED_BACK
        assert not ledger.mapped("inventory_assignment") and not ledger.mapped("account")
        assert not undoable_items(ledger, 1, "inventory_assignment")
