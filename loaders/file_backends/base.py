"""The one small protocol every storage backend implements, and the plain data it speaks.

Why one protocol (rclone's `fs` interface): the copy orchestrator and both engines only know
"list, read a byte range, write a chunk, commit", so a new backend is a new file, not a new `if`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class FileEntry:
    """One file of a source: its name relative to the copy root, its backend path, size and identity."""

    rel: str
    path: str
    size: int
    fingerprint: str


@dataclass
class UploadState:
    """What a backend must remember between runs to resume an upload (a GCS session URI, say)."""

    values: dict[str, Any] = field(default_factory=dict)
    save: Callable[[], None] = lambda: None


class RangeReader(Protocol):
    """Reads byte ranges of one object; must be safe to call from several threads."""

    def read(self, offset: int, length: int) -> bytes:
        """Return exactly `length` bytes starting at `offset`."""
        ...

    def close(self) -> None:
        """Release connections or handles."""
        ...


class ChunkWriter(Protocol):
    """Receives the chunks of one file and makes them visible only when all are there."""

    parallel: bool

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """Tell whether a chunk a previous run verified is really at the destination, intact."""
        ...

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """Store one chunk; returns the backend's tag for it (an ETag, a block id) if any."""
        ...

    def commit(self) -> None:
        """Make the file visible under its final name (rename, complete, commit block list)."""
        ...

    def close(self) -> None:
        """Stop without committing; keeps what was written so a later run can resume."""
        ...


class FileBackend(Protocol):
    """A storage system reached through URLs of one scheme."""

    scheme: ClassVar[str]

    def list(self, path: str) -> list[FileEntry]:
        """The file at `path`, or every file under it; ConfigError when there is nothing there."""
        ...

    def is_container(self, path: str) -> bool:
        """Tell whether `path` names a directory or prefix a single file should be copied into."""
        ...

    def join(self, path: str, rel: str) -> str:
        """The path of `rel` under `path`."""
        ...

    def url(self, path: str) -> str:
        """The URL a user would type for `path` (used in the ledger, never with secrets)."""
        ...

    def reader(self, path: str) -> RangeReader:
        """Open an object for range reads."""
        ...

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> ChunkWriter:
        """Start or resume writing an object of `size` bytes in chunks of `chunk_size`."""
        ...

    def read_url(self, path: str) -> str | None:
        """An HTTP(S) URL the Go engine can range-GET without credentials, or None."""
        ...


def sha256_hex(data: bytes) -> str:
    """Hex sha256, the digest every chunk and file is checkpointed with."""
    return hashlib.sha256(data).hexdigest()


def file_digest(chunk_digests: Sequence[str]) -> str:
    """The whole-file checksum of a transfer, built from its chunk digests so no byte is hashed twice.

    A file of at most one chunk gets the plain sha256 of its content (what `sha256sum` prints); a
    longer one gets the sha256 of its chunk digests (32 raw bytes each, in chunk order). The Go
    engine's `copier.FileDigest` computes the same value; both are pinned by the same test vectors.
    """
    if len(chunk_digests) == 1:
        return chunk_digests[0]
    whole = hashlib.sha256()
    for digest in chunk_digests:
        whole.update(bytes.fromhex(digest))
    return whole.hexdigest()


def chunk_count(size: int, chunk_size: int) -> int:
    """How many chunks a file of `size` bytes has (an empty file has none)."""
    return (size + chunk_size - 1) // chunk_size


class ObjectStorePaths:
    """Key layout shared by object stores (S3, GCS, Azure): prefixes stand in for directories."""

    scheme: ClassVar[str]

    @property
    def container_name(self) -> str:
        """The bucket or container; each store names it its own way."""
        raise NotImplementedError

    def is_container(self, path: str) -> bool:
        """A trailing slash or the bucket/container root means "into this prefix"."""
        return path.endswith("/") or not path.strip("/")

    def join(self, path: str, rel: str) -> str:
        """`rel` under the prefix."""
        return f"{path.strip('/')}/{rel}".lstrip("/")

    def url(self, path: str) -> str:
        """`scheme://bucket/key`, as the user writes it."""
        return f"{self.scheme}://{self.container_name}/{path.lstrip('/')}"
