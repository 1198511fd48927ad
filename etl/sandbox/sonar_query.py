"""Sonar's collection semantics over in-memory records: column filters, search, reverse relations, sort, pages.

Why its own module: these rules are what makes the simulator faithful (fields inside one `Search` are
AND'ed, several `Search` objects are OR'ed, reverse relation filters in one group AND, groups OR, pages
are 1-based with at most 1000 records), and they are easier to read and test apart from HTTP and data.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Protocol

from graphql import GraphQLError

Record = dict[str, Any]

MAX_RECORDS_PER_PAGE = 1000
DEFAULT_RECORDS_PER_PAGE = 100
CONTROL_ARGUMENTS = frozenset(
    {"paginator", "sorter", "search", "general_search", "reverse_relation_filters", "include_archived"}
)

_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "GTE": operator.ge, "GT": operator.gt, "LTE": operator.le, "LT": operator.lt,
    "EQ": operator.eq, "NEQ": operator.ne,
}  # fmt: skip


class RecordSource(Protocol):
    """What the query engine needs from the store."""

    def value(self, table: str, record: Record, column: str) -> Any:
        """A column's value, defaults applied."""

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> kind (string, integer, float, datetime, date, boolean)."""

    def related(self, table: str, record: Record, relation: str) -> tuple[str, list[Record]]:
        """A to-many (or to-one) relation's table and records, as declared for the GraphQL type."""


def parse_datetime(value: str) -> datetime:
    """Parse an ISO-8601 datetime; a value without offset is taken as UTC, as Sonar does."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise GraphQLError(f'"{value}" is not a valid ISO-8601 datetime.') from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _comparable(kind: str, value: Any) -> Any:
    """Bring a stored value or a search value to a form that compares correctly for its kind."""
    if value is None:
        return None
    if kind == "integer":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "datetime":
        return parse_datetime(value) if isinstance(value, str) else value
    if kind == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    return value


class CollectionQuery:
    """One evaluation of a Sonar collection field's arguments over candidate records of one table."""

    def __init__(self, source: RecordSource, table: str) -> None:
        self.source = source
        self.table = table
        self.kinds = source.columns(table)

    def run(self, records: Iterable[Record], args: dict[str, Any]) -> dict[str, Any]:
        """Filter, sort and page; return `{entities, page_info}` as the connection type expects."""
        page, per_page = self._paginator(args.get("paginator"))
        matched = [r for r in records if self.matches(r, args)]
        ordered = self._sorted(matched, args.get("sorter") or ())
        start = (page - 1) * per_page
        total = len(ordered)
        return {
            "entities": ordered[start : start + per_page],
            "page_info": {
                "page": page,
                "records_per_page": per_page,
                "total_count": total,
                # Laravel's paginator (Sonar is Laravel) reports at least one page, even when empty.
                "total_pages": max(1, math.ceil(total / per_page)),
            },
        }

    def matches(self, record: Record, args: dict[str, Any]) -> bool:
        """Whether a record passes every filter argument (exact columns, search, general search, relations)."""
        for name, wanted in args.items():
            if name in CONTROL_ARGUMENTS or wanted is None:
                continue
            if self._value(record, name) != _comparable(self.kinds[name], wanted):
                return False
        searches = args.get("search")
        if searches and not any(self._search(record, s) for s in searches):
            return False
        general = args.get("general_search")
        if general and not self._general(record, general):
            return False
        return self._reverse(record, args.get("reverse_relation_filters") or ())

    def _value(self, record: Record, column: str) -> Any:
        kind = self.kinds.get(column)
        if kind is None:
            raise GraphQLError(f'"{column}" is not a field of {self.table} that can be searched or sorted.')
        return _comparable(kind, self.source.value(self.table, record, column))

    def _search(self, record: Record, search: dict[str, Any]) -> bool:
        """One `Search` object: every condition inside must hold (AND)."""
        for field in search.get("string_fields") or ():
            if not self._string(record, field):
                return False
        for key in ("integer_fields", "float_fields", "datetime_fields", "date_fields"):
            for field in search.get(key) or ():
                if not self._range(record, field):
                    return False
        for field in search.get("boolean_fields") or ():
            if not self._boolean(record, field):
                return False
        if any(self._value(record, c) is not None for c in search.get("unset_fields") or ()):
            return False
        if any(self._value(record, c) is None for c in search.get("exists") or ()):
            return False
        return self._reverse(record, search.get("reverse_relation_filters") or ())

    def _string(self, record: Record, field: dict[str, Any]) -> bool:
        value = self._value(record, field["attribute"])
        wanted = str(field["search_value"]).lower()
        if value is None:
            found = False
        elif field.get("partial_matching", True):
            found = wanted in str(value).lower()
        else:
            found = wanted == str(value).lower()
        return found if field["match"] else not found

    def _range(self, record: Record, field: dict[str, Any]) -> bool:
        column = field["attribute"]
        value = self._value(record, column)
        if value is None:
            return False
        return _RANGE[field["operator"]](value, _comparable(self.kinds[column], field["search_value"]))

    def _boolean(self, record: Record, field: dict[str, Any]) -> bool:
        equal = self._value(record, field["attribute"]) == field["search_value"]
        return equal if field.get("operator", "EQ") in (None, "EQ") else not equal

    def _general(self, record: Record, phrase: str) -> bool:
        """Substring match of the whole phrase over the record's string columns."""
        wanted = phrase.lower()
        for column, kind in self.kinds.items():
            value = self.source.value(self.table, record, column)
            if kind == "string" and isinstance(value, str) and wanted in value.lower():
                return True
        return False

    def _reverse(self, record: Record, filters: Sequence[dict[str, Any]]) -> bool:
        """Reverse relation filters: all of one group must hold; any group may."""
        if not filters:
            return True
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in filters:
            groups.setdefault(str(item.get("group") or "1"), []).append(item)
        return any(all(self._relation_holds(record, f) for f in group) for group in groups.values())

    def _relation_holds(self, record: Record, rrf: dict[str, Any]) -> bool:
        """Some record at the end of the (dotted) relation passes `search`; `is_empty` inverts it."""
        table, records = self.table, [record]
        for step in rrf["relation"].split("."):
            next_table = table
            gathered: list[Record] = []
            for current in records:
                next_table, children = self.source.related(table, current, step)
                gathered.extend(children)
            table, records = next_table, gathered
        nested = CollectionQuery(self.source, table)
        args = {"search": rrf.get("search"), "general_search": rrf.get("general_search")}
        found = any(nested.matches(r, args) for r in records)
        return not found if rrf.get("is_empty") else found

    def _sorted(self, records: list[Record], sorters: Sequence[dict[str, Any]]) -> list[Record]:
        """Stable multi-key sort; NULLs first ascending, as MySQL orders them; ties keep id order."""
        for sorter in reversed(sorters):
            column = sorter["attribute"]
            if column not in self.kinds:
                raise GraphQLError(f'"{column}" is not a field of {self.table} that can be sorted.')
            records = sorted(records, key=partial(self._sort_key, column=column), reverse=sorter["direction"] == "DESC")
        return records

    def _sort_key(self, record: Record, column: str) -> tuple[int, Any]:
        value = self._value(record, column)
        return (0, 0) if value is None else (1, value)

    @staticmethod
    def _paginator(paginator: dict[str, Any] | None) -> tuple[int, int]:
        if paginator is None:
            return 1, DEFAULT_RECORDS_PER_PAGE
        page, per_page = paginator["page"], paginator["records_per_page"]
        if page < 1:
            raise GraphQLError("The paginator page must be at least 1.")
        if not 1 <= per_page <= MAX_RECORDS_PER_PAGE:
            raise GraphQLError(f"The paginator records_per_page must be between 1 and {MAX_RECORDS_PER_PAGE}.")
        return page, per_page
