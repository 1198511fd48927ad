"""Local files: pread/pwrite into a preallocated `<dst>.etl-partial`, renamed when complete.

The partial-file name is the Go engine's too, so a copy started by one engine resumes in the other.
Every OS failure at the destination becomes one line naming it and its cause (`failures.py`): a
file the destination has no room for fails when it is preallocated, before a byte is copied.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from etl.errors import ConfigError
from loaders.file_backends.base import FileEntry, UploadState, sha256_hex
from loaders.file_backends.failures import destination_error, is_out_of_space

PARTIAL_SUFFIX = ".etl-partial"


def _fingerprint(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _reserve(fd: int, size: int) -> None:
    """Preallocate `size` bytes: no room fails here; a filesystem without fallocate gets a sparse file."""
    if size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            if is_out_of_space(exc):
                raise
    os.ftruncate(fd, size)


class LocalReader:
    """pread on one descriptor shared by all threads (pread does not move a file offset)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)

    def read(self, offset: int, length: int) -> bytes:
        """Return `length` bytes at `offset`."""
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise ConfigError(f"short read in {offset}+{length}: the source changed during the copy")
        return data

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self._fd)


class LocalWriter:
    """pwrite into the partial file; `present` re-reads and re-hashes, so corruption is caught."""

    parallel = True

    def __init__(self, path: str, size: int) -> None:
        self.path = path  # as the user named it: the error line says it the way the Go engine does
        self.final = Path(path)
        self.partial = Path(path + PARTIAL_SUFFIX)
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise destination_error(path, exc) from exc
        try:
            _reserve(self._fd, size)
        except OSError as exc:
            os.close(self._fd)
            raise destination_error(path, exc) from exc

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """Re-hash the chunk in the partial file."""
        return sha256_hex(os.pread(self._fd, length, offset)) == sha256

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """Pwrite the chunk in place, all of it: a disk filling up can make a pwrite short."""
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(self._fd, view, offset)
                view, offset = view[written:], offset + written
        except OSError as exc:
            raise destination_error(self.path, exc) from exc
        return None

    def commit(self) -> None:
        """Rename into place: readers never see a half-written file."""
        try:
            os.close(self._fd)
            os.replace(self.partial, self.final)
        except OSError as exc:
            raise destination_error(self.path, exc) from exc

    def close(self) -> None:
        """Keep the partial file for the next run."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


class LocalBackend:
    """Plain paths and file:// URLs."""

    scheme: ClassVar[str] = "file"

    def list(self, path: str) -> list[FileEntry]:
        """One file, or every regular file under a directory (links are not followed)."""
        root = Path(path)
        if root.is_file():
            return [FileEntry(root.name, str(root), root.stat().st_size, _fingerprint(root.stat()))]
        if not root.is_dir():
            raise ConfigError(f"source {path} does not exist", fix="check the path")
        entries = []
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                full = Path(dirpath, name)
                if full.is_symlink() or not full.is_file() or name.endswith(PARTIAL_SUFFIX):
                    continue
                stat = full.stat()
                rel = full.relative_to(root).as_posix()
                entries.append(FileEntry(rel, str(full), stat.st_size, _fingerprint(stat)))
        return sorted(entries, key=lambda e: e.rel)

    def is_container(self, path: str) -> bool:
        """An existing directory, or a path written with a trailing slash."""
        return path.endswith("/") or Path(path).is_dir()

    def join(self, path: str, rel: str) -> str:
        """`rel` under the directory `path`."""
        return str(Path(path, rel))

    def url(self, path: str) -> str:
        """The absolute path."""
        return str(Path(path).resolve())

    def reader(self, path: str) -> LocalReader:
        """Open for pread."""
        return LocalReader(path)

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> LocalWriter:
        """Open (or reopen) the partial file."""
        return LocalWriter(path, size)

    def read_url(self, path: str) -> str | None:
        """Local files need no URL: the Go engine reads them directly."""
        return None
