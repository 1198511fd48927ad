"""Google Cloud Storage: range downloads, and resumable uploads whose chunks are our chunks.

google-cloud-storage does the talking; STORAGE_EMULATOR_HOST points it at an emulator.

A resumable session accepts bytes in order only, so this writer is sequential; its session URI is
kept in the upload state, and on resume GCS itself says how many bytes it already holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage

from etl.errors import ConfigError, ConnectionFailure
from loaders.file_backends.base import FileEntry, ObjectStorePaths, UploadState, chunk_count

GCS_QUANTUM = 256 * 1024


@contextmanager
def gcs_errors(what: str) -> Iterator[None]:
    """One line per failure, naming the object."""
    try:
        yield
    except gexc.NotFound as exc:
        raise ConfigError(f"{what}: not found", fix="check the bucket and object name") from exc
    except (gexc.GoogleAPIError, GoogleAuthError, requests.RequestException) as exc:
        raise ConnectionFailure(
            f"{what}: {type(exc).__name__}", fix="check credentials / STORAGE_EMULATOR_HOST"
        ) from exc


def gcs_client() -> storage.Client:
    """Anonymous against an emulator, application default credentials otherwise."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return storage.Client(project=os.environ.get("GCLOUD_PROJECT", "etl"), credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    return storage.Client()


class GCSReader:
    """Ranged media downloads."""

    def __init__(self, blob: Any) -> None:
        self._blob = blob

    def read(self, offset: int, length: int) -> bytes:
        """Bytes offset..offset+length-1."""
        with gcs_errors(f"read gs://{self._blob.bucket.name}/{self._blob.name}"):
            return bytes(self._blob.download_as_bytes(start=offset, end=offset + length - 1, checksum=None))

    def close(self) -> None:
        """Nothing to release."""


class GCSWriter:
    """One resumable upload session, fed chunk by chunk in order."""

    parallel = False

    def __init__(self, blob: Any, size: int, chunk_size: int, state: UploadState) -> None:
        if chunk_count(size, chunk_size) > 1 and chunk_size % GCS_QUANTUM:
            raise ConfigError(
                f"chunk size {chunk_size} is not a multiple of 256 KiB, which GCS resumable uploads need",
                fix="use a --chunk-size like 256KiB, 1MiB or 8MiB",
            )
        self._blob, self._size, self._state = blob, size, state
        self._persisted: int | None = None
        self._name = f"gs://{blob.bucket.name}/{blob.name}"
        if size and "session" not in state.values:
            with gcs_errors(f"start upload to {self._name}"):
                state.values["session"] = blob.create_resumable_upload_session(size=size, timeout=60)
            state.save()

    def _held(self) -> int:
        """Bytes the session already holds, asked of GCS (`Content-Range: bytes */size`)."""
        if self._persisted is None:
            with gcs_errors(f"query upload of {self._name}"):
                resp = requests.put(
                    self._state.values["session"], headers={"Content-Range": f"bytes */{self._size}"}, timeout=60
                )
            if resp.status_code in (200, 201):
                self._persisted = self._size
            elif resp.status_code == 308 and "Range" in resp.headers:
                self._persisted = int(resp.headers["Range"].rsplit("-", 1)[1]) + 1
            else:
                self._persisted = 0
        return self._persisted

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """GCS holds the bytes of this chunk (sessions only ever hold a prefix)."""
        return offset + length <= self._held()

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """PUT the chunk at its byte range; 308 means "more please", 200/201 means complete."""
        end = offset + len(data) - 1
        with gcs_errors(f"upload chunk {seq} of {self._name}"):
            resp = requests.put(
                self._state.values["session"], data=data,
                headers={"Content-Range": f"bytes {offset}-{end}/{self._size}"}, timeout=300,
            )
        if resp.status_code not in (200, 201, 308):
            raise ConnectionFailure(f"upload chunk {seq} of {self._name}: HTTP {resp.status_code}")
        self._persisted = end + 1
        return None

    def commit(self) -> None:
        """The last chunk completed the object; an empty file is uploaded directly."""
        if not self._size:
            with gcs_errors(f"write {self._name}"):
                self._blob.upload_from_string(b"")
            return
        if self._held() != self._size:
            raise ConnectionFailure(f"upload of {self._name} incomplete: GCS holds {self._held()} of {self._size}")

    def close(self) -> None:
        """Keep the session: it is the resume point."""


class GCSBackend(ObjectStorePaths):
    """`gs://bucket/object`."""

    scheme: ClassVar[str] = "gs"

    def __init__(self, bucket: str) -> None:
        self._client = gcs_client()
        self.bucket = self._client.bucket(bucket)

    def list(self, path: str) -> list[FileEntry]:
        """One object, or every object under `path/`."""
        key = path.strip("/")
        with gcs_errors(f"list gs://{self.bucket.name}/{key}"):
            if key:
                blob = self.bucket.get_blob(key)
                if blob is not None:
                    return [FileEntry(key.rsplit("/", 1)[-1], key, int(blob.size or 0), str(blob.md5_hash))]
            prefix = f"{key}/" if key else ""
            entries = [
                FileEntry(b.name[len(prefix):], b.name, int(b.size or 0), str(b.md5_hash))
                for b in self._client.list_blobs(self.bucket, prefix=prefix)
            ]
        if not entries:
            raise ConfigError(f"source gs://{self.bucket.name}/{key} does not exist", fix="check the bucket and name")
        return sorted(entries, key=lambda e: e.rel)

    @property
    def container_name(self) -> str:
        """The bucket or container this backend addresses."""
        return str(self.bucket.name)

    def reader(self, path: str) -> GCSReader:
        """Ranged reads of one object."""
        return GCSReader(self.bucket.blob(path.lstrip("/")))

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> GCSWriter:
        """Start or resume a resumable upload."""
        return GCSWriter(self.bucket.blob(path.lstrip("/")), size, chunk_size, state)

    def read_url(self, path: str) -> str | None:
        """Signed URLs need a service-account key; the Python engine reads GCS instead."""
        return None
