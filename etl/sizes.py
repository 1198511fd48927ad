"""Byte sizes in rclone's human units ("8MiB", "64M", "1G"), parsed the way the Go binary does."""

from __future__ import annotations

import re

from etl.errors import ConfigError

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from "8MiB", "64M", "1G", "512k" or a plain number (binary multiples, like rclone)."""
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(f"size {text!r} is not a number with an optional unit", fix="write it like 8MiB or 64M")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value < 1:
        raise ConfigError(f"size {text!r} must be positive", fix="write it like 8MiB or 64M")
    return int(value)
