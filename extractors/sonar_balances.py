"""Each account's history from Sonar's `core_transactions`: its balance, and its debits and discounts.

Why a module of its own: `core_transactions(account_id, paginator)` is the one root field read per account
(it takes no `search` or `sorter`), so none of the keyset paging the other entities share applies. Every
page of an account's transactions is read once, and that one read serves both entities made of it:
- `account_balance`, one record per account: the latest transaction (by `datetime`, then `id`: the SDL
  does not say in which order they come, docs/fidelity.md "Account transactions") gives the balance; the
  latest one before the history window (`--history-since`) gives the balance brought forward;
- `account_transaction`, one record per DEBIT or DISCOUNT inside the window (the full-history mode).
  Payments are read from `payments` instead (their method and reference live there).
An account with no transaction has a balance of 0.

A debit on an invoice the full history carries (`account_invoice`: not void, dated inside the window) is booked
in Splynx by that invoice, whose lines are its debits; its transaction record says so (`invoiced`) and is not
written on its own. Such a debit dated before the window (an invoice straddling its first day) is then left out
of the balance brought forward too, so each one is counted exactly once. Decided here, from the account's own
transactions and each debit's invoice, so the invoice and the transaction never need to see each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from extractors import sonar_queries as q

if TYPE_CHECKING:
    from extractors.sonar import Page, SonarClient

BALANCE = "account_balance"
TRANSACTION = "account_transaction"
ROOT = "core_transactions"
PER_REQUEST = 100
CARRIED_TYPES = ("DEBIT", "DISCOUNT")  # PAYMENT transactions come from `payments`, with their method
Record = dict[str, Any]


def account_transactions(client: SonarClient, account_id: str) -> list[Record]:
    """Every transaction of one account, all pages, in the order Sonar gave them."""
    transactions: list[Record] = []
    page, total_pages = 1, 1
    while page <= total_pages:
        variables = {"account_id": account_id, "paginator": {"page": page, "records_per_page": PER_REQUEST}}
        connection = client.execute(q.document(BALANCE), variables)[ROOT]
        transactions.extend(connection["entities"] or [])
        total_pages = int(connection["page_info"]["total_pages"] or 1)
        page += 1
    return transactions


def account_balance(client: SonarClient, account_id: str, since: date | None = None) -> Record:
    """One account's balance record, read live (what `etl reconcile` compares)."""
    return balance_record(str(account_id), account_transactions(client, str(account_id)), since)


def balance_record(account_id: str, transactions: list[Record], since: date | None) -> Record:
    """The balance (cents) after the latest transaction, and the one brought forward into the window."""
    latest = max(transactions, key=_moment, default=None)
    before = [t for t in transactions if not in_window(t.get("datetime"), since)]
    opening = max(before, key=_moment, default=None) if since is not None else None
    invoiced_before = sum(int(t["amount"]) for t in before if invoiced(t, since)) if opening else 0
    as_of = latest.get("datetime") if latest else None
    return {
        "id": account_id,
        "account_id": account_id,
        "balance": int(latest["running_balance"]) if latest else 0,
        "as_of": as_of,
        "transactions": len(transactions),
        "opening": int(opening["running_balance"]) - invoiced_before if opening else 0,
        "opening_as_of": opening.get("datetime") if opening else None,
        "created_at": as_of,
        "updated_at": as_of,
        "_version": None,
    }


def transaction_records(transactions: list[Record], since: date | None) -> list[Record]:
    """The account's debits and discounts inside the window, in Sonar's id order, as staged records."""
    kept = [t for t in transactions if t.get("type") in CARRIED_TYPES and in_window(t.get("datetime"), since)]
    return [
        {
            "id": str(t["id"]),
            "account_id": str(t["account_id"]),
            "type": t["type"],
            "amount": int(t["amount"]),
            "tax_total": int(t.get("tax_total") or 0),
            "datetime": t.get("datetime"),
            "description": t.get("description"),
            "running_balance": int(t["running_balance"]),
            "invoice_id": _invoice_id(t),
            "invoiced": invoiced(t, since),
            "created_at": t.get("datetime"),
            "updated_at": t.get("datetime"),
            "_version": None,
        }
        for t in sorted(kept, key=lambda t: int(t["id"]))
    ]


def invoiced(transaction: Record, since: date | None) -> bool:
    """Whether a DEBIT is booked in Splynx by its invoice: one the full history carries (not void, in the window)."""
    invoice = (transaction.get("debit") or {}).get("invoice") or {}
    return transaction.get("type") == "DEBIT" and bool(invoice) and not invoice.get("void") and (
        in_window(invoice.get("date"), since)
    )


def _invoice_id(transaction: Record) -> str | None:
    found = (transaction.get("debit") or {}).get("invoice_id")
    return None if found is None else str(found)


def in_window(moment: Any, since: date | None) -> bool:
    """Whether a Sonar datetime (ISO text) falls on or after the window's first day (no window: always)."""
    return since is None or (moment is not None and str(moment)[:10] >= since.isoformat())


def _moment(transaction: Record) -> tuple[str, int]:
    return str(transaction.get("datetime") or ""), int(transaction["id"])


def history_pages(
    client: SonarClient, entities: Iterable[str], account_ids: Iterable[str], page_size: int, since: date | None
) -> Iterator[Page]:
    """Pages of the wanted per-account entities of these accounts, each account read once, in the order given."""
    from extractors.sonar import Page  # the extractor imports this module: its Page, imported late

    wanted = [e for e in (BALANCE, TRANSACTION) if e in set(entities)]
    buffers: dict[str, list[Record]] = {e: [] for e in wanted}
    numbers: dict[str, int] = dict.fromkeys(wanted, 0)

    def flush(entity: str) -> Page:
        numbers[entity] += 1
        page = Page(entity, buffers[entity], numbers[entity])
        buffers[entity] = []
        return page

    for account_id in account_ids:
        transactions = account_transactions(client, str(account_id))
        if BALANCE in buffers:
            buffers[BALANCE].append(balance_record(str(account_id), transactions, since))
        if TRANSACTION in buffers:
            buffers[TRANSACTION].extend(transaction_records(transactions, since))
        for entity in wanted:
            if len(buffers[entity]) >= page_size:
                yield flush(entity)
    for entity in wanted:
        if buffers[entity]:
            yield flush(entity)
