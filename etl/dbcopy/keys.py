"""Batch boundaries as JSON text for the ledger's key_from/key_to, and back.

Why tagged JSON: a key can be an int, a string, a Decimal, a date or bytes; the ledger stores
text, and the resumed copy must bind exactly the same value again. Position batches (tables
without a unique key) store `{"row": N}` instead of a key.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any


def _tag(value: Any) -> Any:
    if isinstance(value, bool | int | str | float) or value is None:
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    return {"$str": str(value)}


_UNTAG: dict[str, Callable[[str], Any]] = {
    "$decimal": Decimal,
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$bytes": base64.b64decode,
    "$uuid": uuid.UUID,
    "$str": str,
}


def _untag(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag in _UNTAG:
            return _UNTAG[tag](text)
    return value


def encode_key(values: Sequence[Any]) -> str:
    """A key tuple as ledger text: `[17]`, `["acme", 3]`."""
    return json.dumps([_tag(v) for v in values], separators=(",", ":"))


def decode_key(text: str) -> tuple[Any, ...]:
    """The key tuple a ledger text stands for."""
    return tuple(_untag(v) for v in json.loads(text))


def encode_position(row: int) -> str:
    """A row position in the all-columns order of an unkeyed table."""
    return json.dumps({"row": row})


def decode_position(text: str | None) -> int | None:
    """The row position a ledger text stands for; None when unbounded."""
    return None if text is None else int(json.loads(text)["row"])
