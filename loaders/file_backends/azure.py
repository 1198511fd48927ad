"""Azure Blob Storage (azure-storage-blob): ranged downloads, and block blobs whose blocks are chunks.

Each block id carries the chunk's number and the start of its sha256, so on resume a block that
Azure lists as uncommitted proves that exactly those bytes were staged; commit_block_list finishes.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobServiceClient

from etl.errors import ConfigError, ConnectionFailure
from loaders.file_backends.base import FileEntry, ObjectStorePaths, UploadState, sha256_hex


@contextmanager
def azure_errors(what: str) -> Iterator[None]:
    """One line per failure; Azure's messages can be long and multi-line, so only the code is kept."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise ConfigError(f"{what}: not found", fix="check the container and blob name") from exc
    except ClientAuthenticationError as exc:
        raise ConnectionFailure(
            f"{what}: authentication refused", fix="check AZURE_STORAGE_CONNECTION_STRING"
        ) from exc
    except HttpResponseError as exc:
        code = getattr(exc, "error_code", None) or exc.status_code
        if exc.status_code == 403:
            raise ConnectionFailure(f"{what}: authentication refused ({code})",
                                    fix="check AZURE_STORAGE_CONNECTION_STRING") from exc
        raise ConnectionFailure(f"{what}: Azure refused ({code})") from exc
    except AzureError as exc:
        raise ConnectionFailure(f"{what}: {type(exc).__name__}", fix="check the endpoint and network") from exc


def block_id(seq: int, sha256: str) -> str:
    """Same length for every block of a blob, as Azure requires."""
    return base64.b64encode(f"{seq:08d}-{sha256[:32]}".encode()).decode()


def service_client() -> BlobServiceClient:
    """From AZURE_STORAGE_CONNECTION_STRING, the only place the account key may come from."""
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if not conn:
        raise ConfigError(
            "AZURE_STORAGE_CONNECTION_STRING is not set", fix="export the storage account's connection string"
        )
    try:
        return BlobServiceClient.from_connection_string(conn, connection_timeout=10, read_timeout=60)
    except ValueError as exc:
        raise ConfigError("AZURE_STORAGE_CONNECTION_STRING is malformed", fix="copy it again from the portal") from exc


class AzureReader:
    """Ranged downloads of one blob."""

    def __init__(self, blob: Any) -> None:
        self._blob = blob

    def read(self, offset: int, length: int) -> bytes:
        """One ranged GET."""
        with azure_errors(f"read az://{self._blob.container_name}/{self._blob.blob_name}"):
            return bytes(self._blob.download_blob(offset=offset, length=length).readall())

    def close(self) -> None:
        """Nothing to release."""


class AzureWriter:
    """Stage blocks in parallel, commit the list in order."""

    parallel = True

    def __init__(self, blob: Any, size: int) -> None:
        self._blob, self._size = blob, size
        self._name = f"az://{blob.container_name}/{blob.blob_name}"
        self._ids: dict[int, str] = {}
        self._staged: set[str] | None = None

    def _uncommitted(self) -> set[str]:
        if self._staged is None:
            try:
                with azure_errors(f"list blocks of {self._name}"):
                    _committed, uncommitted = self._blob.get_block_list("uncommitted")
                self._staged = {b.id for b in uncommitted}
            except ConfigError:
                self._staged = set()  # no blob yet: nothing staged
        return self._staged

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """A staged block whose id names this chunk and its digest."""
        ident = block_id(seq, sha256)
        if ident in self._uncommitted():
            self._ids[seq] = ident
            return True
        return False

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """stage_block with a transactional MD5, so Azure rejects a corrupted transfer."""
        ident = block_id(seq, sha256_hex(data))
        with azure_errors(f"stage block {seq} of {self._name}"):
            self._blob.stage_block(ident, data, length=len(data), validate_content=True)
        self._ids[seq] = ident
        return ident

    def commit(self) -> None:
        """commit_block_list in chunk order."""
        with azure_errors(f"commit {self._name}"):
            if not self._size:
                self._blob.upload_blob(b"", overwrite=True)
                return
            self._blob.commit_block_list([BlobBlock(block_id=self._ids[s]) for s in sorted(self._ids)])

    def close(self) -> None:
        """Uncommitted blocks stay a week on Azure: the resume point."""


class AzureBackend(ObjectStorePaths):
    """`az://container/blob`."""

    scheme: ClassVar[str] = "az"

    def __init__(self, container: str) -> None:
        self._service = service_client()
        self.container = self._service.get_container_client(container)
        self.name = container

    def list(self, path: str) -> list[FileEntry]:
        """One blob, or every blob under `path/`."""
        key = path.strip("/")
        with azure_errors(f"list az://{self.name}/{key}"):
            if key:
                blob = self.container.get_blob_client(key)
                if blob.exists():
                    props = blob.get_blob_properties()
                    return [FileEntry(key.rsplit("/", 1)[-1], key, int(props.size), str(props.etag))]
            prefix = f"{key}/" if key else ""
            entries = [
                FileEntry(b.name[len(prefix):], b.name, int(b.size), str(b.etag))
                for b in self.container.list_blobs(name_starts_with=prefix or None)
            ]
        if not entries:
            raise ConfigError(f"source az://{self.name}/{key} does not exist", fix="check the container and name")
        return sorted(entries, key=lambda e: e.rel)

    @property
    def container_name(self) -> str:
        """The bucket or container this backend addresses."""
        return str(self.name)

    def reader(self, path: str) -> AzureReader:
        """Ranged reads."""
        return AzureReader(self.container.get_blob_client(path.lstrip("/")))

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> AzureWriter:
        """Block blob upload; creates the container on first use."""
        with azure_errors(f"open container {self.name}"):
            if not self.container.exists():
                self.container.create_container()
        return AzureWriter(self.container.get_blob_client(path.lstrip("/")), size)

    def read_url(self, path: str) -> str | None:
        """The Python engine reads Azure directly."""
        return None
