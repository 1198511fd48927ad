"""Every Sonar query the extractor sends validates against the REAL Sonar schema and the simulator's."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from etl.sandbox.sonar_schema import load_schema
from extractors import sonar_queries as q

REAL_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "api" / "sonar.graphql"
QUERY_FILES = sorted(q.QUERY_DIR.glob("*.graphql"))


@pytest.fixture(scope="module")
def real_schema() -> GraphQLSchema:
    if not REAL_SCHEMA.exists():
        pytest.fail(f"the real Sonar schema is missing at {REAL_SCHEMA}")
    return build_schema(REAL_SCHEMA.read_text(encoding="utf-8"))


def _errors(schema: GraphQLSchema, text: str) -> list[str]:
    return [e.message for e in validate(schema, parse(text))]


def test_there_is_one_query_file_per_entity_and_no_stray_file() -> None:
    names = {p.stem for p in QUERY_FILES}
    assert names == (set(q.entities()) - set(q.SHARED_QUERIES)) | set(q.AUXILIARY_QUERIES)
    assert set(q.SHARED_QUERIES.values()) <= names  # an entity read by another's query names an existing file


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_file_validates_against_the_real_sonar_schema(path: Path, real_schema: GraphQLSchema) -> None:
    assert _errors(real_schema, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_file_validates_against_the_simulator_schema(path: Path) -> None:
    assert _errors(load_schema(), path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("entity", q.entities())
def test_derived_id_query_validates_against_both_schemas(entity: str, real_schema: GraphQLSchema) -> None:
    text = q.id_query_text(entity)
    assert "entities {\n      id\n    }" in text
    assert _errors(real_schema, text) == []
    assert _errors(load_schema(), text) == []


def test_a_query_with_a_field_sonar_lacks_is_rejected(real_schema: GraphQLSchema) -> None:
    broken = q.query_text("account").replace("is_delinquent", "data_usage")
    assert any("data_usage" in message for message in _errors(real_schema, broken))


def test_each_query_reads_its_entity_root_field_with_pagination_variables() -> None:
    for entity in q.entities():
        text = q.query_text(entity)
        if entity in q.PER_ACCOUNT:  # core_transactions takes an account and a paginator, no search or sorter
            assert f"{q.root_field(entity)}(account_id: $account_id, paginator: $paginator)" in text
        else:
            assert f"{q.root_field(entity)}(paginator: $paginator, search: $search, sorter: $sorter" in text
        assert "page_info { page total_pages total_count records_per_page }" in text
