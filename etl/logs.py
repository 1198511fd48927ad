"""Logging with loguru: a file per day under `.etl/logs/`, JSON lines on request, secrets scrubbed.

Why a scrubber as well as `Secret`: a third-party library may echo a header or a URL with a
password in it; the patcher replaces every known secret value before any sink sees the record.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from loguru import logger

_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that no log line ever shows them."""
    _secrets.update(v for v in values if v and len(v) >= 4)


def scrub(text: str) -> str:
    """Replace every registered secret in a text with `***`."""
    for value in _secrets:
        text = text.replace(value, "***")
    return text


def _patch(record: Any) -> None:
    record["message"] = scrub(record["message"])


def setup_logging(logs_dir: Path | None, *, json_lines: bool, debug: bool, quiet: bool) -> None:
    """Send logs to stderr (warnings, or everything with --debug) and to a file under the workspace."""
    logger.remove()
    logger.configure(patcher=_patch)
    if not quiet:
        logger.add(sys.stderr, level="DEBUG" if debug else "WARNING", serialize=json_lines,
                   format="<level>{level: <8}</level> {message}")
    if logs_dir is not None:
        try:
            logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # an unwritable workspace is reported by the command that needs it
        logger.add(logs_dir / "etl-{time:YYYY-MM-DD}.log", level="DEBUG", serialize=json_lines,
                   enqueue=False, encoding="utf-8")
