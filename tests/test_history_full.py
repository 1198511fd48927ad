"""The full-history mode: every Sonar debit, discount and payment reaches Splynx, and the balance still reconciles.

First the rules on their own (the history window, the transformers, the per-account reader); then,
through a sandbox: `etl run --all --history full` carries each transaction and payment once, `etl
reconcile` finds no difference, a re-run writes nothing, a window (`--history-since`) brings the earlier
balance forward in one transaction, a payment booked in Sonar afterwards is reported and then carried by
the next incremental run (found through the payment: its account did not change), a
switch that would count Splynx's records twice is refused, and rollback removes every one.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from etl.errors import ConfigError
from etl.history import HistoryWindow
from etl.pipeline import stored_options
from extractors.sonar_balances import balance_record, transaction_records
from tests.fixtures.pipeline import Sandbox, SandboxFactory, actions, marker_of
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError

# -- the window ----------------------------------------------------------------------------------------


def test_a_window_needs_the_full_mode_a_real_date_and_a_known_mode() -> None:
    assert HistoryWindow.parse(None, None) == HistoryWindow("balance", None)
    assert HistoryWindow.parse("full", "2024-03-01").since == date(2024, 3, 1)
    with pytest.raises(ConfigError, match="needs the full-history mode"):
        HistoryWindow.parse("balance", "2024-03-01")
    with pytest.raises(ConfigError, match="'2024-13-01' is not a date") as bad_date:
        HistoryWindow.parse("full", "2024-13-01")
    assert "YYYY-MM-DD" in (bad_date.value.fix or "")
    with pytest.raises(ConfigError, match="unknown history mode 'everything'"):
        HistoryWindow.parse("everything", None)


def test_a_switch_that_would_count_splynx_records_twice_is_refused_and_an_earlier_window_is_not() -> None:
    full_2024 = HistoryWindow("full", date(2024, 1, 1))
    full_2024.refuse_switch_from(full_2024, 3)
    HistoryWindow("full", date(2023, 1, 1)).refuse_switch_from(full_2024, 3)  # more records, a smaller balance
    HistoryWindow("full", None).refuse_switch_from(full_2024, 3)
    for later in (HistoryWindow("balance"), HistoryWindow("full", date(2024, 6, 1))):
        with pytest.raises(ConfigError, match="counted twice") as refused:
            later.refuse_switch_from(full_2024, 3)
        assert "--history full --history-since 2024-01-01" in (refused.value.fix or "")
        assert "etl rollback 3" in (refused.value.fix or "")
    with pytest.raises(ConfigError, match="counted twice"):
        HistoryWindow("full", date(2024, 1, 1)).refuse_switch_from(HistoryWindow("full", None), 2)


# -- the reader ----------------------------------------------------------------------------------------


def _txn(n: int, kind: str, amount: int, balance: int, day: str) -> dict[str, Any]:
    return {"id": str(n), "account_id": "5", "type": kind, "amount": amount, "running_balance": balance,
            "datetime": f"{day}T09:00:00+00:00", "description": f"{kind.title()} {n}", "tax_total": 0}  # fmt: skip


HISTORY = [
    _txn(11, "DEBIT", 5000, 5000, "2024-01-01"),
    _txn(12, "PAYMENT", 5000, 0, "2024-01-05"),
    _txn(13, "DEBIT", 5000, 5000, "2024-02-01"),
    _txn(14, "DISCOUNT", 1000, 4000, "2024-02-01"),
    _txn(15, "PAYMENT", 2500, 1500, "2024-02-06"),
    _txn(16, "DEBIT", 5000, 6500, "2024-03-01"),
]


def test_the_window_keeps_its_debits_and_discounts_and_brings_the_balance_before_it_forward() -> None:
    everything = balance_record("5", list(reversed(HISTORY)), None)
    assert (everything["balance"], everything["opening"], everything["opening_as_of"]) == (6500, 0, None)
    assert [r["id"] for r in transaction_records(HISTORY, None)] == ["11", "13", "14", "16"]

    window = date(2024, 2, 1)
    opened = balance_record("5", HISTORY, window)
    assert (opened["balance"], opened["opening"]) == (6500, 0)  # paid in full before February
    assert opened["opening_as_of"] == "2024-01-05T09:00:00+00:00"
    assert [r["id"] for r in transaction_records(HISTORY, window)] == ["13", "14", "16"]
    later = balance_record("5", HISTORY, date(2024, 2, 2))
    assert (later["opening"], later["opening_as_of"][:10]) == (4000, "2024-02-01")


# -- the transformers ----------------------------------------------------------------------------------

METHODS = {"CHECK": "7", "CREDITCARD": "3", "BANKACCOUNT": "2"}


def _full(ctx: TransformContext, **changes: Any) -> TransformContext:
    from dataclasses import replace

    return replace(ctx, history_mode="full", payment_methods=METHODS, **changes)


def _payment(**changes: Any) -> dict[str, Any]:
    record = {"id": "41", "account_id": "1", "amount": 4999, "payment_datetime": "2024-02-06T14:30:00+00:00",
              "payment_type": "CHECK", "reference": "CHK-104233", "description": "Payment - Check",
              "successful": True, "status": "SUCCEEDED"}  # fmt: skip
    return {**record, **changes}


def test_a_debit_charges_a_discount_credits_and_a_zero_one_moves_nothing(transform_ctx: TransformContext) -> None:
    ctx = _full(transform_ctx)
    debit = transform_record(
        "account_transaction", {**_txn(13, "DEBIT", 5000, 5000, "2024-02-01"), "account_id": "1"}, ctx
    )
    discount = transform_record("account_transaction", {**_txn(14, "DISCOUNT", 1000, 4000, "2024-02-01"),
                                                        "account_id": "1"}, ctx)  # fmt: skip
    assert debit.target == discount.target == "billing_transaction" and debit.parent == {"customer_id": "31"}
    assert (debit.body["type"], debit.body["price"], debit.body["date"]) == ("debit", "50.00", "2024-02-01")
    assert (discount.body["type"], discount.body["price"]) == ("credit", "10.00")
    assert debit.body["description"] == "Debit 13" and debit.marker == "account_transaction:13"
    assert debit.body["comment"] == "Sonar debit transaction 13"
    reversal = transform_record(
        "account_transaction", {**_txn(17, "DEBIT", -700, 0, "2024-03-02"), "account_id": "1"}, ctx
    )
    assert (reversal.body["type"], reversal.body["price"]) == ("credit", "7.00")
    with pytest.raises(SkipRecord, match="a debit of 0 moves no balance"):
        transform_record("account_transaction", {**_txn(18, "DEBIT", 0, 0, "2024-03-03"), "account_id": "1"}, ctx)


def test_a_payment_keeps_its_day_amount_method_and_reference(transform_ctx: TransformContext) -> None:
    paid = transform_record("account_payment", _payment(), _full(transform_ctx))
    body = paid.body
    assert paid.target == "payment" and paid.marker == "account_payment:41" == body["additional_attributes"]["sonar_id"]
    assert (body["customer_id"], body["payment_type"], body["amount"], body["date"]) == (
        "31",
        "7",
        "49.99",
        "2024-02-06",
    )
    assert body["receipt_number"] == "CHK-104233" and "CHK-104233" in body["note"]
    assert all(body[f"field_{n}"] == "" for n in range(1, 6))
    long_reference = "ch_" + "a" * 40
    kept = transform_record("account_payment", _payment(reference=long_reference), _full(transform_ctx)).body
    assert kept["receipt_number"] == "SONAR-41" and long_reference in kept["note"]


def test_a_failed_payment_is_skipped_and_an_unknown_method_names_the_setting(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="did not succeed in Sonar"):
        transform_record("account_payment", _payment(successful=False, status="FAILED"), _full(transform_ctx))
    with pytest.raises(ValidationError) as unknown:
        transform_record("account_payment", _payment(payment_type="PAYPAL"), _full(transform_ctx))
    problem = unknown.value.problem
    assert (problem.code, problem.field, problem.value) == ("no_payment_method", "payment_type", "PAYPAL")
    assert "[payment_methods]" in (problem.fix or "")


def _balance(**changes: Any) -> dict[str, Any]:
    record = {"id": "1", "account_id": "1", "balance": 6500, "as_of": "2024-03-01T09:00:00+00:00",
              "transactions": 6, "opening": 0, "opening_as_of": None}  # fmt: skip
    return {**record, **changes}


def test_in_full_mode_the_opening_balance_is_what_came_before_the_window(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="the account's own transactions carry its balance"):
        transform_record("account_balance", _balance(), _full(transform_ctx))
    with pytest.raises(SkipRecord, match="brought forward into the history window is 0"):
        transform_record("account_balance", _balance(opening_as_of="2024-01-05T09:00:00+00:00"), _full(transform_ctx))
    forward = transform_record("account_balance", _balance(opening=4000, opening_as_of="2024-02-01T09:00:00+00:00"),
                               _full(transform_ctx)).body  # fmt: skip
    assert (forward["type"], forward["price"], forward["date"]) == ("debit", "40.00", "2024-02-01")
    assert forward["description"] == "Balance brought forward from Sonar, as of 2024-02-01"


def test_a_balance_carried_before_and_now_zero_is_rewritten_to_zero_not_left(transform_ctx: TransformContext) -> None:
    from dataclasses import replace

    carried = replace(
        transform_ctx, mapped_id=lambda entity, sid: "90" if (entity, sid) == ("account_balance", "1") else None
    )
    body = transform_record("account_balance", _balance(balance=0), carried).body
    assert (body["price"], body["date"]) == ("0.00", "2024-03-01")


# -- through a sandbox ----------------------------------------------------------------------------------


def _sonar_rows(box: Sandbox, kinds: tuple[str, ...], accounts: set[str]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in box.sonar.store.tables["core_transactions"].values()
            if r.get("type", "DEBIT") in kinds and str(r["account_id"]) in accounts}  # fmt: skip


def _marked(client: SignedClient, path: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {m.split(":", 1)[1]: row for row in client.rows(path) if (m := marker_of(row)) and m.startswith(prefix)}


def test_the_full_history_is_carried_once_reconciled_and_rolled_back(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=20)
    box.fix_planted_problems()
    box.etl("run", "--all", "--history", "full")
    box.etl("run", "--all", "--history", "full")  # nothing changed in Sonar: nothing is written again
    with box.ledger() as ledger:
        for entity in ("account_transaction", "account_payment", "account_balance"):
            assert actions(ledger, 2, entity, ["create", "update"]) == {}, entity
        customers = {s for s in ledger.mapped("account")}
        assert set(ledger.skip_reasons(1)["account_balance"]) == {
            "full history: the account's own transactions carry its balance (none before the window)"
        }
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    sonar = {i: r for i, r in _sonar_rows(box, ("DEBIT", "DISCOUNT"), customers).items() if not r.get("debit_id")}
    splynx = _marked(client, "admin/finance/transactions", "account_transaction:")
    assert set(splynx) == set(sonar) and sonar  # the discounts: every debit is on an invoice (test_history_invoices)
    for txn_id, row in sonar.items():
        assert Decimal(splynx[txn_id]["price"]) == Decimal(row["amount"]) / 100
        assert splynx[txn_id]["type"] == ("debit" if row.get("type", "DEBIT") == "DEBIT" else "credit")
    payments = _marked(client, "admin/finance/payments", "account_payment:")
    sonar_payments = {str(p["id"]): p for p in box.sonar.store.tables["payments"].values()
                      if str(p["account_id"]) in customers}  # fmt: skip
    assert set(payments) == set(sonar_payments)
    assert sum(Decimal(p["amount"]) for p in payments.values()) == sum(
        Decimal(p["amount"]) / 100 for p in sonar_payments.values()
    )
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", "1").output

    with box.ledger() as ledger:
        account, (customer, _) = min(ledger.mapped("account").items(), key=lambda kv: int(kv[0]))
    by_hand = client.create("admin/finance/payments", {"customer_id": customer, "payment_type": 1, "amount": "7.25",
                            "receipt_number": "BY-HAND-1", "date": "2099-03-04"})  # fmt: skip
    result = box.etl("reconcile", "1", code=6)
    balance_line = next(row for row in result.output.splitlines() if f" {customer} " in row and account in row)
    assert "-7.25" in balance_line and "etl run --customer" in result.output
    month_line = next(row for row in result.output.splitlines() if "2099-03" in row)
    assert "paid" in month_line and "7.25" in month_line
    assert "1 differ" in result.output and "monthly totals, 1 differ" in result.output
    report = box.etl("report", "1").output  # the report shows the last reconciliation, from the ledger alone
    assert "## Reconciliation" in report and "monthly totals, 1 differ" in report
    assert f"| {account} | {customer} |" in report and "| 2099-03 | paid | 0 | 725 |" in report
    assert client.delete(f"admin/finance/payments/{by_hand}").status_code in (200, 204)

    box.etl("run", "--all", "--history", "balance", code=2)  # would put an opening balance on top of them
    box.etl("rollback", "2", "--yes")
    box.etl("rollback", "1", "--yes")
    assert [m for path in ("admin/finance/transactions", "admin/finance/payments")
            for row in client.rows(path) if (m := marker_of(row))] == []  # fmt: skip


def test_a_window_brings_the_earlier_balance_forward_and_a_later_payment_is_reported_then_carried(
    make_sandbox: SandboxFactory,
) -> None:
    from etl.sandbox.sonar_data import add_payment

    box = make_sandbox(customers=15)
    box.fix_planted_problems()
    days = sorted({str(r["datetime"])[:10] for r in box.sonar.store.tables["core_transactions"].values()})
    since = days[len(days) // 2]
    box.etl("run", "--all", "--history", "full", "--history-since", since)
    with box.ledger() as ledger:
        customers = {s: d for s, (d, _) in ledger.mapped("account").items()}
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    carried = _marked(client, "admin/finance/transactions", "account_transaction:")
    assert carried and all(row["date"] >= since for row in carried.values())
    openings = _marked(client, "admin/finance/transactions", "account_balance:")
    assert openings and all(row["date"] < since for row in openings.values())
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", "1").output

    account = min(customers, key=int)
    add_payment(box.sonar.store, int(account), 1234, datetime.now(UTC), "CASH")
    result = box.etl("reconcile", "1", code=6)
    assert any(account in line and "12.34" in line for line in result.output.splitlines())
    box.etl("run", "--all", "--history", "full", "--history-since", since)  # incremental: found by its payment
    with box.ledger() as ledger:
        assert actions(ledger, 2, "account_payment", ["create", "update"]) == {"create": 1}
        assert {i.source_id for i in ledger.items(2, entity="account_balance")} == {account}
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", "2").output
    box.etl("run", "--all", "--history", "full", "--history-since", "2099-01-01", code=2)
    methods = Counter(row["name"] for row in client.rows("admin/finance/payment-methods"))
    assert methods["Cash"] == 1 and methods["Check"] == 1  # made once by name, adopted afterwards


def test_a_bad_history_option_or_setting_is_one_line_with_its_fix_and_opens_no_run(
    make_sandbox: SandboxFactory, tmp_path: Any
) -> None:
    box = make_sandbox(customers=5)
    cases = {
        ("--history", "everything"): "unknown history mode 'everything'",
        ("--history", "full", "--history-since", "2024-13-01"): "'2024-13-01' is not a date",
        ("--history-since", "2024-01-01"): "--history-since needs the full-history mode",
    }
    for args, message in cases.items():
        result = box.etl("run", "--all", *args, code=2)
        assert message in result.output and "fix:" in result.output.lower(), result.output
    config = tmp_path / "etl.toml"
    config.write_text('[history]\nmode = "all of it"\n')
    result = box.etl("run", "--all", code=2, env=box.env(ETL_CONFIG=str(config)))
    assert '"balance" or "full"' in result.output and "[history] mode" in result.output, result.output
    methods = '[payment_methods]\nCREDITCARD = "Card (Sonar)"\n'
    config.write_text(f'[history]\nmode = "full"\nsince = 2024-02-01\n\n{methods}')
    box.fix_planted_problems()
    box.etl("run", "--all", env=box.env(ETL_CONFIG=str(config)))  # the settings stand in for the flags
    with box.ledger() as ledger:
        assert [r.id for r in ledger.runs(kind="migrate")] == [1]  # the refused ones opened no run
        stored = stored_options(ledger.get_run(1))
    assert (stored["history"], stored["history_since"]) == ("full", "2024-02-01")
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    card = next(row["id"] for row in client.rows("admin/finance/payment-methods") if row["name"] == "Card (Sonar)")
    cards = [p for p in client.rows("admin/finance/payments") if "(CREDITCARD)" in str(p.get("note"))]
    assert cards and {str(p["payment_type"]) for p in cards} == {str(card)}
