"""Logging with loguru: a file per day under `.etl/logs/`, JSON lines on request, secrets scrubbed.

Why a scrubber as well as `Secret`: a third-party library may echo a header or a URL with a
password in it, and a traceback carries exception texts. Every sink is wrapped so that the fully
formatted line (message, traceback, JSON) is scrubbed of every known secret before it is written,
and tracebacks never show the values of local variables (loguru's `diagnose`), which is where a
revealed token or a database password would otherwise appear.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that no log line ever shows them."""
    _secrets.update(v for v in values if v and len(v) >= 4)


def scrub(text: str) -> str:
    """Replace every registered secret in a text with `***` (also in its JSON-escaped spelling)."""
    for value in _secrets:
        text = text.replace(value, "***")
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            text = text.replace(escaped, "***")
    return text


def _patch(record: Any) -> None:
    record["message"] = scrub(record["message"])


class ScrubbingSink:
    """A loguru sink that scrubs each formatted line, then writes it to stderr or to an open file."""

    def __init__(self, path: Path | None = None) -> None:
        self._file: TextIO | None = path.open("a", encoding="utf-8") if path is not None else None

    def write(self, text: str) -> None:
        """Write one formatted record, secrets replaced."""
        stream = self._file if self._file is not None else sys.stderr
        stream.write(scrub(text))
        stream.flush()

    def stop(self) -> None:
        """Close the log file when the sink is removed (each CLI invocation reconfigures logging)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _for_terminal(record: Any) -> bool:
    """Records bound with `file_only` (a failed command, which the CLI prints itself) skip stderr."""
    return not record["extra"].get("file_only", False)


def setup_logging(logs_dir: Path | None, *, json_lines: bool, debug: bool, quiet: bool) -> None:
    """Send logs to stderr (warnings, or everything with --debug) and to a file under the workspace."""
    logger.remove()
    logger.configure(patcher=_patch)
    if not quiet:
        logger.add(
            ScrubbingSink(),
            level="DEBUG" if debug else "WARNING",
            filter=_for_terminal,
            serialize=json_lines,
            format="<level>{level: <8}</level> {message}",
            colorize=False,
            diagnose=False,
        )
    if logs_dir is not None:
        try:
            logs_dir.mkdir(parents=True, exist_ok=True)
            sink = ScrubbingSink(logs_dir / f"etl-{datetime.now():%Y-%m-%d}.log")
        except OSError:
            return  # an unwritable workspace is reported by the command that needs it
        logger.add(sink, level="DEBUG", serialize=json_lines, diagnose=False)
