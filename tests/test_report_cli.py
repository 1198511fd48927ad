"""`etl report`, `etl failures`, and every way a user can get a command wrong.

A user mistake or an unreachable/refusing remote is one line and a non-zero exit code, never a
traceback, and it never leaves a run `running` in the ledger.
"""

from __future__ import annotations

import json

import pytest

from state.states import RunStatus
from tests.fixtures.pipeline import Sandbox
from tests.fixtures.services import free_port


def failed_run(box: Sandbox) -> None:
    """Run 1: 12 customers with continue-on-error, so it has verified items and failures."""
    box.etl("run", "--limit", "12", "--continue-on-error", code=1)


def assert_one_line_error(box: Sandbox, *args: str, code: int, says: str, **env: str | None) -> str:
    """`etl ARGS` fails with `code`, printing exactly one line that contains `says`; returns it."""
    result = box.etl(*args, code=code, env=box.env(**env))
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.output
    assert_no_run_left_running(box)
    return lines[0]


def assert_no_run_left_running(box: Sandbox) -> None:
    """Whatever failed, the ledger (if there is one) holds no run still marked running."""
    if not (box.home / "ledger.db").exists():
        return
    with box.ledger() as ledger:
        assert all(run.status != RunStatus.RUNNING for run in ledger.runs())


def test_report_formats_show_counts_failures_and_charts(sandbox: Sandbox) -> None:
    failed_run(sandbox)

    markdown = sandbox.etl("report", "1").output
    as_json = json.loads(sandbox.etl("report", "1", "--format", "json").output)
    page = sandbox.etl("report", "1", "--format", "html").output

    assert "account" in markdown and "etl fix account 4" in markdown
    assert as_json["run_id"] == 1 and as_json["status"] == RunStatus.FAILED
    assert as_json["counts"]["account"]["verified"] == 10
    assert {(f["entity"], f["source_id"]) for f in as_json["failures"]} >= {("account", "4")}
    assert page.count("<svg") == 2 and "</html>" in page


def test_report_writes_a_file_when_asked(sandbox: Sandbox) -> None:
    failed_run(sandbox)
    target = sandbox.home / "run1.html"

    sandbox.etl("report", "1", "--format", "html", "--output", str(target))

    assert target.read_text(encoding="utf-8").count("<svg") == 2


def test_failures_lists_entity_id_field_error_and_fix(sandbox: Sandbox) -> None:
    failed_run(sandbox)

    listing = sandbox.etl("failures", "1").output

    for expected in ("account", "4", "name", "299 characters", "etl fix account 4", "login", "already been taken"):
        assert expected in listing


def test_fix_refuses_an_unknown_entity_and_a_set_without_equals(sandbox: Sandbox) -> None:
    sandbox.etl("init")
    assert_one_line_error(sandbox, "fix", "customer", "4", "--set", "name=x", code=2, says="unknown entity 'customer'")
    assert_one_line_error(sandbox, "fix", "account", "4", "--set", "name", code=2, says="is not field=value")
    with sandbox.ledger() as ledger:
        assert ledger.overrides("account", "4") == {}


def test_resume_with_nothing_to_resume_says_so(sandbox: Sandbox) -> None:
    sandbox.etl("init")
    assert_one_line_error(sandbox, "resume", code=2, says="no unfinished migration run")


def test_rollback_of_an_unknown_run_says_so(sandbox: Sandbox) -> None:
    sandbox.etl("init")
    assert_one_line_error(sandbox, "rollback", "99", "--yes", code=2, says="run 99 does not exist")


def test_run_without_a_selection_is_refused(sandbox: Sandbox) -> None:
    assert_one_line_error(sandbox, "run", code=2, says="no selection given")


@pytest.mark.parametrize(
    ("variable", "value", "code", "says"),
    [
        ("ETL_SONAR_URL", None, 2, "ETL_SONAR_URL is not set"),
        ("ETL_SONAR_TOKEN", "wrong-token", 4, "Sonar"),
        ("ETL_SPLYNX_URL", "unreachable", 4, "Splynx"),
        ("ETL_SPLYNX_SECRET", "wrong-secret", 4, "Splynx"),
    ],
    ids=["missing-sonar-url", "wrong-sonar-token", "unreachable-splynx", "bad-splynx-secret"],
)
def test_run_with_bad_connection_settings_fails_in_one_line_and_writes_nothing(
    sandbox: Sandbox, variable: str, value: str | None, code: int, says: str
) -> None:
    if value == "unreachable":
        value = f"http://127.0.0.1:{free_port()}"
    line = assert_one_line_error(sandbox, "run", "--limit", "3", code=code, says=says, **{variable: value})
    assert sandbox.splynx.rows("admin/customers/customer") == []
    logs = "".join(p.read_text(encoding="utf-8") for p in (sandbox.home / "logs").glob("*"))
    for secret in (sandbox.pair.token, sandbox.pair.secret, "wrong-token", "wrong-secret"):
        assert secret not in line and secret not in logs
