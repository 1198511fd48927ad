"""The errors a copy raises of its own: each names the table and key range, exits 5, and has a fix that works.

Why several: "rerun" is the right advice only when the next attempt can succeed. A batch that
reads back differently because the source changed, or one a lock timeout refused, is fixed by
running the copy again; a value the destination column type cannot hold (out of range, NaN into
MySQL, too long) meets the same refusal on every attempt, so its fix is to widen the column or to
leave the table out.
"""

from __future__ import annotations

from etl.errors import EtlError

RERUN = "rerun `etl db copy` to copy the batch again"


class BatchError(EtlError):
    """A batch that was not copied; nothing of it was committed on the destination."""

    exit_code = 5

    def __init__(self, dataset: str, key_range: str, detail: str, fix: str) -> None:
        super().__init__(f"{dataset} keys {key_range}: {detail}", fix=fix)
        self.dataset = dataset
        self.key_range = key_range


class ChecksumMismatch(BatchError):
    """Source and destination disagree on a batch (the source changed, rows went missing)."""

    def __init__(self, dataset: str, key_range: str, detail: str) -> None:
        super().__init__(dataset, key_range, detail, f"{RERUN}, or inspect both sides for that key range")


class BatchRefused(BatchError):
    """The destination rejected a batch for a reason other than a value's type: a constraint, a lock, a lost link."""

    def __init__(self, dataset: str, key_range: str, reason: str, fix: str | None = None) -> None:
        fix = fix or f"remove the cause on the destination (a conflicting row, a constraint), then {RERUN}"
        super().__init__(dataset, key_range, f"destination refused the batch: {reason}", fix)


class ValueRefused(BatchError):
    """A value the destination column type cannot hold, or stores differently: no rerun alone can succeed."""

    def __init__(self, dataset: str, key_range: str, column: str, reason: str, row_key: str | None = None) -> None:
        shown = row_key if row_key is None or len(row_key) <= 60 else row_key[:57] + "..."
        where = f" (row {shown})" if shown else ""
        fix = (
            "the destination column type cannot hold this value; widen the column (or change the source value)"
            f" and the same copy resumes at this batch, or exclude the table with --exclude {dataset}"
        )
        super().__init__(dataset, key_range, f"column {column}: {reason}{where}", fix)
        self.column = column


class SourceValueUnreadable(BatchError):
    """The source driver cannot turn a stored value into a Python one (a BC date, an undecodable string)."""

    def __init__(self, dataset: str, key_range: str, reason: str) -> None:
        fix = f"convert that column on the source (to text, say), or exclude the table with --exclude {dataset}"
        super().__init__(dataset, key_range, f"the source driver cannot read a value: {reason}", fix)


class SchemaRefused(EtlError):
    """The destination refused to create a table as mapped (row too large, key too long...)."""

    exit_code = 5

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(
            f"table {table}: destination refused to create it: {reason}",
            fix=f"create {table} yourself (--dry-run shows the mapping) and copy with --data-only,"
            f" or exclude it with --exclude {table}",
        )
