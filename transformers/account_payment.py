"""A Sonar payment (full-history mode) -> one Splynx payment of its customer.

Why a Splynx payment and not a credit transaction: support staff look a payment up by its receipt and its
method, and Splynx books the credit transaction that moves the balance itself (its `payments` table links
one by `transaction_id`). Only a successful payment moved Sonar's balance: one that failed is skipped with
that reason. The receipt number is Sonar's reference when it fits Splynx's 32 characters (live column
`payments.receipt_number varchar(32)`), else the Sonar id; the full reference is kept in the note. The
method is the Splynx payment method named for the Sonar payment type (`ctx.payment_methods`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, parent, payload, source_id
from transformers.rules import cents_to_decimal, clean_text, splynx_date
from transformers.validation import SkipRecord, Subject, fail

ENTITY = "account_payment"
TARGET = "payment"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
RECEIPT_LEN = 32  # live payments.receipt_number varchar(32)
COMMENT_LEN = 256  # live payments.comment varchar(256)
FREE_FIELDS = ("field_1", "field_2", "field_3", "field_4", "field_5")  # the blueprint lists them as required


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The payment on the day Sonar received it, with its method, receipt and amount."""
    if record.get("successful") is False:
        raise SkipRecord("the payment did not succeed in Sonar: it moved no money")
    cents = int(record.get("amount") or 0)
    if cents <= 0:
        raise SkipRecord(f"a payment of {cents_to_decimal(cents)} moves no money")
    subject = Subject(ENTITY, source_id(record))
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("account_id"))
    reference = clean_text(record.get("reference"))
    body = {
        "customer_id": customer_id,
        "payment_type": _method(record, ctx, subject),
        "receipt_number": reference if reference and len(reference) <= RECEIPT_LEN else f"SONAR-{subject.source_id}",
        "date": splynx_date(record.get("payment_datetime")),
        "amount": cents_to_decimal(cents),
        "comment": (clean_text(record.get("description")) or "Payment")[:COMMENT_LEN],
        "note": f"Sonar payment {subject.source_id} ({record.get('payment_type')}), reference {reference or '-'}",
        **dict.fromkeys(FREE_FIELDS, ""),
    }
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})


def _method(record: Record, ctx: TransformContext, subject: Subject) -> str:
    kind = str(record.get("payment_type") or "OTHER").upper()
    method = (ctx.payment_methods or {}).get(kind)
    if method is not None:
        return method
    raise fail(
        subject, "no_payment_method", "payment_type", kind,
        f"no Splynx payment method is known for Sonar payment type {kind}",
        f"name one under [payment_methods] in etl.toml ({kind} = \"Bank transfer\") and `etl resume`",
    )  # fmt: skip
