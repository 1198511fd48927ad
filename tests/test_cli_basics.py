"""The `etl` command's foundations: version, init, status/runs, and one-line errors with exit codes.

Each behaviour is checked through Typer's runner and, where the brief of the CLI is "what a user
sees in a shell", through a real `python -m etl` process too. Results are checked on the ledger
with the library, not only on printed text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from loguru import logger
from typer.testing import CliRunner

import etl
from etl.cli import EtlGroup, report_error
from etl.errors import (
    ConfigError,
    ConnectionFailure,
    LedgerError,
    RecordError,
    RecordProblem,
    RetryableError,
    RunFailed,
)
from etl.logs import register_secrets, setup_logging
from state import migrate
from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.cli import Etl, assert_one_line_error
from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-7f3c-DO-NOT-LEAK-91ab"
SPLYNX_SECRET = "sec-4242-NEVER-PRINT-me"
DB_PASSWORD = "pw-hunter2-zq9x"


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'ledger.db').resolve()}"


def _workspace_ledger(workdir: Path) -> str:
    """The default ledger URL of `workdir`, its folder created (what `etl init` would do)."""
    (workdir / ".etl").mkdir(exist_ok=True)
    return sqlite_url(workdir / ".etl")


# --- version, init, status, runs ----------------------------------------------------------------


def test_version_prints_the_package_version(any_cli: Etl) -> None:
    outcome = any_cli("--version")
    assert outcome.exit_code == 0
    assert outcome.stdout.strip() == f"etl {etl.__version__}" == f"etl {version('sonar-splynx-etl')}"


def test_the_console_script_is_the_same_command(workdir: Path) -> None:
    script = Path(sys.executable).with_name("etl")
    if not script.exists():
        pytest.skip("the etl console script is not installed in this environment")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == f"etl {etl.__version__}"


def test_init_twice_is_harmless_and_leaves_the_ledger_at_head(any_cli: Etl, ledger_url: str) -> None:
    first = any_cli("--ledger", ledger_url, "init")
    assert first.exit_code == 0, first.text
    ledger = Ledger.open(ledger_url, upgrade=False)
    run_id = ledger.start_run("migrate")
    ledger.close()

    second = any_cli("--ledger", ledger_url, "init")
    assert second.exit_code == 0, second.text
    assert migrate.head_revision() in second.stdout
    ledger = Ledger.open(ledger_url, upgrade=False)
    try:
        assert ledger.revision() == migrate.head_revision()
        assert [r.id for r in ledger.runs()] == [run_id]  # the second init kept what was there
    finally:
        ledger.close()


def test_init_creates_the_workspace_and_the_default_sqlite_ledger(cli: Etl, workdir: Path) -> None:
    outcome = cli("init")
    assert outcome.exit_code == 0, outcome.text
    home = workdir / ".etl"
    assert (home / "staging").is_dir() and (home / "logs").is_dir()
    ledger = Ledger.open(sqlite_url(home), upgrade=False)
    try:
        assert ledger.revision() == migrate.head_revision()
    finally:
        ledger.close()


def test_home_from_the_environment_is_used(cli: Etl, workdir: Path) -> None:
    outcome = cli("init", env={"ETL_HOME": str(workdir / "elsewhere")})
    assert outcome.exit_code == 0, outcome.text
    assert (workdir / "elsewhere" / "ledger.db").exists()
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_status_on_an_empty_ledger_says_there_are_no_runs(cli: Etl, ledger_url: str) -> None:
    assert cli("--ledger", ledger_url, "init").exit_code == 0
    outcome = cli("--ledger", ledger_url, "status")
    assert outcome.exit_code == 0, outcome.text
    assert "no runs yet" in outcome.stdout
    ledger = Ledger.open(ledger_url, upgrade=False)
    try:
        assert ledger.runs() == []
    finally:
        ledger.close()


def test_status_of_a_run_shows_its_counts(cli: Etl, workdir: Path) -> None:
    assert cli("init").exit_code == 0
    ledger = Ledger.open(sqlite_url(workdir / ".etl"))
    run_id = ledger.start_run("migrate")
    ledger.add_items(run_id, "customer", [("1", None), ("2", None), ("3", None)])
    ledger.move(run_id, "customer", "1", ItemState.SKIPPED)
    ledger.close()

    outcome = cli("status", str(run_id))
    assert outcome.exit_code == 0, outcome.text
    row = next(line for line in outcome.stdout.splitlines() if "customer" in line)
    assert [cell for cell in row.replace("│", " ").split() if cell.isdigit()] == ["2", "1", "3"]
    listed = cli("status")
    assert listed.exit_code == 0 and "migrate" in listed.stdout


def test_status_before_init_is_one_line_and_creates_no_ledger(any_cli: Etl, ledger_url: str) -> None:
    outcome = any_cli("--ledger", ledger_url, "status")
    line = assert_one_line_error(outcome, LedgerError.exit_code)
    assert "etl init" in line
    if ledger_url.startswith("sqlite"):
        assert not Path(ledger_url.removeprefix("sqlite:///")).exists()
    else:
        with pytest.raises(LedgerError):
            Ledger.open(ledger_url, upgrade=False)  # still empty: status did not initialise it


def test_status_of_an_unknown_run_points_at_etl_runs(cli: Etl) -> None:
    assert cli("init").exit_code == 0
    assert_one_line_error(cli("status", "999"), ConfigError.exit_code, "run 999", "etl runs")


def test_runs_json_lists_the_ledger_runs_newest_first(any_cli: Etl, workdir: Path) -> None:
    ledger = Ledger.open(_workspace_ledger(workdir))
    first = ledger.start_run("extract", selection={"limit": 2})
    second = ledger.start_run("migrate", parent_run_id=first)
    ledger.finish_run(first, RunStatus.SUCCEEDED)
    expected = ledger.runs()
    live = ledger.lock()  # the migration is live: its process holds the ledger's lock
    assert live.acquire()

    try:
        outcome = any_cli("runs", "--json")
    finally:
        live.release()
        ledger.close()
    assert outcome.exit_code == 0, outcome.text
    listed = json.loads(outcome.stdout)
    assert [(r["id"], r["kind"], r["status"]) for r in listed] == [
        (r.id, r.kind, r.status) for r in expected
    ] == [(second, "migrate", "running"), (first, "extract", "succeeded")]
    assert listed[1]["selection"] == '{"limit": 2}' and listed[0]["parent_run_id"] == first
    if any_cli.mode == "runner":
        only = json.loads(any_cli("runs", "--json", "--kind", "extract").stdout)
        assert [r["id"] for r in only] == [first]


# --- one-line errors ----------------------------------------------------------------------------

BAD_LEDGERS = {
    "unsupported-scheme": ("mysql://root@127.0.0.1/test", "not supported"),
    "unparseable": ("not a url at all", "is not a database URL"),
}


@pytest.mark.parametrize("case", sorted(BAD_LEDGERS))
def test_a_bad_ledger_url_is_one_line_and_exit_2(any_cli: Etl, case: str) -> None:
    url, needle = BAD_LEDGERS[case]
    commands = ("init", "status") if any_cli.mode == "runner" else ("status",)  # a process costs seconds
    for command in commands:
        assert_one_line_error(any_cli("--ledger", url, command), ConfigError.exit_code, needle)


def test_an_unreachable_postgres_ledger_is_one_line_and_exit_2(any_cli: Etl) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    line = assert_one_line_error(any_cli("--ledger", url, "status"), ConfigError.exit_code, "cannot open ledger")
    assert "ETL_LEDGER_URL" in line


def test_an_unwritable_home_is_one_line(any_cli: Etl, workdir: Path) -> None:
    blocker = workdir / "a-file"
    blocker.write_text("not a directory")
    line = assert_one_line_error(any_cli("--home", str(blocker / "home"), "init"), ConfigError.exit_code)
    assert "cannot write to workspace" in line and "--home" in line


def test_a_toml_syntax_error_is_one_line(cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text("[etl\nhome = '.x'\n")
    assert_one_line_error(cli("status"), ConfigError.exit_code, "etl.toml", "not valid TOML")


def test_a_secret_in_the_config_file_is_refused_with_the_environment_fix(any_cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text(f'[sonar]\nurl = "http://sonar.test"\ntoken = "{TOKEN}"\n')
    outcome = any_cli("init")
    assert_one_line_error(outcome, ConfigError.exit_code, "[sonar] token", "ETL_SONAR_TOKEN")
    assert TOKEN not in outcome.text
    assert not (workdir / ".etl" / "ledger.db").exists()


def test_an_invalid_status_map_value_is_refused(cli: Etl, workdir: Path) -> None:
    (workdir / "etl.toml").write_text('[status_map]\nsuspended = "frozen"\n')
    line = assert_one_line_error(cli("init"), ConfigError.exit_code, "'suspended'", "'frozen'")
    assert "blocked" in line  # the fix lists the allowed values


def test_a_missing_config_file_is_one_line(cli: Etl, workdir: Path) -> None:
    assert_one_line_error(cli("--config", str(workdir / "nope.toml"), "status"), ConfigError.exit_code, "nope.toml")


# --- secrets and logs ---------------------------------------------------------------------------


def _logs(home: Path) -> str:
    return "".join(p.read_text() for p in sorted((home / "logs").glob("*.log")))


def test_secrets_never_reach_output_or_log_files(any_cli: Etl, workdir: Path) -> None:
    secrets = {"ETL_SONAR_TOKEN": TOKEN, "ETL_SPLYNX_KEY": "key-0000-also-secret", "ETL_SPLYNX_SECRET": SPLYNX_SECRET}
    unreachable = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{free_port()}/test"
    Ledger.open(_workspace_ledger(workdir)).close()
    outcomes = [
        any_cli("--debug", "status", "999", env=secrets),
        any_cli("--debug", "--ledger", unreachable, "status", env=secrets),
    ]
    if any_cli.mode == "runner":
        outcomes += [any_cli("--debug", "init", env=secrets), any_cli("--ledger", unreachable, "status", env=secrets)]
    assert all(o.exit_code != 0 and "Traceback" in o.text for o in outcomes[:2])  # --debug shows tracebacks
    logs = _logs(workdir / ".etl")
    assert logs.count("command failed") >= 2, outcomes  # the failures were logged, tracebacks included
    for value in [*secrets.values(), DB_PASSWORD]:
        assert value not in logs
        for outcome in outcomes:
            assert value not in outcome.text


def test_the_log_scrubber_hides_a_secret_a_library_revealed(tmp_path: Path) -> None:
    register_secrets([SPLYNX_SECRET])
    setup_logging(tmp_path, json_lines=False, debug=True, quiet=True)
    try:
        headers = {"Authorization": f"Bearer {SPLYNX_SECRET}"}  # a local variable of the failing frame
        raise ConnectionError(f"refused with {headers}")
    except ConnectionError:
        logger.exception(f"request failed: {SPLYNX_SECRET}")
    setup_logging(None, json_lines=False, debug=False, quiet=True)  # closes the file
    written = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert "request failed: ***" in written and "refused with" in written
    assert SPLYNX_SECRET not in written


def test_log_json_writes_json_lines_to_the_workspace_logs(cli: Etl, workdir: Path) -> None:
    assert cli("init").exit_code == 0
    assert cli("--log-json", "status", "999").exit_code == ConfigError.exit_code
    lines = [line for line in _logs(workdir / ".etl").splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, lines
    failed = [r for r in records if r["record"]["message"] == "command failed"]
    assert failed and failed[0]["record"]["level"]["name"] == "DEBUG"
    assert "run 999 does not exist" in failed[0]["record"]["exception"]["value"]


# --- error classes → exit codes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("bad", fix="change it"), 2),
        (LedgerError("locked"), 3),
        (ConnectionFailure("down"), 4),
        (RetryableError("429", retry_after=1.0), 4),
        (RunFailed("1 failed"), 1),
        (RecordError(RecordProblem("bad_email", "email is bad", field="email", fix="etl fix")), 1),
        (RuntimeError("bug"), 70),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_each_error_class_maps_to_its_exit_code(error: BaseException, code: int) -> None:
    probe = typer.Typer(cls=EtlGroup)

    @probe.command()
    def boom() -> None:
        raise error

    @probe.command()
    def other() -> None:
        pass

    result = CliRunner().invoke(probe, ["boom"])
    assert result.exit_code == code == report_error(error)
    assert len(result.stderr.strip().splitlines()) == 1
    assert ("internal error" in result.stderr) == (code == 70)


def test_typer_exits_and_usage_errors_inside_a_command_keep_their_codes() -> None:
    probe = typer.Typer(cls=EtlGroup)

    @probe.command()
    def leave(code: int) -> None:
        raise typer.Exit(code)

    @probe.command()
    def check(value: int) -> None:
        raise typer.BadParameter(f"{value} is too big")

    assert CliRunner().invoke(probe, ["leave", "5"]).exit_code == 5
    refused = CliRunner().invoke(probe, ["check", "9"])
    assert refused.exit_code == 2 and "9 is too big" in refused.stderr
    assert "internal error" not in refused.stderr


def test_an_interrupt_exits_130_with_the_resume_hint() -> None:
    probe = typer.Typer(cls=EtlGroup)

    @probe.command()
    def work() -> None:
        raise KeyboardInterrupt

    @probe.command()
    def other() -> None:
        pass

    result = CliRunner().invoke(probe, ["work"])
    assert result.exit_code == 130 and "etl resume" in result.stderr


@pytest.fixture(autouse=True)
def _quiet_logging() -> Iterator[None]:
    """Leave loguru without sinks in this test's files once it is over."""
    yield
    setup_logging(None, json_lines=False, debug=False, quiet=True)
