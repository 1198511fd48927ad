"""A Sonar ticket's reply or internal comment -> a message of its Splynx ticket (`admin/support/ticket-messages`).

Why one module for both: a reply and a comment are the same Splynx record, a ticket message; a reply comes
from the customer when Sonar says `incoming`, else from the staff member who wrote it, and a comment is a
staff member's note the customer never sees (`hide_for_customer`). The message keeps Sonar's moment (UTC,
`date` and `time`). A ticket message has no additional-fields module and no field a marker could hide in
without showing it to the customer, so the loader recognises one it wrote by its ticket, moment and text
(`Target.natural_key`, docs/fidelity.md "Tickets").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, admin_of, marker, nested, parent, source_id
from transformers.rules import splynx_datetime
from transformers.validation import SkipRecord, Subject

TARGET = "ticket_message"


def message(entity: str, record: Record, ctx: TransformContext, *, internal: bool) -> SplynxPayload:
    """One message of the ticket, by the customer or by staff, hidden from the customer when `internal`."""
    text = str(record.get("body") or "").strip()
    if not text:
        raise SkipRecord(f"the {entity.replace('_', ' ')} is empty")
    subject = Subject(entity, source_id(record))
    ticket_id = parent(ctx, subject, "ticket_id", "ticket", record.get("ticket_id"))
    day, _, time = str(splynx_datetime(record.get("created_at")) or "").partition(" ")
    body: dict[str, Any] = {"ticket_id": ticket_id, "date": day, "time": time, "message": text,
                            "hide_for_customer": "1" if internal else "0"}  # fmt: skip
    if record.get("incoming") and not internal:
        account = nested(record, "ticket").get("ticketable_id")
        body.update(author_type="customer", customer_id=parent(ctx, subject, "customer_id", "account", account))
    else:
        body.update(author_type="admin", admin_id=admin_of(ctx, record.get("user_id")))
    return replace(SplynxPayload(TARGET, body, marker(entity, subject.source_id)), parent={"ticket_id": ticket_id})
