"""The Sonar simulator serves packages, their services, and account services added to an account as a package."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from etl.sandbox import sonar_data
from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator
from etl.sandbox.sonar_data import generate
from tests.test_sonar_simulator import data

CUSTOMERS = 300  # enough for each subscribed package to have a handful of subscribers

PACKAGES_QUERY = """{ packages(paginator: {page: 1, records_per_page: 100}) {
    page_info { total_count }
    entities { id sonar_unique_id name enabled rollup_services company_id created_at _version
      package_services { entities { id package_id quantity service_id service { id name type amount } } } } } }"""

ACCOUNT_SERVICES_QUERY = """query ($page: Int!) {
  account_services(paginator: {page: $page, records_per_page: 1000}) {
    page_info { total_pages }
    entities { id account_id service_id package_id unique_package_relationship_id package { id name } } } }"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SonarSimulator]:
    """One 300-customer simulator for the module: these tests only read."""
    simulator = SonarSimulator(customers=CUSTOMERS, seed=42, token=DEFAULT_TOKEN)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


def packages(sim: SonarSimulator) -> dict[str, dict[str, Any]]:
    body = data(sim, PACKAGES_QUERY)["packages"]
    assert body["page_info"]["total_count"] == len(body["entities"])
    return {p["name"]: p for p in body["entities"]}


def account_services(sim: SonarSimulator) -> list[dict[str, Any]]:
    """Every account service, across all pages."""
    found: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        body = data(sim, ACCOUNT_SERVICES_QUERY, {"page": page})["account_services"]
        found += body["entities"]
        pages, page = body["page_info"]["total_pages"], page + 1
    return found


def test_packages_are_listed_with_their_services(sim: SonarSimulator) -> None:
    served = packages(sim)
    assert set(served) == {"Home bundle", "Family bundle", "Gigabit bundle", "Business bundle"}
    assert [name for name, p in served.items() if not p["enabled"]] == ["Gigabit bundle"]
    assert served["Home bundle"]["rollup_services"] is True
    for package in served.values():
        members = package["package_services"]["entities"]
        assert {m["package_id"] for m in members} == {package["id"]}
        assert {m["quantity"] for m in members} == {1}
        assert all(m["service"]["id"] == m["service_id"] for m in members)
        types = sorted(m["service"]["type"] for m in members)
        assert types.count("DATA") == 1 and "RECURRING" in types and set(types) <= {"DATA", "RECURRING"}
        assert package["company_id"] == "1" and package["_version"] == "1"
    business = served["Business bundle"]["package_services"]["entities"]
    assert {m["service"]["name"] for m in business} == {"Business Fiber 500", "Static IP Address", "Router Rental"}


def test_packages_search_and_sort_like_other_roots(sim: SonarSimulator) -> None:
    disabled = data(sim, "{ packages(enabled: false) { entities { name } } }")["packages"]["entities"]
    assert disabled == [{"name": "Gigabit bundle"}]
    query = """{ packages(search: {string_fields: {attribute: "name", search_value: "bundle", match: true}},
                          sorter: {attribute: "name", direction: DESC}) { entities { name } } }"""
    names = [p["name"] for p in data(sim, query)["packages"]["entities"]]
    assert names == sorted(names, reverse=True) and len(names) == 4
    nested = """{ package_services(service_id: 8) { entities { package { name } } } }"""
    assert all(e["package"]["name"] for e in data(sim, nested)["package_services"]["entities"])


def test_tagged_account_services_share_one_relationship_holding_exactly_the_package_services(
    sim: SonarSimulator,
) -> None:
    served = {p["id"]: p for p in packages(sim).values()}
    relationships: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for subscription in account_services(sim):
        if subscription["package_id"] is None:
            assert (subscription["unique_package_relationship_id"], subscription["package"]) == (None, None)
            continue
        assert subscription["package"]["id"] == subscription["package_id"]
        relationships[subscription["unique_package_relationship_id"]].append(subscription)
    assert len(relationships) >= 10
    subscribed = set()
    for relationship, members in relationships.items():
        assert len({m["account_id"] for m in members}) == 1, relationship
        assert len({m["package_id"] for m in members}) == 1, relationship
        package = served[members[0]["package_id"]]
        wanted = sorted(s["service_id"] for s in package["package_services"]["entities"])
        assert sorted(m["service_id"] for m in members) == wanted
        subscribed.add(package["name"])
    assert subscribed == {"Home bundle", "Family bundle", "Gigabit bundle"}  # the Business bundle has no taker


def test_account_services_are_searched_by_package_id(sim: SonarSimulator) -> None:
    home = packages(sim)["Home bundle"]["id"]
    query = f"""{{ account_services(search: {{integer_fields: {{attribute: "package_id", search_value: {home},
        operator: EQ}}}}) {{ page_info {{ total_count }} entities {{ package_id }} }} }}"""
    body = data(sim, query)["account_services"]
    assert body["page_info"]["total_count"] > 0
    assert {e["package_id"] for e in body["entities"]} == {home}
    unset = """{ account_services(search: {unset_fields: ["package_id"]}) { page_info { total_count } } }"""
    everything = """{ account_services { page_info { total_count } } }"""
    untagged = data(sim, unset)["account_services"]["page_info"]["total_count"]
    assert 0 < untagged < data(sim, everything)["account_services"]["page_info"]["total_count"]


def test_packages_only_tag_services_that_were_generated_anyway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generating packages adds no account, account service or RADIUS account and changes no other value."""
    with_packages = generate(CUSTOMERS, seed=42)
    monkeypatch.setattr(sonar_data, "_packages", lambda tables, seed: None)
    without = generate(CUSTOMERS, seed=42)
    for table, rows in without.tables.items():
        if table in ("packages", "package_services"):
            continue
        assert rows.keys() == with_packages.tables[table].keys(), table
    tagged = 0
    for sid, subscription in with_packages.tables["account_services"].items():
        extra = {k: v for k, v in subscription.items() if without.tables["account_services"][sid].get(k) != v}
        assert set(extra) <= {"package_id", "unique_package_relationship_id"}
        tagged += bool(extra)
        assert "package_id" not in without.tables["account_services"][sid]
    assert tagged > 0
    assert all(with_packages.tables[t] == without.tables[t] for t in ("accounts", "radius_accounts", "services"))
    assert with_packages.tables["packages"] and not without.tables["packages"]
