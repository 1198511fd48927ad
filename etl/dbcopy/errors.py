"""The one error a copy raises of its own: the two sides of a batch differ."""

from __future__ import annotations

from etl.errors import EtlError


class ChecksumMismatch(EtlError):
    """Source and destination disagree on a batch; the message names the table and the key range."""

    exit_code = 5

    def __init__(self, dataset: str, key_range: str, detail: str) -> None:
        super().__init__(
            f"{dataset} keys {key_range}: {detail}",
            fix="rerun `etl db copy` to copy the batch again, or inspect both sides for that key range",
        )
        self.dataset = dataset
        self.key_range = key_range


class BatchRefused(EtlError):
    """The destination rejected a batch (value too long, out of range, constraint); nothing was committed."""

    exit_code = 5

    def __init__(self, dataset: str, key_range: str, reason: str) -> None:
        super().__init__(
            f"{dataset} keys {key_range}: destination refused the batch: {reason}",
            fix="widen the destination column or fix the source value, then rerun `etl db copy` to resume",
        )
