"""Which Sonar customers a run migrates: ids, a limit, statuses, a created/updated window.

Why a frozen dataclass with JSON round-trip: the selection is stored in the ledger's `run.selection`
so that `etl resume` re-plays exactly the same choice; it must be hashable, comparable and survive
serialisation unchanged. Status names are checked against Sonar itself by the extractor (only Sonar
knows which statuses exist), everything else is checked here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from etl.errors import ConfigError


def parse_when(value: str | date | datetime | None, *, option: str, end_of_day: bool = False) -> datetime | None:
    """Parse an ISO date or datetime given on the command line; a bare date covers the whole day.

    Why end_of_day: `--until 2024-05-31` means "up to and including the 31st", not its first instant.
    A value without an offset is taken as UTC, as Sonar does.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, datetime.max.time() if end_of_day else datetime.min.time())
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(
                f"{option} {value!r} is not an ISO date", fix="use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00"
            ) from exc
        if end_of_day and len(value) == 10:
            parsed = datetime.combine(parsed.date(), datetime.max.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """The customers to migrate; the default (nothing set) means every customer.

    Attributes:
        customer_ids: Sonar account ids; empty means "not restricted by id".
        limit: at most this many accounts (after the other filters, active ones first).
        statuses: account status names (case-insensitive), resolved to ids against Sonar.
        since: only accounts created or updated at or after this instant, or whose children were (contacts,
            addresses, billing, custom fields, services, IP assignments: Sonar dates those on their own).
        until: only accounts created or updated at or before this instant.
        active_first: accounts whose status activates the account are fetched before the others.
        include_archived: archived accounts are included too.
    """

    customer_ids: tuple[str, ...] = ()
    limit: int | None = None
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    active_first: bool = True
    include_archived: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "customer_ids", tuple(str(i).strip() for i in self.customer_ids))
        object.__setattr__(self, "statuses", tuple(s.strip() for s in self.statuses))
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        self.validate()

    def validate(self) -> None:
        """Refuse a selection that cannot match anything sensible, with a one-line reason."""
        bad_ids = [i for i in self.customer_ids if not i.isdigit()]
        if bad_ids:
            raise ConfigError(f"customer id {bad_ids[0]!r} is not a Sonar account id", fix="pass numeric ids")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit {self.limit} must be at least 1", fix="pass a positive number")
        if any(not s for s in self.statuses):
            raise ConfigError("an empty --status was given", fix="pass a status name such as Active")
        if self.since and self.until and self.until < self.since:
            raise ConfigError(
                f"--until {self.until.isoformat()} is before --since {self.since.isoformat()}",
                fix="swap the dates or widen the range",
            )

    @property
    def is_everything(self) -> bool:
        """True when no filter narrows the customers (the `--all` case)."""
        return not (self.customer_ids or self.limit or self.statuses or self.since or self.until)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, as stored in `run.selection`."""
        data = asdict(self)
        data["customer_ids"] = list(self.customer_ids)
        data["statuses"] = list(self.statuses)
        data["since"] = self.since.isoformat() if self.since else None
        data["until"] = self.until.isoformat() if self.until else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | str | None) -> Selection:
        """Rebuild a selection from `to_json()` output (or its JSON text); unknown keys are ignored."""
        if data is None or data == "":
            return cls()
        raw: dict[str, Any] = json.loads(data) if isinstance(data, str) else dict(data)
        return cls(
            customer_ids=tuple(raw.get("customer_ids") or ()),
            limit=raw.get("limit"),
            statuses=tuple(raw.get("statuses") or ()),
            since=parse_when(raw.get("since"), option="since"),
            until=parse_when(raw.get("until"), option="until"),
            active_first=bool(raw.get("active_first", True)),
            include_archived=bool(raw.get("include_archived", False)),
        )


__all__ = ["Selection", "parse_when"]
