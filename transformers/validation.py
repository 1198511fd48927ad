"""Record-level problems a transformer finds, each with the field, the value and a concrete fix.

Why every check builds its own fix hint: the user reads `etl failures` and must know the next command
to type. A hint names the `etl fix` override in Splynx field names (overrides are applied to the Splynx
body) and, as the lasting alternative, what to correct in Sonar.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from etl.errors import RecordError, RecordProblem
from etl.phases import ENTITY_PHASE

# The pattern the Splynx simulator applies (Yii2's EmailValidator, ASCII part); Splynx also accepts
# several addresses separated by commas, so each part is checked on its own.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
EMAIL_LOCAL_MAX, EMAIL_ADDRESS_MAX = 64, 254  # Yii2's EmailValidator (RFC 5321 and its erratum 1690)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHOWN_VALUE_CHARS = 60
SECRET_WORDS = ("password", "secret", "token")
"""Fields whose value a message never shows, and the loader's request copies redact."""
PHASE_OF = {entity: phase.value.upper() for entity, phase in ENTITY_PHASE.items()}
"""The phase that migrates each parent entity (see /work/notes/names.md), for fix hints."""


class ValidationError(RecordError):
    """A Sonar record that cannot become a valid Splynx payload as it is."""

    def __init__(self, problem: RecordProblem) -> None:
        super().__init__(problem)


class SkipRecord(Exception):
    """The record is deliberately not migrated (e.g. a non-DATA service); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Unresolved:
    """A body value the transformer could not find: its problem is raised unless an override sets the field.

    Why not raise at once: the fix may be `etl fix ... --set field=N`, and overrides are applied to the
    body the transformer returns (`transformers.registry.transform_record` raises what is left).
    """

    problem: RecordProblem

    def __deepcopy__(self, memo: dict[int, Any]) -> Unresolved:
        return self


@dataclass(frozen=True)
class Subject:
    """Which record a problem is about: the ledger entity name and the Sonar id."""

    entity: str
    source_id: str

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id}"


def shown(value: Any) -> str:
    """A value as it appears in a one-line message: repr'd and cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 4] + "...'"


def fix_hint(subject: Subject, field: str, example: str, in_sonar: str | None = None) -> str:
    """The override command for `field`, then what to correct in Sonar instead."""
    command = f"`etl fix {subject.entity} {subject.source_id} --set {field}={example}`"
    return f"{command}, or {in_sonar}" if in_sonar else f"{command}, or correct the record in Sonar"


def fail(subject: Subject, code: str, field: str, value: Any, message: str, fix: str) -> ValidationError:
    """Build the error for one field; it is returned so that callers can `raise` it."""
    return ValidationError(
        RecordProblem(
            code=code,
            message=f"{subject}: {message}",
            field=field,
            value=None if value is None else str(value),
            fix=fix,
        )
    )


def missing_parent(subject: Subject, field: str, parent_entity: str, parent_id: str) -> ValidationError:
    """The record points at a Sonar record that has no Splynx id yet."""
    phase = PHASE_OF.get(parent_entity, "FOUNDATION")
    return fail(
        subject,
        "missing_parent",
        field,
        parent_id,
        f"{field} needs {parent_entity} {parent_id}, which has not been migrated to Splynx",
        f"migrate {parent_entity} {parent_id} first (phase {phase}: run without --phases, or fix its own failure)",
    )


# -- reusable checks: each returns silently or raises one ValidationError ---------------------------


def is_blank(value: Any) -> bool:
    """Splynx's notion of missing: None, empty string, empty list."""
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def check_required(subject: Subject, field: str, value: Any, example: str = "...") -> None:
    """A field Splynx refuses to store blank."""
    if is_blank(value):
        raise fail(
            subject, "required", field, value, f"{field} is required but blank", fix_hint(subject, field, example)
        )


def valid_email(text: str) -> bool:
    """Whether Splynx accepts `text` in an e-mail field (comma-separated addresses allowed).

    Each address as Yii2's EmailValidator checks it: the pattern, a local part of at most 64 characters
    and at most 254 in all (RFC 5321; yiisoft/yii2 framework/validators/EmailValidator.php).
    """
    return all(_valid_address(part.strip()) for part in text.split(","))


def _valid_address(address: str) -> bool:
    local = address.rpartition("@")[0]
    return bool(EMAIL_RE.match(address)) and len(local) <= EMAIL_LOCAL_MAX and len(address) <= EMAIL_ADDRESS_MAX


def check_email(subject: Subject, field: str, value: Any, in_sonar: str | None = None) -> None:
    """An e-mail address Splynx accepts; blank passes (check_required handles that)."""
    if is_blank(value):
        return
    if not isinstance(value, str) or not valid_email(value):
        raise fail(
            subject,
            "invalid_email",
            field,
            value,
            f"{field} {shown(value)} is not a valid e-mail address",
            fix_hint(subject, field, "someone@example.com", in_sonar),
        )


def is_secret(name: str) -> bool:
    """Whether a field's value must never be shown (a password, a token)."""
    return any(word in name.lower() for word in SECRET_WORDS)


def check_max_length(subject: Subject, field: str, value: Any, limit: int) -> None:
    """Strings Splynx truncates or refuses beyond `limit` characters (characters, not bytes: varchar(N)).

    The message shows the value cut short, so the operator recognises it in `etl failures`, except in a
    secret field (a password), where it shows only the length.
    """
    if isinstance(value, str) and len(value) > limit:
        secret = is_secret(field)
        named = field if secret else f"{field} {shown(value)}"
        raise fail(
            subject,
            "too_long",
            field,
            None if secret else value,
            f"{named} has {len(value)} characters, Splynx allows at most {limit}",
            fix_hint(subject, field, f"<at most {limit} characters>"),
        )


def valid_date(text: str) -> bool:
    """A real calendar date written YYYY-MM-DD."""
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_date(subject: Subject, field: str, value: Any, allow_zero: bool = False) -> None:
    """A YYYY-MM-DD date (or MySQL's `0000-00-00` "none" where Splynx allows it)."""
    if is_blank(value) or (allow_zero and value == "0000-00-00"):
        return
    if not isinstance(value, str) or not valid_date(value):
        raise fail(
            subject,
            "invalid_date",
            field,
            value,
            f"{field} {shown(value)} is not a YYYY-MM-DD date",
            fix_hint(subject, field, "2024-01-31"),
        )


def check_ipv4(subject: Subject, field: str, value: Any) -> None:
    """A dotted-quad IPv4 address."""
    if is_blank(value):
        return
    try:
        ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        raise fail(
            subject,
            "invalid_ipv4",
            field,
            value,
            f"{field} {shown(value)} is not an IPv4 address",
            fix_hint(subject, field, "10.0.0.5"),
        ) from None


def check_enum(subject: Subject, field: str, value: Any, choices: Iterable[str]) -> None:
    """A value (or each element of a list or comma-separated string) out of a fixed set."""
    allowed = tuple(choices)
    values = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else [value]
    if is_blank(value):
        return
    bad = next((v for v in values if str(v).strip() not in allowed), None)
    if bad is not None:
        raise fail(
            subject,
            "invalid_choice",
            field,
            value,
            f"{field} {shown(bad)} is not one of {', '.join(allowed)}",
            fix_hint(subject, field, allowed[0]),
        )


def check_integer(subject: Subject, field: str, value: Any) -> None:
    """A whole number (or a string of digits, as Splynx accepts)."""
    if is_blank(value):
        return
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
        raise fail(
            subject,
            "invalid_integer",
            field,
            value,
            f"{field} {shown(value)} is not a whole number",
            fix_hint(subject, field, "1"),
        )
