"""The pure-Python copy engine: the Go engine's JSON-lines protocol, over any backend pair.

Why it exists: a machine without a Go toolchain must still copy, resume and checkpoint exactly
as the Go binary does; and remote-to-remote pairs the Go binary cannot reach (SFTP, GCS, Azure)
go through here chunk by chunk with range reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from etl.errors import ConfigError, EtlError
from loaders.file_backends.base import (
    ChunkWriter,
    RangeReader,
    UploadState,
    chunk_count,
    file_digest,
    sha256_hex,
)
from loaders.file_backends.failures import error_event
from loaders.file_backends.local import LocalBackend

Event = dict[str, Any]
Emit = Callable[[Event], None]


Opener = Callable[[], tuple[RangeReader, ChunkWriter]]


@dataclass
class FileJob:
    """One file to copy and the chunks a previous run verified (seq -> sha256).

    `open` reaches both ends only when the file's turn comes, and the engine closes them when it is
    done: a tree of 10 000 files never holds more than a few of them open at once.
    """

    rel: str
    size: int
    open: Opener
    resume: dict[int, str] = field(default_factory=dict)


@dataclass
class _FileProgress:
    """Collects a file's chunk digests; the last chunk to finish closes the file."""

    job: FileJob
    chunks: int
    reader: RangeReader
    writer: ChunkWriter
    lock: threading.Lock = field(default_factory=threading.Lock)
    digests: dict[int, str] = field(default_factory=dict)
    copied: int = 0
    resumed: int = 0
    redone: int = 0


class PythonEngine:
    """Copies FileJobs with a thread pool; bounded memory: at most 2 x streams chunks queued or held."""

    def __init__(self, streams: int, chunk_size: int, emit: Emit) -> None:
        self.streams, self.chunk_size = max(1, streams), chunk_size
        self._emit_lock = threading.Lock()
        self._emit = emit
        self._permits = threading.BoundedSemaphore(2 * self.streams)
        self._error: BaseException | None = None
        self._totals_lock = threading.Lock()
        self.totals = {"files": 0, "chunks": 0, "copied": 0, "resumed": 0, "redone": 0, "bytes": 0}

    def count(self, **deltas: int) -> None:
        """Add to the run totals from any thread."""
        with self._totals_lock:
            for key, n in deltas.items():
                self.totals[key] += n

    def emit(self, event: Event) -> None:
        """One event at a time, whichever thread finished the work."""
        with self._emit_lock:
            self._emit(event)

    def run(self, jobs: list[FileJob]) -> Event:
        """Copy every job; raises the first error after stopping the others."""
        start = time.monotonic()
        with ThreadPoolExecutor(self.streams) as pool:
            futures: list[Future[None]] = []
            for job in jobs:
                if self._error is not None:
                    break
                futures.extend(self._submit(pool, job))
            for fut in futures:
                if self._error is None:
                    fut.result()
        if self._error is not None:
            raise self._error
        return {"event": "summary", "engine": "python", **self.totals, "seconds": time.monotonic() - start}

    def _submit(self, pool: ThreadPoolExecutor, job: FileJob) -> list[Future[None]]:
        if not self._acquire():
            return []
        try:
            reader, writer = job.open()
        finally:
            self._permits.release()  # taken only so that open files stay as bounded as chunks
        progress = _FileProgress(job, chunk_count(job.size, self.chunk_size), reader, writer)
        self.count(chunks=progress.chunks)
        if progress.chunks == 0:
            self._finish(progress)
            return []
        sequential = not writer.parallel  # e.g. a GCS resumable session: bytes strictly in order
        futures: list[Future[None]] = []
        for seq in range(1 if sequential else progress.chunks):
            if not self._acquire():
                break
            if sequential:
                futures.append(pool.submit(self._guard, self._sequential, progress))
            else:
                futures.append(pool.submit(self._guard, self._chunk, progress, seq, True))
        return futures

    def _acquire(self) -> bool:
        """Wait for a permit (2 x streams chunks or files in flight); False once another chunk failed."""
        while not self._permits.acquire(timeout=0.1):
            if self._error is not None:
                return False
        if self._error is not None:
            self._permits.release()
            return False
        return True

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # the first error wins; the rest stop at their next chunk
            if self._error is None:
                self._error = exc
            raise

    def _sequential(self, progress: _FileProgress) -> None:
        try:
            for seq in range(progress.chunks):
                if self._error is not None:
                    return
                self._chunk(progress, seq, False)
        finally:
            self._permits.release()

    def _chunk(self, progress: _FileProgress, seq: int, permit: bool) -> None:
        job = progress.job
        offset = seq * self.chunk_size
        length = min(self.chunk_size, job.size - offset)
        try:
            if self._error is not None:  # another chunk failed: stop here, leave a clean resume point
                return
            digest, resumed = self._resume_or_copy(progress, seq, offset, length)
        finally:
            if permit:
                self._permits.release()
        self.emit({"event": "chunk", "file": job.rel, "chunk": seq, "offset": offset, "len": length,
                   "sha256": digest, "resumed": resumed})
        with progress.lock:
            progress.digests[seq] = digest
            done = len(progress.digests) == progress.chunks
        if done:
            self._finish(progress)

    def _resume_or_copy(self, progress: _FileProgress, seq: int, offset: int, length: int) -> tuple[str, bool]:
        """Read the range once, hash it, write it (or find it intact at the destination)."""
        want = progress.job.resume.get(seq)
        data = progress.reader.read(offset, length)
        if want is not None:
            if progress.writer.present(seq, offset, length, want, lambda: data) and sha256_hex(data) == want:
                with progress.lock:
                    progress.resumed += 1
                self.count(resumed=1)
                return want, True
            with progress.lock:
                progress.redone += 1
            self.count(redone=1)
        digest = sha256_hex(data)
        progress.writer.write(seq, offset, data)
        with progress.lock:
            progress.copied += 1
        self.count(copied=1, bytes=length)
        return digest, False

    def _finish(self, progress: _FileProgress) -> None:
        job = progress.job
        progress.writer.commit()
        progress.reader.close()
        self.count(files=1)
        digest = file_digest([progress.digests[n] for n in range(progress.chunks)])
        self.emit({"event": "file", "file": job.rel, "size": job.size, "sha256": digest,
                   "chunks": progress.chunks, "copied": progress.copied, "redone": progress.redone,
                   "resumed_chunks": progress.resumed})


def read_resume(path: str | None) -> dict[str, dict[int, str]]:
    """The Go binary's resume list format: JSON array or JSON lines of chunk entries."""
    if not path:
        return {}
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    text = text.strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    resume: dict[str, dict[int, str]] = {}
    for row in rows:
        if row.get("event", "chunk") == "chunk":
            resume.setdefault(row["file"], {})[int(row["chunk"])] = row["sha256"]
    return resume


def _open_local(backend: LocalBackend, src: str, dst: str, size: int, chunk: int) -> tuple[RangeReader, ChunkWriter]:
    return backend.reader(src), backend.writer(dst, size, chunk, UploadState())


def main(argv: list[str] | None = None) -> int:
    """`python -m etl.filecopy_py SRC DST`: the same command line, output and exit codes as `etl-copy`."""
    from etl.sizes import parse_size

    parser = argparse.ArgumentParser(prog="etl-copy.py")
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("-streams", "--streams", type=int, default=4)
    parser.add_argument("-chunk-size", "--chunk-size", default="8MiB")
    parser.add_argument("-resume", "--resume")
    args = parser.parse_args(argv)

    def out(event: Event) -> None:
        print(json.dumps(event), flush=True)

    try:
        if args.streams < 1:
            raise ConfigError("-streams must be at least 1")
        backend = LocalBackend()
        chunk = parse_size(args.chunk_size)
        entries = backend.list(args.src)
        single = len(entries) == 1 and entries[0].path == args.src
        resume = read_resume(args.resume)
        jobs = []
        for e in entries:
            dst = backend.join(args.dst, e.rel) if not single or backend.is_container(args.dst) else args.dst
            opener = partial(_open_local, backend, e.path, dst, e.size, chunk)
            jobs.append(FileJob(e.rel, e.size, opener, resume.get(e.rel, {})))
        out(PythonEngine(args.streams, chunk, out).run(jobs))
    except (EtlError, OSError, KeyboardInterrupt) as exc:
        event = error_event(exc)
        out(event)
        return int(event["code"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
