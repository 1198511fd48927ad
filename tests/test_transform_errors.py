"""No record of any shape crashes a run: a transformer that raises fails that one record, with its message.

A Sonar supernet whose `subnet` is not a network at all makes the transformer raise a plain `ValueError`;
the run records it as that record's failure (`transform_error`) and goes on or stops by its policy,
never an internal error (exit 70).
"""

from __future__ import annotations

from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import Sandbox, entity_markers


def plant_odd_supernet(box: Sandbox) -> int:
    """A supernet whose address is not a network (a shape the transformer does not expect)."""
    return box.sonar.store.insert("supernets", name="Odd", subnet="not-a-network/99", largest_cidr_available=None)


def test_a_transformer_exception_fails_only_that_record_and_the_run_goes_on(sandbox: Sandbox) -> None:
    odd = plant_odd_supernet(sandbox)
    sandbox.fix_planted_problems()

    result = sandbox.etl("run", "--all", "--continue-on-error", code=1)

    assert "internal error" not in result.output
    with sandbox.ledger() as ledger:
        item = ledger.item(1, "supernet", str(odd))
        assert item is not None and item.state == ItemState.FAILED and item.error_code == "transform_error"
        assert f"supernet {odd}" in (item.error_message or "") and "ValueError" in (item.error_message or "")
        assert "report it" in (item.fix_hint or "")
        failed = [i for i in ledger.items(1) if i.state == ItemState.FAILED]
        assert [(i.entity, i.source_id) for i in failed] == [("supernet", str(odd))]
    assert len(entity_markers(sandbox.splynx, "account")) == len(
        [a for a in sandbox.sonar.store.tables["accounts"].values() if a.get("archived_at") is None]
    )


def test_a_transformer_exception_with_stop_on_error_stops_the_run_cleanly(sandbox: Sandbox) -> None:
    odd = plant_odd_supernet(sandbox)
    sandbox.fix_planted_problems()

    result = sandbox.etl("run", "--all", code=1)

    assert "internal error" not in result.output and f"supernet {odd}" in result.output
    with sandbox.ledger() as ledger:
        run = ledger.get_run(1)
        assert run.status == RunStatus.FAILED and "transformer failed" in (run.message or "")
        item = ledger.item(1, "supernet", str(odd))
        assert item is not None and item.error_code == "transform_error"
    assert not entity_markers(sandbox.splynx, "account")  # stopped in NETWORK, before the customers


def test_plan_counts_a_record_the_transformer_fails_on_as_invalid(sandbox: Sandbox) -> None:
    plant_odd_supernet(sandbox)
    sandbox.etl("init")

    output = sandbox.etl("plan", "--all").output

    row = next(line for line in output.splitlines() if "│ supernet " in line)
    create, _update, _skip, invalid = (int(c) for c in row.split("│")[2:6])
    assert (create, invalid) == (len(sandbox.sonar.store.tables["supernets"]) - 1, 1)
