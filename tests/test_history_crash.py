"""The full-history phase as a real process, SIGKILLed at random moments, then resumed: no payment twice.

A payment, an invoice or a transaction is money: booked twice, the customer's balance is wrong by that
amount. The customers are migrated first by a clean run; then `etl run --all --phases history --history
full` is killed again and again (extracting, between a POST and its checkpoint, while verifying) and resumed
each time. The end state: every Sonar invoice (booking its debits), other debit, discount and payment of the
migrated customers in Splynx exactly once, the ledger agreeing record for record, and `etl reconcile`
finding no difference.
"""

from __future__ import annotations

import random
import subprocess
from collections import Counter

from tests.fixtures.pipeline import Sandbox, SandboxFactory, entity_markers, run_ids
from tests.test_crash_torture import assert_no_duplicates, kill_after

HISTORY_CUSTOMERS = 40
KILLS = 8
KILL_AFTER_LOCK_S = (0.6, 2.0)
FINISH_TIMEOUT_S = 150
SPLYNX_LATENCY_S = 0.06


def start(box: Sandbox) -> subprocess.Popen[bytes]:
    """The history run, or `etl resume` once it exists (the customers' run is the first)."""
    with box.ledger() as ledger:
        started = len(run_ids(ledger)) > 1
    if started:
        return box.spawn("resume", "--workers", "4")
    return box.spawn("run", "--all", "--phases", "history", "--history", "full", "--continue-on-error")


def test_sigkill_during_the_full_history_then_resume_books_every_payment_once(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=HISTORY_CUSTOMERS)
    box.fix_planted_problems()
    box.etl("run", "--all", "--phases", "foundation,network,inventory,customers")
    box.splynx.faults.latency_s = SPLYNX_LATENCY_S  # every answer takes a while: the run outlasts the kills
    rng = random.Random(2026)
    kills = 0
    for _ in range(KILLS):
        if kill_after(box, start(box), rng.uniform(*KILL_AFTER_LOCK_S)):
            kills += 1
            assert_no_duplicates(box)
    assert kills >= 5, f"only {kills} kills landed: the history run finished too early"
    finisher = start(box)
    assert finisher.wait(timeout=FINISH_TIMEOUT_S) == 0, finisher.stderr.read().decode() if finisher.stderr else ""

    box.check()  # every marker once, the id map and the items agreeing with Splynx
    with box.ledger() as ledger:
        customers = set(ledger.mapped("account"))
        history_run = max(run_ids(ledger))
    sonar_payments = {str(p["id"]) for p in box.sonar.store.tables["payments"].values()
                      if str(p["account_id"]) in customers}  # fmt: skip
    assert set(entity_markers(box.splynx, "account_payment")) == sonar_payments
    sonar_invoices = {str(i["id"]) for i in box.sonar.store.tables["invoices"].values()
                      if str(i["account_id"]) in customers}  # fmt: skip
    assert set(entity_markers(box.splynx, "account_invoice")) == sonar_invoices
    carried = {str(t["id"]) for t in box.sonar.store.tables["core_transactions"].values()
               if t.get("type", "DEBIT") != "PAYMENT" and not t.get("debit_id")  # invoiced debits: their invoice's
               and str(t["account_id"]) in customers}  # fmt: skip
    assert set(entity_markers(box.splynx, "account_transaction")) == carried
    booked = [t for t in box.splynx.rows("admin/finance/transactions") if str(t.get("invoice_id") or 0) != "0"]
    debits = [d for d in box.sonar.store.tables["debits"].values() if str(d["account_id"]) in customers]
    assert len(booked) == len(debits)  # each invoiced debit booked once, by its invoice
    messages = Counter((str(m["ticket_id"]), str(m["date"]), str(m["time"]), str(m["message"]))
                       for m in box.splynx.rows("admin/support/ticket-messages"))  # fmt: skip
    assert messages and max(messages.values()) == 1  # a ticket's replies and comments: each once
    assert "every balance and every monthly total matches to the cent" in box.etl("reconcile", str(history_run)).output
