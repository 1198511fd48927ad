"""Turn what a destination driver raised for a batch into the one-line error the user can act on.

Why classify: the same `DBAPIError` may mean "this value can never fit this column" (out of
range, too long, NaN into MySQL: widen the column or exclude the table), "something on the
destination conflicts" (a duplicate key: remove it, then rerun) or "the server hiccupped" (a
deadlock, a lost connection: just rerun). Telling a user to rerun the first kind sends them into
a loop, so value errors are recognised by their SQLSTATE class or MySQL error number.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from etl.dbcopy.errors import RERUN, BatchError, BatchRefused, ValueRefused
from etl.dbcopy.fit import Unfit

PG_VALUE_STATES = ("22", "54000")  # data exceptions; program limit exceeded (an index row too large)
PG_TRANSIENT_STATES = ("08", "40", "53", "57", "55P03")  # connection, deadlock, resources, shutdown, lock timeout
MYSQL_VALUE_ERRORS = frozenset({1264, 1265, 1292, 1366, 1367, 1406, 1411, 1416, 1690, 3140, 4025})
MYSQL_TRANSIENT_ERRORS = frozenset({1040, 1053, 1205, 1213, 2006, 2013})
_MYSQL_COLUMN = re.compile(r"column '([^']+)'")
_PG_COLUMN = re.compile(r"column (\S+?):")
UNNAMED = "(not named by the driver)"


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrapper (or the exception itself)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, sa.exc.StatementError) else None
    return orig if isinstance(orig, BaseException) else exc


def reason_of(exc: BaseException) -> str:
    """The first line of what the driver said, short enough for one line."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _mysql_errno(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _pg_state(exc: BaseException) -> str:
    return str(getattr(exc, "pgcode", None) or "")


def is_value_error(exc: BaseException) -> bool:
    """A value the column type cannot hold: retrying the same value can never succeed."""
    if isinstance(exc, ValueError | OverflowError | TypeError):
        return True  # raised while binding a value: psycopg2 and NUL, sqlite3 and 2**63, a bind processor
    if any(cls.__name__ == "DataError" for cls in type(exc).__mro__):
        return True
    state, errno = _pg_state(exc), _mysql_errno(exc)
    return state.startswith(PG_VALUE_STATES) or errno in MYSQL_VALUE_ERRORS or "can not be used with MySQL" in str(exc)


def is_transient(exc: BaseException) -> bool:
    """A refusal the next attempt can get past: a deadlock, a lock timeout, a lost connection."""
    return _pg_state(exc).startswith(PG_TRANSIENT_STATES) or _mysql_errno(exc) in MYSQL_TRANSIENT_ERRORS


def column_named(exc: BaseException) -> str | None:
    """The column a driver message names: MySQL's "for column 'x'", PostgreSQL's COPY context."""
    diag = getattr(exc, "diag", None)
    named = getattr(diag, "column_name", None)
    if named:
        return str(named)
    for text in (getattr(diag, "context", None) or "", str(exc)):
        match = _MYSQL_COLUMN.search(text) or _PG_COLUMN.search(text)
        if match:
            return match.group(1)
    return None


def refusal(exc: BaseException, dataset: str, key_range: str, unfit: Unfit | None) -> BatchError:
    """The error for a refused batch: the unfit value when one was found, else what the driver's error means."""
    if unfit is not None:
        return ValueRefused(dataset, key_range, unfit.column, unfit.reason, unfit.row_key)
    orig = driver_error(exc)
    reason = reason_of(orig)
    if is_value_error(orig):
        return ValueRefused(dataset, key_range, column_named(orig) or UNNAMED, reason)
    if is_transient(orig):
        return BatchRefused(dataset, key_range, reason, fix=f"{RERUN}: it was rolled back whole")
    return BatchRefused(dataset, key_range, reason)
