"""A Sonar note about an account -> a comment of its Splynx customer (`admin/customers/customer-notes`).

Why comments: they are what Splynx shows support staff on the customer's page, as Sonar shows an
account's notes. A STICKY note (Sonar keeps it on top of the account) is a pinned comment, coloured
`warning`, one that needs confirming `danger`; a normal one `default`. The author is the Splynx
administrator its Sonar user became, when that user was migrated (0 otherwise: a system note, or one by a
user who was not carried over, whose id stays in the name). A comment has no additional-fields module, so
the migration marker is kept in its `name` (`Sonar note 5 [sonar_id=account_note:5]`, docs/fidelity.md).
The title is the note's first line, cut to Splynx's 50 characters; the whole text is the comment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record, admin_of, marker, parent, source_id, text_marker
from transformers.rules import splynx_datetime
from transformers.validation import SkipRecord, Subject

ENTITY = "account_note"
TARGET = "customer_note"
ADDITIONAL_FIELDS: dict[str, list[dict[str, Any]]] = {}
TITLE_LEN = 50  # live customer_notes.title varchar(50)
CLASSES = {"NORMAL": "default", "STICKY": "warning", "STICKY_WITH_CONFIRMATION": "danger"}


def transform(record: Record, ctx: TransformContext) -> SplynxPayload:
    """The note as a comment on the customer's page, on the day and by the administrator Sonar says."""
    text = str(record.get("message") or "").strip()
    if not text:
        raise SkipRecord("the note is empty")
    sid = source_id(record)
    customer_id = parent(ctx, Subject(ENTITY, sid), "customer_id", "account", record.get("noteable_id"))
    priority = str(record.get("priority") or "NORMAL")
    pinned = priority != "NORMAL"
    written = splynx_datetime(record.get("created_at"))
    body = {
        "customer_id": customer_id,
        "datetime": written,
        "administrator_id": admin_of(ctx, record.get("user_id")),
        "type": "comment",
        "class": CLASSES.get(priority, "default"),
        "title": text.splitlines()[0][:TITLE_LEN],
        "name": f"{_by(record, ctx)}Sonar note {sid} {text_marker(marker(ENTITY, sid), ctx.marker_field)}",
        "comment": text,
        "is_pinned": 1 if pinned else 0,
    }
    return replace(SplynxPayload(TARGET, body, marker(ENTITY, sid)), parent={"customer_id": customer_id})



def _by(record: Record, ctx: TransformContext) -> str:
    """`by Sonar user 7, ` when the author is not a Splynx administrator: who wrote it stays known."""
    user = record.get("user_id")
    return "" if user is None or admin_of(ctx, user) != "0" else f"by Sonar user {user}, "

