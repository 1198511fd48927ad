"""Invoices in the full-history mode: each Sonar invoice becomes a Splynx invoice whose lines are its debits.

First the rules on their own: the invoice's transform (lines, number, status, dates, skips), which debits an
invoice books (and so are not written again as transactions, nor counted in a balance brought forward),
validation of the lines. Then through a sandbox: `etl run --all --history full` carries every invoice once
with its lines, each debit booked exactly once (by its invoice), `etl reconcile` matches balances and the
monthly invoiced totals, a re-run writes nothing, a window straddling an invoice still reconciles, and
rollback removes the invoices with the transactions they booked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from extractors.sonar_balances import balance_record, invoiced, transaction_records
from tests.fixtures.pipeline import SandboxFactory, actions, marker_of
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.validation import SkipRecord, ValidationError


def _full(ctx: TransformContext) -> TransformContext:
    return replace(ctx, history_mode="full")


def _invoice(**changes: Any) -> dict[str, Any]:
    debits = [
        {"id": "702", "amount": 1500, "description": None, "service_name": "Router rental", "quantity": 1},
        {"id": "701", "amount": 5999, "description": "Fiber 100", "service_name": "Fiber 100", "quantity": 1,
         "prorated_from": "2024-02-01", "prorated_to": "2024-02-29"},
    ]  # fmt: skip
    record = {"id": "88", "account_id": "1", "date": "2024-02-01", "due_date": "2024-02-15",
              "end_date": "2024-02-29", "status": "UNPAID", "remaining_due": 7499, "total_debits": 7499,
              "total_taxes": 0, "void": False, "message": "  Thank you  ", "debits": {"entities": debits}}  # fmt: skip
    return {**record, **changes}


def test_an_invoice_keeps_its_number_dates_and_debits_as_lines(transform_ctx: TransformContext) -> None:
    result = transform_record("account_invoice", _invoice(), _full(transform_ctx))
    body = result.body
    assert result.target == "invoice" and result.parent == {"customer_id": "31"}
    assert result.marker == "account_invoice:88" == body["additional_attributes"]["sonar_id"]
    assert (body["number"], body["date_created"], body["date_till"]) == ("88", "2024-02-01", "2024-02-15")
    assert (body["status"], body["use_transactions"], body["note"]) == ("not_paid", "1", "Thank you")
    assert [(line["description"], line["price"], line["quantity"]) for line in body["items"]] == [
        ("Fiber 100", "59.99", 1),
        ("Router rental", "15.00", 1),
    ]  # in Sonar's id order, the service's name where the debit has no description
    assert (body["items"][0]["period_from"], body["items"][0]["period_to"]) == ("2024-02-01", "2024-02-29")
    assert "period_from" not in body["items"][1]
    paid = transform_record("account_invoice", _invoice(remaining_due=0, status="PAID"), _full(transform_ctx))
    assert paid.body["status"] == "paid"


def test_a_debit_of_several_units_is_one_line_of_what_it_moved(transform_ctx: TransformContext) -> None:
    debit = {"id": "9", "amount": 3000, "description": "Static IP", "quantity": 3}
    line = transform_record("account_invoice", _invoice(debits=[debit]), _full(transform_ctx)).body["items"][0]
    assert (line["description"], line["quantity"], line["price"]) == ("Static IP (x3)", 1, "30.00")


def test_a_void_or_empty_invoice_is_skipped_with_its_reason(transform_ctx: TransformContext) -> None:
    with pytest.raises(SkipRecord, match="voided in Sonar"):
        transform_record("account_invoice", _invoice(void=True), _full(transform_ctx))
    with pytest.raises(SkipRecord, match="no debits"):
        transform_record("account_invoice", _invoice(debits={"entities": []}), _full(transform_ctx))


def test_a_line_splynx_would_refuse_fails_before_the_write(transform_ctx: TransformContext) -> None:
    long = {"id": "9", "amount": 100, "description": "x" * 300, "quantity": 1}
    kept = transform_record("account_invoice", _invoice(debits=[long]), _full(transform_ctx))
    assert kept.body["items"][0]["description"] == "x" * 255  # cut to what Splynx holds
    lines = [{"description": "Fiber", "quantity": 1}, {"description": " ", "quantity": "two"}]
    with pytest.raises(ValidationError) as blank:
        transform_record("account_invoice", _invoice(), _full(transform_ctx), {"items": lines})
    assert blank.value.problem.field == "items[2].description"
    with pytest.raises(ValidationError) as no_lines:
        transform_record("account_invoice", _invoice(), _full(transform_ctx), {"items": []})
    assert no_lines.value.problem.field == "items"


# -- which debits an invoice books ----------------------------------------------------------------------


def _txn(n: int, kind: str, amount: int, balance: int, day: str, invoice: dict[str, Any] | None) -> dict[str, Any]:
    debit = {"id": str(n), "invoice_id": invoice and invoice["id"], "invoice": invoice} if kind == "DEBIT" else None
    return {"id": str(n), "account_id": "5", "type": kind, "amount": amount, "running_balance": balance,
            "datetime": f"{day}T09:00:00+00:00", "description": kind.title(), "tax_total": 0,
            "debit": debit}  # fmt: skip


JAN = {"id": "1", "date": "2024-01-31", "void": False}
FEB = {"id": "2", "date": "2024-02-29", "void": False}
VOID = {"id": "3", "date": "2024-02-29", "void": True}
HISTORY = [
    _txn(11, "DEBIT", 5000, 5000, "2024-01-01", JAN),
    _txn(12, "PAYMENT", 5000, 0, "2024-01-05", None),
    _txn(13, "DEBIT", 5000, 5000, "2024-01-20", FEB),  # billed on the next month's invoice
    _txn(14, "DEBIT", 700, 5700, "2024-02-03", VOID),
    _txn(15, "DEBIT", 300, 6000, "2024-02-04", None),  # not invoiced yet
    _txn(16, "DISCOUNT", 1000, 5000, "2024-02-05", None),
]


def test_an_invoice_the_history_carries_books_its_debits_and_no_other_record_does() -> None:
    assert [t["id"] for t in HISTORY if invoiced(t, None)] == ["11", "13"]
    records = {r["id"]: r for r in transaction_records(HISTORY, None)}
    assert {i for i, r in records.items() if r["invoiced"]} == {"11", "13"}
    assert (records["13"]["invoice_id"], records["15"]["invoice_id"]) == ("2", None)

    window = date(2024, 2, 1)  # the February invoice is carried, with the January debit it bills
    assert [t["id"] for t in HISTORY if invoiced(t, window)] == ["13"]
    opened = balance_record("5", HISTORY, window)
    assert opened["opening"] == 0  # 5000 owed on January 20th, of which the February invoice books all
    assert [r["id"] for r in transaction_records(HISTORY, window)] == ["14", "15", "16"]


def test_a_debit_booked_by_its_invoice_is_not_written_as_a_transaction(transform_ctx: TransformContext) -> None:
    record = {**next(r for r in transaction_records(HISTORY, None) if r["id"] == "13"), "account_id": "1"}
    with pytest.raises(SkipRecord, match="a line of invoice 2, which books it"):
        transform_record("account_transaction", record, _full(transform_ctx))


# -- through a sandbox ----------------------------------------------------------------------------------


def _marked(client: SignedClient, path: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {m.split(":", 1)[1]: row for row in client.rows(path) if (m := marker_of(row)) and m.startswith(prefix)}


def test_every_invoice_is_carried_once_with_its_lines_reconciled_and_rolled_back(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=20)
    box.fix_planted_problems()
    box.etl("run", "--all", "--history", "full")
    box.etl("run", "--all", "--history", "full")  # nothing changed: nothing written again
    with box.ledger() as ledger:
        assert actions(ledger, 2, "account_invoice", ["create", "update"]) == {}
        customers = {s: d for s, (d, _) in ledger.mapped("account").items()}
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    sonar = {str(i["id"]): i for i in box.sonar.store.tables["invoices"].values() if str(i["account_id"]) in customers}
    splynx = _marked(client, "admin/finance/invoices", "account_invoice:")
    assert set(splynx) == set(sonar) and len(sonar) >= 5 * len(customers)
    lines = {str(d["id"]): d for d in box.sonar.store.tables["debits"].values()}
    for invoice_id, row in splynx.items():
        debits = [d for d in lines.values() if str(d["invoice_id"]) == invoice_id]
        assert str(row["customer_id"]) == customers[str(sonar[invoice_id]["account_id"])]
        assert len(row["items"]) == len(debits)
        assert Decimal(row["total"]) == Decimal(sonar[invoice_id]["total_debits"]) / 100
        assert row["status"] == ("paid" if sonar[invoice_id]["remaining_due"] == 0 else "not_paid")
    booked = [t for t in client.rows("admin/finance/transactions") if str(t.get("invoice_id") or 0) in splynx]
    assert len(booked) == sum(len(r["items"]) for r in splynx.values())
    assert not _marked(client, "admin/finance/transactions", "account_transaction:").keys() & {
        str(t["id"]) for t in box.sonar.store.tables["core_transactions"].values() if t.get("debit_id")
    }  # no debit is booked a second time as a transaction of its own
    result = box.etl("reconcile", "1")
    assert "every balance and every monthly total matches to the cent" in result.output
    assert "invoiced" not in result.output or "0 differ" in result.output

    box.etl("rollback", "1", "--yes")
    assert not _marked(client, "admin/finance/invoices", "account_invoice:")
    assert not [t for t in client.rows("admin/finance/transactions") if str(t.get("invoice_id") or 0) != "0"]


def test_a_window_straddling_an_invoice_still_reconciles(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=12)
    box.fix_planted_problems()
    days = sorted({str(i["date"]) for i in box.sonar.store.tables["invoices"].values()})
    since = days[len(days) // 2]
    box.etl("run", "--all", "--history", "full", "--history-since", since)
    client = SignedClient.reading_between_runs(box.splynx, box.pair.key, box.pair.secret)
    carried = _marked(client, "admin/finance/invoices", "account_invoice:")
    assert carried and all(row["date_created"] >= since for row in carried.values())
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", "1").output


def test_payments_of_a_customer_that_failed_are_reported_by_reconcile_with_its_fix(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=12)
    box.etl("init")
    box.etl("fix", "account", "6", "--set", "login=sonar-6")  # account 4 keeps its planted problem: too long a name
    box.etl("run", "--all", "--history", "full", "--continue-on-error", code=1)
    with box.ledger() as ledger:
        assert ledger.dest_id("account", "4") is None
        failed = {i.entity for i in ledger.items(1) if i.source_id and i.state == "failed"}
    payments = [p for p in box.sonar.store.tables["payments"].values() if str(p["account_id"]) == "4"]
    assert payments and "account_payment" in failed  # its payments wait for their customer
    result = box.etl("reconcile", "1", code=6)
    line = next(row for row in result.output.splitlines() if row.replace("│", " ").split()[:1] == ["4"])
    rows = [t for t in box.sonar.store.tables["core_transactions"].values() if str(t["account_id"]) == "4"]
    owed = sum(int(t["amount"]) * (1 if t.get("type", "DEBIT") == "DEBIT" else -1) for t in rows)
    assert f" {Decimal(owed) / 100:.2f} " in line and line.count("—") == 3  # no customer, no balance, no difference
    assert "migrate the customer first: `etl run --customer 4`" in line
    month = next(row for row in result.output.splitlines() if "paid" in row)
    assert any(f"-{Decimal(int(p['amount'])) / 100:.2f}" in month for p in payments)  # the month lacks its payment

    box.etl("fix", "account", "4", "--set", "name=Northwest Regional Cooperative")
    box.etl("resume")
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", "1").output
