"""`etl extract`: selection flags, staging + ledger as the result, one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.options import build_selection
from etl.sandbox.sonar import SonarSimulator
from etl.selection import Selection
from etl.staging import part_files, read_records
from extractors import sonar_queries as q
from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.services import free_port


@pytest.fixture
def env(sonar_sim: SonarSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"ETL_SONAR_URL": sonar_sim.url, "ETL_SONAR_TOKEN": sonar_sim.token, "ETL_HOME": str(tmp_path / "home")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ETL_LEDGER_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray etl.toml
    return values


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def ledger_of(env: dict[str, str]) -> Ledger:
    return Ledger.open(f"sqlite:///{(Path(env['ETL_HOME']) / 'ledger.db').resolve()}")


def test_selection_round_trips_through_the_ledgers_json() -> None:
    selection = build_selection(customer=["3,1"], status=["Active"], since="2024-01-01", until="2024-06-30",
                                active_first=False, include_archived=True)
    assert selection.customer_ids == ("3", "1")
    assert selection.until == datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)  # a bare date is the whole day
    assert Selection.from_json(json.dumps(selection.to_json())) == selection
    assert Selection.from_json(None) == Selection() and Selection().is_everything
    assert not build_selection(limit=5).is_everything


def test_extract_customers_stages_them_and_records_an_extract_run(env: dict[str, str]) -> None:
    code, output = invoke("extract", "--customer", "1", "--customer", "2,5")
    assert code == 0, output
    ledger = ledger_of(env)
    run = ledger.runs(kind="extract")[0]
    assert run.status == RunStatus.SUCCEEDED
    items = ledger.items(run.id or 0, entity="account")
    assert sorted(i.source_id for i in items) == ["1", "2", "5"]
    assert {i.state for i in items} == {ItemState.EXTRACTED}
    staged = {r["id"] for r, _ in read_records(Path(env["ETL_HOME"]) / "staging", run.id or 0, "account")}
    assert staged == {"1", "2", "5"}
    assert ledger.items(run.id or 0, entity="service"), "referenced plans come along"
    ledger.close()


def test_entities_option_restricts_what_is_staged(env: dict[str, str]) -> None:
    code, output = invoke("extract", "--limit", "4", "--entities", "account,account_service")
    assert code == 0, output
    ledger = ledger_of(env)
    run_id = ledger.runs(kind="extract")[0].id or 0
    assert set(ledger.counts(run_id)) == {"account", "account_service"}
    assert len(ledger.items(run_id, entity="account")) == 4
    staging = Path(env["ETL_HOME"]) / "staging"
    assert part_files(staging, run_id, "account") and not part_files(staging, run_id, "service")
    ledger.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024-02-01", "--until", "2024-01-01"], "is before --since"),
        (["--since", "yesterday"], "is not an ISO date"),
        (["--status", "Gone"], "unknown account status 'Gone'"),
        ([], "no selection given"),
        (["--all", "--limit", "3"], "--all cannot be combined"),
        (["--all", "--entities", "accounts"], "unknown entity 'accounts'"),
        (["--customer", "abc"], "is not a Sonar account id"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    code, output = invoke("extract", *args)
    assert code == 2, output
    assert message in output and "Traceback" not in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1


def test_wrong_token_fails_before_a_run_is_opened(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_SONAR_TOKEN", "wrong-token-123")
    code, output = invoke("extract", "--all")
    assert code == 4
    assert "Sonar rejected the token (401)" in output and "ETL_SONAR_TOKEN" in output
    assert "wrong-token-123" not in output
    ledger = ledger_of(env)
    assert ledger.runs(kind="extract") == []
    ledger.close()


def test_unreachable_sonar_is_one_line_and_exit_4(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_SONAR_URL", f"http://127.0.0.1:{free_port()}/api/graphql")
    code, output = invoke("extract", "--limit", "1")
    assert code == 4
    assert "cannot reach Sonar at http://127.0.0.1:" in output


def test_missing_token_is_a_config_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ETL_SONAR_TOKEN")
    monkeypatch.setattr("etl.config._secret", lambda name: None)  # no keyring on the test machine either
    code, output = invoke("extract", "--all")
    assert code == 2 and "the Sonar token is not set" in output


def test_real_process_shows_progress_and_stages_everything(sonar_sim: SonarSimulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    environment = {**os.environ, "ETL_SONAR_URL": sonar_sim.url, "ETL_SONAR_TOKEN": sonar_sim.token,
                   "ETL_HOME": str(home), "COLUMNS": "160"}
    environment.pop("ETL_LEDGER_URL", None)
    etl = Path(sys.executable).with_name("etl")
    done = subprocess.run([str(etl), "extract", "--all"], env=environment, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "account_service" in done.stdout and "extract run 1" in done.stdout
    assert "━" in done.stdout  # the progress bars
    ledger = Ledger.open(f"sqlite:///{(home / 'ledger.db').resolve()}")
    counts = ledger.counts(1)
    ledger.close()
    assert set(counts) == set(q.entities())  # every entity, inventory_assignment included
    assert counts["account"] == {"extracted": len(sonar_sim.store.accounts(include_archived=False))}
