"""`etl reconcile RUN`: each migrated customer's Splynx balance against its Sonar balance, to the cent.

Why live on both sides: the proof is that the money is right now, not that the run wrote what it staged;
a payment booked in Sonar after the run, or a transaction added in Splynx by hand, is a difference too.
Sonar's balance is the account's latest `running_balance` (positive: the customer owes, extractors/
sonar_balances.py); Splynx's is the customer's billing `deposit` (credits less debits: positive, the
customer is in credit). So a customer reconciles when its deposit is exactly minus its Sonar balance.
Money is integer cents end to end: Splynx's 4-place decimals are converted exactly, never through float.

A run that carried the full history (`--history full`) is proved month by month too: what was invoiced,
debited, paid and credited each month inside its window, over the run's customers, is the same on both sides
(Sonar's invoices not voided, debits, successful payments and discounts; Splynx's invoices, debit
transactions, whether an invoice booked them or not, payments and credit transactions other than those a
payment books for itself, the balance brought forward left out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from etl.errors import ConfigError
from etl.history import FULL, HistoryWindow
from extractors.sonar import SonarClient, SonarExtractor
from extractors.sonar_balances import account_transactions, balance_record, in_window
from loaders.splynx_client import NotFound, SplynxClient
from loaders.splynx_targets import MARKER_FIELD
from state.ledger import Ledger
from transformers.account_transaction import OWED_SIGN
from transformers.rules import decimal_to_cents, splynx_date

BILLING_PATH = "admin/customers/customer-billing/{customer_id}"
TRANSACTIONS_PATH = "admin/finance/transactions"
PAYMENTS_PATH = "admin/finance/payments"
INVOICES_PATH = "admin/finance/invoices"
LIST_PAGE = 1000
RECORDED_LINES = 20
KINDS = ("invoiced", "debited", "paid", "credited")
DOCUMENTS = ((INVOICES_PATH, "date_created", "total", "invoiced"), (PAYMENTS_PATH, "date", "amount", "paid"))
"""Splynx collections counted whole per month: (path, its date field, its amount field, the kind it counts)."""


@dataclass(frozen=True)
class BalanceLine:
    """One customer: what Sonar says it owes and what Splynx says, in cents (owed positive on both)."""

    account_id: str
    customer_id: str | None
    sonar_cents: int
    splynx_cents: int | None  # None: the customer is not in Splynx

    @property
    def difference_cents(self) -> int:
        """Splynx's owed amount less Sonar's: 0 when they agree."""
        return (self.splynx_cents or 0) - self.sonar_cents

    @property
    def matches(self) -> bool:
        """Whether Splynx holds the customer with exactly Sonar's balance."""
        return self.splynx_cents is not None and self.difference_cents == 0

    def fix(self) -> str:
        """What the operator does about a difference."""
        if self.customer_id is None or self.splynx_cents is None:
            return f"migrate the customer first: `etl run --customer {self.account_id}`"
        return (
            f"`etl run --customer {self.account_id}` carries Sonar's balance again; if the difference stays, "
            f"look for transactions of Splynx customer {self.customer_id} that Sonar does not have"
        )


@dataclass(frozen=True)
class MonthLine:
    """One month and one kind of movement (invoiced, debited, paid, credited) over the run's customers, in cents."""

    month: str  # YYYY-MM
    kind: str
    sonar_cents: int
    splynx_cents: int

    @property
    def difference_cents(self) -> int:
        """Splynx's total less Sonar's."""
        return self.splynx_cents - self.sonar_cents

    @property
    def matches(self) -> bool:
        """Whether both sides moved exactly as much that month."""
        return self.difference_cents == 0


@dataclass
class Reconciliation:
    """Every balance line of a run, and its monthly totals when it carried the full history."""

    balances: list[BalanceLine] = field(default_factory=list)
    months: list[MonthLine] = field(default_factory=list)

    @property
    def differences(self) -> int:
        """How many lines (balances and months) differ."""
        return sum(not line.matches for line in self.balances) + sum(not line.matches for line in self.months)

    def summary(self) -> str:
        """One line: how many customers and months were compared, and how many differ."""
        wrong = sum(not line.matches for line in self.balances)
        text = f"{len(self.balances)} customers reconciled, {wrong} differ"
        if self.months:
            text += f"; {len(self.months)} monthly totals, {sum(not m.matches for m in self.months)} differ"
        return text

    def to_record(self, shown: int = RECORDED_LINES) -> dict[str, Any]:
        """What the ledger keeps of it (etl.report's `RECONCILE_EVENT`): the summary and the first differing lines."""
        return {
            "summary": self.summary(),
            "differences": self.differences,
            "balances": [asdict(b) for b in self.balances if not b.matches][:shown],
            "months": [asdict(m) for m in self.months if not m.matches][:shown],
        }


def reconcile(ledger: Ledger, sonar: SonarClient, splynx: SplynxClient, run_id: int) -> Reconciliation:
    """The balance of every account whose balance the run carried (or skipped), in id order; and its months.

    Refuses (ConfigError) a run that is not a migration, or one that carried no balance (its phases left
    HISTORY out): there would be nothing to prove.
    """
    window = _run_window(ledger, run_id)
    accounts = sorted({i.source_id for i in ledger.items(run_id, entity="account_balance")}, key=lambda i: (len(i), i))
    if not accounts:
        raise ConfigError(
            f"run {run_id} carried no balance (the history phase did not run)",
            fix="run `etl run --all --phases history`, then `etl reconcile` that run",
        )
    result = Reconciliation()
    sonar_months: Counter[tuple[str, str]] = Counter()
    customers: dict[str, str] = {}
    for account_id in accounts:
        transactions = account_transactions(sonar, account_id)
        customer_id = ledger.dest_id("account", account_id)
        sonar_cents = int(balance_record(account_id, transactions, None)["balance"])
        result.balances.append(BalanceLine(account_id, customer_id, sonar_cents, _splynx_owed(splynx, customer_id)))
        if customer_id is not None:
            customers[customer_id] = account_id
        sonar_months.update(_sonar_months(transactions, window))
    if window.mode == FULL:
        sonar_months.update(_sonar_invoiced(SonarExtractor(sonar), accounts, window))
        result.months = _month_lines(sonar_months, _splynx_months(splynx, set(customers), window))
    return result


def _run_window(ledger: Ledger, run_id: int) -> HistoryWindow:
    from etl.pipeline import RunOptions, stored_options  # the pipeline imports every stage: late

    run = ledger.get_run(run_id)
    if run.kind != "migrate":
        raise ConfigError(f"run {run_id} is a {run.kind} run; only migrations carry balances", fix="see `etl runs`")
    return RunOptions.from_json(stored_options(run)).window


def _splynx_owed(client: SplynxClient, customer_id: str | None) -> int | None:
    """What the customer owes in Splynx, in cents: minus its billing deposit; None if it is not there."""
    if customer_id is None:
        return None
    try:
        billing = client.get(BILLING_PATH.format(customer_id=customer_id))
    except NotFound:
        return None
    return -decimal_to_cents(str(billing.get("deposit") or "0"))


def _sonar_months(transactions: Iterable[dict[str, Any]], window: HistoryWindow) -> Counter[tuple[str, str]]:
    """Sonar's (month, kind) totals of one account inside the window, signed as the transformers carry them."""
    months: Counter[tuple[str, str]] = Counter()
    for txn in transactions:
        if not in_window(txn.get("datetime"), window.since):
            continue
        month, cents = str(splynx_date(txn.get("datetime")))[:7], int(txn.get("amount") or 0)
        if txn.get("type") == "PAYMENT":
            if txn.get("successful") is not False:
                months[(month, "paid")] += cents
            continue
        owed = OWED_SIGN.get(str(txn.get("type")), 0) * cents
        months[(month, "debited" if owed > 0 else "credited")] += abs(owed)
    return months


def _sonar_invoiced(extractor: SonarExtractor, accounts: list[str], window: HistoryWindow) -> Counter[tuple[str, str]]:
    """Sonar's invoiced totals per month of these accounts' invoices inside the window (voided ones bill nothing)."""
    months: Counter[tuple[str, str]] = Counter()
    for page in extractor.fetch_where("account_invoice", "account_id", accounts):
        for invoice in page.records:
            if not invoice.get("void") and in_window(invoice.get("date"), window.since):
                months[(str(invoice["date"])[:7], "invoiced")] += int(invoice.get("total_debits") or 0)
    return months


def _splynx_months(client: SplynxClient, customers: set[str], window: HistoryWindow) -> Counter[tuple[str, str]]:
    """Splynx's (month, kind) totals of these customers: invoices, payments, transactions a payment did not book."""
    months: Counter[tuple[str, str]] = Counter()
    for path, dated, amount, kind in DOCUMENTS:
        for row in _all_rows(client, path):
            if str(row.get("customer_id")) in customers and in_window(row.get(dated), window.since):
                months[(str(row[dated])[:7], kind)] += decimal_to_cents(str(row.get(amount) or "0"))
    for row in _all_rows(client, TRANSACTIONS_PATH):
        counted = str(row.get("customer_id")) in customers and in_window(row.get("date"), window.since)
        if not counted or _booked_by_payment_or_brought_forward(row):
            continue
        kind = "debited" if row.get("type") == "debit" else "credited"
        months[(str(row["date"])[:7], kind)] += decimal_to_cents(str(row.get("total") or row.get("price") or "0"))
    return months


def _booked_by_payment_or_brought_forward(row: dict[str, Any]) -> bool:
    """A payment's own credit (counted as the payment) or a balance brought forward (no month's movement)."""
    marker = str((row.get("additional_attributes") or {}).get(MARKER_FIELD) or "")
    return str(row.get("payment_id") or "0") not in ("", "0") or marker.startswith("account_balance:")


def _all_rows(client: SplynxClient, path: str) -> Iterator[dict[str, Any]]:
    """Every record of a collection, a page of LIST_PAGE at a time, in id order."""
    offset = 0
    while True:
        rows = client.list(path, order={"id": "ASC"}, limit=LIST_PAGE, offset=offset)
        yield from rows
        if len(rows) < LIST_PAGE:
            return
        offset += LIST_PAGE


def _month_lines(sonar: Counter[tuple[str, str]], splynx: Counter[tuple[str, str]]) -> list[MonthLine]:
    keys = sorted(set(sonar) | set(splynx), key=lambda k: (k[0], KINDS.index(k[1])))
    return [MonthLine(month, kind, sonar[(month, kind)], splynx[(month, kind)]) for month, kind in keys]
