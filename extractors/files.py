"""File sources: resolve a URL to its backend and list the files a copy will read.

The reading itself (range reads) belongs to each backend in `loaders/file_backends/`, which
serves both directions the way an rclone backend does; this module is the extract side's door.
"""

from __future__ import annotations

from dataclasses import dataclass

from loaders.file_backends import locate
from loaders.file_backends.base import FileBackend, FileEntry


@dataclass(frozen=True)
class FileSource:
    """A source URL resolved: its backend, the path inside it, and the files under it."""

    url: str
    backend: FileBackend
    path: str
    entries: list[FileEntry]

    @property
    def single_file(self) -> bool:
        """The URL named one file (not a directory or prefix holding files)."""
        return len(self.entries) == 1 and self.entries[0].path.strip("/") == self.path.strip("/")


def open_source(url: str) -> FileSource:
    """List a source; ConfigError (one line) when it does not exist."""
    backend, path = locate(url)
    return FileSource(url, backend, path, backend.list(path))
