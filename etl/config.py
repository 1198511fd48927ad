"""Settings from `etl.toml`, overridden by the environment, overridden by flags.

Why secrets are special: tokens and API secrets come only from the environment or the system
keyring. A secret found in `etl.toml` is refused, because config files get committed and shared;
and a `Secret` never prints its value, so it cannot leak through a log line or an error.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from etl.errors import ConfigError

KEYRING_SERVICE = "sonar-splynx-etl"
SECRET_KEYS = {"token", "key", "secret", "password", "api_key", "api_secret"}
# Empty: a Sonar status maps by its `activates_account` (rules.customer_status); [status_map] only
# overrides, e.g. a status that activates the account but whose RADIUS group cuts access -> "blocked".
DEFAULT_STATUS_MAP: dict[str, str] = {}
# A delinquent account (unpaid past due + grace days) that Sonar still serves: Splynx blocks an unpaid
# customer at that point, so `blocked`; `[mapping] delinquent = "active"` keeps serving it.
DELINQUENT_STATUSES = ("blocked", "active")
DEFAULT_DELINQUENT_STATUS = "blocked"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML `true` is not a count


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


@dataclass(frozen=True)
class KeyType:
    """What one key of `etl.toml` accepts, said the way the error says it, with an example for the fix."""

    needs: str
    accepts: Callable[[Any], bool]
    example: str
    shows_value: bool = False  # a word from a fixed list, never a secret: the error may echo it


ID = KeyType("an integer id (0 or more)", lambda v: _is_int(v) and v >= 0, "1")
ANY_KEY = "*"  # a section whose keys are the user's own (status names): only their values are typed

# Every key `etl.toml` may hold, in one place: load_settings checks each value's type here before
# reading it, and warns about any key not listed (a typo would otherwise be silently ignored).
CONFIG_KEYS: dict[str, dict[str, KeyType]] = {
    "etl": {
        "home": KeyType("a string (a directory)", _is_text, '".etl"'),
        "ledger": KeyType("a string (a ledger URL)", _is_text, '"sqlite:///.etl/ledger.db"'),
        "workers": KeyType("an integer from 1 to 64", lambda v: _is_int(v) and 1 <= v <= 64, "4"),
        "rate": KeyType("a number greater than 0 (requests/s)", lambda v: _is_number(v) and v > 0, "20"),
    },
    "sonar": {
        "url": KeyType("a string (a URL)", _is_text, '"https://isp.sonar.software/api/graphql"'),
        "rate_per_minute": KeyType(
            "a number from 0 to 400 (requests/min; 0: no pacing)", lambda v: _is_number(v) and 0 <= v <= 400, "360"
        ),
    },
    "splynx": {
        "url": KeyType("a string (a URL)", _is_text, '"https://isp.splynx.app"'),
        "location_id": ID,
        "partner_id": ID,
        "transaction_category": ID,
        "settle_seconds": KeyType(
            "a number from 0 to 600 (seconds)", lambda v: _is_number(v) and 0 <= v <= 600, "30"
        ),
    },
    "mapping": {
        "delinquent": KeyType(
            '"blocked" or "active"', lambda v: v in DELINQUENT_STATUSES, '"blocked"', shows_value=True
        ),
    },
    "history": {
        "mode": KeyType('"balance" or "full"', lambda v: v in ("balance", "full"), '"balance"', shows_value=True),
        "since": KeyType(
            "a date (YYYY-MM-DD)", lambda v: isinstance(v, date) and not isinstance(v, datetime), "2024-01-01"
        ),
    },
    "payment_methods": {ANY_KEY: KeyType("a string (a Splynx payment method name)", _is_text, '"Bank transfer"')},
    "tickets": {"type": KeyType("a string (a Splynx ticket type's title)", _is_text, '"Question"')},
    "ticket_statuses": {ANY_KEY: KeyType("a string (a Splynx ticket status's title)", _is_text, '"New"')},
    "ticket_groups": {ANY_KEY: KeyType("a string (a Splynx ticket group's title)", _is_text, '"Support"')},
    "status_map": {ANY_KEY: KeyType("a string (a Splynx customer status)", _is_text, '"blocked"')},
    "role_map": {ANY_KEY: KeyType("a string (a Splynx role name)", _is_text, '"manager"')},
}


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
    role_map: dict[str, str] = field(default_factory=dict)  # lower-cased Sonar role -> Splynx role, from [role_map]
    payment_methods: dict[str, str] = field(default_factory=dict)  # Sonar payment type -> Splynx method name
    ticket_type: str | None = None  # [tickets] type: the Splynx ticket type of migrated tickets (None: default)
    ticket_statuses: dict[str, str] = field(default_factory=dict)  # Sonar TicketStatus -> Splynx status title
    ticket_groups: dict[str, str] = field(default_factory=dict)  # lower-cased Sonar group -> Splynx group title
    history_mode: str | None = None  # [history] mode; None: the default (balance)
    history_since: str | None = None  # [history] since, ISO
    rate: float | None = None
    sonar_rate_per_minute: float | None = None  # None: the extractor's default (360, under Sonar's 400)
    splynx_settle_s: float = 30.0  # how long Splynx may still apply a write whose sender died (SplynxClient)
    workers: int = 4
    log_json: bool = False
    debug: bool = False
    quiet: bool = False
    config_file: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

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


def _describe(value: Any, shows_value: bool = False) -> str:
    """A wrong value as the error names it: numbers as written, anything else by its TOML type only.

    Why not echo strings: a value in the wrong place may be a secret or a URL with a password in it
    (except for keys whose values are words from a fixed list).
    """
    if _is_number(value):
        return str(value)
    if shows_value and isinstance(value, str):
        return repr(value[:40])
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"), (str, "a string"), (list, "an array"), (dict, "a table"),
        ((datetime, date, time), "a date/time"),
    ]  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _check_types(data: dict[str, Any], path: Path) -> None:
    """Refuse, in one line, the first known section that is not a table or key of the wrong type."""
    for section, keys in CONFIG_KEYS.items():
        if section not in data:
            continue
        table = data[section]
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: [{section}] must be a table, not {_describe(table)}",
                fix=f"write it as a [{section}] header followed by its keys",
            )
        for key, value in table.items():
            kind = keys.get(key) or keys.get(ANY_KEY)
            if kind is not None and not kind.accepts(value):
                name = key if key.isidentifier() else f'"{key}"'
                raise ConfigError(
                    f"{path}: [{section}] {key} must be {kind.needs}, not {_describe(value, kind.shows_value)}",
                    fix=f"write it like {name} = {kind.example}",
                )


def _unknown_keys(data: dict[str, Any]) -> list[str]:
    """Every key or section `CONFIG_KEYS` does not know, as "[section] key", with the closest known one."""
    known = {f"[{s}]": f"[{s}]" for s in CONFIG_KEYS} | {
        f"{s}.{k}": f"[{s}] {k}" for s, keys in CONFIG_KEYS.items() for k in keys if k != ANY_KEY
    }
    found = []
    for section, table in data.items():
        if section not in CONFIG_KEYS:
            label = f"[{section}]" if isinstance(table, dict) else section
            found.append(_with_guess(label, label, known))
        elif ANY_KEY not in CONFIG_KEYS[section]:
            siblings = {k: k for k in CONFIG_KEYS[section]}
            found += [_with_guess(f"[{section}] {key}", key, siblings) for key in table if key not in siblings]
    return found


def _with_guess(label: str, name: str, known: dict[str, str]) -> str:
    """`label`, followed by "(did you mean X?)" when a known name is close to `name`."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"{label} (did you mean {known[close[0]]}?)" if close else label


def _unknown_warning(data: dict[str, Any], path: Path) -> tuple[str, ...]:
    """One warning naming every unknown key, or none: a typo must not pass silently, nor stop the run."""
    unknown = _unknown_keys(data)
    if not unknown:
        return ()
    what = "unknown key" if len(unknown) == 1 else "unknown keys"
    return (f"{path}: {what} {', '.join(unknown)} ignored",)


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


def _env_number(name: str, high: float, fix: str) -> float | None:
    """A number from 0 to `high` in environment variable `name`; None when unset; ConfigError naming it otherwise."""
    text = os.environ.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= high:
        raise ConfigError(f"{name}={text!r} is not a number from 0 to {high:g}", fix=fix)
    return value


def _sonar_rate(sonar: dict[str, Any]) -> float | None:
    """Requests a minute the extractor paces itself to: ETL_SONAR_RATE_PER_MINUTE, else [sonar] rate_per_minute."""
    fix = "set it to e.g. 360 (Sonar allows 400 requests a minute), or 0 for no pacing"
    value = _env_number("ETL_SONAR_RATE_PER_MINUTE", 400, fix)
    if value is None:
        return float(sonar["rate_per_minute"]) if "rate_per_minute" in sonar else None
    return value


def _settle_seconds(splynx: dict[str, Any]) -> float:
    """ETL_SPLYNX_SETTLE_SECONDS, else [splynx] settle_seconds, else 30 (a web server's request time limit)."""
    fix = "set it to the longest time your Splynx takes to answer a write, e.g. 30"
    value = _env_number("ETL_SPLYNX_SETTLE_SECONDS", 600, fix)
    return float(splynx.get("settle_seconds", 30)) if value is None else value


def load_settings(config_file: Path | None = None, home: Path | None = None) -> Settings:
    """Read `etl.toml` (or the given file), then the environment; flags are applied by the caller."""
    path = config_file or Path(os.environ.get("ETL_CONFIG", "etl.toml"))
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist", fix="pass an existing file to --config")
    data = _read_toml(path) if path.exists() else {}
    _check_types(data, path)
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
        role_map={k.strip().lower(): v.strip() for k, v in data.get("role_map", {}).items()},
        payment_methods={k.strip().upper(): v.strip() for k, v in data.get("payment_methods", {}).items()},
        ticket_type=data.get("tickets", {}).get("type"),
        ticket_statuses={k.strip().upper(): v.strip() for k, v in data.get("ticket_statuses", {}).items()},
        ticket_groups={k.strip().lower(): v.strip() for k, v in data.get("ticket_groups", {}).items()},
        history_mode=data.get("history", {}).get("mode"),
        history_since=_iso(data.get("history", {}).get("since")),
        rate=float(etl_section["rate"]) if "rate" in etl_section else None,
        sonar_rate_per_minute=_sonar_rate(sonar),
        splynx_settle_s=_settle_seconds(splynx),
        workers=etl_section.get("workers", 4),
        config_file=path if path.exists() else None,
        raw=data,
        warnings=_unknown_warning(data, path),
    )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def default_ledger_url(home: Path) -> str:
    """SQLite next to the staging area: `sqlite:///<home>/ledger.db`."""
    return f"sqlite:///{(home / 'ledger.db').resolve()}"
