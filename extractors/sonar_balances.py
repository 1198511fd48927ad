"""Each account's balance, from Sonar's `core_transactions`: the record the HISTORY phase carries over.

Why a module of its own: `core_transactions(account_id, paginator)` is the one root field read per account
(it takes no `search` or `sorter`), so none of the keyset paging the other entities share applies. Every
page of an account's transactions is read and the latest one (by `datetime`, then `id`) gives the balance:
the SDL does not say in which order they come (docs/fidelity.md, "Account transactions"). An account with
no transaction has a balance of 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from extractors import sonar_queries as q

if TYPE_CHECKING:
    from extractors.sonar import Page, SonarClient

ENTITY = "account_balance"
ROOT = "core_transactions"
PER_REQUEST = 100
Record = dict[str, Any]


def account_balance(client: SonarClient, account_id: str) -> Record:
    """One account's balance record: its latest transaction's `running_balance` (cents), when, how many."""
    transactions: list[Record] = []
    page, total_pages = 1, 1
    while page <= total_pages:
        variables = {"account_id": account_id, "paginator": {"page": page, "records_per_page": PER_REQUEST}}
        connection = client.execute(q.document(ENTITY), variables)[ROOT]
        transactions.extend(connection["entities"] or [])
        total_pages = int(connection["page_info"]["total_pages"] or 1)
        page += 1
    latest = max(transactions, key=_moment, default=None)
    as_of = latest.get("datetime") if latest else None
    return {
        "id": str(account_id),
        "account_id": str(account_id),
        "balance": int(latest["running_balance"]) if latest else 0,
        "as_of": as_of,
        "transactions": len(transactions),
        "created_at": as_of,
        "updated_at": as_of,
        "_version": None,
    }


def _moment(transaction: Record) -> tuple[str, int]:
    return str(transaction.get("datetime") or ""), int(transaction["id"])


def balance_pages(client: SonarClient, account_ids: Iterable[str], page_size: int) -> Iterator[Page]:
    """Pages of balance records of these accounts, `page_size` accounts a page, in the order given."""
    from extractors.sonar import Page  # the extractor imports this module: its Page, imported late

    records: list[Record] = []
    number = 0
    for account_id in account_ids:
        records.append(account_balance(client, str(account_id)))
        if len(records) == page_size:
            number += 1
            yield Page(ENTITY, records, number)
            records = []
    if records:
        yield Page(ENTITY, records, number + 1)
