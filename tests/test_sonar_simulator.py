"""The Sonar simulator behaves like Sonar over real HTTP: auth, pages, filters, sorting, faults, mutations, data."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from etl.sandbox.sonar import DEFAULT_TOKEN, SonarSimulator, execute
from etl.sandbox.sonar_data import generate
from etl.sandbox.sonar_schema import load_schema
from etl.sandbox.sonar_store import LINKS
from tests.fixtures.services import free_port

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def post(sim: SonarSimulator, query: str, variables: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(sim.url, json={"query": query, "variables": variables}, headers=AUTH, timeout=10)


def data(sim: SonarSimulator, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = post(sim, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def account_ids(sim: SonarSimulator, args: str = "") -> list[int]:
    """Ids of every account matching `args`, in the order served, across all pages."""
    ids: list[int] = []
    page = 1
    while True:
        result = data(sim, f"{{ accounts({args} paginator: {{page: {page}, records_per_page: 1000}}) "
                           "{ entities { id } page_info { total_pages } } }")["accounts"]  # fmt: skip
        ids += [int(e["id"]) for e in result["entities"]]
        if page >= result["page_info"]["total_pages"]:
            return ids
        page += 1


def live_accounts(sim: SonarSimulator) -> list[dict[str, Any]]:
    return sim.store.accounts(include_archived=False)


# -- auth and errors ------------------------------------------------------------------------------


def test_request_without_token_is_refused_with_401(sonar_sim: SonarSimulator) -> None:
    response = requests.post(sonar_sim.url, json={"query": "{ accounts { entities { id } } }"}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_request_with_wrong_token_is_refused_with_401(sonar_sim: SonarSimulator) -> None:
    headers = {"Authorization": "Bearer not-the-token"}
    response = requests.post(sonar_sim.url, json={"query": "{ accounts { entities { id } } }"}, headers=headers)
    assert response.status_code == 401


def test_unknown_field_is_a_graphql_error_in_the_standard_envelope(sonar_sim: SonarSimulator) -> None:
    response = post(sonar_sim, "{ accounts { entities { id nickname } } }")
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"].startswith('Cannot query field "nickname" on type "Account".')  # + "Did you mean"
    assert error["locations"] == [{"line": 1, "column": 28}]
    assert error["extensions"] == {"category": "graphql"}


def test_ids_are_strings_and_money_is_integer_cents(sonar_sim: SonarSimulator) -> None:
    services = data(sonar_sim, "{ services(type: DATA) { entities { id name amount data_service_detail "
                               "{ download_speed_kilobits_per_second } } } }")["services"]["entities"]  # fmt: skip
    fiber = next(s for s in services if s["name"] == "Fiber 100")
    assert isinstance(fiber["id"], str)
    assert fiber["amount"] == 4999
    assert fiber["data_service_detail"]["download_speed_kilobits_per_second"] == 100_000
    assert len(services) == 8  # 7 monthly plans and "Fiber 300 Annual"


def test_ids_are_accepted_as_integers_or_strings(sonar_sim: SonarSimulator) -> None:
    as_int = data(sonar_sim, "{ accounts(id: 2) { entities { id } } }")
    as_string = data(sonar_sim, '{ accounts(id: "2") { entities { id } } }')
    as_variable = data(sonar_sim, "query($id: Int64Bit) { accounts(id: $id) { entities { id } } }", {"id": "2"})
    assert as_int == as_string == as_variable == {"accounts": {"entities": [{"id": "2"}]}}


# -- pagination -----------------------------------------------------------------------------------


def test_no_match_gives_an_empty_page(sonar_sim: SonarSimulator) -> None:
    result = data(sonar_sim, '{ accounts(name: "Nobody At All") { entities { id } page_info '
                             "{ page total_pages total_count records_per_page } } }")["accounts"]  # fmt: skip
    assert result == {
        "entities": [],
        "page_info": {"page": 1, "total_pages": 1, "total_count": 0, "records_per_page": 100},
    }


def test_one_match_gives_one_record_on_one_page(sonar_sim: SonarSimulator) -> None:
    result = data(sonar_sim, "{ accounts(id: 7) { entities { id } page_info { total_pages total_count } } }")
    assert result["accounts"] == {"entities": [{"id": "7"}], "page_info": {"total_pages": 1, "total_count": 1}}


def test_exactly_one_full_page_has_no_second_page(sonar_sim: SonarSimulator) -> None:
    total = len(live_accounts(sonar_sim))
    query = "query($p: Int!, $n: Int!) { accounts(paginator: {page: $p, records_per_page: $n}) "
    query += "{ entities { id } page_info { total_pages total_count } } }"
    first = data(sonar_sim, query, {"p": 1, "n": total})["accounts"]
    assert len(first["entities"]) == total
    assert first["page_info"] == {"total_pages": 1, "total_count": total}
    assert data(sonar_sim, query, {"p": 2, "n": total})["accounts"]["entities"] == []


def test_many_pages_serve_every_account_exactly_once_in_id_order(sonar_sim: SonarSimulator) -> None:
    seen: list[int] = []
    for page in range(1, 9):
        result = data(sonar_sim, f"{{ accounts(paginator: {{page: {page}, records_per_page: 7}}) "
                                 "{ entities { id } page_info { total_pages } } }")["accounts"]  # fmt: skip
        assert result["page_info"]["total_pages"] == 7  # 49 live accounts
        seen += [int(e["id"]) for e in result["entities"]]
    assert seen == [a["id"] for a in live_accounts(sonar_sim)]


def test_default_page_size_is_100(sonar_sim: SonarSimulator) -> None:
    total = len(sonar_sim.store.tables["inventory_model_field_data"])
    assert total > 100
    result = data(sonar_sim, "{ inventory_model_field_data { entities { id } page_info "
                             "{ records_per_page total_pages } } }")["inventory_model_field_data"]  # fmt: skip
    assert len(result["entities"]) == 100
    assert result["page_info"] == {"records_per_page": 100, "total_pages": -(-total // 100)}


def test_more_than_1000_records_per_page_is_refused(sonar_sim: SonarSimulator) -> None:
    body = post(sonar_sim, "{ accounts(paginator: {page: 1, records_per_page: 1001}) { entities { id } } }").json()
    assert "1000" in body["errors"][0]["message"]
    assert body["data"] is None  # accounts is non-null, so the error nulls the whole answer
    ok = data(sonar_sim, "{ accounts(paginator: {page: 1, records_per_page: 1000}) { entities { id } } }")
    assert len(ok["accounts"]["entities"]) == len(live_accounts(sonar_sim))


def test_nested_connections_are_paginated_and_filtered_too(sonar_sim: SonarSimulator) -> None:
    owner = next(a["id"] for a in live_accounts(sonar_sim) if len(sonar_sim.store.children(a["id"], "contacts")) > 1)
    result = data(sonar_sim, f"{{ accounts(id: {owner}) {{ entities {{ contacts(paginator: {{page: 1, "
                             "records_per_page: 1}, primary: true) { entities { primary } page_info "
                             "{ total_count } } } } }")  # fmt: skip
    contacts = result["accounts"]["entities"][0]["contacts"]
    assert contacts == {"entities": [{"primary": True}], "page_info": {"total_count": 1}}


# -- filters --------------------------------------------------------------------------------------


def test_exact_match_column_argument(sonar_sim: SonarSimulator) -> None:
    expected = [a["id"] for a in live_accounts(sonar_sim) if a["account_status_id"] == 3]
    assert expected
    assert account_ids(sonar_sim, "account_status_id: 3") == expected


def test_string_search_partial_exact_and_negated(sonar_sim: SonarSimulator) -> None:
    name = live_accounts(sonar_sim)[10]["name"]
    fragment = name.split()[-1][1:4].upper()  # case-insensitive substring
    partial = account_ids(sonar_sim, f'search: [{{string_fields: [{{attribute: "name", search_value: "{fragment}", '
                                     "match: true}]}]")  # fmt: skip
    assert partial == [a["id"] for a in live_accounts(sonar_sim) if fragment.lower() in a["name"].lower()]
    exact = account_ids(sonar_sim, f'search: {{string_fields: {{attribute: "name", search_value: "{name}", '
                                   "match: true, partial_matching: false}}")  # fmt: skip
    assert exact == [a["id"] for a in live_accounts(sonar_sim) if a["name"] == name]
    negated = account_ids(sonar_sim, f'search: {{string_fields: {{attribute: "name", search_value: "{fragment}", '
                                     "match: false}}")  # fmt: skip
    assert sorted(negated + partial) == [a["id"] for a in live_accounts(sonar_sim)]


def test_integer_search_with_range_operators(sonar_sim: SonarSimulator) -> None:
    checks: dict[str, Callable[[int], bool]] = {"GT": lambda v: v > 20, "LTE": lambda v: v <= 20,
                                                 "NEQ": lambda v: v != 20}  # fmt: skip
    for operator, check in checks.items():
        got = account_ids(sonar_sim, f'search: {{integer_fields: {{attribute: "id", search_value: 20, '
                                     f"operator: {operator}}}}}")  # fmt: skip
        assert got == [a["id"] for a in live_accounts(sonar_sim) if check(a["id"])], operator


def test_datetime_search_finds_accounts_updated_since(sonar_sim: SonarSimulator) -> None:
    cutoff = "2022-01-01T00:00:00-06:00"
    got = account_ids(sonar_sim, f'search: {{datetime_fields: {{attribute: "updated_at", search_value: "{cutoff}", '
                                 "operator: GTE}}")  # fmt: skip
    expected = [a["id"] for a in live_accounts(sonar_sim) if a["updated_at"] >= "2022-01-01T06:00:00+00:00"]
    assert got == expected
    assert 0 < len(got) < len(live_accounts(sonar_sim))


def test_boolean_search(sonar_sim: SonarSimulator) -> None:
    got = account_ids(sonar_sim, 'search: {boolean_fields: {attribute: "is_delinquent", search_value: true}}')
    assert got == [a["id"] for a in live_accounts(sonar_sim) if a["is_delinquent"]]
    assert got


def test_fields_in_one_search_are_anded_and_searches_are_ored(sonar_sim: SonarSimulator) -> None:
    both = account_ids(sonar_sim, 'search: [{integer_fields: [{attribute: "id", search_value: 10, operator: LTE}, '
                                  '{attribute: "account_status_id", search_value: 1, operator: EQ}]}]')  # fmt: skip
    assert both == [a["id"] for a in live_accounts(sonar_sim) if a["id"] <= 10 and a["account_status_id"] == 1]
    low = '{integer_fields: {attribute: "id", search_value: 3, operator: LTE}}'
    high = '{integer_fields: {attribute: "id", search_value: 47, operator: GTE}}'
    either = account_ids(sonar_sim, f"search: [{low}, {high}]")
    assert either == [a["id"] for a in live_accounts(sonar_sim) if a["id"] <= 3 or a["id"] >= 47]


def test_search_on_an_unknown_attribute_is_an_error(sonar_sim: SonarSimulator) -> None:
    body = post(sonar_sim, '{ accounts(search: {string_fields: {attribute: "colour", search_value: "x", match: true}})'
                           " { entities { id } } }").json()  # fmt: skip
    assert '"colour"' in body["errors"][0]["message"]


def test_reverse_relation_filter_finds_accounts_with_a_static_ip(sonar_sim: SonarSimulator) -> None:
    with_ip = account_ids(sonar_sim, 'reverse_relation_filters: {relation: "ip_assignments"}')
    expected = [a["id"] for a in live_accounts(sonar_sim) if sonar_sim.store.children(a["id"], "ip_assignments")]
    assert with_ip == expected
    assert expected
    without_ip = account_ids(sonar_sim, 'reverse_relation_filters: {relation: "ip_assignments", is_empty: true}')
    assert sorted(with_ip + without_ip) == [a["id"] for a in live_accounts(sonar_sim)]


def test_reverse_relation_filter_with_search_and_dotted_relation(sonar_sim: SonarSimulator) -> None:
    email = sonar_sim.store.children(12, "contacts")[0]["email_address"]
    by_email = account_ids(sonar_sim, 'reverse_relation_filters: {relation: "contacts", search: {string_fields: '
                                      f'{{attribute: "email_address", search_value: "{email}", match: true}}}}}}')
    assert by_email == [12]
    phone = sonar_sim.store.all("phone_numbers")[-1]
    contact = sonar_sim.store.get("contacts", phone["contact_id"])
    by_phone = account_ids(sonar_sim, 'reverse_relation_filters: {relation: "contacts.phone_numbers", search: '
                                      f'{{string_fields: {{attribute: "number", search_value: "{phone["number"]}", '
                                      "match: true}}}")  # fmt: skip
    assert by_phone == [contact["contactable_id"]]


def test_reverse_relation_filter_groups_are_ored(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    got = account_ids(sonar_sim, 'reverse_relation_filters: [{relation: "ip_assignments", group: "a"}, '
                                 '{relation: "account_groups", group: "b"}]')  # fmt: skip
    expected = [a["id"] for a in live_accounts(sonar_sim)
                if store.children(a["id"], "ip_assignments") or store.children(a["id"], "account_groups")]  # fmt: skip
    assert got == expected


# -- sorting and archived -------------------------------------------------------------------------


def test_sorter_orders_by_attribute_and_direction(sonar_sim: SonarSimulator) -> None:
    got = account_ids(sonar_sim, 'sorter: [{attribute: "name", direction: DESC}]')
    by_name = sorted(live_accounts(sonar_sim), key=lambda a: a["name"], reverse=True)
    assert [sonar_sim.store.get("accounts", i)["name"] for i in got] == [a["name"] for a in by_name]
    two_keys = account_ids(sonar_sim, 'sorter: [{attribute: "account_status_id", direction: ASC}, '
                                      '{attribute: "id", direction: DESC}]')  # fmt: skip
    expected = sorted(live_accounts(sonar_sim), key=lambda a: (a["account_status_id"], -a["id"]))
    assert two_keys == [a["id"] for a in expected]


def test_archived_accounts_are_hidden_unless_included(sonar_sim: SonarSimulator) -> None:
    archived = [a["id"] for a in sonar_sim.store.accounts() if a["archived_at"] is not None]
    assert 8 in archived
    assert not set(archived) & set(account_ids(sonar_sim))
    included = account_ids(sonar_sim, "include_archived: true")
    assert included == [a["id"] for a in sonar_sim.store.accounts()]


# -- faults and rate limits -----------------------------------------------------------------------


def test_burst_429_answers_with_retry_after_then_recovers(sonar_sim: SonarSimulator) -> None:
    sonar_sim.faults.burst_429 = 2
    sonar_sim.faults.retry_after_s = 3
    for _ in range(2):
        response = post(sonar_sim, "{ accounts { page_info { total_count } } }")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
    assert post(sonar_sim, "{ accounts { page_info { total_count } } }").status_code == 200


def test_rate_limiter_answers_429_when_exceeded(sonar_sim: SonarSimulator) -> None:
    sonar_sim.rate_limiter.per_second = 2
    statuses = [post(sonar_sim, "{ roles { entities { id } } }").status_code for _ in range(6)]
    assert 429 in statuses
    limited = next(r for r in (post(sonar_sim, "{ roles { entities { id } } }") for _ in range(6))
                   if r.status_code == 429)  # fmt: skip
    assert float(limited.headers["Retry-After"]) > 0
    sonar_sim.rate_limiter.per_second = None
    assert post(sonar_sim, "{ roles { entities { id } } }").status_code == 200


def test_error_rate_gives_server_errors(sonar_sim: SonarSimulator) -> None:
    sonar_sim.faults.error_rate = 1.0
    assert post(sonar_sim, "{ roles { entities { id } } }").status_code == 500
    sonar_sim.faults.error_rate = 0.0
    assert post(sonar_sim, "{ roles { entities { id } } }").status_code == 200


def test_dropped_connection_mid_response(sonar_sim: SonarSimulator) -> None:
    sonar_sim.faults.drop_next = 1
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        post(sonar_sim, "{ accounts { entities { id name } } }")
    assert post(sonar_sim, "{ accounts { entities { id name } } }").status_code == 200


# -- data -----------------------------------------------------------------------------------------


def _everything_query(root: str) -> str:
    """A query selecting every leaf field of a root collection's entities."""
    schema = load_schema()
    query_type = schema.query_type
    assert query_type is not None
    connection = get_named_type(query_type.fields[root].type)
    assert isinstance(connection, GraphQLObjectType)
    entity = get_named_type(connection.fields["entities"].type)
    assert isinstance(entity, GraphQLObjectType)
    leaves = " ".join(n for n, f in entity.fields.items() if is_leaf_type(get_named_type(f.type)))
    archived = ", include_archived: true" if root == "accounts" else ""
    return f"{{ {root}(paginator: {{page: 1, records_per_page: 1000}}{archived}) {{ entities {{ {leaves} }} }} }}"


def test_every_field_of_every_record_resolves_without_error() -> None:
    store = generate(60, seed=7)
    schema = load_schema()
    assert schema.query_type is not None
    for root in schema.query_type.fields:
        result = execute(store, {"query": _everything_query(root)})
        assert "errors" not in result, (root, result.get("errors"))
        assert len(result["data"][root]["entities"]) == min(len(store.tables[root]), 1000), root


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    query = "{ accounts(include_archived: true, paginator: {page: 1, records_per_page: 1000}) { entities { id name "
    query += "updated_at contacts { entities { name email_address } } addresses { entities { line1 zip } } } } }"
    first, second, other = (execute(generate(40, seed), {"query": query}) for seed in (5, 5, 6))
    assert first == second
    assert first != other


def test_data_has_a_realistic_mix(sonar_sim: SonarSimulator) -> None:
    store = generate(400, seed=42)
    statuses = [a["account_status_id"] for a in store.accounts()]
    assert statuses.count(1) > 0.6 * len(statuses)
    assert {2, 3, 4} <= set(statuses)
    assert {a["account_type_id"] for a in store.accounts()} == {1, 2}
    assert store.tables["ip_assignments"] and store.tables["inventory_items"]
    per_account = [len(store.children(a["id"], "contacts")) for a in store.accounts()]
    assert min(per_account) == 1 and max(per_account) == 3
    macs = [d["value"] for d in store.all("inventory_model_field_data") if d["inventory_model_field_id"] % 2]
    assert len(macs) == len(set(macs))


def test_problem_records_exist_as_documented(sonar_sim: SonarSimulator) -> None:
    problems = sonar_sim.store.problem_account_ids
    assert set(problems) == {"primary_contact_without_email", "name_too_long", "duplicate_login",
                             "duplicate_login_original"}  # fmt: skip
    query = "query($id: Int64Bit) { accounts(id: $id) { entities { name contacts(primary: true) "
    query += "{ entities { email_address username } } } } }"

    def account(reason: str) -> dict[str, Any]:
        found: dict[str, Any] = data(sonar_sim, query, {"id": problems[reason]})["accounts"]["entities"][0]
        return found

    assert account("primary_contact_without_email")["contacts"]["entities"][0]["email_address"] is None
    assert len(account("name_too_long")["name"]) > 255
    original = account("duplicate_login_original")["contacts"]["entities"][0]["username"]
    assert account("duplicate_login")["contacts"]["entities"][0]["username"] == original


# -- mutations ------------------------------------------------------------------------------------


def test_update_account_bumps_updated_at_and_version(sonar_sim: SonarSimulator) -> None:
    query = "{ accounts(id: 9) { entities { name updated_at _version } } }"
    before = data(sonar_sim, query)["accounts"]["entities"][0]
    sonar_sim.store.update_account(9, name="Renamed Customer")
    after = data(sonar_sim, query)["accounts"]["entities"][0]
    assert after["name"] == "Renamed Customer"
    assert after["updated_at"] > before["updated_at"]
    assert int(after["_version"]) == int(before["_version"]) + 1
    since = account_ids(sonar_sim, f'search: {{datetime_fields: {{attribute: "updated_at", '
                                   f'search_value: "{before["updated_at"]}", operator: GT}}}}')  # fmt: skip
    assert 9 in since


def test_add_delete_and_archive_accounts(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    new_id = store.add_account(
        "Brand New Customer",
        contacts=[{"name": "Brand New", "email_address": "new@example.com", "primary": True,
                   "phone_numbers": [{"number": "5125550100", "phone_number_type_id": 1}]}],
        addresses=[{"line1": "1 Main St", "city": "Austin", "subdivision": "US_TX", "zip": "78701"}],
    )  # fmt: skip
    got = data(sonar_sim, f"{{ accounts(id: {new_id}) {{ entities {{ name account_status {{ name }} contacts "
                          "{ entities { email_address phone_numbers { entities { number } } } } "
                          "addresses { entities { city } } } } }")["accounts"]["entities"]  # fmt: skip
    assert got == [{"name": "Brand New Customer", "account_status": {"name": "Active"},
                    "contacts": {"entities": [{"email_address": "new@example.com",
                                               "phone_numbers": {"entities": [{"number": "5125550100"}]}}]},
                    "addresses": {"entities": [{"city": "Austin"}]}}]  # fmt: skip
    store.archive_account(new_id)
    assert new_id not in account_ids(sonar_sim)
    assert new_id in account_ids(sonar_sim, "include_archived: true")
    contact_count = len(store.tables["contacts"])
    store.delete_account(new_id)
    assert new_id not in account_ids(sonar_sim, "include_archived: true")
    assert len(store.tables["contacts"]) == contact_count - 1


def test_deleting_an_account_returns_its_devices_to_stock_and_its_ips_to_the_pool(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    devices = LINKS[("Address", "inventory_items")]

    def has_ip_and_device(account_id: int) -> bool:
        addresses = store.children(account_id, "addresses")
        return bool(store.children(account_id, "ip_assignments")) and any(
            store.follow("addresses", devices, address) for address in addresses
        )

    owner = next(a["id"] for a in store.accounts() if has_ip_and_device(a["id"]))
    pool_id = store.children(owner, "ip_assignments")[0]["ip_pool_id"]
    free_before = store.get("ip_pools", pool_id)["ips_available"]
    store.delete_account(owner)
    assert store.get("ip_pools", pool_id)["ips_available"] == free_before + 1
    addresses = set(store.tables["addresses"])
    for item in store.all("inventory_items"):
        if item["inventoryitemable_type"] == "Address":
            assert item["inventoryitemable_id"] in addresses


def test_admin_endpoints_mutate_and_inject_faults(sonar_sim: SonarSimulator) -> None:
    admin = sonar_sim.base_url + "/_admin"
    assert requests.post(f"{admin}/accounts", json={"name": "Over HTTP"}).status_code == 401
    created = requests.post(f"{admin}/accounts", json={"name": "Over HTTP"}, headers=AUTH)
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert requests.patch(f"{admin}/accounts/{new_id}", json={"name": "Patched"}, headers=AUTH).ok
    assert sonar_sim.store.get("accounts", int(new_id))["name"] == "Patched"
    assert requests.patch(f"{admin}/accounts/{new_id}", json={"colour": "x"}, headers=AUTH).status_code == 422
    assert requests.post(f"{admin}/faults", json={"burst_429": 1}, headers=AUTH).ok
    assert post(sonar_sim, "{ roles { entities { id } } }").status_code == 429
    assert requests.get(f"{admin}/problems", headers=AUTH).json() == sonar_sim.store.problem_account_ids


def test_module_serves_until_terminated() -> None:
    port = free_port()
    command = [sys.executable, "-m", "etl.sandbox.sonar", "--customers", "5", "--port", str(port), "--token", "t0k"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}/api/graphql" in process.stdout.readline()
        response = requests.post(f"http://127.0.0.1:{port}/api/graphql", headers={"Authorization": "Bearer t0k"},
                                 json={"query": "{ accounts { page_info { total_count } } }"}, timeout=10)  # fmt: skip
        assert response.json() == {"data": {"accounts": {"page_info": {"total_count": 5}}}}
    finally:
        process.terminate()
        started = time.monotonic()
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
