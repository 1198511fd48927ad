"""Answers that are not what the API sends (issue #11), through the loader, the CLI and whole runs.

A proxy's HTML page, JSON cut short, GraphQL errors with `data: null`, Sonar's throttling body: a read
is retried, a write whose answer is unusable is resolved by its migration marker (never repeated
blindly), and what persists ends the command in one line with the exit code that says what to do.
"""

from __future__ import annotations

import pytest
from typer.testing import Result

from etl.preflight import ensure_additional_fields
from etl.sandbox.faultproxy import answer, html, truncate
from etl.sandbox.splynx import SplynxSimulator
from loaders.splynx import SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.faults import ProxiedSandboxFactory
from tests.fixtures.loader import MARKER_MODULES, account_item, markers, start_load_run
from tests.fixtures.pipeline import Sandbox, SandboxFactory, entity_markers, run_ids
from transformers.registry import additional_field_definitions

SMALL = 12  # customers: enough for every entity and the planted bad records, quick to migrate
POST_CUSTOMER = r"^POST admin/customers/customer$"  # a simulator fault subject
POST_CUSTOMER_PATH = r"/admin/customers/customer$"  # a fault proxy path


def error_line(result: Result) -> str:
    """The command's only output line, which must be an `error:` line."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


def visible_accounts(box: Sandbox) -> set[str]:
    """Sonar accounts an `--all` run migrates (archived ones are hidden)."""
    return {str(i) for i, a in box.sonar.store.tables["accounts"].items() if a.get("archived_at") is None}


def staged_items(ledger: Ledger, run_id: int) -> dict[str, set[tuple[str, str | None]]]:
    """Entity → {(source id, source hash)} of a run: what an extraction produced."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for item in ledger.items(run_id):
        found.setdefault(item.entity, set()).add((item.source_id, item.source_hash))
    return found


# --- the loader: an unusable answer to a POST ----------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["html_after_next", "truncate_next", "html_next"],
    ids=["html-after-commit", "cut-json-after-commit", "html-before-commit"],
)
def test_a_post_answered_with_html_or_cut_json_is_resolved_by_its_marker_without_a_duplicate(
    splynx_loader: SplynxLoader, ledger: Ledger, splynx_sim: SplynxSimulator, fault: str
) -> None:
    run_id = start_load_run(ledger, "account", ["3"])
    splynx_sim.faults.only = POST_CUSTOMER
    setattr(splynx_sim.faults, fault, 1)
    result = splynx_loader.load(account_item(run_id, 3))
    assert result.state == ItemState.VERIFIED
    # After the commit the record is found by its marker; before it, it was never applied and is sent
    # again. Either way Splynx holds it once.
    assert markers(splynx_sim) == ["account:3"]
    assert sum(splynx_sim.faults.injected.values()) == 1
    assert ledger.dest_id("account", "3") == result.dest_id


def test_a_marker_definition_answered_with_html_after_commit_is_found_not_failed(
    loader_client: SplynxClient, ledger: Ledger, splynx_sim: SplynxSimulator
) -> None:
    splynx_sim.faults.only = r"^POST admin/config/additional-fields/"
    splynx_sim.faults.html_after_next = 1
    assert SplynxLoader(loader_client, ledger).ensure_marker_fields(MARKER_MODULES) == MARKER_MODULES
    for module in MARKER_MODULES:
        assert [r["name"] for r in splynx_sim.rows(f"admin/config/additional-fields/{module}")] == ["sonar_id"]


def test_preflight_field_definitions_answered_with_html_after_commit_are_each_created_once(
    loader_client: SplynxClient, splynx_sim: SplynxSimulator
) -> None:
    definitions = additional_field_definitions()
    splynx_sim.faults.only = r"^POST admin/config/additional-fields/"
    splynx_sim.faults.html_after_next = 2
    splynx_sim.faults.html_next = 1
    assert ensure_additional_fields(loader_client, definitions) == sum(len(b) for b in definitions.values())
    assert sum(splynx_sim.faults.injected.values()) == 3
    for module, bodies in definitions.items():
        names = sorted(r["name"] for r in splynx_sim.rows(f"admin/config/additional-fields/{module}"))
        assert names == sorted(b["name"] for b in bodies)


# --- the CLI: what persists is one line ----------------------------------------------------------


def test_splynx_answering_every_read_with_a_maintenance_page_is_one_line_and_exit_4(sandbox: Sandbox) -> None:
    sandbox.splynx.faults.only = r"^GET "
    sandbox.splynx.faults.html_next = 1000
    line = error_line(sandbox.etl("run", "--all", code=4))
    assert "GET admin/api/check" in line and "text/html" in line and "<!DOCTYPE html>" in line
    assert "proxy or maintenance page" in line and "ETL_SPLYNX_URL" in line
    assert sandbox.pair.secret not in line and sandbox.pair.key not in line


def test_a_run_with_bad_answers_sprinkled_over_both_systems_migrates_everything_exactly_once(
    make_proxied_sandbox: ProxiedSandboxFactory,
) -> None:
    box = make_proxied_sandbox(customers=SMALL)
    box.fix_planted_problems()
    # Reads and PUTs: one in ten answered with HTML (before or after serving it) or cut JSON.
    box.splynx.faults.only = r"^(GET|HEAD|PUT) "
    box.splynx.faults.garble_rate = 0.1
    # POSTs, exactly: unreadable answers after the commit (found by marker), and one before it (sent again).
    posts = [
        box.proxy.add("POST", POST_CUSTOMER_PATH, html(when="after"), nth=2),
        box.proxy.add("POST", POST_CUSTOMER_PATH, truncate(), nth=4),
        box.proxy.add("POST", POST_CUSTOMER_PATH, html(when="before"), nth=6),
        box.proxy.add("POST", r"/internet-services$", truncate(), nth=3),
        box.proxy.add("POST", r"/admin/tariffs/internet$", answer(201, "{}", when="after")),  # no id
    ]
    # Sonar: GraphQL errors with data: null, data: null, no entities, HTML, cut JSON, its throttling body.
    box.sonar.faults.garble_rate = 0.15
    box.sonar.faults.rate_limit_next = 1
    box.etl("run", "--all")

    assert [rule.fired for rule in posts] == [1] * len(posts)
    assert {"html", "html_after", "truncate"} <= set(box.splynx.faults.injected)
    assert len(box.sonar.faults.injected) >= 5, box.sonar.faults.injected
    box.check()
    visible = visible_accounts(box)
    assert set(entity_markers(box.splynx, "account")) == visible
    assert len(box.proxy.seen("POST", POST_CUSTOMER_PATH)) == len(visible) + 1  # only the unapplied one again
    with box.ledger() as ledger:
        (run_id,) = run_ids(ledger)
        assert ledger.get_run(run_id).status == RunStatus.SUCCEEDED


def test_extract_with_transient_sonar_faults_stages_exactly_what_a_clean_extract_does(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=SMALL)
    box.sonar.faults.garble_rate = 0.25
    box.sonar.faults.rate_limit_next = 1
    box.sonar.faults.rate_limit_status = 200  # the throttling body is throttling whatever the status
    box.etl("extract", "--all")
    injected = dict(box.sonar.faults.injected)
    box.sonar.faults.reset()
    box.etl("extract", "--all")

    assert injected["rate_limit"] == 1 and len(injected) >= 5, injected
    with box.ledger() as ledger:
        faulty, clean = run_ids(ledger, kind="extract")
        assert all(ledger.get_run(r).status == RunStatus.SUCCEEDED for r in (faulty, clean))
        assert staged_items(ledger, faulty) == staged_items(ledger, clean)


def test_a_sonar_whose_schema_differs_fails_extract_in_one_line_naming_the_query_file(sandbox: Sandbox) -> None:
    sandbox.sonar.faults.only = r"^account$"
    sandbox.sonar.faults.unknown_field_next = 1
    line = error_line(sandbox.etl("extract", "--customer", "1", code=4))
    assert "account" in line and "sonar_queries/account.graphql" in line
    assert 'Cannot query field "sonar_legacy_id"' in line and "retrying will not help" in line
    assert sandbox.sonar.faults.injected["unknown_field"] == 1  # refused once, not retried
    with sandbox.ledger() as ledger:
        (run_id,) = run_ids(ledger, kind="extract")
        run = ledger.get_run(run_id)
        assert run.status == RunStatus.FAILED and "sonar_legacy_id" in (run.message or "")


def test_sonar_answers_without_entities_for_good_end_extract_in_one_line_not_an_internal_error(
    sandbox: Sandbox,
) -> None:
    sandbox.sonar.faults.only = r"^account$"
    sandbox.sonar.faults.no_entities_next = 1000
    line = error_line(sandbox.etl("extract", "--customer", "1", code=4))
    assert "account" in line and "entities" in line and "internal error" not in line
    with sandbox.ledger() as ledger:
        (run_id,) = run_ids(ledger, kind="extract")
        assert ledger.get_run(run_id).status == RunStatus.FAILED


def test_a_query_sonar_keeps_failing_fails_the_run_in_one_line_and_resume_finishes_it(
    make_sandbox: SandboxFactory,
) -> None:
    box = make_sandbox(customers=SMALL)
    box.fix_planted_problems()
    box.sonar.faults.only = r"^account$"  # counts and every other entity still answer
    box.sonar.faults.graphql_error_next = 1000
    line = error_line(box.etl("run", "--all", code=4))
    assert "account" in line and "Internal server error" in line

    with box.ledger() as ledger:
        (run_id,) = run_ids(ledger)
        run = ledger.get_run(run_id)
        assert run.status == RunStatus.FAILED and "Internal server error" in (run.message or "")
    box.sonar.faults.reset()
    box.etl("resume")
    with box.ledger() as ledger:
        assert ledger.get_run(run_id).status == RunStatus.SUCCEEDED
    box.check()
    assert set(entity_markers(box.splynx, "account")) == visible_accounts(box)
