"""A Sonar account's balance -> one opening-balance transaction of its Splynx customer.

Why one transaction: many ISPs cut over with balances only (the issue's opening-balance mode), and it is
what makes the customer's Splynx balance (`deposit` of its billing) equal Sonar's the morning after.
Sonar's `running_balance` after the account's latest transaction is what the customer owes (positive) or
holds in credit (negative) (docs/fidelity.md, "Account transactions"); Splynx charges a customer with a
`debit` transaction and credits it with a `credit` one (its documentation: an invoice period's charge is a
Debit, a payment a Credit), so its balance is credits less debits. An owed balance becomes a debit of that
amount, a credit balance a credit; a balance of 0 needs nothing (skipped, with that reason).

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


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The customer's opening balance: a debit of what it owes, or a credit of what it holds."""
    balance = int(record.get("balance") or 0)
    if balance == 0:
        raise SkipRecord("the balance is 0: nothing to carry over")
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    as_of = splynx_date(record.get("as_of"))
    body = {
        "type": "debit" if balance > 0 else "credit",
        "customer_id": customer_id,
        "quantity": 1,
        "price": cents_to_decimal(abs(balance)),
        "tax_percent": "0",
        "date": as_of,
        "category": ctx.transaction_category_id,
        "description": f"Opening balance from Sonar, as of {as_of}"[:DESCRIPTION_LEN],
        "source": "manual",
    }
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})
