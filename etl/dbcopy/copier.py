"""Copy databases batch by batch, each batch a checkpoint in the ledger.

The protocol, per dataset: open (or resume) a `transfer`; plan its key ranges once and store
them as `chunk` rows; for every chunk not yet verified: read it, checksum it, stage it as
Parquet, write it idempotently (the destination reads it back and compares), then record it
`verified` with its checksum and row count. After the last chunk the destination's count (and,
for tables without a key, its whole-table checksum) must equal the sum of the chunks.
A kill at any instant leaves either a verified chunk or one that is written again on resume
without duplicating a row (see loaders/db/relational.py for why).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from etl.dbcopy.errors import BatchError, ChecksumMismatch, SourceValueUnreadable
from etl.dbcopy.model import Dataset, KeyRange, Row
from etl.dbcopy.refusal import reason_of, refusal
from etl.dbcopy.rowhash import checksum, combine_hex
from etl.dbcopy.staging import staged_view, write_batch
from etl.dbcopy.urls import DbUrl, parse
from etl.errors import ConfigError
from extractors.databases import Source, open_source
from loaders.databases import Destination, open_destination
from state.ledger import ChunkPlan, Ledger
from state.models import Transfer
from state.states import ChunkState, RunStatus, TransferState

DELAY_ENV = "ETL_DBCOPY_BATCH_DELAY"  # seconds to sleep after each batch commit: lets tests kill mid-copy


@dataclass(frozen=True)
class CopyOptions:
    """What `etl db copy` was asked to do."""

    tables: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    batch_size: int = 10_000
    workers: int = 1
    schema_only: bool = False
    data_only: bool = False
    staging: Path | None = None
    mongo_client: Callable[[str], Any] | None = None

    def validate(self) -> None:
        """Refuse contradictory or useless options before touching anything."""
        if self.schema_only and self.data_only:
            raise ConfigError("--schema-only and --data-only exclude each other", fix="pass at most one of them")
        if self.batch_size < 1 or self.workers < 1:
            raise ConfigError("--batch-size and --workers must be at least 1", fix="pass positive numbers")


@dataclass
class DatasetReport:
    """The outcome of one dataset's copy."""

    name: str
    kind: str
    rows: int = 0
    batches: int = 0
    resumed: int = 0
    checksum: str = ""
    transfer_id: int | None = None
    status: str = "copied"


@dataclass
class CopyReport:
    """The outcome of a copy, with the time spent in ledger writes (the cost of checkpointing)."""

    run_id: int | None
    datasets: list[DatasetReport] = field(default_factory=list)
    seconds: float = 0.0
    ledger_seconds: float = 0.0


class TimedLedger:
    """Serialises ledger calls between worker threads and measures how long they take."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def timed(self) -> Iterator[Ledger]:
        """Use the ledger exclusively, adding the elapsed time to `seconds`."""
        with self._lock:
            start = time.perf_counter()
            try:
                yield self.ledger
            finally:
                self.seconds += time.perf_counter() - start


def fingerprint(dataset: Dataset) -> str:
    """What makes a transfer resumable: the same key and the same columns of the same kinds."""
    shape = {"key": list(dataset.key), "columns": [(c.name, c.kind) for c in dataset.columns]}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class _Job:
    """One dataset's copy: the two sides, the ledger, and where the batches stand."""

    source: Source
    dest: Destination
    ledger: TimedLedger
    run_id: int
    src: DbUrl
    dst: DbUrl
    options: CopyOptions
    dataset: Dataset
    delay: float

    @property
    def copy_key(self) -> str:
        identity = f"{self.src.redacted}|{self.dst.redacted}|{self.dataset.name}|{fingerprint(self.dataset)}"
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    def open(self) -> Transfer:
        meta = {"keyed_by": self.dataset.keyed_by, "key": list(self.dataset.key), "batch_size": self.options.batch_size}
        with self.ledger.timed() as led:
            return led.open_transfer(
                run_id=self.run_id,
                kind=self.dataset.kind,
                source=self.src.redacted,
                destination=self.dst.redacted,
                name=self.dataset.name,
                size=self.dataset.rows_estimate,
                fingerprint=fingerprint(self.dataset),
                meta=meta,
            )

    def ranges(self, transfer_id: int) -> list[KeyRange] | None:
        """The plan kept in the ledger, or a new one stored there before any batch is copied."""
        with self.ledger.timed() as led:
            chunks = led.chunks(transfer_id)
        if chunks and chunks[-1].key_to is None and chunks[-1].seq == len(chunks) - 1:
            return [KeyRange(c.seq, c.key_from, c.key_to) for c in chunks]
        planned = self.source.plan(self.dataset, self.options.batch_size)
        if planned is not None:
            with self.ledger.timed() as led:
                led.plan_chunks(transfer_id, [ChunkPlan(r.seq, key_from=r.key_from, key_to=r.key_to) for r in planned])
        return planned

    def copy_batch(self, transfer_id: int, key_range: KeyRange, rows: list[dict[str, Any]]) -> tuple[int, str]:
        """Stage, write and checkpoint one batch."""
        digest = checksum(self.dataset, rows)
        if self.options.staging is not None:
            columns, staged = staged_view(self.dataset, rows)
            write_batch(self.options.staging, transfer_id, key_range.seq, columns, staged)
        prior = self.dest.committed(self.dataset, key_range, self.copy_key)
        try:
            if prior is None:
                self.dest.write(self.dataset, key_range, rows, copy_key=self.copy_key, checksum=digest)
            elif prior != digest:
                raise ChecksumMismatch(
                    self.dataset.name, key_range.describe(), "source changed since this batch was committed"
                )
        except (BatchError, sa.exc.DBAPIError) as exc:
            with self.ledger.timed() as led:
                led.record_chunk(transfer_id, key_range.seq, state=ChunkState.FAILED, sha256=digest, rows=len(rows))
            if isinstance(exc, sa.exc.DBAPIError):  # a destination that does not classify its own errors
                raise refusal(exc, self.dataset.name, key_range.describe(), None) from None
            raise
        if self.delay:
            time.sleep(self.delay)
        with self.ledger.timed() as led:
            led.record_chunk(
                transfer_id,
                key_range.seq,
                state=ChunkState.VERIFIED,
                sha256=digest,
                rows=len(rows),
                key_from=key_range.key_from,
                key_to=key_range.key_to,
            )
        return len(rows), digest

    def run(self) -> DatasetReport:
        """Copy every batch not verified yet, then check the destination against the chunks."""
        report = DatasetReport(self.dataset.name, self.dataset.kind)
        transfer = self.open()
        report.transfer_id = transfer.id
        assert transfer.id is not None
        if transfer.state == TransferState.DONE:
            report.status, report.checksum = "already copied", transfer.sha256 or ""
            return report
        try:
            self._copy(transfer.id, report)
            self._check(transfer.id, report)
        except Exception as exc:
            with self.ledger.timed() as led:
                led.finish_transfer(transfer.id, TransferState.FAILED, error=str(exc)[:500])
            raise
        with self.ledger.timed() as led:
            led.finish_transfer(transfer.id, TransferState.DONE, sha256=report.checksum)
        return report

    def _copy(self, transfer_id: int, report: DatasetReport) -> None:
        with self.ledger.timed() as led:
            verified = led.verified_seqs(transfer_id)
        ranges = self.ranges(transfer_id)
        if ranges is None:
            self._scan(transfer_id, report, verified)
            return
        todo = [r for r in ranges if r.seq not in verified]
        report.resumed += len(ranges) - len(todo)
        for key_range, rows in self._prefetched(todo):
            self.copy_batch(transfer_id, key_range, rows)
            report.batches += 1

    def _prefetched(self, ranges: Sequence[KeyRange]) -> Iterator[tuple[KeyRange, list[dict[str, Any]]]]:
        """Each range with its rows, the next range read by a helper thread while this one is written.

        Why: the source server runs the next query and streams it while the destination takes the
        current batch, so the two servers' time overlaps. One batch ahead at most: memory stays at
        two batches, and a crash loses nothing (reading commits nothing).
        """
        if not ranges:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbcopy-read") as reader:
            ahead = reader.submit(self._read, ranges[0])
            for index, key_range in enumerate(ranges):
                rows = ahead.result()
                if index + 1 < len(ranges):
                    ahead = reader.submit(self._read, ranges[index + 1])
                yield key_range, rows

    def _read(self, key_range: KeyRange) -> list[Row]:
        """One range's rows; a stored value the source driver cannot convert (a BC date) is named, not a crash."""
        try:
            return self.source.read(self.dataset, key_range)
        except (ValueError, OverflowError) as exc:
            raise SourceValueUnreadable(self.dataset.name, key_range.describe(), reason_of(exc)) from None

    def _scan(self, transfer_id: int, report: DatasetReport, verified: set[int]) -> None:
        """Cursor datasets (Redis): continue after the last verified batch's cursor."""
        with self.ledger.timed() as led:
            done = [c for c in led.chunks(transfer_id) if c.seq in verified]
        done.sort(key=lambda c: c.seq)
        seq, cursor = (done[-1].seq + 1, done[-1].key_to) if done else (0, None)
        report.resumed = len(done)
        if done and cursor is None:
            return
        while True:
            rows, after = self.source.scan(self.dataset, cursor, self.options.batch_size)
            self.copy_batch(transfer_id, KeyRange(seq, cursor, after), rows)
            report.batches += 1
            if after is None:
                return
            seq, cursor = seq + 1, after

    def _check(self, transfer_id: int, report: DatasetReport) -> None:
        with self.ledger.timed() as led:
            chunks = led.chunks(transfer_id, ChunkState.VERIFIED)
        report.rows = sum(c.rows or 0 for c in chunks)
        report.checksum = combine_hex(c.sha256 or "0" for c in chunks)
        if self.dataset.keyed or self.dataset.kind != "table":
            held = self.dest.count(self.dataset)
            if held != report.rows and self.dataset.kind != "keyspace":
                raise ChecksumMismatch(
                    self.dataset.name, "(-inf, +inf]", f"destination holds {held} rows, copied {report.rows}"
                )
            return
        held, digest = self.dest.checksum_all(self.dataset)
        if (held, digest) != (report.rows, report.checksum):
            raise ChecksumMismatch(
                self.dataset.name,
                "(-inf, +inf]",
                f"destination holds {held} rows with another checksum than the {report.rows} copied",
            )


def _open(src: DbUrl, dst: DbUrl, options: CopyOptions) -> tuple[Source, Destination]:
    source = open_source(src, mongo_client=options.mongo_client)
    try:
        return source, open_destination(dst, src.engine, mongo_client=options.mongo_client)
    except BaseException:
        source.close()
        raise


def _run_jobs(jobs: Sequence[_Job], workers: int) -> list[DatasetReport]:
    if workers == 1:
        return [job.run() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbcopy") as pool:
        futures = [pool.submit(job.run) for job in jobs]
        return [future.result() for future in futures]


def copy_database(source_url: str, dest_url: str, ledger: Ledger, options: CopyOptions) -> CopyReport:
    """Copy the chosen datasets from one database to another, resuming whatever a previous run left."""
    options.validate()
    started = time.perf_counter()
    src, dst = parse(source_url), parse(dest_url)
    source, dest = _open(src, dst, options)
    timed = TimedLedger(ledger)
    try:
        datasets = source.datasets(options.tables, options.exclude)
        with timed.timed() as led:
            run_id = led.start_run(
                "dbcopy",
                selection={"source": src.redacted, "destination": dst.redacted, "tables": [d.name for d in datasets]},
                options={
                    "batch_size": options.batch_size,
                    "workers": options.workers,
                    "schema_only": options.schema_only,
                    "data_only": options.data_only,
                },
            )
        report = CopyReport(run_id)
        try:
            dest.prepare(datasets, src.engine, create=not options.data_only, final=options.schema_only)
            if not options.schema_only:
                delay = float(os.environ.get(DELAY_ENV, "0") or 0)
                jobs = [_Job(source, dest, timed, run_id, src, dst, options, d, delay) for d in datasets]
                report.datasets = _run_jobs(jobs, options.workers)
                dest.finish(datasets)
                _drop_markers(dest, jobs)
        except BaseException as exc:
            with timed.timed() as led:
                led.finish_run(
                    run_id, RunStatus.FAILED, message=str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
                )
            raise
        with timed.timed() as led:
            led.finish_run(run_id, RunStatus.SUCCEEDED, message=f"{len(datasets)} dataset(s) copied")
    finally:
        source.close()
        dest.close()
    report.seconds = time.perf_counter() - started
    report.ledger_seconds = timed.seconds
    return report


def _drop_markers(dest: Destination, jobs: Sequence[_Job]) -> None:
    drop = getattr(dest, "drop_markers", None)
    if drop is not None:
        drop([job.copy_key for job in jobs if not job.dataset.keyed])
