"""Checks before anything is written: both systems answer, we may write, the fields we need exist.

Why up front: a migration that discovers a missing permission after 5 000 customers leaves the
operator with a half-done run; one that refuses to start, naming the permission, costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from loguru import logger

from etl.config import Settings
from etl.errors import ConfigError
from extractors.sonar import SonarExtractor
from loaders.splynx import create_by_name
from loaders.splynx_client import NotFound, SplynxClient, UncertainWrite, ValidationRefused
from loaders.splynx_targets import target
from transformers.context import DEFAULT_ROLE_MAP, FALLBACK_ROLE, SUPER_ADMIN_ROLE, TicketLookups
from transformers.registry import ALL_TARGETS
from transformers.rules import tax_rate_key

ROLES_PATH = "admin/administration/roles"  # *guess* (docs/fidelity.md): APIB has no roles resource


def check_sonar(extractor: SonarExtractor) -> int:
    """Ask Sonar for its account count: proves the URL, the token and read access; returns the count."""
    return extractor.count("account")


def check_splynx(client: SplynxClient, entities: Iterable[str]) -> None:
    """Prove the API key works and may read every collection the migration writes to."""
    client.check()
    keys = dict.fromkeys(key for entity in entities for key in ALL_TARGETS[entity])
    for key in keys:
        tgt = target(key)
        if not tgt.put_only:
            client.count(tgt.collection_path({"customer_id": "0", "module": "customers"}))


def role_map(configured: Mapping[str, str]) -> dict[str, str]:
    """The Sonar role -> Splynx role map the transformers use: `[role_map]` over the default."""
    return {**DEFAULT_ROLE_MAP, **configured}


def check_roles(client: SplynxClient, roles: Mapping[str, str]) -> frozenset[str] | None:
    """Read the roles Splynx has and refuse to start when the role map names one it lacks.

    Returns the role names (for `TransformContext.known_roles`), or None when this Splynx does not serve
    them (404): then nothing is checked here and Splynx alone can refuse a role.
    """
    try:
        rows = client.list(ROLES_PATH)
    except NotFound:
        logger.warning("Splynx does not list its roles at {}; administrators' roles are not checked", ROLES_PATH)
        return None
    known = frozenset(str(row["name"]) for row in rows if row.get("name"))
    wanted = {**roles, "(any other role)": FALLBACK_ROLE, "(super admin)": SUPER_ADMIN_ROLE}
    for sonar_role, splynx_role in wanted.items():
        if splynx_role not in known:
            raise ConfigError(
                f"[role_map] maps Sonar role {sonar_role!r} to Splynx role {splynx_role!r}, which Splynx does "
                f"not have (Splynx has {', '.join(sorted(known))})",
                fix="map it to one of those in etl.toml, or add the role in Splynx (Administration / Roles)",
            )
    return known


def require_settings(settings: Any) -> None:
    """Refuse to start without the connection settings, naming the variable to set."""
    needed = {
        "ETL_SONAR_URL": settings.sonar_url,
        "ETL_SONAR_TOKEN": settings.sonar_token,
        "ETL_SPLYNX_URL": settings.splynx_url,
        "ETL_SPLYNX_KEY": settings.splynx_key,
        "ETL_SPLYNX_SECRET": settings.splynx_secret,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ConfigError(
            f"{missing[0]} is not set" + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            fix="export it, put the URL in etl.toml, or run `etl sandbox up` for a local pair",
        )


STATES_PATH = "admin/config/states-provinces"


def read_subdivisions(client: SplynxClient) -> dict[str, str]:
    """Splynx's states/provinces as {upper-cased code, code after a `US-`/`US_` prefix, or name: id}.

    Why several keys: the blueprint says only `code` and `name`, not whether a code reads `TX` or
    `US-TX` (docs/fidelity.md); Sonar's `US_TX` then finds its row either way. A Splynx that does not
    serve the list (404) gives an empty lookup and customers are created without `subdivision_id`.
    """
    try:
        rows = client.list(STATES_PATH)
    except NotFound:
        logger.warning("Splynx does not list its states/provinces at {}; customers get no subdivision_id", STATES_PATH)
        return {}
    found: dict[str, str] = {}
    for row in rows:
        code, name = str(row.get("code") or "").strip().upper(), str(row.get("name") or "").strip().upper()
        tail = code.replace("-", "_").split("_", 1)[-1]
        for key in (name, tail, code):  # the code wins over a name that happens to read the same
            if key:
                found[key] = str(row["id"])
    return found


TAXES_PATH = "admin/config/taxes"


def read_taxes(client: SplynxClient) -> dict[str, str] | None:
    """Splynx's taxes as {rate in percent (`tax_rate_key`): id}, for the tariffs' `tax_id`.

    Why read only and by rate: the API serves taxes with GET alone (they are made in Config > Finance >
    Taxes), so a Sonar tax is matched to the Splynx tax of the same rate. Archived taxes are left out; of
    several taxes of one rate the lowest id wins. A Splynx that does not serve them (404) gives None:
    tariffs are then created without `tax_id`.
    """
    try:
        rows = client.list(TAXES_PATH)
    except NotFound:
        logger.warning("Splynx does not list its taxes at {}; tariffs get no tax_id", TAXES_PATH)
        return None
    found: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: int(r["id"])):
        if str(row.get("archived") or "0") in ("0", "False", "false"):
            found.setdefault(tax_rate_key(row.get("rate")), str(row["id"]))
    return found


LABELS_PATH = "admin/config/labels"


def read_customer_labels(client: SplynxClient) -> dict[str, str]:
    """Splynx's customer labels as {upper-cased title: id} (read only: `etl plan` uses it as is)."""
    rows = client.list(LABELS_PATH)
    return {
        str(r["label"]).strip().upper(): str(r["id"])
        for r in rows
        if r.get("label") and r.get("module", "customers") == "customers"
    }


def ensure_customer_labels(client: SplynxClient, titles: Iterable[str]) -> dict[str, str]:
    """Adopt the customer labels Splynx has by title, create the missing ones; returns {upper-cased title: id}.

    Why by title: a label carries no migration marker, and its title is unique in Splynx, so a label of
    the same name (made by hand or by an earlier run) is the one to use. A POST whose answer was lost, or
    refused because the title was taken meanwhile, is resolved by reading the list again.
    """
    try:
        found = read_customer_labels(client)
    except NotFound:
        logger.warning("Splynx does not serve {}; account groups stay in sonar_groups only", LABELS_PATH)
        return {}
    for title in sorted({t.strip() for t in titles if t and t.strip()}):
        if title.upper() in found:
            continue
        try:
            found[title.upper()] = client.create(LABELS_PATH, {"module": "customers", "label": title})
            logger.info("created customer label {!r}", title)
        except (UncertainWrite, ValidationRefused):
            found = read_customer_labels(client)
            if title.upper() not in found:
                raise
    return found


PAYMENT_METHODS_PATH = "admin/finance/payment-methods"
DEFAULT_PAYMENT_METHODS: dict[str, str] = {
    "CASH": "Cash", "CHECK": "Check", "CREDITCARD": "Credit card", "BANKACCOUNT": "Bank transfer",
    "WIRE": "Bank transfer", "PAYPAL": "PayPal", "OTHER": "Other",
}  # fmt: skip
"""Sonar's PaymentType -> the Splynx payment method name a payment of that type is booked with (a guess at
the names of a fresh Splynx's list, docs/fidelity.md; `[payment_methods]` in etl.toml overrides any)."""


def read_payment_methods(client: SplynxClient) -> dict[str, str]:
    """Splynx's payment methods as {upper-cased name: id}."""
    return {str(r["name"]).strip().upper(): str(r["id"]) for r in client.list(PAYMENT_METHODS_PATH) if r.get("name")}


def ensure_payment_methods(client: SplynxClient, configured: Mapping[str, str]) -> dict[str, str]:
    """The Splynx payment method id of each Sonar payment type, creating a method Splynx lacks by its name.

    Why by name, and created like a customer label: a method carries no migration marker, its name is what an
    operator sees on the payment, and one made by hand (or by an earlier run) is the one to use. A POST whose
    answer was lost, or refused because the name was taken meanwhile, is resolved by reading the list again.
    """
    names = {**DEFAULT_PAYMENT_METHODS, **{k.strip().upper(): v for k, v in configured.items()}}
    found = read_payment_methods(client)
    for name in sorted({n.strip() for n in names.values()}):
        if name.upper() in found:
            continue
        try:
            found[name.upper()] = client.create(PAYMENT_METHODS_PATH, {"name": name, "is_active": True})
            logger.info("created payment method {!r}", name)
        except (UncertainWrite, ValidationRefused):
            found = read_payment_methods(client)
            if name.upper() not in found:
                raise
    return {kind: found[name.strip().upper()] for kind, name in names.items()}


TICKET_STATUSES_PATH = "admin/support/tickets-statuses"
TICKET_GROUPS_PATH = "admin/support/tickets-groups"
TICKET_TYPES_PATH = "admin/support/tickets-types"
DEFAULT_TICKET_STATUSES: dict[str, str] = {
    "OPEN": "New", "PENDING_INTERNAL": "Waiting on agent", "PENDING_EXTERNAL": "Waiting on customer",
    "CLOSED": "Resolved",
}  # fmt: skip
"""Sonar's TicketStatus -> the Splynx status title a ticket gets (a guess at a fresh Splynx's list,
docs/fidelity.md; `[ticket_statuses]` in etl.toml overrides any)."""
DEFAULT_TICKET_TYPE = "Question"


def ticket_lookups(client: SplynxClient, settings: Settings) -> TicketLookups:
    """Splynx's ticket status, group and type ids for what Sonar's tickets say, found by title.

    Why read and never made: Splynx's API lists ticket statuses, groups and types but has no POST for them
    (they are made in Config / Helpdesk). A status or the type that Splynx lacks stops the run before any
    write, naming what it has; a Sonar group it lacks is no error (the ticket's note keeps its name).
    """
    statuses = _titles(client, TICKET_STATUSES_PATH, "title_for_agent")
    wanted = {**DEFAULT_TICKET_STATUSES, **settings.ticket_statuses}
    missing = sorted({title for title in wanted.values() if title.lower() not in statuses})
    if missing:
        raise _no_such_title("ticket status", missing[0], statuses, "[ticket_statuses]", 'OPEN = "New"')
    types = _titles(client, TICKET_TYPES_PATH, "title")
    type_title = settings.ticket_type or DEFAULT_TICKET_TYPE
    if type_title.lower() not in types:
        raise _no_such_title("ticket type", type_title, types, "[tickets]", f'type = "{type_title}"')
    groups = _titles(client, TICKET_GROUPS_PATH, "title")
    mapped = {sonar: groups[title.lower()] for sonar, title in settings.ticket_groups.items()
              if title.lower() in groups}  # fmt: skip
    return TicketLookups(
        statuses={status: statuses[title.lower()] for status, title in wanted.items()},
        groups={**groups, **mapped},
        type_id=types[type_title.lower()],
    )


def _titles(client: SplynxClient, path: str, field: str) -> dict[str, str]:
    """A Splynx list as {lower-cased title: id}."""
    return {str(r[field]).strip().lower(): str(r["id"]) for r in client.list(path) if r.get(field)}


def _no_such_title(what: str, title: str, found: Mapping[str, str], section: str, example: str) -> ConfigError:
    has = ", ".join(sorted(found)) or "none"
    return ConfigError(
        f"Splynx has no {what} titled {title!r} (it has: {has})",
        fix=f"create it in Splynx (Config / Helpdesk), or name one it has under {section} in etl.toml ({example})",
    )


def ensure_additional_fields(client: SplynxClient, definitions: Mapping[str, list[dict[str, Any]]]) -> int:
    """Create every additional-field definition the transformers write to; returns how many were new."""
    created = 0
    for module, bodies in definitions.items():
        path = f"admin/config/additional-fields/{module}"
        for body in bodies:
            try:
                client.get(f"{path}--{body['name']}")
                continue
            except NotFound:
                pass
            try:
                create_by_name(client, path, body)
                created += 1
                logger.info("created additional field {}.{}", module, body["name"])
            except ValidationRefused as exc:
                if not any(f == "name" for f, _ in exc.errors):
                    raise
    return created


__all__ = [
    "check_roles",
    "check_sonar",
    "check_splynx",
    "ensure_additional_fields",
    "ensure_customer_labels",
    "ensure_payment_methods",
    "read_customer_labels",
    "read_subdivisions",
    "read_taxes",
    "require_settings",
    "role_map",
    "ticket_lookups",
]
