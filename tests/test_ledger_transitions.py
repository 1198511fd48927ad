"""The checkpoint API: legal moves only, an event per change, id map, overrides, transfers, runs."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from etl.errors import ConfigError, IllegalTransition, LedgerError, RecordProblem
from state.ledger import EVENT, ChunkPlan, Ledger
from state.models import Event
from state.states import LEGAL_TRANSITIONS, ChunkState, ItemState, RunStatus, TransferState
from tests.fixtures.ledger import BACKENDS, backend_url

ALL_PAIRS = list(itertools.product(ItemState, repeat=2))
LEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if b in LEGAL_TRANSITIONS[a]]
ILLEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if b not in LEGAL_TRANSITIONS[a]]
PROBLEM = RecordProblem("invalid_email", "email 'x@' is not valid", field="email", value="x@", fix="etl fix")


def _pair_id(pair: tuple[ItemState, ItemState]) -> str:
    return f"{pair[0]}->{pair[1]}"


def events_of(ledger: Ledger, run_id: int, source_id: str | None = None) -> list[Event]:
    """A run's events in the order they were written (optionally of one item)."""
    query = select(EVENT).where(EVENT.c.run_id == run_id).order_by(EVENT.c.id)
    if source_id is not None:
        query = query.where(EVENT.c.source_id == source_id)
    with ledger.reader.connect() as conn:
        return [Event.model_validate(dict(r)) for r in conn.execute(query).mappings()]


def _item_in(ledger: Ledger, state: ItemState) -> tuple[int, str]:
    run_id = ledger.start_run("migrate")
    ledger.add_items(run_id, "customer", [("42", "hash-42")], state=state)
    return run_id, "42"


# --- the transition table, pair by pair ---------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def shared_ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One ledger per backend for the many small tests below; each works in a run of its own."""
    folder: Path = tmp_path_factory.mktemp("ledger")
    with backend_url(request.param, folder) as url:
        opened = Ledger.open(url)
        yield opened
        opened.close()


def test_the_table_names_every_state() -> None:
    assert set(LEGAL_TRANSITIONS) == set(ItemState)
    assert len(LEGAL_PAIRS) + len(ILLEGAL_PAIRS) == len(ItemState) ** 2
    assert LEGAL_PAIRS and ILLEGAL_PAIRS


@pytest.mark.parametrize("pair", LEGAL_PAIRS, ids=_pair_id)
def test_every_legal_transition_succeeds_and_writes_exactly_one_event(
    shared_ledger: Ledger, pair: tuple[ItemState, ItemState]
) -> None:
    ledger = shared_ledger
    before, after = pair
    run_id, source_id = _item_in(ledger, before)
    events_before = events_of(ledger, run_id, source_id)

    moved = ledger.move(run_id, "customer", source_id, after, detail="step")

    assert moved.state == after
    stored = ledger.item(run_id, "customer", source_id)
    assert stored is not None and stored.state == after
    new_events = events_of(ledger, run_id, source_id)[len(events_before) :]
    assert [(e.from_state, e.to_state, e.entity, e.detail) for e in new_events] == [
        (before, after, "customer", "step")
    ]


@pytest.mark.parametrize("pair", ILLEGAL_PAIRS, ids=_pair_id)
def test_every_illegal_transition_raises_and_changes_nothing(
    shared_ledger: Ledger, pair: tuple[ItemState, ItemState]
) -> None:
    ledger = shared_ledger
    before, after = pair
    run_id, source_id = _item_in(ledger, before)
    item_before = ledger.item(run_id, "customer", source_id)
    events_before = events_of(ledger, run_id)

    with pytest.raises(IllegalTransition, match=f"{before} → {after}"):
        ledger.move(run_id, "customer", source_id, after, dest_id="99", request={"x": 1})

    assert ledger.item(run_id, "customer", source_id) == item_before
    assert events_of(ledger, run_id) == events_before


def test_fail_is_refused_where_failed_is_not_a_legal_target(ledger: Ledger) -> None:
    run_id, source_id = _item_in(ledger, ItemState.VERIFIED)
    with pytest.raises(IllegalTransition):
        ledger.fail(run_id, "customer", source_id, PROBLEM)
    item = ledger.item(run_id, "customer", source_id)
    assert item is not None and item.state == ItemState.VERIFIED and item.error_code is None


def test_moving_an_item_that_is_not_in_the_run_is_a_ledger_error(ledger: Ledger) -> None:
    run_id = ledger.start_run("migrate")
    with pytest.raises(LedgerError, match="not an item of run"):
        ledger.move(run_id, "customer", "nope", ItemState.EXTRACTED)
    assert events_of(ledger, run_id, "nope") == []


# --- what moves carry ---------------------------------------------------------------------------


def _walk(ledger: Ledger, run_id: int, source_id: str, *states: ItemState) -> None:
    for state in states:
        ledger.move(run_id, "customer", source_id, state)


def test_attempts_count_each_entry_into_loading(ledger: Ledger) -> None:
    run_id, sid = _item_in(ledger, ItemState.PENDING)
    _walk(ledger, run_id, sid, ItemState.EXTRACTED, ItemState.TRANSFORMED, ItemState.LOADING)
    assert ledger.item(run_id, "customer", sid).attempts == 1  # type: ignore[union-attr]
    ledger.fail(run_id, "customer", sid, PROBLEM)
    _walk(ledger, run_id, sid, ItemState.TRANSFORMED)
    assert ledger.item(run_id, "customer", sid).attempts == 1  # type: ignore[union-attr]
    moved = ledger.move(run_id, "customer", sid, ItemState.LOADING)
    assert moved.attempts == 2
    assert ledger.item(run_id, "customer", sid).attempts == 2  # type: ignore[union-attr]


def test_the_write_ahead_step_stores_the_request_before_the_answer(ledger: Ledger) -> None:
    run_id, sid = _item_in(ledger, ItemState.TRANSFORMED)
    ledger.move(run_id, "customer", sid, ItemState.LOADING, request={"name": "Ann"}, action="create")
    loading = ledger.item(run_id, "customer", sid)
    assert loading is not None
    assert json.loads(loading.request or "") == {"name": "Ann"} and loading.action == "create"
    assert loading.dest_id is None
    ledger.move(run_id, "customer", sid, ItemState.LOADED, dest_id=77)  # type: ignore[arg-type]
    loaded = ledger.item(run_id, "customer", sid)
    assert loaded is not None and loaded.dest_id == "77" and loaded.request == loading.request


def test_fail_records_the_problem_and_success_clears_it(ledger: Ledger) -> None:
    run_id, sid = _item_in(ledger, ItemState.TRANSFORMED)
    ledger.move(run_id, "customer", sid, ItemState.LOADING)
    failed = ledger.fail(run_id, "customer", sid, PROBLEM)
    stored = ledger.item(run_id, "customer", sid)
    assert failed.state == stored.state == ItemState.FAILED  # type: ignore[union-attr]
    assert stored is not None
    assert (stored.error_code, stored.error_field, stored.error_message, stored.fix_hint) == (
        "invalid_email",
        "email",
        "email 'x@' is not valid",
        "etl fix",
    )
    assert events_of(ledger, run_id, sid)[-1].detail == PROBLEM.message

    _walk(ledger, run_id, sid, ItemState.TRANSFORMED, ItemState.LOADING)
    still = ledger.item(run_id, "customer", sid)
    assert still is not None and still.error_code == "invalid_email"  # kept until the retry succeeds
    ledger.move(run_id, "customer", sid, ItemState.LOADED, dest_id="5")
    cleared = ledger.item(run_id, "customer", sid)
    assert cleared is not None
    assert (cleared.error_code, cleared.error_field, cleared.error_message, cleared.fix_hint) == (None,) * 4


def test_add_items_ignores_ids_already_in_the_run(ledger: Ledger) -> None:
    run_id = ledger.start_run("migrate")
    assert ledger.add_items(run_id, "customer", [("1", "a"), ("2", "b")]) == 2
    ledger.move(run_id, "customer", "2", ItemState.EXTRACTED)
    assert ledger.add_items(run_id, "customer", [("2", "changed"), ("3", "c")]) == 1
    assert ledger.add_items(run_id, "customer", []) == 0
    items = {i.source_id: (i.state, i.source_hash) for i in ledger.items(run_id)}
    assert items == {"1": ("pending", "a"), "2": ("extracted", "b"), "3": ("pending", "c")}
    other_run = ledger.start_run("migrate")
    assert ledger.add_items(other_run, "customer", [("2", "b")]) == 1  # same id, another run
    assert ledger.add_items(run_id, "tariff", [("2", None)]) == 1  # same id, another entity


def test_items_filters_by_state_and_entity_and_counts_group_them(ledger: Ledger) -> None:
    run_id = ledger.start_run("migrate")
    ledger.add_items(run_id, "customer", [(str(i), None) for i in range(5)])
    ledger.add_items(run_id, "tariff", [("t1", None)], state=ItemState.EXTRACTED)
    _walk(ledger, run_id, "0", ItemState.EXTRACTED)
    ledger.move(run_id, "customer", "1", ItemState.SKIPPED)

    assert [i.source_id for i in ledger.items(run_id, ItemState.PENDING)] == ["2", "3", "4"]
    assert {i.source_id for i in ledger.items(run_id, [ItemState.EXTRACTED, ItemState.SKIPPED])} == {
        "0",
        "1",
        "t1",
    }
    assert [i.source_id for i in ledger.items(run_id, ItemState.EXTRACTED, entity="tariff")] == ["t1"]
    assert ledger.counts(run_id) == {
        "customer": {"pending": 3, "extracted": 1, "skipped": 1},
        "tariff": {"extracted": 1},
    }
    assert ledger.counts(ledger.start_run("migrate")) == {}


# --- id map and overrides -----------------------------------------------------------------------


def test_map_upserts_one_row_per_record_and_unmap_forgets_it(ledger: Ledger) -> None:
    first, second = ledger.start_run("migrate"), ledger.start_run("migrate")
    assert ledger.dest_id("customer", "7") is None
    ledger.map("customer", "7", "100", run_id=first, source_hash="s1", dest_hash="d1")
    ledger.map("customer", 8, 200, run_id=first)  # type: ignore[arg-type]
    ledger.map("customer", "7", "101", run_id=second, source_hash="s2")

    mapping = ledger.id_map("customer")
    assert set(mapping) == {"7", "8"}
    row = mapping["7"]
    assert (row.dest_id, row.source_hash, row.dest_hash) == ("101", "s2", None)
    assert (row.first_run_id, row.last_run_id) == (first, second)
    assert ledger.dest_id("customer", "8") == "200"
    assert ledger.id_map("tariff") == {}

    ledger.unmap("customer", "7")
    assert ledger.dest_id("customer", "7") is None
    assert set(ledger.id_map("customer")) == {"8"}


def test_overrides_merge_with_the_newest_winning(ledger: Ledger) -> None:
    ledger.add_override("customer", "7", {"email": "a@x.test", "phone": "1"}, reason="typo")
    ledger.add_override("customer", "7", {"email": "b@x.test"})
    ledger.add_override("customer", "8", {"name": "Other"})
    assert ledger.overrides("customer", "7") == {"email": "b@x.test", "phone": "1"}
    assert ledger.overrides("customer", "9") == {}
    assert ledger.overrides("tariff", "7") == {}
    assert ledger.all_overrides("customer") == {
        "7": {"email": "b@x.test", "phone": "1"},
        "8": {"name": "Other"},
    }


# --- transfers and chunks -----------------------------------------------------------------------


def _open(ledger: Ledger, run_id: int, fingerprint: str | None) -> int:
    transfer = ledger.open_transfer(
        run_id=run_id, kind="file", source="s3://b", destination="/d", name="a.bin", size=30,
        fingerprint=fingerprint,
    )
    assert transfer.id is not None
    return transfer.id


def test_open_transfer_resumes_the_same_fingerprint_and_starts_anew_for_another(ledger: Ledger) -> None:
    run_id = ledger.start_run("copy")
    first = _open(ledger, run_id, "v1")
    rerun = ledger.start_run("copy")
    assert _open(ledger, rerun, "v1") == first
    assert ledger.get_transfer(first).run_id == rerun  # the resuming run owns it now
    changed = _open(ledger, run_id, "v2")
    assert changed != first
    assert _open(ledger, run_id, None) not in (first, changed)
    assert {t.id for t in ledger.transfers(run_id)} >= {changed}
    assert ledger.get_transfer(changed).state == TransferState.RUNNING


def test_a_done_transfer_is_returned_as_it_is(ledger: Ledger) -> None:
    run_id = ledger.start_run("copy")
    first = _open(ledger, run_id, "v1")
    ledger.finish_transfer(first, TransferState.DONE, sha256="ab" * 32)
    again = ledger.open_transfer(
        run_id=run_id, kind="file", source="s3://b", destination="/d", name="a.bin", fingerprint="v1"
    )
    assert (again.id, again.state, again.sha256) == (first, TransferState.DONE, "ab" * 32)


def test_a_failed_transfer_carries_only_its_verified_chunks_to_the_next(ledger: Ledger) -> None:
    run_id = ledger.start_run("copy")
    first = _open(ledger, run_id, "v1")
    ledger.plan_chunks(first, [ChunkPlan(seq, offset=seq * 10, length=10) for seq in range(3)])
    ledger.record_chunk(first, 0, sha256="0" * 64)
    ledger.record_chunk(first, 1, state=ChunkState.FAILED)
    ledger.finish_transfer(first, TransferState.FAILED, error="disk full")
    assert ledger.get_transfer(first).error_message == "disk full"

    second = _open(ledger, run_id, "v1")
    assert second != first
    assert ledger.verified_seqs(second) == {0}
    carried = ledger.chunks(second)
    assert [(c.seq, c.offset, c.length, c.sha256, c.state) for c in carried] == [
        (0, 0, 10, "0" * 64, ChunkState.VERIFIED)
    ]
    assert len(ledger.chunks(first)) == 3  # the failed transfer keeps its history


def test_plan_chunks_keeps_the_state_of_chunks_already_planned(ledger: Ledger) -> None:
    transfer = _open(ledger, ledger.start_run("copy"), "v1")
    ledger.plan_chunks(transfer, [ChunkPlan(0, length=10), ChunkPlan(1, offset=10, length=10)])
    ledger.record_chunk(transfer, 0, sha256="a" * 64, rows=5)
    ledger.plan_chunks(transfer, [ChunkPlan(0, length=10), ChunkPlan(1, offset=10, length=10), ChunkPlan(2)])
    ledger.plan_chunks(transfer, [])
    states = [(c.seq, c.state, c.attempts) for c in ledger.chunks(transfer)]
    assert states == [(0, "verified", 1), (1, "pending", 0), (2, "pending", 0)]
    assert [c.seq for c in ledger.chunks(transfer, ChunkState.PENDING)] == [1, 2]


def test_record_chunk_upserts_and_counts_attempts(ledger: Ledger) -> None:
    transfer = _open(ledger, ledger.start_run("copy"), "v1")
    ledger.record_chunk(transfer, 4, state=ChunkState.COPIED, key_from="a", key_to="m", rows=10)
    ledger.record_chunk(transfer, 4, state=ChunkState.FAILED)
    ledger.record_chunk(transfer, 4, sha256="f" * 64, rows=12)
    (chunk,) = ledger.chunks(transfer)
    assert (chunk.seq, chunk.state, chunk.attempts) == (4, ChunkState.VERIFIED, 3)
    assert (chunk.key_from, chunk.key_to, chunk.rows, chunk.sha256) == ("a", "m", 12, "f" * 64)
    assert ledger.verified_seqs(transfer) == {4}


# --- runs ---------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_and_finish_with_a_counts_snapshot(ledger: Ledger) -> None:
    first = ledger.start_run("extract", selection={"limit": 5})
    second = ledger.start_run("migrate", options={"stop_on_error": True}, parent_run_id=first)
    ledger.add_items(second, "customer", [("1", None), ("2", None)])
    ledger.move(second, "customer", "1", ItemState.SKIPPED)
    ledger.finish_run(second, RunStatus.FAILED, message="1 failed")

    run = ledger.get_run(second)
    assert (run.status, run.message, run.parent_run_id) == ("failed", "1 failed", first)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert json.loads(run.counts) == {"customer": {"pending": 1, "skipped": 1}}
    assert json.loads(run.options) == {"stop_on_error": True}
    assert [r.id for r in ledger.runs()] == [second, first]
    assert [r.id for r in ledger.runs(kind="extract")] == [first]
    assert ledger.latest_run(statuses=[RunStatus.RUNNING]).id == first  # type: ignore[union-attr]
    assert ledger.latest_run(kind="rollback") is None
    assert [(e.to_state, e.detail) for e in events_of(ledger, second) if e.source_id is None] == [
        ("running", "migrate started"),
        ("failed", "1 failed"),
    ]


def test_get_run_of_an_unknown_id_is_a_config_error_pointing_at_etl_runs(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="run 999 does not exist") as caught:
        ledger.get_run(999)
    assert caught.value.fix is not None and "etl runs" in caught.value.fix


# --- property: any sequence of attempts -----------------------------------------------------------


ATTEMPTS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(list(ItemState))), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=ATTEMPTS)
def test_any_sequence_of_attempts_leaves_the_last_legal_target_and_a_replayable_log(
    shared_ledger: Ledger, attempts: list[tuple[int, ItemState]]
) -> None:
    ledger = shared_ledger
    run_id = ledger.start_run("property")
    ids = ["a", "b", "c"]
    ledger.add_items(run_id, "customer", [(sid, None) for sid in ids])
    expected = dict.fromkeys(ids, ItemState.PENDING)
    for index, target in attempts:
        sid = ids[index]
        legal = target in LEGAL_TRANSITIONS[expected[sid]]
        try:
            ledger.move(run_id, "customer", sid, target)
        except IllegalTransition:
            assert not legal
        else:
            assert legal
            expected[sid] = target

    items = ledger.items(run_id)
    assert sorted(i.source_id for i in items) == ids  # each item exactly once
    assert {i.source_id: i.state for i in items} == expected
    for sid in ids:
        replayed: str | None = None
        for event in events_of(ledger, run_id, sid):
            assert event.from_state == replayed
            assert replayed is None or ItemState(str(event.to_state)) in LEGAL_TRANSITIONS[ItemState(replayed)]
            replayed = event.to_state
        assert replayed == expected[sid]
