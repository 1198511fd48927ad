"""Compare what we wrote to Splynx with what Splynx gives back, through its string typing.

Why a tolerant comparison: Splynx's PHP/MySQL stack returns 12 as "12", 9.5 as "9.5000", True as
"1", [1, 2] as ["1", "2"] and omitted dates as "0000-00-00". Those are the same values. A real
difference (a truncated name, a speed in the wrong unit, a status Splynx replaced) must still show.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

EMPTY = (None, "", "0000-00-00", "0000-00-00 00:00:00")


def differences(sent: Mapping[str, Any], got: Mapping[str, Any], skip: frozenset[str]) -> list[tuple[str, Any, Any]]:
    """Fields of `sent` whose value Splynx does not hold: (field, sent value, read-back value).

    `skip` names fields not to compare; `items.categoryIdForTransaction` one inside each record of a list.
    """
    out: list[tuple[str, Any, Any]] = []
    for name, value in sent.items():
        if name in skip:
            continue
        back = got.get(name)
        if isinstance(value, Mapping):
            nested = differences(value, back if isinstance(back, Mapping) else {}, frozenset())
            out += [(f"{name}.{sub}", a, b) for sub, a, b in nested]
        elif _records(value):
            out += _record_differences(name, value, back, frozenset(s.partition(".")[2] for s in skip
                                                                    if s.startswith(f"{name}.")))  # fmt: skip
        elif not same(value, back):
            out.append((name, value, back))
    return out


def _records(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _record_differences(name: str, sent: Any, got: Any, skip: frozenset[str]) -> list[tuple[str, Any, Any]]:
    """A list of records (an invoice's lines) read back in order: each compared on the fields we sent.

    Why only those: Splynx adds its own (a line's id, its computed total) to every record it returns.
    """
    back = list(got) if isinstance(got, list | tuple) else []
    if len(back) != len(sent):
        return [(f"{name} (records)", len(sent), len(back))]
    out: list[tuple[str, Any, Any]] = []
    for n, (mine, theirs) in enumerate(zip(sent, back, strict=True)):
        nested = differences(mine, theirs if isinstance(theirs, Mapping) else {}, skip)
        out += [(f"{name}[{n + 1}].{sub}", a, b) for sub, a, b in nested]
    return out


def same(sent: Any, got: Any) -> bool:
    """Equal once Splynx's typing is normalised (numbers, flags, lists, empty values)."""
    if sent in EMPTY or got in EMPTY:
        return sent in EMPTY and got in EMPTY
    if isinstance(sent, list | tuple):
        if not isinstance(got, list | tuple) or len(sent) != len(got):
            return False
        return sorted(map(_canonical, sent)) == sorted(map(_canonical, got))
    return _canonical(sent) == _canonical(got)


def _canonical(value: Any) -> str:
    """One spelling per value: booleans as 0/1, numbers without trailing zeros, strings as they are."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Mapping):
        return repr(sorted((str(k), _canonical(v)) for k, v in value.items()))
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    return format(number.normalize(), "f") if number != 0 else "0"
