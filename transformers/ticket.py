"""A Sonar ticket about an account -> a Splynx ticket of its customer, its description the first message.

Why the description travels inside the ticket's POST (`message`, the blueprint's "Ticket Base Create"): it is
the customer's opening message, and one write makes the ticket and that message together, so a crash can
never leave a ticket without it or with it twice. Replies and internal comments follow as messages of their
own (transformers/ticket_message.py). Splynx's API lists ticket statuses, groups and types but cannot make
them: each is found by name before loading (`ctx.tickets`, etl/preflight.py). A Sonar group Splynx has no group
of that name for, or an assignee who was not migrated, is not lost: the ticket's note names it. The marker
is an additional attribute (module `ticket`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TicketLookups, TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, admin_of, nested, parent, payload, source_id
from transformers.rules import clean_text, splynx_datetime
from transformers.validation import Subject, fail

ENTITY = "ticket"
TARGET = "ticket"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
SUBJECT_LEN = 256  # live ticket.subject varchar(256)
PRIORITIES = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "CRITICAL": "urgent"}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The ticket as Splynx shows it: subject, priority, status, group, assignee, opened when Sonar says."""
    subject = Subject(ENTITY, source_id(record))
    lookups = _lookups(ctx, subject)
    customer_id = parent(ctx, subject, "customer_id", "account", record.get("ticketable_id"))
    status = str(record.get("status") or "OPEN")
    opened = splynx_datetime(record.get("created_at"))
    group = clean_text(nested(record, "ticket_group").get("name"))
    group_id = None if group is None else lookups.groups.get(group.lower())
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "reporter_type": "customer",
        "reporter_id": customer_id,
        "subject": (clean_text(record.get("subject")) or "(no subject)")[:SUBJECT_LEN],
        "priority": PRIORITIES.get(str(record.get("priority") or "MEDIUM"), "medium"),
        "status_id": _status(lookups, status, subject),
        "group_id": group_id or "0",
        "type_id": lookups.type_id,
        "assign_to": admin_of(ctx, record.get("user_id")),
        "closed": "1" if status == "CLOSED" else "0",
        "created_at": opened,
        "note": _note(record, ctx, None if group_id else group),
    }
    description = str(record.get("description") or "").strip()
    if description:
        day, _, time = str(opened or "").partition(" ")
        body["message"] = {"message": description, "author_type": "customer", "customer_id": customer_id,
                           "date": day, "time": time}  # fmt: skip
    return replace(payload(TARGET, ENTITY, record, ctx, body), parent={"customer_id": customer_id})


def _lookups(ctx: TransformContext, subject: Subject) -> TicketLookups:
    if ctx.tickets is not None:
        return ctx.tickets
    raise fail(subject, "no_ticket_lookups", "status_id", None, "Splynx's ticket statuses and types were not read",
               "run the history phase with `etl run`/`etl resume`, which reads them first")  # fmt: skip


def _status(lookups: TicketLookups, status: str, subject: Subject) -> str:
    found = lookups.statuses.get(status)
    if found is not None:
        return found
    raise fail(
        subject, "no_ticket_status", "status_id", status, f"no Splynx ticket status is named for Sonar status {status}",
        f'name one under [ticket_statuses] in etl.toml ({status} = "New") and `etl resume`',
    )  # fmt: skip


def _note(record: Record, ctx: TransformContext, unmapped_group: str | None) -> str:
    """Where the ticket came from, and what of it Splynx has no place for (a group, an assignee)."""
    parts = [f"Sonar ticket {source_id(record)}"]
    if unmapped_group:
        parts.append(f"Sonar group {unmapped_group} (no Splynx ticket group of that name: "
                     "map it under [ticket_groups])")
    user = record.get("user_id")
    if user is not None and admin_of(ctx, user) == "0":
        parts.append(f"assigned in Sonar to user {user}, who was not migrated")
    return "; ".join(parts)
