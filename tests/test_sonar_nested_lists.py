"""Nested lists (an account's addresses, contacts, IP assignments...) are never cut at one nested page.

A nested connection returns one page (the query files ask for 100 and `page_info`): a longer list is
paged for its one parent, and a list that is still short stops the run in one line that names the
parent, the list and both counts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, print_ast, validate

from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_schema import load_schema
from extractors import sonar_queries as q
from extractors.sonar import IncompleteList, SonarClient, SonarExtractor

REAL_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "api" / "sonar.graphql"

ADDRESSES = 250  # three nested pages of 100
ASSIGNMENTS = 130


def _extractor(sim: SonarSimulator) -> SonarExtractor:
    return SonarExtractor(SonarClient(sim.url, sim.token, max_wait=0.2), page_size=10)


def _big_account(sim: SonarSimulator) -> int:
    store = sim.store
    account_id = store.add_account("Big Business", contacts=[{"name": "Owner", "primary": True}])
    for n in range(ADDRESSES):
        store.insert("addresses", addressable_id=account_id, addressable_type="Account", line1=f"{n} Main St")
    for n in range(ASSIGNMENTS):
        store.insert(
            "ip_assignments", ipassignmentable_id=account_id, ipassignmentable_type="Account",
            subnet=f"198.18.{60 + n // 250}.{n % 250 + 1}/32", subnet_id=1,
        )  # fmt: skip
    return account_id


def test_account_with_more_nested_records_than_one_page_is_read_whole(sonar_sim: SonarSimulator) -> None:
    account_id = _big_account(sonar_sim)
    with _extractor(sonar_sim) as extractor:
        [record] = [r for page in extractor.fetch_by_ids("account", [str(account_id)]) for r in page.records]
        everyone = {str(r["id"]): r for page in extractor.pages("account") for r in page.records}

    for seen in (record, everyone[str(account_id)]):
        addresses = [a["id"] for a in seen["addresses"]["entities"]]
        assert len(addresses) == len(set(addresses)) == ADDRESSES
        assert len(seen["ip_assignments"]["entities"]) == ASSIGNMENTS
        assert "page_info" not in seen["addresses"]  # staged in the same shape as before


def test_account_service_gets_all_ip_assignments_of_its_account(sonar_sim: SonarSimulator) -> None:
    account_id = _big_account(sonar_sim)
    sonar_sim.store.insert("account_services", account_id=account_id, service_id=1, quantity=1)
    with _extractor(sonar_sim) as extractor:
        services = [r for page in extractor.fetch_where("account_service", "account_id", [str(account_id)])
                    for r in page.records]  # fmt: skip
    assert services and all(len(s["ip_assignments"]) == ASSIGNMENTS for s in services)


def test_a_nested_list_still_short_fails_loudly_naming_parent_and_counts(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    account_id = store.add_account(
        "Call Centre",
        contacts=[{"name": "Switchboard", "phone_numbers": [{"number": f"51255{n:05d}"} for n in range(101)]}],
    )
    with _extractor(sonar_sim) as extractor, pytest.raises(IncompleteList) as failure:
        list(extractor.fetch_by_ids("account", [str(account_id)]))
    line = failure.value.one_line()
    assert f"account {account_id}" in line and "contacts.phone_numbers" in line
    assert "101" in line and "100 were read" in line and "\n" not in line


@pytest.mark.parametrize(
    ("name", "connection"),
    [(n, c) for n in (*q.entities(), *q.AUXILIARY_QUERIES) for c in q.nested_connections(n)],
)
def test_nested_page_query_validates_against_both_schemas(name: str, connection: str) -> None:
    text = print_ast(q.nested_page_document(name, connection))
    assert validate(_real_schema(), parse(text)) == []
    assert validate(load_schema(), parse(text)) == []


@cache
def _real_schema() -> GraphQLSchema:
    return build_schema(REAL_SCHEMA.read_text(encoding="utf-8"))
