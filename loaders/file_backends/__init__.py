"""Storage backends, one module each (local, s3, gs, az, sftp), behind the `FileBackend` protocol."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from etl.errors import ConfigError
from loaders.file_backends.base import FileBackend

SCHEMES = ("file", "http", "https", "s3", "gs", "az", "sftp")  # the order the error lists them in
ALIASES = {"gcs": "gs", "azure": "az"}


def locate(url: str) -> tuple[FileBackend, str]:
    """The backend for a URL (or plain path) and the path inside it.

    Backends are imported on demand so that a local copy never loads boto3 or the Azure SDK.
    """
    parts = urlsplit(url)
    scheme = parts.scheme if len(parts.scheme) > 1 else "file"  # "C:" is a drive, not a scheme
    scheme = ALIASES.get(scheme, scheme)
    if scheme not in SCHEMES:
        raise unsupported_scheme(scheme)
    path = unquote(parts.path)
    if scheme == "file":
        from loaders.file_backends.local import LocalBackend

        return LocalBackend(), (path if url.startswith("file://") else url)
    if scheme in ("http", "https"):
        from loaders.file_backends.http import HTTPBackend

        return HTTPBackend(), url
    if not parts.netloc:
        raise ConfigError(f"{scheme} URL {url!r} has no bucket/host", fix=f"write it as {scheme}://NAME/path")
    _refuse_password(scheme, parts.password, parts.hostname)
    try:
        parts.port  # noqa: B018  (parsing the port raises on a bad one)
    except ValueError:
        raise ConfigError(
            f"{scheme} URL for {parts.hostname} has a bad port", fix="use host:PORT with a number"
        ) from None
    if scheme == "s3":
        from loaders.file_backends.s3 import S3Backend

        return S3Backend(parts.netloc), path.lstrip("/")
    if scheme == "gs":
        from loaders.file_backends.gcs import GCSBackend

        return GCSBackend(parts.netloc), path.lstrip("/")
    if scheme == "az":
        from loaders.file_backends.azure import AzureBackend

        return AzureBackend(parts.netloc), path.lstrip("/")
    from loaders.file_backends.sftp import SFTPBackend

    return SFTPBackend(parts.netloc), path


def unsupported_scheme(scheme: str) -> ConfigError:
    """Name the scheme and what is supported; never the URL, which may carry a password."""
    supported = ", ".join(["a path", *(f"{s}://" for s in SCHEMES)])
    return ConfigError(
        f"unsupported scheme {scheme} (supported: {supported})",
        fix="copy from or to one of those; a share mounted locally is a path",
    )


def _refuse_password(scheme: str, password: str | None, host: str | None) -> None:
    """A password in a URL would end up in the ledger, logs and shell history: never accept one."""
    if password:
        variable = "ETL_SFTP_PASSWORD" if scheme == "sftp" else "the backend's credential variables"
        raise ConfigError(
            f"the {scheme} URL for {host} contains a password; URLs are recorded, so it would leak",
            fix=f"remove it from the URL and set {variable} (or use a key)",
        )
