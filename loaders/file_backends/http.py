"""HTTP(S) sources: one URL, read with range GETs (a presigned URL needs no credentials)."""

from __future__ import annotations

import posixpath
from typing import ClassVar, NoReturn
from urllib.parse import urlsplit

import requests

from etl.errors import ConfigError, ConnectionFailure
from loaders.file_backends.base import FileEntry, UploadState


def _get(url: str, first: int, last: int) -> requests.Response:
    try:
        resp = requests.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=60)
    except requests.RequestException as exc:
        raise ConnectionFailure(f"GET {url.split('?')[0]}: {type(exc).__name__}") from exc
    if resp.status_code not in (200, 206, 416):
        raise ConnectionFailure(f"GET {url.split('?')[0]}: HTTP {resp.status_code}")
    return resp


class HTTPReader:
    """Ranged GETs."""

    def __init__(self, url: str) -> None:
        self._url = url

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes at `offset`."""
        data = _get(self._url, offset, offset + length - 1).content
        if len(data) != length:
            raise ConnectionFailure(f"GET {self._url.split('?')[0]}: server ignored the Range header")
        return data

    def close(self) -> None:
        """Nothing to release."""


class HTTPBackend:
    """`http(s)://…` as a source."""

    scheme: ClassVar[str] = "https"

    def list(self, path: str) -> list[FileEntry]:
        """The one object behind the URL, sized from Content-Range."""
        resp = _get(path, 0, 0)
        size = 0 if resp.status_code == 416 else int(resp.headers.get("Content-Range", "/0").rsplit("/", 1)[1])
        name = posixpath.basename(urlsplit(path).path) or "index"
        return [FileEntry(name, path, size, resp.headers.get("ETag", str(size)))]

    def is_container(self, path: str) -> bool:
        """A URL is one object."""
        return False

    def join(self, path: str, rel: str) -> str:
        """Not a container."""
        return path

    def url(self, path: str) -> str:
        """Without the query string, where signatures live."""
        return path.split("?")[0]

    def reader(self, path: str) -> HTTPReader:
        """Ranged GETs."""
        return HTTPReader(path)

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> NoReturn:
        """Plain URLs are read-only here; upload through s3://, gs://, az:// or sftp://."""
        raise ConfigError("HTTP URLs can only be copied from", fix="use s3://, gs://, az:// or sftp:// destinations")

    def read_url(self, path: str) -> str | None:
        """The URL itself."""
        return path
