"""Settings from `etl.toml`, overridden by the environment, overridden by flags.

Why secrets are special: tokens and API secrets come only from the environment or the system
keyring. A secret found in `etl.toml` is refused, because config files get committed and shared;
and a `Secret` never prints its value, so it cannot leak through a log line or an error.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from etl.errors import ConfigError

KEYRING_SERVICE = "sonar-splynx-etl"
SECRET_KEYS = {"token", "key", "secret", "password", "api_key", "api_secret"}
DEFAULT_STATUS_MAP = {"active": "active", "inactive": "disabled", "suspended": "blocked", "terminated": "disabled"}


class Secret(str):
    """A string that shows as `***` in repr, f-strings of repr and logs; `.reveal()` gives the value."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def reveal(self) -> str:
        """Return the real value, for the one place that sends it over the wire."""
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where things are; built by `load_settings`."""

    home: Path = Path(".etl")
    ledger_url: str = ""
    sonar_url: str | None = None
    sonar_token: Secret | None = None
    splynx_url: str | None = None
    splynx_key: Secret | None = None
    splynx_secret: Secret | None = None
    status_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_MAP))
    rate: float | None = None
    workers: int = 4
    log_json: bool = False
    debug: bool = False
    quiet: bool = False
    config_file: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def staging_dir(self) -> Path:
        """Where extracted pages are written as Parquet."""
        return self.home / "staging"

    @property
    def logs_dir(self) -> Path:
        """Where log files go."""
        return self.home / "logs"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with flags applied (None means "flag not given")."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", fix="correct the syntax of the file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", fix="check the path and its permissions") from exc


def _refuse_secrets(data: dict[str, Any], path: Path) -> None:
    for section in ("sonar", "splynx"):
        found = SECRET_KEYS & set(data.get(section, {}))
        if found:
            name = sorted(found)[0]
            raise ConfigError(
                f"{path} holds a secret ([{section}] {name}); secrets are never read from files",
                fix=f"remove it and set ETL_{section.upper()}_{name.upper()} in the environment or keyring",
            )


def _secret(env_name: str) -> Secret | None:
    value = os.environ.get(env_name)
    if value:
        return Secret(value)
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, env_name)
    except Exception:  # no keyring backend on this machine: the environment is the only source
        stored = None
    return Secret(stored) if stored else None


def _status_map(data: dict[str, Any]) -> dict[str, str]:
    allowed = {"new", "active", "blocked", "disabled"}
    mapping = {**DEFAULT_STATUS_MAP, **{k.lower(): v for k, v in data.get("status_map", {}).items()}}
    bad = {k: v for k, v in mapping.items() if v not in allowed}
    if bad:
        name, value = next(iter(bad.items()))
        raise ConfigError(
            f"status_map maps {name!r} to {value!r}, which is not a Splynx customer status",
            fix=f"use one of {', '.join(sorted(allowed))}",
        )
    return mapping


def load_settings(config_file: Path | None = None, home: Path | None = None) -> Settings:
    """Read `etl.toml` (or the given file), then the environment; flags are applied by the caller."""
    path = config_file or Path(os.environ.get("ETL_CONFIG", "etl.toml"))
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist", fix="pass an existing file to --config")
    data = _read_toml(path) if path.exists() else {}
    _refuse_secrets(data, path)
    etl_section = data.get("etl", {})
    sonar, splynx = data.get("sonar", {}), data.get("splynx", {})
    home_dir = Path(home or os.environ.get("ETL_HOME") or etl_section.get("home") or ".etl")
    ledger = os.environ.get("ETL_LEDGER_URL") or etl_section.get("ledger") or default_ledger_url(home_dir)
    return Settings(
        home=home_dir,
        ledger_url=ledger,
        sonar_url=os.environ.get("ETL_SONAR_URL") or sonar.get("url"),
        sonar_token=_secret("ETL_SONAR_TOKEN"),
        splynx_url=os.environ.get("ETL_SPLYNX_URL") or splynx.get("url"),
        splynx_key=_secret("ETL_SPLYNX_KEY"),
        splynx_secret=_secret("ETL_SPLYNX_SECRET"),
        status_map=_status_map(data),
        rate=etl_section.get("rate"),
        workers=int(etl_section.get("workers", 4)),
        config_file=path if path.exists() else None,
        raw=data,
    )


def default_ledger_url(home: Path) -> str:
    """SQLite next to the staging area: `sqlite:///<home>/ledger.db`."""
    return f"sqlite:///{(home / 'ledger.db').resolve()}"
