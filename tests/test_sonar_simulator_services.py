"""The Sonar simulator serves every service type, voice numbers (DIDs) and IPs held by things other than accounts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from etl.sandbox import sonar_data
from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_data import DATA_SERVICE_IDS, SERVICE_IDS, generate
from etl.sandbox.sonar_store import SonarStore
from tests.test_sonar_simulator import data

SERVICES_QUERY = """{ services(paginator: {page: 1, records_per_page: 100}) { entities { id name type application amount
    data_service_detail { billing_frequency download_speed_kilobits_per_second technology_code }
    recurring_service_detail { billing_frequency service { name } }
    voice_service_detail { billing_frequency sub_type first_interval_in_seconds unlimited_local_minutes }
    expiring_service_detail { billing_frequency times_to_run } } } }"""


def _services(sim: SonarSimulator) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in data(sim, SERVICES_QUERY)["services"]["entities"]}


def test_every_service_type_is_served_with_its_detail_and_billing_frequency(sonar_sim: SonarSimulator) -> None:
    services = _services(sonar_sim)
    assert {s["type"] for s in services.values()} == {
        "DATA", "RECURRING", "ONETIME", "VOICE", "OVERAGE", "EXPIRING", "ADJUSTMENT"
    }  # fmt: skip
    annual = services["Fiber 300 Annual"]
    assert (annual["id"], annual["type"], annual["amount"]) == (str(SERVICE_IDS["Fiber 300 Annual"]), "DATA", 69999)
    assert annual["data_service_detail"] == {
        "billing_frequency": 12, "download_speed_kilobits_per_second": 300_000, "technology_code": "FIBER"
    }  # fmt: skip
    assert services["Fiber 100"]["data_service_detail"]["billing_frequency"] == 1
    wifi = services["Managed Wi-Fi (quarterly)"]
    assert (wifi["type"], wifi["amount"]) == ("RECURRING", 2997)
    assert wifi["recurring_service_detail"] == {
        "billing_frequency": 3,
        "service": {"name": "Managed Wi-Fi (quarterly)"},
    }
    for name in ("Static IP Address", "Router Rental"):
        assert services[name]["recurring_service_detail"]["billing_frequency"] == 1
    phone = services["Home Phone"]
    assert (phone["type"], phone["amount"], phone["data_service_detail"]) == ("VOICE", 2499, None)
    assert phone["voice_service_detail"]["billing_frequency"] == 1
    assert phone["voice_service_detail"]["sub_type"] == "VOICE"
    assert services["Equipment Installment (12 months)"]["expiring_service_detail"] == {
        "billing_frequency": 1, "times_to_run": 12
    }  # fmt: skip
    overage = services["Data Overage 50 GB"]
    assert (overage["type"], overage["amount"], overage["recurring_service_detail"]) == ("OVERAGE", 1000, None)
    assert services["Goodwill Credit"]["application"] == "CREDIT"
    assert services["Installation Fee"]["recurring_service_detail"] is None
    # Only the DATA services carry a data detail: the existing `services(type: DATA)` readers see 8 plans.
    assert {int(s["id"]) for s in services.values() if s["data_service_detail"]} == DATA_SERVICE_IDS


def test_the_detail_root_collections_are_served(sonar_sim: SonarSimulator) -> None:
    got = data(sonar_sim, "{ recurring_service_details { entities { service_id billing_frequency } } "
                          "voice_service_details { entities { service_id } } "
                          "expiring_service_details { entities { service_id } } "
                          "voice_providers { entities { name dids { page_info { total_count } } } } }")  # fmt: skip
    recurring = {int(r["service_id"]): r["billing_frequency"] for r in got["recurring_service_details"]["entities"]}
    assert recurring == {8: 1, 9: 1, SERVICE_IDS["Managed Wi-Fi (quarterly)"]: 3}
    assert [int(v["service_id"]) for v in got["voice_service_details"]["entities"]] == [SERVICE_IDS["Home Phone"]]
    assert len(got["expiring_service_details"]["entities"]) == 1
    provider = got["voice_providers"]["entities"][0]
    assert provider["dids"]["page_info"]["total_count"] == len(sonar_sim.store.tables["dids"]) > 0


def test_a_home_phone_account_has_its_did_through_did_assignments(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    assignment = next(iter(store.tables["did_assignments"].values()))
    query = "query($id: Int64Bit) { accounts(id: $id) { entities { account_services { entities { service_id } } "
    query += "did_assignments { entities { service_id did { number voice_provider { name } } service { type } } } } } }"
    account = data(sonar_sim, query, {"id": assignment["account_id"]})["accounts"]["entities"][0]
    dids = account["did_assignments"]["entities"]
    assert dids == [{
        "service_id": str(SERVICE_IDS["Home Phone"]),
        "did": {"number": store.tables["dids"][assignment["did_id"]]["number"],
                "voice_provider": {"name": "Bandwidth"}},
        "service": {"type": "VOICE"},
    }]  # fmt: skip
    number = dids[0]["did"]["number"]
    assert len(number) == 10 and number.isdigit()
    assert str(SERVICE_IDS["Home Phone"]) in {s["service_id"] for s in account["account_services"]["entities"]}
    by_number = data(sonar_sim, "query($n: String) { dids(number: $n) { entities { did_assignments { entities "
                                "{ account_id } } } } }", {"n": number})["dids"]["entities"]  # fmt: skip
    assert by_number == [{"did_assignments": {"entities": [{"account_id": str(assignment["account_id"])}]}}]


def test_did_numbers_are_unique() -> None:
    store = generate(2000, seed=3)
    numbers = [d["number"] for d in store.tables["dids"].values()]
    assert len(numbers) > 100
    assert len(numbers) == len(set(numbers))
    assert sorted(a["did_id"] for a in store.tables["did_assignments"].values()) == sorted(store.tables["dids"])


def test_radius_accounts_macs_and_devices_hold_ips_of_their_own(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    page = "paginator: {page: 1, records_per_page: 1000}"
    for root, holder_type in (("radius_accounts", "RadiusAccount"), ("uninventoried_mac_addresses",
                              "UninventoriedMacAddress"), ("inventory_items", "InventoryItem")):  # fmt: skip
        query = f"{{ {root}({page}) {{ entities {{ id ip_assignments {{ entities "
        query += "{ subnet ipassignmentable_type ipassignmentable_id ip_pool { name } } } } } }"
        holders = data(sonar_sim, query)[root]["entities"]
        held = [(h["id"], ip) for h in holders for ip in h["ip_assignments"]["entities"]]
        assert held, root
        for holder_id, ip in held:
            assert ip["ipassignmentable_type"] == holder_type
            assert ip["ipassignmentable_id"] == holder_id
            assert ip["subnet"].endswith("/32") and ":" not in ip["subnet"]
            assert ip["ip_pool"]["name"].startswith("Static pool")
        for record in store.tables["ip_assignments"].values():
            assert "account_service_id" not in record or record.get("ipassignmentable_type") is None
    # An account's own ip_assignments stay the account-held ones only.
    query = f"{{ accounts({page}, include_archived: true) {{ entities {{ ip_assignments {{ entities "
    query += "{ ipassignmentable_type } } } } }"
    types = {ip["ipassignmentable_type"] for a in data(sonar_sim, query)["accounts"]["entities"]
             for ip in a["ip_assignments"]["entities"]}  # fmt: skip
    assert types == {"Account"}
    subnets = [store.value("ip_assignments", r, "subnet") for r in store.tables["ip_assignments"].values()]
    assert len(subnets) == len(set(subnets))


def test_generated_shares_for_two_hundred_customers() -> None:
    store = generate(200)
    tables = store.tables
    per_service = Counter(s["service_id"] for s in tables["account_services"].values())
    data_accounts = {s["account_id"] for s in tables["account_services"].values() if s["service_id"] <= 7}
    assert 0.05 * len(data_accounts) <= per_service[SERVICE_IDS["Home Phone"]] <= 0.15 * len(data_accounts)
    assert per_service[SERVICE_IDS["Home Phone"]] == len(tables["did_assignments"]) == len(tables["dids"])
    assert 1 <= per_service[SERVICE_IDS["Managed Wi-Fi (quarterly)"]] <= 0.1 * len(data_accounts)
    assert 1 <= per_service[10] <= 0.1 * len(data_accounts)  # Installation Fee, one-time
    assert 2 <= per_service[SERVICE_IDS["Fiber 300 Annual"]] <= 10
    for name in ("Data Overage 50 GB", "Equipment Installment (12 months)", "Goodwill Credit"):
        assert per_service[SERVICE_IDS[name]] == 0
    annual = {s["account_id"] for s in tables["account_services"].values()
              if s["service_id"] == SERVICE_IDS["Fiber 300 Annual"]}  # fmt: skip
    assert not annual & data_accounts  # given to accounts that had no service
    for subscription in tables["account_services"].values():
        if subscription["service_id"] > 10:
            assert subscription["account_id"] > 10
            assert subscription["created_at"] == tables["accounts"][subscription["account_id"]]["created_at"]
    holders = Counter(store.value("ip_assignments", r, "ipassignmentable_type")
                      for r in tables["ip_assignments"].values())  # fmt: skip
    assert 0.02 * len(tables["radius_accounts"]) <= holders["RadiusAccount"] <= 0.08 * len(tables["radius_accounts"])
    macs = len(tables["uninventoried_mac_addresses"])
    assert 0.01 * macs <= holders["UninventoriedMacAddress"] <= 0.06 * macs
    assert 1 <= holders["InventoryItem"] <= 10
    logins = Counter(r["account_id"] for r in tables["radius_accounts"].values())
    assert all(logins[a] <= 1 for a in annual)


@pytest.fixture(scope="module")
def with_and_without() -> tuple[SonarStore, SonarStore]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sonar_data, "_more_services", lambda tables, seed: None)
        patch.setattr(sonar_data, "_network_sites", lambda tables, customers, seed: None)  # appends only too
        patch.setattr(sonar_data, "_loose_ips", lambda tables: None)  # as do these
        # histories bill every service, the later ones too: they only exist on top of the full set
        patch.setattr(sonar_data, "_transactions", lambda tables, seed: None)
        before = generate(200)
    return before, generate(200)


def test_pre_existing_records_are_unchanged(with_and_without: tuple[SonarStore, SonarStore]) -> None:
    before, after = with_and_without
    for table, rows in before.tables.items():
        assert set(rows) <= set(after.tables[table]), table
        for record_id, record in rows.items():
            expected = dict(record)
            if table == "ip_pools":  # the held IPs come from the pools: the free counts go down by as many
                new = [a for i, a in after.tables["ip_assignments"].items() if i not in before.tables["ip_assignments"]]
                expected["ips_available"] -= sum(1 for a in new if a["ip_pool_id"] == record_id)
            assert after.tables[table][record_id] == expected, (table, record_id)
    for account_id in range(1, 9):
        for relation in ("account_services", "radius_accounts", "ip_assignments", "uninventoried_mac_addresses"):
            assert after.children(account_id, relation) == before.children(account_id, relation)
    assert before.tables["dids"] == {} and before.tables["recurring_service_details"] == {}


def test_deleting_an_account_takes_the_ips_its_radius_accounts_hold() -> None:
    store = generate(200)
    held = next(a for a in store.tables["ip_assignments"].values() if a.get("ipassignmentable_type") == "RadiusAccount")
    radius = store.tables["radius_accounts"][held["ipassignmentable_id"]]
    pool_free = store.tables["ip_pools"][held["ip_pool_id"]]["ips_available"]
    store.delete_account(radius["account_id"])
    assert held["id"] not in store.tables["ip_assignments"]
    assert store.tables["ip_pools"][held["ip_pool_id"]]["ips_available"] > pool_free
    assert not [d for d in store.tables["did_assignments"].values() if d["account_id"] == radius["account_id"]]
