"""The Sonar simulator serves network sites with their addresses and the IPs Sonar assigns to them."""

from __future__ import annotations

from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_data import generate
from tests.fixtures.sonar import SONAR_TEST_CUSTOMERS
from tests.test_sonar_simulator import data

SITES_QUERY = """{ network_sites(paginator: {page: 1, records_per_page: 100}) {
  page_info { total_count }
  entities { id name geopoint height_in_meters
    addresses { entities { addressable_type addressable_id line1 city subdivision latitude longitude } }
    ip_assignments { entities { subnet ipassignmentable_type ipassignmentable_id description } } } } }"""


def test_network_sites_are_served_with_addresses_and_their_own_ips(sonar_sim: SonarSimulator) -> None:
    answer = data(sonar_sim, SITES_QUERY)["network_sites"]
    sites = answer["entities"]
    assert answer["page_info"]["total_count"] == len(sites) == 3 + SONAR_TEST_CUSTOMERS // 100
    assert all(s["name"] and s["height_in_meters"] > 0 for s in sites)
    assert [s["geopoint"] is None for s in sites] == [False, True, False]  # site 2: only its address has coordinates
    assert [len(s["addresses"]["entities"]) for s in sites] == [1, 1, 0]  # site 3: its address was deleted
    for site in sites:
        for address in site["addresses"]["entities"]:
            assert (address["addressable_type"], address["addressable_id"]) == ("NetworkSite", site["id"])
        for ip in site["ip_assignments"]["entities"]:
            assert (ip["ipassignmentable_type"], ip["ipassignmentable_id"]) == ("NetworkSite", site["id"])
            assert ip["subnet"].startswith("198.19.19")  # the core infrastructure subnet, no pool
    assert [bool(s["ip_assignments"]["entities"]) for s in sites] == [True, True, False]


def test_site_ips_and_addresses_stay_out_of_accounts(sonar_sim: SonarSimulator) -> None:
    query = """{ accounts(paginator: {page: 1, records_per_page: 100}, include_archived: true) { entities {
      addresses { entities { addressable_type } } ip_assignments { entities { ipassignmentable_type } } } } }"""
    accounts = data(sonar_sim, query)["accounts"]["entities"]
    assert {a["addressable_type"] for acc in accounts for a in acc["addresses"]["entities"]} == {"Account"}
    assert {i["ipassignmentable_type"] for acc in accounts for i in acc["ip_assignments"]["entities"]} == {"Account"}


def test_more_customers_bring_more_sites_and_the_same_data_for_the_same_seed() -> None:
    assert len(generate(250).tables["network_sites"]) == 5
    assert generate(30).tables["network_sites"] == generate(30).tables["network_sites"]
    assignments = generate(250).tables["ip_assignments"].values()
    held = [a for a in assignments if a.get("ipassignmentable_type") == "NetworkSite"]
    subnets = [a["subnet"] for a in held]
    assert held and len(subnets) == len(set(subnets))
