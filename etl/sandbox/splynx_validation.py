"""Validation of Splynx writes: the 422 `[{"field", "message"}]` answers, with Yii2's wording.

Why so strict: the loader's pre-create validation and error mapping are only proven if the simulator
refuses what the real Splynx refuses: blanks in required fields, malformed e-mails/dates/IPs, values
outside an enum, over-long names, duplicates of unique attributes, references to records that do not
exist, and additional attributes that have no definition for the entity's module.

Unknown top-level attributes are ignored (Yii2 only loads "safe" attributes), read-only ones too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from etl.sandbox.splynx_schema import (
    BOOL,
    BY_KEY,
    DATE,
    DATETIME,
    DECIMAL,
    EMAIL,
    ENUM,
    ENUMS,
    INT,
    INTS,
    IPV4,
    LABELS,
    OBJECT,
    OBJECTS,
    TIME,
    Entity,
    Field,
)
from etl.sandbox.splynx_store import SplynxStore

EMAIL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}:\d{2}$")
AF_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
ZERO_DATETIME = "0000-00-00 00:00:00"


class Invalid(Exception):
    """A write that Splynx would answer with 422 and these field errors."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class Problems:
    """Collects field errors in order; at most one per field, as Yii2 reports the first failing rule."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        """Record a problem unless that field already has one."""
        if all(e["field"] != field for e in self.errors):
            self.errors.append({"field": field, "message": message})

    def has(self, field: str) -> bool:
        """Whether the field already failed."""
        return any(e["field"] == field for e in self.errors)

    def raise_if_any(self) -> None:
        """Raise Invalid when anything was recorded."""
        if self.errors:
            raise Invalid(self.errors)


def hash_secret(value: str) -> str:
    """Passwords are stored hashed, never returned."""
    return "sha256$" + hashlib.sha256(value.encode()).hexdigest()


def blank(value: Any) -> bool:
    """Yii2's isEmpty: None, "" and empty arrays count as missing."""
    return value is None or value == "" or value == []


# -- parsing one value ----------------------------------------------------------------------------


def parse_value(fld: Field, value: Any) -> Any:
    """Turn a written value into its stored form, or raise ValueError with Yii2's message."""
    if value is None:
        return None
    parser = _PARSERS.get(fld.kind, _parse_str)
    return parser(fld, value)


def _parse_int(fld: Field, value: Any) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
        raise ValueError(f"{fld.label} must be an integer.")
    number = int(str(value).strip())
    if fld.choices and number not in fld.choices:
        raise ValueError(f"{fld.label} is invalid.")
    if fld.min_value is not None and number < fld.min_value:
        raise ValueError(f"{fld.label} must be no less than {fld.min_value}.")
    return number


def _parse_decimal(fld: Field, value: Any) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{fld.label} must be a number.") from None
    if not number.is_finite():
        raise ValueError(f"{fld.label} must be a number.")
    return f"{number:.4f}"


def _parse_bool(fld: Field, value: Any) -> int:
    text = str(value).strip().lower()
    if text in ("1", "true"):
        return 1
    if text in ("0", "false", ""):
        return 0
    raise ValueError(f"{fld.label} must be either \"1\" or \"0\".")


def _parse_date(fld: Field, value: Any) -> str:
    text = str(value).strip()
    if fld.allow_zero_date and text in ("0000-00-00", ""):
        return "0000-00-00"
    return _in_format(fld, text, DATE_RE, dt.date.fromisoformat)


def _parse_datetime(fld: Field, value: Any) -> str:
    text = str(value).strip()
    if fld.allow_zero_date and text in (ZERO_DATETIME, ""):  # the blueprint's example for "not set"
        return ZERO_DATETIME
    return _in_format(fld, text, DATETIME_RE, dt.datetime.fromisoformat)


def _parse_time(fld: Field, value: Any) -> str:
    """A MySQL TIME of a day, "HH:MM:SS" (a ticket message's `time`)."""
    return _in_format(fld, str(value).strip(), TIME_RE, dt.time.fromisoformat)


def _in_format(fld: Field, text: str, pattern: re.Pattern[str], parse: Callable[[str], object]) -> str:
    """The text when it has the pattern's form and is a real moment (no 2024-02-30), else Splynx's message."""
    try:
        if not pattern.match(text):
            raise ValueError(text)
        parse(text)
    except ValueError:
        raise ValueError(f"The format of {fld.label} is invalid.") from None
    return text


def _parse_email(fld: Field, value: Any) -> str:
    text = _parse_str(fld, value)
    # Splynx accepts several addresses separated by commas in one e-mail field.
    if text and not all(EMAIL_RE.match(part.strip()) for part in text.split(",")):
        raise ValueError(f"{fld.label} is not a valid email address.")
    return text


def _parse_ipv4(fld: Field, value: Any) -> str:
    text = str(value).strip()
    if text == "":
        return ""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValueError(f"{fld.label} must be a valid IPv4 address.") from None


def _parse_enum(fld: Field, value: Any) -> str:
    text = str(value).strip()
    if text not in fld.choices:
        raise ValueError(f"{fld.label} is invalid.")
    return text


def _parse_str(fld: Field, value: Any) -> str:
    if isinstance(value, (dict, list, bool)):
        raise ValueError(f"{fld.label} must be a string.")
    text = str(value)
    if fld.max_len is not None and len(text) > fld.max_len:
        raise ValueError(f"{fld.label} should contain at most {fld.max_len} characters.")
    return text


def _as_list(fld: Field, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v for v in (p.strip() for p in value.split(",")) if v]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(f"{fld.label} must be an array.")


def _parse_ints(fld: Field, value: Any) -> list[int]:
    items = _as_list(fld, value)
    if not all(re.fullmatch(r"\d+", str(v).strip()) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{fld.label} is invalid.")
    return [int(str(v).strip()) for v in items]


def _parse_enums(fld: Field, value: Any) -> list[str]:
    items = [str(v).strip() for v in _as_list(fld, value)]
    if not all(v in fld.choices for v in items):
        raise ValueError(f"{fld.label} is invalid.")
    return items


def _parse_labels(fld: Field, value: Any) -> list[int]:
    """Label ids (APIB: `customer_labels` array[number]); {"id": N} objects as Splynx returns them pass too."""
    return _parse_ints(fld, [v.get("id") if isinstance(v, dict) else v for v in _as_list(fld, value)])


_PARSERS = {
    INT: _parse_int, DECIMAL: _parse_decimal, BOOL: _parse_bool, DATE: _parse_date, DATETIME: _parse_datetime,
    EMAIL: _parse_email, IPV4: _parse_ipv4, ENUM: _parse_enum, INTS: _parse_ints, ENUMS: _parse_enums,
    LABELS: _parse_labels, TIME: _parse_time,
}


# -- whole records --------------------------------------------------------------------------------


def default_for(fld: Field) -> Any:
    """The value a create stores when the field is omitted."""
    if fld.default == "today":
        return dt.date.today().isoformat()
    if fld.default == "now":  # a DATETIME, or a TIME of the day
        return dt.datetime.now().strftime("%H:%M:%S" if fld.kind == TIME else "%Y-%m-%d %H:%M:%S")
    return list(fld.default) if isinstance(fld.default, list) else fld.default


def merge_fields(entity: Entity, body: dict[str, Any], current: dict[str, Any] | None,
                 problems: Problems) -> dict[str, Any]:
    """Parse the writable attributes of `body` over `current` (or over the defaults, for a create)."""
    record = dict(current) if current else {f.name: default_for(f) for f in entity.fields
                                            if not f.secret and not f.write_only}
    for fld in entity.fields:
        if not fld.writable or fld.name not in body or (fld.write_only and current is not None):
            continue
        if fld.kind == OBJECT:
            written = merge_object(fld, body[fld.name], problems)
            if written is not None:
                record[fld.name] = written
            continue
        if fld.kind == OBJECTS:
            record[fld.name] = merge_objects(fld, body[fld.name], record.get(fld.name) or [], problems)
            continue
        try:
            value = parse_value(fld, body[fld.name])
        except ValueError as exc:
            problems.add(fld.name, str(exc))
            continue
        if fld.secret:
            if not blank(value):
                record[fld.name] = hash_secret(str(value))
            continue
        record[fld.name] = value
    for fld in entity.fields:
        if fld.required and blank(record.get(fld.name)):
            problems.add(fld.name, f"{fld.label} cannot be blank.")
    return record


def merge_object(fld: Field, value: Any, problems: Problems) -> dict[str, Any] | None:
    """Parse one sub-record (a ticket's inline `message`) over its parts' defaults.

    A problem names the part as `<field>.<part>` (as additional attributes are named), in the 422 shape of every
    other field error; null is "not given" (None returned).
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(fld.name, f"{fld.label} must be an object.")
        return None
    target = {p.name: default_for(p) for p in fld.parts}
    for part in fld.parts:
        if not part.writable or part.name not in value:
            continue
        try:
            parsed = parse_value(part, value[part.name])
        except ValueError as exc:
            problems.add(f"{fld.name}.{part.name}", str(exc))
            continue
        target[part.name] = default_for(part) if parsed is None and not part.required else parsed
    for part in fld.parts:
        if part.required and blank(target.get(part.name)):
            problems.add(f"{fld.name}.{part.name}", f"{part.label} cannot be blank.")
    return target


def merge_objects(fld: Field, value: Any, current: list[dict[str, Any]], problems: Problems) -> list[dict[str, Any]]:
    """Parse a list of sub-records (an invoice's items) over the stored ones; problems name the element.

    An element with an `id` updates the stored element of that id with the attributes it gives (the blueprint's
    invoice PUT sends `[{"id": 1, "description": ...}]`); one without is a new element, its omitted attributes
    defaulted; stored elements the list does not name are kept. New elements get their id later (None here), so
    a refused write allocates none. A problem is reported on the field itself, prefixed "Item N: " with N the
    element's 1-based position in the written list, in the 422 shape of every other field error.

    Returns:
        The merged list (the stored one unchanged when the value is not a list).
    """
    if not isinstance(value, list):
        problems.add(fld.name, f"{fld.label} must be an array.")
        return current
    merged = [dict(element) for element in current]
    by_id = {element.get("id"): element for element in merged}
    for position, written in enumerate(value, start=1):
        where = f"Item {position}: "
        if not isinstance(written, dict):
            problems.add(fld.name, f"{where}Item must be an object.")
            continue
        target = by_id.get(_element_id(written.get("id")))
        if written.get("id") not in (None, "") and target is None:
            problems.add(fld.name, f"{where}Item {written['id']} not found.")
            continue
        if target is None:
            target = {p.name: default_for(p) for p in fld.parts}
            merged.append(target)
        message = _merge_element(fld.parts, written, target)
        if message is not None:
            problems.add(fld.name, where + message)
    return merged


def _element_id(value: Any) -> int | None:
    """A written element id as the stored int ("3" and 3 alike), or None when it is not a number."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    return int(text) if re.fullmatch(r"\d+", text) else None


def _merge_element(parts: tuple[Field, ...], written: dict[str, Any], target: dict[str, Any]) -> str | None:
    """Parse one element's writable attributes into `target`; the first problem's message, or None.

    A null optional attribute takes its default (an item's price null is 0), so totals never meet a None;
    a required one that is missing, null or only spaces is "cannot be blank" (spaces: a guess, Yii2's trim).
    """
    for part in parts:
        if not part.writable or part.name not in written:
            continue
        try:
            value = parse_value(part, written[part.name])
        except ValueError as exc:
            return str(exc)
        target[part.name] = default_for(part) if value is None and not part.required else value
    for part in parts:
        value = target.get(part.name)
        if part.required and (blank(value) or (isinstance(value, str) and value.strip() == "")):
            return f"{part.label} cannot be blank."
    return None


def check_references(entity: Entity, record: dict[str, Any], store: SplynxStore, problems: Problems) -> None:
    """Every referenced id must exist (0 means "none" where the field allows it); an OBJECT's parts too."""
    _check_refs(entity.fields, record, "", store, problems)
    for fld in entity.fields:
        if fld.kind == OBJECT and isinstance(record.get(fld.name), dict):
            _check_refs(fld.parts, record[fld.name], f"{fld.name}.", store, problems)


def _check_refs(fields: tuple[Field, ...], record: dict[str, Any], prefix: str, store: SplynxStore,
                problems: Problems) -> None:
    """check_references over `fields`, a problem named `prefix` + the field's name."""
    for fld in fields:
        where = prefix + fld.name
        if fld.ref is None or problems.has(where) or blank(record.get(fld.name)):
            continue
        ids = record[fld.name] if isinstance(record[fld.name], list) else [record[fld.name]]
        for ref_id in ids:
            if ref_id == 0 and fld.zero_ok:
                continue
            if store.get(fld.ref, ref_id) is None:
                problems.add(where, f"{fld.label} is invalid: {BY_KEY[fld.ref].title} {ref_id} not found.")
                break


def taken(store: SplynxStore, entity: str, path: str, value: Any, own_id: int | None,
          scope: dict[str, Any] | None = None) -> bool:
    """Whether another record already holds `value` at JSON `path` (case-insensitively, as MySQL)."""
    where = f"json_extract(data, '$.{path}') = ? COLLATE NOCASE AND id != ?"
    params: list[Any] = [value, own_id or 0]
    for name, scoped in (scope or {}).items():
        where += f" AND json_extract(data, '$.{name}') = ?"
        params.append(scoped)
    return store.count(entity, where, params) > 0


def check_unique(entity: Entity, record: dict[str, Any], store: SplynxStore, problems: Problems,
                 own_id: int | None) -> None:
    """Unique attributes may not repeat another record's non-blank value."""
    for fld in entity.fields:
        value = record.get(fld.name)
        if fld.unique and not blank(value) and not problems.has(fld.name) \
                and taken(store, entity.key, fld.name, value, own_id):
            problems.add(fld.name, f'{fld.label} "{value}" has already been taken.')


# -- additional attributes ------------------------------------------------------------------------


def af_definitions(store: SplynxStore, module: str | None) -> list[dict[str, Any]]:
    """The additional-field definitions of a module, in creation order."""
    if module is None:
        return []
    return store.select("additional_fields", "json_extract(data, '$.module') = ?", [module])


def merge_additional(entity: Entity, body: dict[str, Any], record: dict[str, Any], store: SplynxStore,
                     problems: Problems, creating: bool) -> None:
    """Validate and store `additional_attributes`: only defined names, typed values, is_unique enforced."""
    defs = {d["name"]: d for d in af_definitions(store, entity.module)}
    values: dict[str, str] = dict(record.get("additional_attributes") or {})
    if creating:
        values.update({n: d["default_value"] for n, d in defs.items() if d["default_value"] != ""})
    written = body.get("additional_attributes")
    if written is not None and not isinstance(written, dict):
        problems.add("additional_attributes", "Additional attributes must be an object of name => value.")
        written = {}
    for name, value in (written or {}).items():
        where = f"additional_attributes.{name}"
        definition = defs.get(name)
        if definition is None:
            problems.add(where, f'Additional field "{name}" does not exist for module "{entity.module}".')
            continue
        try:
            values[name] = _af_value(definition, value)
        except ValueError as exc:
            problems.add(where, str(exc))
    for name, definition in defs.items():
        where = f"additional_attributes.{name}"
        value = values.get(name, "")
        if definition["is_required"] and value == "" and (creating or name in (written or {})):
            problems.add(where, f"{definition['title']} cannot be blank.")
        elif definition["is_unique"] and value != "" and not problems.has(where) \
                and taken(store, entity.key, f"additional_attributes.{name}", value, record.get("id")):
            problems.add(where, f'{definition["title"]} "{value}" has already been taken.')
    record["additional_attributes"] = values


def _af_value(definition: dict[str, Any], value: Any) -> str:
    """Additional attribute values travel as strings; check them against the definition's type."""
    title, kind = definition["title"], definition["type"]
    if isinstance(value, (dict, list)) and kind != "select_multiple":
        raise ValueError(f"{title} must be a string.")
    text = ",".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
    if isinstance(value, bool):
        text = "1" if value else "0"
    if text == "":
        return ""
    checks = {
        "integer": lambda: re.fullmatch(r"-?\d+", text) is not None,
        "decimal": lambda: re.fullmatch(r"-?\d+(\.\d+)?", text) is not None,
        "numeric": lambda: re.fullmatch(r"-?\d+(\.\d+)?", text) is not None,
        "boolean": lambda: text in ("0", "1"),
        "date": lambda: _is_date(text),
        "select": lambda: text in _options(definition),
        "select_multiple": lambda: all(v in _options(definition) for v in text.split(",")),
    }
    if not checks.get(kind, lambda: True)():
        raise ValueError(f"{title} is invalid.")
    if definition["max_length"] and len(text) > definition["max_length"]:
        raise ValueError(f"{title} should contain at most {definition['max_length']} characters.")
    if definition["min_length"] and len(text) < definition["min_length"]:
        raise ValueError(f"{title} should contain at least {definition['min_length']} characters.")
    return text


def _options(definition: dict[str, Any]) -> list[str]:
    return [v.strip() for v in str(definition["select_values"]).split(",") if v.strip()]


def _is_date(text: str) -> bool:
    try:
        return DATE_RE.match(text) is not None and bool(dt.date.fromisoformat(text))
    except ValueError:
        return False


def validate_af_definition(body: dict[str, Any], store: SplynxStore, module: str) -> Problems:
    """Extra rules for a new additional-field definition: a safe column name, unique per module."""
    problems = Problems()
    name = body.get("name")
    if isinstance(name, str) and name and not AF_NAME_RE.match(name):
        problems.add("name", "Name may contain only lowercase latin letters, digits and underscores.")
    elif isinstance(name, str) and name and taken(store, "additional_fields", "name", name, None,
                                                  {"module": module}):
        problems.add("name", f'Name "{name}" has already been taken.')
    return problems
