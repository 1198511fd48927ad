"""SFTP (paramiko): one SSH connection, one SFTP channel per thread, a remote partial file.

Writes go into `<dst>.etl-partial`, renamed when complete. Password from ETL_SFTP_PASSWORD or a key file from
ETL_SFTP_KEY_FILE; never from the URL, so it cannot reach the ledger or a log.
"""

from __future__ import annotations

import builtins
import os
import posixpath
import stat as statmod
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar

import paramiko

from etl.errors import ConfigError, ConnectionFailure
from loaders.file_backends.base import FileEntry, UploadState, sha256_hex

PARTIAL_SUFFIX = ".etl-partial"


@contextmanager
def sftp_errors(what: str) -> Iterator[None]:
    """One line per failure, naming the path."""
    try:
        yield
    except FileNotFoundError as exc:
        raise ConfigError(f"{what}: no such file", fix="check the remote path") from exc
    except PermissionError as exc:
        raise ConfigError(f"{what}: permission denied", fix="choose a path the SFTP user can write") from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise ConnectionFailure(f"{what}: {type(exc).__name__}", fix="check the host, port and network") from exc


class SFTPSession:
    """An SSH transport shared by all threads; SFTP channels are per thread (paramiko's are not)."""

    def __init__(self, host: str, port: int, user: str) -> None:
        self.label = f"sftp://{user}@{host}:{port}"
        self._local = threading.local()
        password = os.environ.get("ETL_SFTP_PASSWORD")
        key_file = os.environ.get("ETL_SFTP_KEY_FILE")
        if not password and not key_file:
            raise ConfigError(f"no credentials for {self.label}", fix="set ETL_SFTP_PASSWORD or ETL_SFTP_KEY_FILE")
        try:
            self._transport = paramiko.Transport((host, port))
            self._transport.connect()
            if key_file:
                self._transport.auth_publickey(user, paramiko.PKey.from_path(key_file))
            else:
                self._transport.auth_password(user, password or "")
        except paramiko.AuthenticationException as exc:
            raise ConnectionFailure(f"{self.label}: authentication refused",
                                    fix="check ETL_SFTP_PASSWORD / ETL_SFTP_KEY_FILE") from exc
        except (paramiko.SSHException, OSError) as exc:
            raise ConnectionFailure(f"{self.label}: cannot connect ({type(exc).__name__})",
                                    fix="check the host and port") from exc

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """The SFTP channel of the calling thread."""
        client = getattr(self._local, "sftp", None)
        if client is None:
            client = paramiko.SFTPClient.from_transport(self._transport)
            assert client is not None
            self._local.sftp = client
        return client


class SFTPReader:
    """Ranged reads, one open handle per thread."""

    def __init__(self, session: SFTPSession, path: str) -> None:
        self._session, self._path = session, path

    def read(self, offset: int, length: int) -> bytes:
        """Seek + read of exactly `length` bytes."""
        with sftp_errors(f"read {self._path}"), self._session.sftp.open(self._path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        if len(data) != length:
            raise ConfigError(f"short read in {self._path}: the source changed during the copy")
        return bytes(data)

    def close(self) -> None:
        """Handles are closed per read."""


class SFTPWriter:
    """Writes at offsets into the remote partial file; resume re-reads and re-hashes."""

    parallel = True

    def __init__(self, session: SFTPSession, path: str, size: int) -> None:
        self._session, self._final, self._partial = session, path, path + PARTIAL_SUFFIX
        with sftp_errors(f"create {path}"):
            _mkdirs(session.sftp, posixpath.dirname(path))
            try:
                session.sftp.stat(self._partial)
                mode = "r+b"
            except FileNotFoundError:
                mode = "wb"
            with session.sftp.open(self._partial, mode) as handle:
                handle.truncate(size)

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """Re-hash the bytes already in the remote partial file."""
        with sftp_errors(f"verify {self._partial}"), self._session.sftp.open(self._partial, "rb") as handle:
            handle.seek(offset)
            return sha256_hex(handle.read(length)) == sha256

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """Write the chunk in place."""
        with sftp_errors(f"write {self._partial}"), self._session.sftp.open(self._partial, "r+b") as handle:
            handle.seek(offset)
            handle.write(data)
        return None

    def commit(self) -> None:
        """Rename into place (posix-rename replaces an older copy atomically)."""
        with sftp_errors(f"rename {self._partial}"):
            self._session.sftp.posix_rename(self._partial, self._final)

    def close(self) -> None:
        """The partial file stays for the next run."""


def _mkdirs(sftp: paramiko.SFTPClient, path: str) -> None:
    if not path or path == "/":
        return
    try:
        sftp.stat(path)
    except FileNotFoundError:
        _mkdirs(sftp, posixpath.dirname(path))
        sftp.mkdir(path)


class SFTPBackend:
    """`sftp://user@host:port/path`."""

    scheme: ClassVar[str] = "sftp"

    def __init__(self, netloc: str) -> None:
        user, _, hostport = netloc.rpartition("@")
        host, _, port = hostport.partition(":")
        self._session = SFTPSession(host, int(port or 22), user or os.environ.get("USER", "root"))

    def list(self, path: str) -> list[FileEntry]:
        """One file, or every regular file under a directory."""
        sftp = self._session.sftp
        with sftp_errors(f"list {path}"):
            attrs = sftp.stat(path)
            if not statmod.S_ISDIR(attrs.st_mode or 0):
                stamp = f"{attrs.st_size}:{attrs.st_mtime}"
                return [FileEntry(posixpath.basename(path), path, attrs.st_size or 0, stamp)]
            return sorted(self._walk(path, ""), key=lambda e: e.rel)

    def _walk(self, root: str, rel: str) -> builtins.list[FileEntry]:
        entries: builtins.list[FileEntry] = []
        for attr in self._session.sftp.listdir_attr(posixpath.join(root, rel)):
            child = posixpath.join(rel, attr.filename) if rel else attr.filename
            if statmod.S_ISDIR(attr.st_mode or 0):
                entries.extend(self._walk(root, child))
            elif statmod.S_ISREG(attr.st_mode or 0) and not attr.filename.endswith(PARTIAL_SUFFIX):
                entries.append(FileEntry(child, posixpath.join(root, child), attr.st_size or 0,
                                         f"{attr.st_size}:{attr.st_mtime}"))
        return entries

    def is_container(self, path: str) -> bool:
        """A trailing slash or an existing remote directory."""
        if path.endswith("/"):
            return True
        try:
            return statmod.S_ISDIR(self._session.sftp.stat(path).st_mode or 0)
        except OSError:
            return False

    def join(self, path: str, rel: str) -> str:
        """`rel` under the remote directory."""
        return posixpath.join(path, rel)

    def url(self, path: str) -> str:
        """`sftp://user@host:port/path` (no password: there never is one in it)."""
        return f"{self._session.label}{path}"

    def reader(self, path: str) -> SFTPReader:
        """Ranged reads."""
        return SFTPReader(self._session, path)

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> SFTPWriter:
        """Open (or reopen) the remote partial file."""
        return SFTPWriter(self._session, path, size)

    def read_url(self, path: str) -> str | None:
        """SFTP has no URL the Go engine could read."""
        return None
