"""Command-line options shared by several commands, defined once.

Why here: `etl extract`, `etl run` and `etl plan` take the same selection flags; declaring them once as
`Annotated` types keeps their names, help and parsing identical, and `build_selection` turns them into
the `Selection` every library function takes. Numbers carry their range (`min=`, `positive`) so that
`--workers 0` or `--rate -1` is a usage error before anything runs, never a crash or a silent default.
"""

from __future__ import annotations

from typing import Annotated

import typer

from etl.errors import ConfigError
from etl.selection import Selection, parse_when
from extractors.sonar_queries import entities as known_entities


def positive(value: float | None) -> float | None:
    """Typer callback refusing 0 and negative numbers: a rate of 0 requests/s would never send one."""
    if value is not None and value <= 0:
        raise typer.BadParameter(f"{value:g} is not greater than 0")
    return value


CustomerOption = Annotated[
    list[str] | None,
    typer.Option("--customer", "-c", help="Sonar account id to migrate (repeatable).", show_default=False),
]
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", "-n", help="At most N customers (active ones first).", show_default=False, min=1),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every customer, and every foundation record.")]
StatusOption = Annotated[
    list[str] | None,
    typer.Option("--status", help="Only accounts in this Sonar status, by name (repeatable).", show_default=False),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only accounts created or updated on/after this ISO date.", show_default=False),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Only accounts created or updated on/before this ISO date.", show_default=False),
]
ActiveFirstOption = Annotated[
    bool, typer.Option("--active-first/--no-active-first", help="Fetch accounts in active statuses first.")
]
IncludeArchivedOption = Annotated[bool, typer.Option("--include-archived", help="Include archived accounts.")]
EntitiesOption = Annotated[
    str | None,
    typer.Option("--entities", help="Only these entities, comma-separated (e.g. account,account_service).",
                 show_default=False),
]  # fmt: skip


def build_selection(
    *,
    customer: list[str] | None = None,
    limit: int | None = None,
    all_: bool = False,
    status: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    active_first: bool = True,
    include_archived: bool = False,
    require_choice: bool = True,
) -> Selection:
    """Turn the selection flags into a `Selection`, refusing contradictions in one line.

    Why `require_choice`: migrating every customer by accident is expensive, so commands that write
    ask for `--all` explicitly instead of treating "no flags" as everything.
    """
    narrowed = bool(customer or limit is not None or status or since or until)
    if all_ and narrowed:
        raise ConfigError(
            "--all cannot be combined with --customer, --limit, --status, --since or --until",
            fix="drop --all, or drop the filters",
        )
    if require_choice and not (all_ or narrowed):
        raise ConfigError(
            "no selection given", fix="pass --all, or --customer ID, --limit N, --status NAME, --since DATE"
        )
    ids = tuple(part.strip() for value in customer or () for part in value.split(",") if part.strip())
    return Selection(
        customer_ids=ids,
        limit=limit,
        statuses=tuple(status or ()),
        since=parse_when(since, option="--since"),
        until=parse_when(until, option="--until", end_of_day=True),
        active_first=active_first,
        include_archived=include_archived,
    )


def parse_entities(value: str | None) -> tuple[str, ...] | None:
    """`--entities a,b` as names in phase order (None = all), refusing unknown names."""
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    known = known_entities()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown entity {unknown[0]!r} in --entities", fix=f"use any of {', '.join(known)}")
    return tuple(e for e in known if e in names)


__all__ = [
    "ActiveFirstOption",
    "AllOption",
    "CustomerOption",
    "EntitiesOption",
    "IncludeArchivedOption",
    "LimitOption",
    "SinceOption",
    "StatusOption",
    "UntilOption",
    "build_selection",
    "parse_entities",
    "positive",
]
