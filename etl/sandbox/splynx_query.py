"""Splynx list queries: PHP nested query parameters turned into SQL over the simulator's JSON records.

Why SQL: searches such as `additional_attributes[sonar_id]=42` are how a loader finds a record it may
already have created; running them in SQLite keeps that lookup fast on tens of thousands of records.

Forms accepted, as PHP's http_build_query writes them:
    main_attributes[login]=x                                       equality
    main_attributes[login][0]=LIKE&main_attributes[login][1]=x     [OP, value]  (LIKE = substring)
    main_attributes[id][0]=BETWEEN&...[1]=3&...[2]=9               [BETWEEN, a, b]
    main_attributes[id][0]=IN&...[1][0]=3&...[1][1]=4              [IN, [a, b]]
    order[id]=DESC, limit=10, offset=20
String equality ignores case, as MySQL's default collation does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from etl.sandbox.splynx_schema import BOOL, DECIMAL, INT, Entity

OPERATORS = ("=", "!=", "<>", ">", "<", ">=", "<=", "LIKE", "NOT LIKE", "IN", "NOT IN", "BETWEEN", "IS",
             "REGEXP")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class QueryError(ValueError):
    """The query string cannot be understood (answered 400 BAD_REQUEST)."""


def php_nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild PHP's nested arrays from `a[b][0]=v` pairs; dicts keyed 0..n become lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise QueryError(f"malformed query parameter {raw_key!r}")
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for i, part in enumerate(parts):
            key = part if part != "" else str(len(node))
            if i == len(parts) - 1:
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise QueryError(f"query parameter {raw_key!r} mixes a value and an array")
                node = child
    result: dict[str, Any] = _listify(root)
    return result


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


@dataclass
class Query:
    """An SQL WHERE / ORDER BY / LIMIT built from one list request."""

    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: str = "id ASC"
    limit: int | None = None
    offset: int = 0

    @property
    def where_sql(self) -> str:
        """All conditions joined with AND."""
        return " AND ".join(self.where)


def build_query(entity: Entity, args: dict[str, Any], af_names: set[str], scope: dict[str, Any]) -> Query:
    """Translate the nested query args of a list request into SQL over `entity`'s records.

    Args:
        entity: what is listed.
        args: output of php_nested.
        af_names: additional-field names defined for the entity's module.
        scope: fixed equality conditions from the path (e.g. customer_id of a service list).
    """
    query = Query()
    for name, value in scope.items():
        query.where.append(f"json_extract(data, '$.{name}') = ?")
        query.params.append(value)
    for name, spec in _mapping(args.get("main_attributes"), "main_attributes").items():
        fld = entity.field(name)
        if fld is None or fld.secret:
            raise QueryError(f"unknown attribute {name!r} in main_attributes")
        _add_condition(query, f"json_extract(data, '$.{name}')", fld.kind, spec)
    for name, spec in _mapping(args.get("additional_attributes"), "additional_attributes").items():
        if name not in af_names:
            raise QueryError(f"unknown additional attribute {name!r}")
        _add_condition(query, f"json_extract(data, '$.additional_attributes.{name}')", "str", spec)
    query.order = _order(entity, _mapping(args.get("order"), "order"))
    query.limit = _int_arg(args.get("limit"), "limit")
    query.offset = _int_arg(args.get("offset"), "offset") or 0
    return query


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise QueryError(f"{what} must be an array of attribute => condition")
    return value


def _int_arg(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise QueryError(f"{what} must be a non-negative integer")
    return int(value)


def _order(entity: Entity, spec: dict[str, Any]) -> str:
    parts = []
    for name, direction in spec.items():
        if entity.field(name) is None or str(direction).upper() not in ("ASC", "DESC"):
            raise QueryError(f"cannot order by {name!r} {direction!r}")
        parts.append(f"json_extract(data, '$.{name}') {str(direction).upper()}")
    return ", ".join([*parts, "id ASC"])


def _typed(kind: str, value: Any) -> Any:
    """Compare like with like: numbers as numbers, everything else as text."""
    if isinstance(value, list):
        return [_typed(kind, v) for v in value]
    if kind in (INT, BOOL):
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if kind == DECIMAL:
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    return value


def _add_condition(query: Query, expr: str, kind: str, spec: Any) -> None:
    if kind == DECIMAL:
        expr = f"CAST({expr} AS REAL)"
    text = kind not in (INT, BOOL, DECIMAL)
    if not isinstance(spec, list):
        spec = ["=", spec]
    if not spec:
        raise QueryError("empty condition")
    op = str(spec[0]).upper()
    if op not in OPERATORS:
        raise QueryError(f"unsupported operator {spec[0]!r}")
    values = [_typed(kind, v) for v in spec[1:]]
    if op in ("IN", "NOT IN"):
        items = values[0] if len(values) == 1 and isinstance(values[0], list) else values
        marks = ", ".join("?" for _ in items) or "NULL"
        query.where.append(f"{expr} {'COLLATE NOCASE ' if text else ''}{op} ({marks})")
        query.params.extend(items)
    elif op == "BETWEEN":
        if len(values) != 2:
            raise QueryError("BETWEEN needs two values")
        query.where.append(f"{expr} BETWEEN ? AND ?")
        query.params.extend(values)
    elif op == "IS":
        query.where.append(f"{expr} IS NULL" if str(spec[1]).upper() == "NULL" else f"{expr} IS NOT NULL")
    elif len(values) != 1 or isinstance(values[0], list):
        raise QueryError(f"operator {op} needs one value")
    elif op in ("LIKE", "NOT LIKE"):
        pattern = str(values[0])
        query.where.append(f"COALESCE({expr}, '') {op} ?")
        query.params.append(pattern if "%" in pattern else f"%{pattern}%")
    else:
        sql_op = "!=" if op == "<>" else op
        query.where.append(f"{expr} {sql_op} ?{' COLLATE NOCASE' if text and sql_op in ('=', '!=') else ''}")
        query.params.append(values[0])
