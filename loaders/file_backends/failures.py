"""Why a copy stopped, in the words and exit codes both engines share.

Why one table: the Go binary and the Python engine meet the same OS failures at a destination
(ENOSPC, EROFS, EACCES/EPERM). Both name them with the same cause (`no_space`, `read_only`,
`permission_denied`) and exit code, and put them in their `error` line with the destination; so
`etl copy` prints the same one-line error whichever engine ran. The codes are those of `etl`
itself (docs/files.md lists them): 1 a file failed, 2 usage or setup (an unwritable destination
included), 4 a remote end unreachable, 130 interrupted.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from etl.errors import ConfigError, ConnectionFailure, EtlError


@dataclass(frozen=True)
class Cause:
    """A destination failure as the one-line error says it, with the fix."""

    what: str
    fix: str


CAUSES: dict[str, Cause] = {
    "no_space": Cause(
        "no space left on device",
        "free space there or choose another destination, then rerun the same command: the copy resumes",
    ),
    "read_only": Cause("read-only file system", "remount it read-write or choose another destination"),
    "permission_denied": Cause(
        "permission denied", "give this user write access there or choose another destination"
    ),
}
ERRNO_CAUSES: dict[int, str] = {
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.EROFS: "read_only",
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
}


class DestinationError(ConfigError):
    """A destination the copy cannot write (full, read-only, forbidden): exit 2, like any setup problem."""

    def __init__(self, path: str, cause: str) -> None:
        known = CAUSES[cause]
        super().__init__(f"cannot write destination {path}: {known.what}", fix=known.fix)
        self.path = path
        self.cause = cause


def destination_error(path: str, exc: OSError) -> ConfigError:
    """The one-line error for an OS failure while writing `path` (the destination the user named)."""
    cause = ERRNO_CAUSES.get(exc.errno or 0)
    if cause is not None:
        return DestinationError(path, cause)
    return ConfigError(f"cannot write destination {path}: {exc.strerror or exc}", fix="choose a writable destination")


def is_out_of_space(exc: OSError) -> bool:
    """ENOSPC or EDQUOT: the one preallocation failure that must stop the copy (others mean "unsupported")."""
    return ERRNO_CAUSES.get(exc.errno or 0) == "no_space"


def error_event(exc: BaseException) -> dict[str, Any]:
    """The engine protocol's `error` line for a failure; its `code` is also the process exit status."""
    code = exc.exit_code if isinstance(exc, EtlError) else 130 if isinstance(exc, KeyboardInterrupt) else 1
    message = exc.one_line() if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
    event: dict[str, Any] = {"event": "error", "message": message, "code": code}
    if isinstance(exc, DestinationError):
        event.update(cause=exc.cause, dst=exc.path)
    return event


def error_from_event(event: dict[str, Any], returncode: int) -> EtlError:
    """The error an engine's `error` line stands for: the same one line whichever engine wrote it."""
    cause, dst = event.get("cause"), event.get("dst")
    if isinstance(cause, str) and cause in CAUSES and isinstance(dst, str):
        return DestinationError(dst, cause)
    code = event.get("code", returncode)
    kind = {2: ConfigError, 4: ConnectionFailure}.get(code, EtlError)
    return kind(f"etl-copy failed: {event.get('message') or f'exit {returncode}'}")
