"""One entry point for the pipeline: transform a record, apply the user's overrides, validate the result.

Why overrides apply to the Splynx body: the user fixes what Splynx refuses, and error messages name
Splynx fields, so `etl fix account 4 --set name="Short Name"` patches exactly the field the message named.
Dotted keys reach inside: `additional_attributes.sonar_groups=VIP` patches one additional attribute,
`customer_billing.billing_date=5` a field of a follow-up write. Validation runs after the overrides, so
an override can repair any value problem; a missing parent cannot be overridden (migrate it first).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from etl.errors import RecordError, RecordProblem
from transformers import (
    account,
    account_balance,
    account_invoice,
    account_note,
    account_package,
    account_payment,
    account_service,
    account_transaction,
    company,
    custom_field,
    holder_stock,
    inventory_assignment,
    inventory_item,
    inventory_location,
    inventory_model,
    ip_assignment,
    ip_pool,
    manufacturer,
    network_site,
    package,
    radius_account,
    service,
    subnet,
    supernet,
    ticket,
    ticket_comment,
    ticket_reply,
    user,
    vendor,
)
from transformers.additional_fields import marker_definition
from transformers.context import TransformContext
from transformers.payload import SplynxPayload
from transformers.records import Record
from transformers.splynx_fields import (
    BOOL,
    DATE,
    DECIMAL,
    EMAIL,
    ENUM,
    ENUMS,
    FIELDS,
    INT,
    INTS,
    IPV4,
    MODULES,
    RECORD_RULES,
    RECORDS,
    FieldRule,
)
from transformers.validation import (
    SkipRecord,
    Subject,
    Unresolved,
    ValidationError,
    check_date,
    check_email,
    check_enum,
    check_integer,
    check_ipv4,
    check_max_length,
    check_required,
    fail,
    fix_hint,
)

Transform = Callable[[Record, TransformContext], SplynxPayload]


class TransformError(RecordError):
    """A transformer raised something other than a record problem: a bug or an unforeseen record shape."""


class EntityTransformer(Protocol):
    """What a transformer module (or `transformers.holder_stock.HolderStock`) offers the registry."""

    @property
    def ENTITY(self) -> str:
        """The ledger entity it transforms."""

    @property
    def TARGET(self) -> str:
        """The Splynx target of its main write."""

    @property
    def ADDITIONAL_FIELDS(self) -> dict[str, list[dict[str, Any]]]:
        """Per Splynx module, the additional fields its bodies use."""

    def transform(self, record: Record, ctx: TransformContext) -> SplynxPayload:
        """The Splynx payload of one Sonar record."""


_MODULES: tuple[EntityTransformer, ...] = (
    company,
    user,
    custom_field,
    service,
    package,
    supernet,
    subnet,
    ip_pool,
    network_site,
    inventory_location,
    holder_stock.VEHICLE,
    holder_stock.USER,
    holder_stock.NETWORK_SITE,
    vendor,
    manufacturer,
    inventory_model,
    inventory_item,
    account,
    inventory_assignment,
    account_package,
    account_service,
    radius_account,
    ip_assignment,
    account_balance,
    account_invoice,
    account_transaction,
    account_payment,
    account_note,
    ticket,
    ticket_reply,
    ticket_comment,
)
TRANSFORMERS: dict[str, Transform] = {m.ENTITY: m.transform for m in _MODULES}
"""Ledger entity name -> transform function."""

TARGETS: dict[str, str] = {m.ENTITY: m.TARGET for m in _MODULES}
"""Ledger entity name -> Splynx target key."""

SELF_PARENTS: dict[str, str] = {m.ENTITY: m.SELF_PARENT for m in _MODULES if hasattr(m, "SELF_PARENT")}
"""Ledger entity -> the record field naming another record of the same entity that must load first (accounts)."""

ALL_TARGETS: dict[str, tuple[str, ...]] = {m.ENTITY: (m.TARGET, *getattr(m, "ALSO_TARGETS", ())) for m in _MODULES}
"""Ledger entity name -> every Splynx target its records may go to (supernets: IPv4 or IPv6 networks)."""

NOT_MIGRATED: dict[str, str] = {
    "role": "roles are folded into administrators through the role map",
    "account_group": "account groups become Splynx customer labels (by title) and the sonar_groups attribute",
    "account_status": "account statuses are folded into customers through the status map",
    "account_type": "account types are folded into customers as their category",
    "inventory_model_category": "Splynx product categories have no endpoint in the API (blueprint, endpoint list)",
}
"""Ledger entities that are lookups or out of scope: transform_record skips them with this reason."""

EXAMPLES = {
    EMAIL: "someone@example.com",
    DATE: "2024-01-31",
    IPV4: "10.0.0.5",
    INT: "1",
    INTS: "1",
    DECIMAL: "12.34",
    BOOL: "1",
}


def transform_record(
    entity: str, record: Record, ctx: TransformContext, overrides: Mapping[str, Any] | None = None
) -> SplynxPayload:
    """Transform one Sonar record, apply overrides to the Splynx body, and validate what would be sent.

    Raises:
        SkipRecord: the record is deliberately not migrated (lookups, non-DATA services...).
        ValidationError: the record (after overrides) is something Splynx would refuse.
        TransformError: the transformer itself failed on a record of a shape it does not expect; it is
            that record's failure, never the run's crash.
    """
    try:
        return _transform_record(entity, record, ctx, overrides)
    except (SkipRecord, RecordError):
        raise
    except Exception as exc:  # any other failure is this one record's, with its message
        raise transform_error(entity, record, exc) from exc


def transform_error(entity: str, record: Record, exc: Exception) -> TransformError:
    """The problem of a record the transformer could not handle: the exception named, how to go on."""
    sid = str(record.get("id")) if isinstance(record, Mapping) else "?"
    return TransformError(
        RecordProblem(
            "transform_error",
            f"{entity} {sid}: the transformer failed on this record ({type(exc).__name__}: {exc})",
            value=_shown(exc),
            fix=f"report it (a Sonar record of an unexpected shape); meanwhile correct {entity} {sid} in Sonar "
            "and `etl resume`, or let the run go on with --continue-on-error",
        )
    )


def _shown(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 60 else text[:57] + "..."


def _transform_record(
    entity: str, record: Record, ctx: TransformContext, overrides: Mapping[str, Any] | None
) -> SplynxPayload:
    if entity in NOT_MIGRATED:
        raise SkipRecord(NOT_MIGRATED[entity])
    transform = TRANSFORMERS.get(entity)
    if transform is None:
        raise SkipRecord(f"no transformer for entity {entity!r}")
    result = apply_overrides(transform(record, ctx), overrides or {})
    subject = Subject(entity, str(record.get("id")))
    for part in (result, *result.extras):
        unresolved = next((v for v in part.body.values() if isinstance(v, Unresolved)), None)
        if unresolved is not None:  # not set by an override either
            raise ValidationError(unresolved.problem)
        validate_body(subject, part.target, part.body, "" if part is result else f"{part.target}.")
    return result


COPIED_FIELDS: dict[str, dict[str, str]] = {"customer": {"email": "billing_email"}}
"""target -> field -> a field the transformer fills with the same value (the contact's e-mail is also the
billing e-mail). An override of the first applies to the copy as well, unless the copy is overridden
too or differs already: one `etl fix --set email=...` fixes both."""


def _with_copies(result: SplynxPayload, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides plus the same value for every copy of an overridden field (see COPIED_FIELDS)."""
    patched = dict(overrides)
    for source, copy_field in COPIED_FIELDS.get(result.target, {}).items():
        same = result.body.get(copy_field) == result.body.get(source)
        if source in overrides and copy_field not in overrides and copy_field in result.body and same:
            patched[copy_field] = overrides[source]
    return patched


def apply_overrides(result: SplynxPayload, overrides: Mapping[str, Any]) -> SplynxPayload:
    """A copy of the payload with `field=value` patches applied (None deletes the field)."""
    body = copy.deepcopy(result.body)
    extras = {extra.target: copy.deepcopy(extra.body) for extra in result.extras}
    for key, value in _with_copies(result, overrides).items():
        head, dot, rest = key.partition(".")
        if dot and head in extras:
            _patch(extras[head], rest, value)
        else:
            _patch(body, key, value)
    patched_extras = tuple(replace(extra, body=extras[extra.target]) for extra in result.extras)
    return replace(result, body=body, extras=patched_extras)


def _patch(body: dict[str, Any], key: str, value: Any) -> None:
    head, dot, rest = key.partition(".")
    if dot:
        inner = body.get(head)
        if not isinstance(inner, dict):
            inner = body[head] = {}
        _patch(inner, rest, value)
    elif value is None:
        body.pop(key, None)
    else:
        body[key] = value


def validate_body(subject: Subject, target: str, body: Mapping[str, Any], prefix: str = "") -> None:
    """Check the body against Splynx's rules for the target; raise the first problem as ValidationError."""
    for rule in FIELDS.get(target, ()):
        _check_field(subject, rule, prefix + rule.name, body.get(rule.name))
        if rule.kind == RECORDS:
            for n, record in enumerate(body.get(rule.name) or (), start=1):
                inner = record if isinstance(record, Mapping) else {}
                validate_body(subject, RECORD_RULES[(target, rule.name)], inner, f"{prefix}{rule.name}[{n}].")
    attributes = body.get("additional_attributes")
    if attributes is not None and target in MODULES:
        _check_attributes(subject, attributes)


def _check_field(subject: Subject, rule: FieldRule, name: str, value: Any) -> None:
    if rule.required:
        check_required(subject, name, value, EXAMPLES.get(rule.kind, rule.choices[0] if rule.choices else "..."))
    if rule.max_len is not None:
        check_max_length(subject, name, value, rule.max_len)
    if rule.kind == EMAIL:
        check_email(subject, name, value)
    elif rule.kind == DATE:
        check_date(subject, name, value, allow_zero=rule.allow_zero_date)
    elif rule.kind == IPV4:
        check_ipv4(subject, name, value)
    elif rule.kind in (ENUM, ENUMS):
        check_enum(subject, name, value, rule.choices)
    elif rule.kind == INT:
        check_integer(subject, name, value)
    elif rule.kind == INTS and value is not None:
        for element in value if isinstance(value, list) else str(value).split(","):
            check_integer(subject, name, element)


def _check_attributes(subject: Subject, attributes: Any) -> None:
    field = "additional_attributes"
    if not isinstance(attributes, Mapping):
        raise fail(
            subject,
            "invalid_attributes",
            field,
            attributes,
            f"{field} must be a name -> value object",
            fix_hint(subject, f"{field}.NAME", "value"),
        )
    for name, value in attributes.items():
        if isinstance(value, (dict, list)):
            raise fail(
                subject,
                "invalid_attributes",
                f"{field}.{name}",
                value,
                f"{field}.{name} must be text, not {type(value).__name__}",
                fix_hint(subject, f"{field}.{name}", "value"),
            )


def additional_field_definitions(marker_field: str = "sonar_id") -> dict[str, list[dict[str, Any]]]:
    """Per Splynx module, the additional-field definitions to create before loading (marker first)."""
    definitions: dict[str, list[dict[str, Any]]] = {}
    for target in (t for targets in ALL_TARGETS.values() for t in targets):
        module = MODULES.get(target)
        if module is not None and module not in definitions:
            definitions[module] = [marker_definition(marker_field)]
    for mod in _MODULES:
        for module, extra in mod.ADDITIONAL_FIELDS.items():
            known = {d["name"] for d in definitions.setdefault(module, [marker_definition(marker_field)])}
            definitions[module].extend(copy.deepcopy(d) for d in extra if d["name"] not in known)
    return definitions
