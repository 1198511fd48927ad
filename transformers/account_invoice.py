"""A Sonar invoice (full-history mode) -> one Splynx invoice of its customer, its debits its lines.

Why the invoice books its debits (`use_transactions` 1) and they are not written again as transactions: a
Splynx invoice "using transactions" makes one debit transaction per line (Splynx documentation, Finance >
Invoices; the live `billing_transactions.invoice_id` column), so the customer's balance moves once, by the
invoice, and support staff find each charge under the invoice that billed it (docs/fidelity.md "Invoices",
a guess checked by `etl reconcile`). Each line is one Sonar debit: its amount as the line's price, quantity 1
(a Sonar debit's `amount` is what it moved, whatever its quantity: the quantity is named in the description),
tax 0, its proration period when it has one. The Sonar invoice id is the Splynx number (Sonar numbers its
invoices by id) and, with the marker, an additional attribute. Status from what is still due: paid when
nothing is (Sonar's `status` text is not an enum in the SDL). A void invoice moved no money: skipped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, entities, in_id_order, parent, payload, source_id
from transformers.rules import cents_to_decimal, clean_text, splynx_date
from transformers.validation import SkipRecord, Subject

ENTITY = "account_invoice"
TARGET = "invoice"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
LINE_LEN = 255  # a guess (invoice items are not in the live capture): as billing_transactions.description
NUMBER_LEN = 64  # live invoices.number varchar(64)


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The invoice on the day Sonar issued it, due when Sonar said, one line per debit."""
    if record.get("void"):
        raise SkipRecord("the invoice was voided in Sonar: it bills nothing")
    debits = in_id_order(entities(record.get("debits")))
    if not debits:
        raise SkipRecord("the invoice has no debits: nothing to bill")
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    day = splynx_date(record.get("date"))
    body = {
        "customer_id": customer_id,
        "number": subject.source_id[:NUMBER_LEN],
        "date_created": day,
        "date_till": splynx_date(record.get("due_date")) or day,
        "status": "paid" if int(record.get("remaining_due") or 0) == 0 else "not_paid",
        "use_transactions": "1",
        "type": "one_time",
        "note": clean_text(record.get("message")) or "",
        "memo": f"Sonar invoice {subject.source_id}",
        "items": [_line(debit, ctx) for debit in debits],
    }
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})


def _line(debit: Record, ctx: TransformContext) -> dict[str, Any]:
    """One debit as an invoice line: what it moved as its price, the Sonar quantity in its description."""
    name = clean_text(debit.get("description")) or clean_text(debit.get("service_name")) or "Sonar debit"
    quantity = int(debit.get("quantity") or 1)
    described = name if quantity == 1 else f"{name} (x{quantity})"
    line: dict[str, Any] = {
        "description": described[:LINE_LEN],
        "quantity": 1,
        "price": cents_to_decimal(int(debit.get("amount") or 0)),
        "tax": "0",
        "categoryIdForTransaction": ctx.transaction_category_id,
    }
    if debit.get("prorated_from") and debit.get("prorated_to"):
        line.update(period_from=splynx_date(debit["prorated_from"]), period_to=splynx_date(debit["prorated_to"]))
    return line
