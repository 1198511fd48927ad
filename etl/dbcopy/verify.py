"""`etl db verify`: compare source and destination batch by batch, naming any key range that differs.

Independent of the ledger: ranges are planned afresh from the source, each range's rows are
hashed on both sides (the destination's rows are found by key), and counts are compared so that
extra destination rows show up too. Tables without a key are compared whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl.dbcopy.copier import CopyOptions, _open
from etl.dbcopy.errors import ChecksumMismatch
from etl.dbcopy.model import Dataset, KeyRange
from etl.dbcopy.rowhash import checksum, combine
from etl.dbcopy.urls import parse
from extractors.databases import Source
from loaders.databases import Destination


@dataclass
class VerifyReport:
    """Datasets compared, batches compared, and every mismatch found (table and key range)."""

    datasets: int = 0
    batches: int = 0
    mismatches: list[ChecksumMismatch] = field(default_factory=list)


def _ranges(source: Source, dataset: Dataset, batch_size: int) -> list[tuple[KeyRange, list[dict[str, Any]]]]:
    planned = source.plan(dataset, batch_size)
    if planned is not None:
        return [(r, source.read(dataset, r)) for r in planned]
    batches, cursor, seq = [], None, 0
    while True:
        rows, after = source.scan(dataset, cursor, batch_size)
        batches.append((KeyRange(seq, cursor, after), rows))
        if after is None:
            return batches
        cursor, seq = after, seq + 1


def _verify_dataset(source: Source, dest: Destination, dataset: Dataset, batch_size: int, report: VerifyReport) -> None:
    if dataset.kind == "table" and not dataset.keyed:
        rows = [row for _, part in _ranges(source, dataset, batch_size) for row in part]
        held, digest = dest.checksum_all(dataset)
        report.batches += 1
        if (held, digest) != (len(rows), checksum(dataset, rows)):
            report.mismatches.append(
                ChecksumMismatch(
                    dataset.name, "(-inf, +inf]", f"{len(rows)} source rows, {held} destination rows, checksums differ"
                )
            )
        return
    total = 0
    for key_range, rows in _ranges(source, dataset, batch_size):
        report.batches += 1
        total += len(rows)
        theirs = dest.read_like(dataset, rows)
        if len(theirs) != len(rows) or checksum(dataset, theirs) != checksum(dataset, rows):
            report.mismatches.append(
                ChecksumMismatch(
                    dataset.name,
                    key_range.describe(),
                    f"{len(rows)} source rows, {len(theirs)} destination rows, checksums differ",
                )
            )
    held = dest.count(dataset)
    if held != total:
        report.mismatches.append(
            ChecksumMismatch(dataset.name, "(-inf, +inf]", f"destination holds {held} rows, source {total}")
        )


def verify_copy(source_url: str, dest_url: str, options: CopyOptions) -> VerifyReport:
    """Compare every chosen dataset; the report lists mismatches (the CLI turns the first into an error)."""
    options.validate()
    src, dst = parse(source_url), parse(dest_url)
    source, dest = _open(src, dst, options)
    report = VerifyReport()
    try:
        datasets = source.datasets(options.tables, options.exclude)
        dest.prepare(datasets, src.engine, create=False, final=True)  # reads only: no markers
        for dataset in datasets:
            report.datasets += 1
            _verify_dataset(source, dest, dataset, options.batch_size, report)
    finally:
        source.close()
        dest.close()
    return report


__all__ = ["VerifyReport", "combine", "verify_copy"]
