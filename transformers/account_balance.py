"""A Sonar account's balance -> one opening-balance transaction of its Splynx customer.

Why one transaction: many ISPs cut over with balances only (the `balance` history mode), and it is what
makes the customer's Splynx balance (`deposit` of its billing) equal Sonar's the morning after. In the
`full` mode the customer's debits, discounts and payments come one by one, and this transaction carries
only what came before the history window (`--history-since`): the balance brought forward.
Sonar's `running_balance` after a transaction is what the customer owes (positive) or holds in credit
(negative) (docs/fidelity.md, "Account transactions"); Splynx charges a customer with a `debit`
transaction and credits it with a `credit` one (its documentation: an invoice period's charge is a Debit,
a payment a Credit), so its balance is credits less debits. An owed balance becomes a debit of that
amount, a credit balance a credit. A balance of 0 needs nothing (skipped, with that reason) unless an
earlier run carried a balance: then it is re-written to 0, or Splynx would keep the old amount.

The transaction is dated the day of the latest Sonar transaction it carries, not the day of the run, so
a re-run writes nothing while Sonar's history does not change (bodies are compared across runs), and a
new payment in Sonar re-PUTs it with the new amount. Tax 0: the taxes were in Sonar's debits already.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, parent, payload, source_id
from transformers.rules import cents_to_decimal, splynx_date
from transformers.validation import SkipRecord, Subject

ENTITY = "account_balance"
TARGET = "billing_transaction"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
DESCRIPTION_LEN = 255  # live column billing_transactions.description varchar(255)
FULL = "full"  # etl/history.py's mode name (transformers import nothing from etl)


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The customer's opening balance: a debit of what it owes, or a credit of what it holds."""
    full = ctx.history_mode == FULL
    balance = int(record.get("opening" if full else "balance") or 0)
    as_of = splynx_date(record.get("opening_as_of" if full else "as_of") or record.get("as_of"))
    if balance == 0 and not ctx.migrated(ENTITY, source_id(record)):
        raise SkipRecord(_nothing_to_carry(record, full))
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    what = "Balance brought forward" if full else "Opening balance"
    body = transaction_body(customer_id, balance, as_of, ctx, f"{what} from Sonar, as of {as_of}")
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})


def transaction_body(
    customer_id: str, owed_cents: int, day: str | None, ctx: TransformContext, description: str, **more: Any
) -> dict[str, Any]:
    """A Splynx transaction moving what the customer owes by `owed_cents`: a debit if positive, else a credit.

    Quantity 1 and tax 0: the amount is what moved Sonar's balance, taxes included.
    """
    return {
        "type": "debit" if owed_cents > 0 else "credit",
        "customer_id": customer_id,
        "quantity": 1,
        "price": cents_to_decimal(abs(owed_cents)),
        "tax_percent": "0",
        "date": day,
        "category": ctx.transaction_category_id,
        "description": description[:DESCRIPTION_LEN],
        "source": "manual",
        **more,
    }


def _nothing_to_carry(record: Record, full: bool) -> str:
    if not full:
        return "the balance is 0: nothing to carry over"
    if record.get("opening_as_of") is None:
        return "full history: the account's own transactions carry its balance (none before the window)"
    return "the balance brought forward into the history window is 0"
