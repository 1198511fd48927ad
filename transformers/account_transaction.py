"""A Sonar debit or discount (full-history mode) -> one Splynx transaction of its customer.

Why transactions: a Sonar debit is what moves the balance (`core_transactions`), and Splynx's
`admin/finance/transactions` is the one record that moves a Splynx customer's balance the same way (a debit
charges, a credit credits, docs/fidelity.md "Account transactions"). A debit on an invoice the history carries
is booked by that invoice (transformers/account_invoice.py) and skipped here. A DEBIT raises what the customer
owes: a `debit`; a DISCOUNT lowers it: a `credit`; a negative amount (a reversal) the other way round. The
amount is taken as what moved the balance, taxes included (a guess, docs/fidelity.md), so tax 0 here;
`etl reconcile` proves it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.account_balance import transaction_body
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, parent, payload, source_id
from transformers.rules import clean_text, splynx_date
from transformers.validation import SkipRecord, Subject

ENTITY = "account_transaction"
TARGET = "billing_transaction"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
OWED_SIGN = {"DEBIT": 1, "DISCOUNT": -1}  # how each type moves what the customer owes


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """A debit charges the customer, a discount credits it, on the day Sonar booked it."""
    kind = str(record.get("type") or "")
    if record.get("invoiced"):
        raise SkipRecord(f"the debit is a line of invoice {record.get('invoice_id')}, which books it in Splynx")
    owed = OWED_SIGN.get(kind, 0) * int(record.get("amount") or 0)
    if owed == 0:
        raise SkipRecord(f"a {kind.lower() or 'transaction'} of 0 moves no balance")
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    description = clean_text(record.get("description")) or f"Sonar {kind.lower()}"
    comment = f"Sonar {kind.lower()} transaction {source_id(record)}"
    body = transaction_body(customer_id, owed, splynx_date(record.get("datetime")), ctx, description, comment=comment)
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})
