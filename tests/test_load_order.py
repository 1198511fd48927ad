"""Load order within one entity: a child account never loads before (or beside) its parent account."""

from __future__ import annotations

from typing import Any

from etl import load_stage
from etl.load_stage import parents_first


def staged(*pairs: tuple[str, str | None]) -> list[tuple[dict[str, Any], str]]:
    return [({"id": i, "parent_account_id": p}, f"hash-{i}") for i, p in pairs]


def order(batches: list[list[tuple[dict[str, Any], str]]]) -> list[list[str]]:
    return [[str(record["id"]) for record, _ in batch] for batch in batches]


def test_children_load_in_a_later_batch_than_their_parents_even_when_read_first() -> None:
    records = staged(("2", "3"), ("3", "5"), ("4", None), ("5", None), ("6", "1"))
    todo = {"2", "3", "4", "5", "6"}
    batches = order(list(parents_first(iter(records), "parent_account_id", todo)))
    # 6's parent (1) is not loading in this pass (migrated earlier, or it will fail missing_parent): no wait.
    assert batches == [["4", "5", "6"], ["3"], ["2"]]


def test_a_parent_cycle_still_loads_every_record_once() -> None:
    records = staged(("1", "2"), ("2", "1"))
    batches = order(list(parents_first(iter(records), "parent_account_id", {"1", "2"})))
    assert sorted(i for batch in batches for i in batch) == ["1", "2"]


def test_entities_without_self_parents_keep_plain_batches(monkeypatch: Any) -> None:
    monkeypatch.setattr(load_stage, "BATCH", 2)
    records = staged(("1", "9"), ("2", None), ("3", None))
    assert order(list(parents_first(iter(records), None, {"1", "2", "3"}))) == [["1", "2"], ["3"]]
