"""The error hierarchy every layer raises and the CLI turns into one line and an exit code.

Why a hierarchy: the user must know what to do next. A `ConfigError` means "change your setup",
a `RecordError` means "this record is wrong, fix it and resume", a `RetryableError` means
"the other side is unwell, try again later". Tracebacks are for `--debug` only.
"""

from __future__ import annotations

from dataclasses import dataclass


class EtlError(Exception):
    """Base of every error the tool raises on purpose; carries a fix hint and an exit code."""

    exit_code: int = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """Render as the single line the CLI prints."""
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message


class ConfigError(EtlError):
    """The user's setup is wrong: bad config, unreachable ledger, unknown run id, unwritable directory."""

    exit_code = 2


class LedgerError(EtlError):
    """The ledger cannot be opened, is not initialised, or refused an operation."""

    exit_code = 3


class IllegalTransition(LedgerError):
    """An item was asked to move between two states the checkpoint protocol does not connect."""


class ConnectionFailure(EtlError):
    """A remote system (Sonar, Splynx, a storage backend, a database) could not be reached or refused us."""

    exit_code = 4


class RetryableError(EtlError):
    """A transient failure (network, 429, 5xx): safe to retry, and retried before it surfaces."""

    exit_code = 4

    def __init__(self, message: str, fix: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, fix)
        self.retry_after = retry_after


class RunFailed(EtlError):
    """A run stopped because at least one record failed; the run is resumable."""

    exit_code = 1


class ReconcileDifference(EtlError):
    """`etl reconcile` found a customer whose Splynx balance is not its Sonar balance."""

    exit_code = 6


@dataclass(frozen=True)
class RecordProblem:
    """What is wrong with one record: the field, its value and how to fix it."""

    code: str
    message: str
    field: str | None = None
    value: str | None = None
    fix: str | None = None


class RecordError(EtlError):
    """A record that cannot be migrated as it is; the problem names the field, value and fix."""

    exit_code = 1

    def __init__(self, problem: RecordProblem) -> None:
        super().__init__(problem.message, problem.fix)
        self.problem = problem
