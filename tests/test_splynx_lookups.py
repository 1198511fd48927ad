"""Lookups read from Splynx before loading: states/provinces (`subdivision_id`), customer labels."""

from __future__ import annotations

from typing import Any

from etl.errors import RecordProblem
from etl.preflight import ensure_customer_labels, read_subdivisions
from loaders.splynx_client import NotFound, UncertainWrite


class Lister:
    """A stand-in client whose `list` answers one collection."""

    def __init__(self, rows: list[dict[str, Any]] | None) -> None:
        self.rows = rows

    def list(self, path: str, **_: Any) -> list[dict[str, Any]]:
        if self.rows is None:
            raise NotFound(RecordProblem("splynx_not_found", f"Splynx has nothing at {path}"))
        return self.rows


def test_subdivisions_are_found_by_code_by_code_without_country_and_by_name() -> None:
    rows = [{"id": "44", "code": "TX", "name": "Texas"}, {"id": "28", "code": "US-NE", "name": "Nebraska"}]
    found = read_subdivisions(Lister(rows))  # type: ignore[arg-type]
    assert found["TX"] == found["TEXAS"] == "44"
    assert found["NE"] == found["US-NE"] == found["NEBRASKA"] == "28"


def test_a_splynx_without_the_list_gives_an_empty_lookup() -> None:
    assert read_subdivisions(Lister(None)) == {}  # type: ignore[arg-type]


class Labels:
    """A stand-in for Splynx's label collection; `lose_next` drops the answer of the next POST (applied)."""

    def __init__(self, *titles: str, lose_next: bool = False) -> None:
        self.rows = [{"id": str(i), "module": "customers", "label": t} for i, t in enumerate(titles, 1)]
        self.posts: list[dict[str, Any]] = []
        self.lose_next = lose_next

    def list(self, path: str, **_: Any) -> list[dict[str, Any]]:
        return list(self.rows)

    def create(self, path: str, body: dict[str, Any]) -> str:
        self.posts.append(body)
        self.rows.append({"id": str(len(self.rows) + 1), **body})
        if self.lose_next:
            self.lose_next = False
            raise UncertainWrite("no answer")
        return str(len(self.rows))


def test_labels_of_existing_titles_are_adopted_and_missing_ones_created() -> None:
    splynx = Labels("vip")
    found = ensure_customer_labels(splynx, ["VIP", "North Tower", " North Tower ", ""])  # type: ignore[arg-type]
    assert found == {"VIP": "1", "NORTH TOWER": "2"}
    assert splynx.posts == [{"module": "customers", "label": "North Tower"}]


def test_a_label_post_whose_answer_was_lost_is_found_by_its_title() -> None:
    splynx = Labels(lose_next=True)
    assert ensure_customer_labels(splynx, ["VIP"]) == {"VIP": "1"}  # type: ignore[arg-type]
    assert len(splynx.posts) == 1
