"""Clean failures from the operator's side: one line, the right exit code, nothing written.

Each case feeds the bad input the way an operator would (a wrong `etl.toml`, a bad flag, `--debug`)
through the CLI, then checks the single line on stderr, the exit code, and that no ledger was
created behind the error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import load_settings
from etl.errors import ConfigError, LedgerError
from tests.fixtures.cli import Etl, Outcome, assert_one_line_error

USAGE = 2  # Typer's usage errors share the configuration exit code

# --- wrong types in etl.toml --------------------------------------------------------------------

WRONG_TYPES = {
    "workers-string": ('[etl]\nworkers = "many"\n', ("[etl] workers", "integer", "a string")),
    "workers-boolean": ("[etl]\nworkers = true\n", ("[etl] workers", "integer", "a boolean")),
    "workers-zero": ("[etl]\nworkers = 0\n", ("[etl] workers", "1 to 64", "0")),
    "rate-string": ('[etl]\nrate = "fast"\n', ("[etl] rate", "number", "a string")),
    "rate-negative": ("[etl]\nrate = -1.5\n", ("[etl] rate", "greater than 0", "-1.5")),
    "home-table": ("[etl]\nhome = { path = 'x' }\n", ("[etl] home", "string", "a table")),
    "location-array": ("[splynx]\nlocation_id = [1]\n", ("[splynx] location_id", "integer", "an array")),
    "partner-float": ("[splynx]\npartner_id = 1.5\n", ("[splynx] partner_id", "integer", "1.5")),
    "sonar-url-number": ("[sonar]\nurl = 5\n", ("[sonar] url", "string", "5")),
    "status-value-number": ("[status_map]\nactive = 1\n", ("[status_map] active", "string", "1")),
    "delinquent-unknown": (
        '[mapping]\ndelinquent = "maybe"\n', ("[mapping] delinquent", '"blocked" or "active"', "'maybe'")
    ),
    "section-not-a-table": ("etl = 3\n", ("[etl]", "table", "3")),
    "section-array": ('splynx = ["x"]\n', ("[splynx]", "table", "an array")),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_wrong_type_in_the_config_file_is_one_line_naming_key_type_and_file(
    cli: Etl, workdir: Path, case: str
) -> None:
    text, needles = WRONG_TYPES[case]
    (workdir / "etl.toml").write_text(text)
    line = assert_one_line_error(cli("init"), ConfigError.exit_code, "etl.toml", *needles)
    assert "fix:" in line
    assert not (workdir / ".etl" / "ledger.db").exists()  # init stopped before creating anything


def test_a_wrong_type_in_a_real_process_is_one_line_not_a_traceback(any_cli: Etl, workdir: Path) -> None:
    (workdir / "custom.toml").write_text('[etl]\nworkers = "many"\n')
    outcome = any_cli("--config", "custom.toml", "init")
    assert_one_line_error(outcome, ConfigError.exit_code, "custom.toml", "[etl] workers", "integer")
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_well_typed_values_are_read_as_given(workdir: Path) -> None:
    (workdir / "etl.toml").write_text("[etl]\nworkers = 8\nrate = 20\n[splynx]\nlocation_id = 3\n")
    settings = load_settings()
    assert (settings.workers, settings.rate, settings.warnings) == (8, 20.0, ())
    assert isinstance(settings.rate, float)


# --- unknown keys in etl.toml -------------------------------------------------------------------


def _warnings(outcome: Outcome) -> list[str]:
    return [line for line in outcome.stderr.splitlines() if "warning" in line.lower()]


def test_a_misspelt_key_warns_once_with_the_closest_known_key(any_cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text("[etl]\nwokers = 8\n")
    outcome = any_cli("init")
    assert outcome.exit_code == 0, outcome.text  # a warning, not an error
    (line,) = _warnings(outcome)
    assert "etl.toml" in line and "[etl] wokers" in line and "did you mean workers" in line
    assert outcome.stderr.count("wokers") == 1
    assert (workdir / ".etl" / "ledger.db").exists()
    assert load_settings().workers == 4  # the misspelt key was not taken for workers


def test_unknown_sections_and_top_level_keys_are_named_in_one_warning(cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text('rate = 3\n[splinx]\nurl = "http://x"\n[etl]\nledgr = "sqlite://"\n')
    outcome = cli("init")
    assert outcome.exit_code == 0, outcome.text
    (line,) = _warnings(outcome)
    assert "rate (did you mean [etl] rate?)" in line
    assert "[splinx] (did you mean [splynx]?)" in line
    assert "[etl] ledgr (did you mean ledger?)" in line


def test_a_key_with_no_close_match_is_named_without_a_guess(workdir: Path) -> None:
    (workdir / "etl.toml").write_text("[etl]\nxyzzy = 1\n")
    (warning,) = load_settings().warnings
    assert "[etl] xyzzy" in warning and "did you mean" not in warning


def test_a_known_config_file_gives_no_warning(cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text('[etl]\nworkers = 2\n[status_map]\n"past due" = "blocked"\n')
    outcome = cli("init")
    assert outcome.exit_code == 0, outcome.text
    assert _warnings(outcome) == []


# --- numeric flags out of range -----------------------------------------------------------------

DB = ("sqlite:///src.db", "sqlite:///dst.db")
BAD_FLAGS = {
    "run-workers-0": (("run", "--all", "--workers", "0"), "--workers"),
    "run-workers--3": (("run", "--all", "--workers", "-3"), "--workers"),
    "run-workers-65": (("run", "--all", "--workers", "65"), "--workers"),
    "run-rate--1": (("run", "--all", "--rate", "-1"), "--rate"),
    "run-rate-0": (("run", "--all", "--rate", "0"), "--rate"),
    "run-limit-0": (("run", "--limit", "0"), "--limit"),
    "resume-workers-0": (("resume", "--workers", "0"), "--workers"),
    "resume-rate-0": (("resume", "--rate", "0"), "--rate"),
    "plan-limit--1": (("plan", "--limit", "-1"), "--limit"),
    "extract-limit-0": (("extract", "--limit", "0"), "--limit"),
    "copy-streams-0": (("copy", "a", "b", "--streams", "0"), "--streams"),
    "copy-streams--2": (("copy", "a", "b", "--streams", "-2"), "--streams"),
    "copy-chunk-size-0": (("copy", "a", "b", "--chunk-size", "0"), "--chunk-size"),
    "copy-chunk-size-junk": (("copy", "a", "b", "--chunk-size", "lots"), "--chunk-size"),
    "db-copy-batch-size-0": (("db", "copy", *DB, "--batch-size", "0"), "--batch-size"),
    "db-copy-workers-0": (("db", "copy", *DB, "--workers", "0"), "--workers"),
    "db-verify-batch-size--1": (("db", "verify", *DB, "--batch-size", "-1"), "--batch-size"),
    "demo-customers-0": (("demo", "--customers", "0"), "--customers"),
    "sandbox-customers-0": (("sandbox", "up", "--customers", "0"), "--customers"),
    "sandbox-rate-0": (("sandbox", "up", "--rate", "0"), "--rate"),
    "sandbox-port--1": (("sandbox", "up", "--sonar-port", "-1"), "--sonar-port"),
    "sandbox-port-70000": (("sandbox", "up", "--splynx-port", "70000"), "--splynx-port"),
    "runs-limit-0": (("runs", "--limit", "0"), "--limit"),
}


@pytest.mark.parametrize("case", sorted(BAD_FLAGS))
def test_an_out_of_range_flag_is_a_one_line_usage_error(cli: Etl, workdir: Path, case: str) -> None:
    args, option = BAD_FLAGS[case]
    line = assert_one_line_error(cli(*args), USAGE, option)
    assert "--help" in line  # the fix points at the command's help
    assert not (workdir / ".etl" / "ledger.db").exists()
    assert not (workdir / "dst.db").exists()


def test_a_usage_error_in_a_real_process_is_one_line(any_cli: Etl, workdir: Path) -> None:
    assert_one_line_error(any_cli("run", "--all", "--workers", "0"), USAGE, "--workers", "greater than or equal to 1")
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_usage_errors_of_the_root_command_are_one_line_too(cli: Etl) -> None:
    assert_one_line_error(cli("--no-such-flag", "status"), USAGE, "--no-such-flag")
    assert_one_line_error(cli("no-such-command"), USAGE, "no-such-command")


def test_no_arguments_still_shows_the_help(cli: Etl) -> None:
    outcome = cli()
    assert "Usage" in outcome.text and "copy" in outcome.text


# --- --debug keeps the line and the code --------------------------------------------------------


def assert_debug_error(outcome: Outcome, exit_code: int, *needles: str) -> None:
    """`--debug`: the traceback once, then the one-line error, then the same exit code as without."""
    assert outcome.exit_code == exit_code, outcome.text
    assert outcome.stderr.count("Traceback (most recent call last)") == 1, outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    errors = [n for n, line in enumerate(lines) if line.startswith("error:")]
    assert errors == [len(lines) - 1], outcome.stderr  # one error line, and it is the last
    assert lines.index("Traceback (most recent call last):") < errors[0]
    for needle in needles:
        assert needle in lines[-1]


def test_debug_shows_the_traceback_of_a_config_error_and_keeps_exit_2(any_cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text('[etl]\nrate = "fast"\n')
    assert_debug_error(any_cli("--debug", "init"), ConfigError.exit_code, "[etl] rate", "etl.toml")
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_debug_shows_the_traceback_of_a_ledger_error_and_keeps_exit_3(any_cli: Etl, workdir: Path) -> None:
    assert_debug_error(any_cli("--debug", "status"), LedgerError.exit_code, "etl init")
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_debug_shows_the_traceback_of_an_unknown_run_and_keeps_exit_2(cli: Etl, workdir: Path) -> None:
    assert cli("init").exit_code == 0
    assert_debug_error(cli("--debug", "status", "999"), ConfigError.exit_code, "run 999")
