"""Amazon S3 and S3-compatible stores (boto3): range GETs, and multipart uploads whose parts are chunks.

Resume needs no local state: the unfinished multipart upload is found again by its key, and a
part counts as present only if its ETag equals the MD5 of the source bytes of that chunk.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from etl.errors import ConfigError, ConnectionFailure
from loaders.file_backends.base import FileEntry, ObjectStorePaths, UploadState, chunk_count

DEFAULT_MIN_PART = 5 * 1024 * 1024


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Turn boto errors into one line that names the object and hides credentials."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            raise ConfigError(f"{what}: not found ({code})", fix="check the bucket and key") from exc
        raise ConnectionFailure(f"{what}: S3 refused ({code})", fix="check credentials and endpoint") from exc
    except BotoCoreError as exc:
        raise ConnectionFailure(f"{what}: {type(exc).__name__}", fix="check AWS_ENDPOINT_URL / network") from exc


def s3_client() -> Any:
    """A client for the endpoint in ETL_S3_ENDPOINT or AWS_ENDPOINT_URL (AWS itself when unset)."""
    endpoint = os.environ.get("ETL_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
    return boto3.client("s3", endpoint_url=endpoint, config=config)


class S3Reader:
    """Range GETs of one object."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key

    def read(self, offset: int, length: int) -> bytes:
        """One ranged GET."""
        with s3_errors(f"read s3://{self._bucket}/{self._key}"):
            resp = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={offset}-{offset + length - 1}"
            )
            return bytes(resp["Body"].read())

    def close(self) -> None:
        """Nothing to release: the client is shared."""


class S3Writer:
    """One multipart upload; part number = chunk seq + 1."""

    parallel = True

    def __init__(self, client: Any, bucket: str, key: str, size: int, chunk_size: int) -> None:
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        min_part = int(os.environ.get("ETL_S3_MIN_PART_SIZE", DEFAULT_MIN_PART))
        if chunk_count(size, chunk_size) > 1 and chunk_size < min_part:
            raise ConfigError(
                f"chunk size {chunk_size} is below S3's minimum part size {min_part}",
                fix=f"use --chunk-size {max(min_part // (1024 * 1024), 5)}MiB or more for S3 destinations",
            )
        self._parts: dict[int, dict[str, Any]] | None = None
        self.upload_id = self._find_or_create() if size else ""

    def _find_or_create(self) -> str:
        with s3_errors(f"start upload to s3://{self._bucket}/{self._key}"):
            listing = self._client.list_multipart_uploads(Bucket=self._bucket, Prefix=self._key)
            mine = [u for u in listing.get("Uploads", []) if u["Key"] == self._key]
            if mine:
                return str(max(mine, key=lambda u: u["Initiated"])["UploadId"])
            resp = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            return str(resp["UploadId"])

    def _uploaded(self) -> dict[int, dict[str, Any]]:
        if self._parts is None:
            with s3_errors(f"list parts of s3://{self._bucket}/{self._key}"):
                pages = self._client.get_paginator("list_parts").paginate(
                    Bucket=self._bucket, Key=self._key, UploadId=self.upload_id
                )
                self._parts = {p["PartNumber"]: p for page in pages for p in page.get("Parts", [])}
        return self._parts

    def present(self, seq: int, offset: int, length: int, sha256: str, source: Callable[[], bytes]) -> bool:
        """The part exists with the right size and its ETag is the MD5 of the source chunk."""
        part = self._uploaded().get(seq + 1)
        if part is None or part["Size"] != length:
            return False
        return bool(part["ETag"].strip('"') == hashlib.md5(source()).hexdigest())

    def write(self, seq: int, offset: int, data: bytes) -> str | None:
        """Upload one part; S3 checks it against Content-MD5."""
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        with s3_errors(f"upload part {seq + 1} of s3://{self._bucket}/{self._key}"):
            resp = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self.upload_id, PartNumber=seq + 1,
                Body=data, ContentMD5=md5,
            )
        return str(resp["ETag"])

    def part_url(self, seq: int) -> str:
        """A presigned PUT URL for one part, so the Go engine can upload it without credentials."""
        return str(
            self._client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self._bucket, "Key": self._key, "UploadId": self.upload_id,
                        "PartNumber": seq + 1},
                ExpiresIn=6 * 3600,
            )
        )

    def commit(self) -> None:
        """Complete the upload from the parts S3 holds (an empty file is a plain PUT)."""
        with s3_errors(f"complete s3://{self._bucket}/{self._key}"):
            if not self._size:
                self._client.put_object(Bucket=self._bucket, Key=self._key, Body=b"")
                return
            self._parts = None
            parts = [{"PartNumber": n, "ETag": p["ETag"]} for n, p in sorted(self._uploaded().items())]
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
            )

    def close(self) -> None:
        """Leave the multipart upload open: its parts are the resume point."""


class S3Backend(ObjectStorePaths):
    """`s3://bucket/key`."""

    scheme: ClassVar[str] = "s3"

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self._client = s3_client()

    def list(self, path: str) -> list[FileEntry]:
        """The object `path`, or every object under the prefix `path/`."""
        key = path.strip("/")
        with s3_errors(f"list s3://{self.bucket}/{key}"):
            if key:
                try:
                    head = self._client.head_object(Bucket=self.bucket, Key=key)
                    name = key.rsplit("/", 1)[-1]
                    return [FileEntry(name, key, head["ContentLength"], head["ETag"].strip('"'))]
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                        raise
            prefix = f"{key}/" if key else ""
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            entries = [
                FileEntry(o["Key"][len(prefix):], o["Key"], o["Size"], o["ETag"].strip('"'))
                for page in pages for o in page.get("Contents", [])
            ]
        if not entries:
            raise ConfigError(f"source s3://{self.bucket}/{key} does not exist", fix="check the bucket and key")
        return sorted(entries, key=lambda e: e.rel)

    @property
    def container_name(self) -> str:
        """The bucket or container this backend addresses."""
        return str(self.bucket)

    def reader(self, path: str) -> S3Reader:
        """Range reads of one object."""
        return S3Reader(self._client, self.bucket, path.lstrip("/"))

    def writer(self, path: str, size: int, chunk_size: int, state: UploadState) -> S3Writer:
        """Start or resume the multipart upload of `path`."""
        return S3Writer(self._client, self.bucket, path.lstrip("/"), size, chunk_size)

    def read_url(self, path: str) -> str | None:
        """A presigned GET the Go engine can range-read."""
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": path.lstrip("/")}, ExpiresIn=6 * 3600
            )
        )
