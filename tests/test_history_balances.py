"""Each customer's Sonar balance reaches Splynx as one opening-balance transaction, and `etl reconcile` proves it.

The transformer's rule and the balance reader on their own; then, through a sandbox: a run carries every
balance, `etl reconcile` finds no difference, a second run writes none again, a transaction added in
Splynx by hand is reported with the customer, both amounts and the fix (exit 6), and rollback removes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from extractors.sonar_balances import account_balance
from tests.fixtures.pipeline import Sandbox, SandboxFactory, actions, marker_of
from tests.fixtures.sonar_records import IdMap
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError


def _balance(cents: int, account_id: str = "1", as_of: str = "2025-05-04T10:00:00+00:00") -> dict[str, Any]:
    return {"id": account_id, "account_id": account_id, "balance": cents, "as_of": as_of, "transactions": 12,
            "created_at": as_of, "updated_at": as_of, "_version": None}  # fmt: skip


def test_an_owed_balance_is_a_debit_and_a_credit_balance_a_credit_of_its_customer(
    transform_ctx: TransformContext,
) -> None:
    owed = transform_record("account_balance", _balance(1234), transform_ctx)
    held = transform_record("account_balance", _balance(-500), transform_ctx)

    assert owed.target == "billing_transaction" and owed.parent == {"customer_id": "31"}
    body = owed.body
    assert (body["type"], body["price"], body["customer_id"], body["date"]) == ("debit", "12.34", "31", "2025-05-04")
    assert (body["quantity"], body["tax_percent"], body["category"]) == (1, "0", "1")
    assert body["description"] == "Opening balance from Sonar, as of 2025-05-04"
    assert body["additional_attributes"]["sonar_id"] == "account_balance:1" == owed.marker
    assert (held.body["type"], held.body["price"]) == ("credit", "5.00")


def test_a_zero_balance_is_skipped_and_an_unmigrated_customer_is_a_missing_parent(
    transform_ctx: TransformContext,
) -> None:
    with pytest.raises(SkipRecord, match="the balance is 0"):
        transform_record("account_balance", _balance(0), transform_ctx)
    with pytest.raises(ValidationError) as excinfo:
        transform_record("account_balance", _balance(700), TransformContext(dest_id=IdMap().dest_id))
    assert (excinfo.value.problem.code, excinfo.value.problem.field) == ("missing_parent", "customer_id")


class _Pages:
    """A Sonar client answering `core_transactions` from a list, newest first, `per_page` at a time."""

    def __init__(self, transactions: list[dict[str, Any]], per_page: int) -> None:
        self.transactions, self.per_page, self.calls = transactions, per_page, 0

    def execute(self, _doc: Any, variables: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        page = variables["paginator"]["page"]
        chunk = self.transactions[(page - 1) * self.per_page : page * self.per_page]
        pages = -(-len(self.transactions) // self.per_page)
        return {"core_transactions": {"entities": chunk, "page_info": {"total_pages": pages}}}


def test_the_balance_is_the_latest_transactions_whatever_order_and_pages_sonar_uses() -> None:
    rows = [{"id": str(n), "datetime": f"2025-0{n}-01T00:00:00+00:00", "running_balance": n * 100} for n in (9, 3)]
    rows += [{"id": str(n), "datetime": f"2025-0{n}-01T00:00:00+00:00", "running_balance": n * 100} for n in (1, 7, 2)]
    client = _Pages(rows, per_page=2)

    record = account_balance(client, "5")  # type: ignore[arg-type]

    assert (record["balance"], record["as_of"], record["transactions"]) == (900, "2025-09-01T00:00:00+00:00", 5)
    assert client.calls == 3 and record["id"] == record["account_id"] == "5"
    assert account_balance(_Pages([], per_page=2), "6")["balance"] == 0  # type: ignore[arg-type]


# -- through a sandbox ----------------------------------------------------------------------------------


def _deposits(client: SignedClient, customers: dict[str, str]) -> dict[str, Decimal]:
    """Splynx balance (`deposit`) of each migrated account's customer, by Sonar account id."""
    return {a: Decimal(client.get(f"admin/customers/customer-billing/{c}").json()["deposit"])
            for a, c in customers.items()}  # fmt: skip


def test_every_customers_balance_is_carried_reconciled_and_rolled_back(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=60)
    box.migrate_everything()
    box.etl("run", "--all")  # Sonar's histories did not change: no balance is written again
    with box.ledger() as ledger:
        assert actions(ledger, 2, "account_balance", ["create", "update"]) == {}
        customers = {s: d for s, (d, _) in ledger.mapped("account").items()}
        carried = {i.source_id for i in ledger.items(1, entity="account_balance") if i.action == "create"}
        zero = ledger.skip_reasons(1)["account_balance"]
    assert len(carried) >= 5, "some sandbox customers owe or are in credit"
    assert zero == {"the balance is 0: nothing to carry over": len(customers) - len(carried)}

    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    deposits = _deposits(client, customers)
    owed = {a: b for a, b in _sonar_balances(box).items() if a in customers}
    assert {a: -d for a, d in deposits.items() if d} == owed  # to the cent, every customer (the others owe 0)
    assert any(b > 0 for b in owed.values()) and any(b < 0 for b in owed.values())

    assert "Not reconciled yet" in box.etl("report", "1").output
    result = box.etl("reconcile", "1")
    assert "every balance matches to the cent" in result.output
    assert "customers reconciled, 0 differ" in box.etl("report", "1").output

    account = min(carried, key=int)
    customer = customers[account]
    by_hand = client.create("admin/finance/transactions", {"type": "debit", "customer_id": customer, "price": "10.00",
                  "tax_percent": "0", "date": "2025-06-02", "category": 1, "description": "added by hand"})  # fmt: skip
    result = box.etl("reconcile", "1", code=6)
    line = next(row for row in result.output.splitlines() if f" {customer} " in row)
    assert account in line and "10.00" in line and "etl run --customer" in result.output
    assert "1 differ" in result.output

    result = box.etl("rollback", "1", "--yes", code=1)  # its customer holds a transaction the run did not make
    assert "used by 1 billing transactions" in result.output
    assert client.delete(f"admin/finance/transactions/{by_hand}").status_code in (200, 204)
    box.etl("rollback", "1", "--yes")
    left = [m for row in box.splynx.rows("admin/finance/transactions") if (m := marker_of(row))]
    assert left == []


def _sonar_balances(box: Sandbox) -> dict[str, Decimal]:
    """Each account's latest running balance in the Sonar simulator's own table, as a decimal amount."""
    latest: dict[str, tuple[str, int, int]] = {}
    for row in box.sonar.store.tables["core_transactions"].values():
        key = (str(row.get("datetime")), int(row["id"]), int(row["running_balance"]))
        account = str(row["account_id"])
        if account not in latest or key > latest[account]:
            latest[account] = key
    return {a: Decimal(k[2]) / 100 for a, k in latest.items() if k[2] != 0}


def test_reconcile_refuses_an_unknown_run_a_copy_run_and_a_run_without_the_history_phase(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=12)
    box.etl("run", "--all", "--phases", "foundation")
    result = box.etl("reconcile", "1", code=2)
    assert "run 1 carried no balance (the history phase did not run)" in result.output
    assert "--phases history" in result.output and "Traceback" not in result.output
    assert "run 9 does not exist" in box.etl("reconcile", "9", code=2).output
    with box.ledger() as ledger:
        copy_run = ledger.start_run("copy")
    assert f"run {copy_run} is a copy run" in box.etl("reconcile", str(copy_run), code=2).output
