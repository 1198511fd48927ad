"""The Splynx simulator behaves like Splynx over real HTTP: auth, CRUD, search, 422s, faults, persistence."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from etl.sandbox.splynx import SplynxSimulator
from etl.sandbox.splynx_auth import signature
from tests.fixtures.services import free_port, port_open
from tests.fixtures.splynx import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    API_KEY,
    API_SECRET,
    SignedClient,
    next_nonce,
    signed_header,
)

CUSTOMERS = "admin/customers/customer"
TARIFFS = "admin/tariffs/internet"
NETWORKS = "admin/networking/ipv4"


def customer(**extra: Any) -> dict[str, Any]:
    return {"name": "Ada Lovelace", "partner_id": 1, "location_id": 1, **extra}


def tariff(**extra: Any) -> dict[str, Any]:
    return {"title": "Fiber 100", "speed_download": 102400, "speed_upload": 51200, "partners_ids": [1],
            "available_for_locations": [1], "price": "49.99", **extra}


def service(tariff_id: int, **extra: Any) -> dict[str, Any]:
    return {"tariff_id": tariff_id, "description": "Fiber 100", "start_date": "2024-01-01", "status": "active",
            **extra}


def errors_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()}


def internal_code(response: requests.Response) -> str:
    return str(response.json()["error"]["internal_code"])


# -- authentication ---------------------------------------------------------------------------------


def test_signed_request_is_accepted(splynx_client: SignedClient) -> None:
    response = splynx_client.get("admin/api/check")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_header_is_refused_with_missed_authorization_header(splynx_sim: SplynxSimulator) -> None:
    response = requests.get(splynx_sim.api_url + CUSTOMERS, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == {"message": "Authorization header is missing", "code": 401,
                                         "internal_code": "MISSED_AUTHORIZATION_HEADER"}


@pytest.mark.parametrize("header", [
    signed_header(secret="wrong-secret"),
    signed_header(key="other-key"),
    "Splynx-EA (key=sandbox-key&nonce=12)",
    "Basic c2FuZGJveC1rZXk6c2FuZGJveC1zZWNyZXQ=",
    "Bearer abc",
], ids=["wrong-secret", "wrong-key", "no-signature", "basic", "garbage"])
def test_bad_credentials_are_refused(splynx_sim: SplynxSimulator, header: str) -> None:
    response = requests.get(splynx_sim.api_url + CUSTOMERS, headers={"Authorization": header}, timeout=5)
    assert response.status_code == 401
    assert internal_code(response) == "UNAUTHORIZED"


def test_replayed_or_smaller_nonce_is_refused(splynx_sim: SplynxSimulator) -> None:
    url = splynx_sim.api_url + CUSTOMERS
    nonce = next_nonce()
    first = requests.get(url, headers={"Authorization": signed_header(nonce=nonce)}, timeout=5)
    replay = requests.get(url, headers={"Authorization": signed_header(nonce=nonce)}, timeout=5)
    smaller = requests.get(url, headers={"Authorization": signed_header(nonce=nonce - 5)}, timeout=5)
    assert (first.status_code, replay.status_code, smaller.status_code) == (200, 401, 401)
    assert "Nonce" in replay.json()["error"]["message"]


def test_wrong_signature_does_not_burn_the_nonce(splynx_sim: SplynxSimulator) -> None:
    url = splynx_sim.api_url + CUSTOMERS
    nonce = next_nonce()
    bad = requests.get(url, headers={"Authorization": signed_header(secret="x", nonce=nonce)}, timeout=5)
    good = requests.get(url, headers={"Authorization": signed_header(nonce=nonce)}, timeout=5)
    assert (bad.status_code, good.status_code) == (401, 200)


def _token(sim: SplynxSimulator, body: dict[str, Any]) -> requests.Response:
    return requests.post(sim.api_url + "admin/auth/tokens", json=body, timeout=5)


def _with_token(sim: SplynxSimulator, token: str, path: str = CUSTOMERS) -> requests.Response:
    return requests.get(sim.api_url + path, headers={"Authorization": f"Splynx-EA (access_token={token})"},
                        timeout=5)


def test_api_key_token_works_and_renews(splynx_sim: SplynxSimulator) -> None:
    nonce = next_nonce()
    issued = _token(splynx_sim, {"auth_type": "api_key", "key": API_KEY, "nonce": nonce,
                                 "signature": signature(API_KEY, API_SECRET, nonce)})
    assert issued.status_code == 201
    pair = issued.json()
    assert set(pair) >= {"access_token", "access_token_expiration", "refresh_token", "refresh_token_expiration"}
    assert pair["access_token_expiration"] > time.time()
    assert _with_token(splynx_sim, pair["access_token"]).status_code == 200
    renewed = requests.get(splynx_sim.api_url + "admin/auth/tokens/" + pair["refresh_token"], timeout=5)
    assert renewed.status_code == 200
    assert _with_token(splynx_sim, renewed.json()["access_token"]).status_code == 200
    assert _with_token(splynx_sim, pair["access_token"]).status_code == 401  # replaced by the renewal


def test_api_key_token_refuses_a_bad_signature(splynx_sim: SplynxSimulator) -> None:
    issued = _token(splynx_sim, {"auth_type": "api_key", "key": API_KEY, "nonce": next_nonce(), "signature": "AB"})
    assert issued.status_code == 401


def test_admin_token_works_and_logout_revokes_it(splynx_sim: SplynxSimulator) -> None:
    issued = _token(splynx_sim, {"auth_type": "admin", "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
    assert issued.status_code == 201
    pair = issued.json()
    created = requests.post(splynx_sim.api_url + CUSTOMERS, json=customer(),
                            headers={"Authorization": f"Splynx-EA (access_token={pair['access_token']})"}, timeout=5)
    assert created.status_code == 201
    assert splynx_sim.rows(CUSTOMERS)[0]["added_by"] == "admin"
    logout = requests.delete(splynx_sim.api_url + "admin/auth/tokens/" + pair["refresh_token"], timeout=5)
    assert logout.status_code == 204
    assert _with_token(splynx_sim, pair["access_token"]).status_code == 401


def test_admin_token_refuses_a_wrong_password(splynx_sim: SplynxSimulator) -> None:
    issued = _token(splynx_sim, {"auth_type": "admin", "login": ADMIN_LOGIN, "password": "nope"})
    assert issued.status_code == 401
    assert internal_code(issued) == "INVALID_USER"
    assert internal_code(_token(splynx_sim, {"auth_type": "session"})) == "INVALID_AUTH_TYPE"


def test_expired_and_garbage_tokens_are_refused(splynx_sim: SplynxSimulator) -> None:
    splynx_sim.auth.access_ttl_s = 0
    pair = _token(splynx_sim, {"auth_type": "admin", "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}).json()
    expired = _with_token(splynx_sim, pair["access_token"])
    assert expired.status_code == 401
    assert internal_code(expired) == "EXPIRED_ACCESS_TOKEN"
    garbage = _with_token(splynx_sim, "0123456789abcdef0123456789abcdef")
    assert garbage.status_code == 401
    assert internal_code(garbage) == "UNAUTHORIZED"


def test_forbidden_endpoint_answers_403(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.forbidden.add(TARIFFS)
    response = splynx_client.get(TARIFFS)
    assert response.status_code == 403
    assert internal_code(response) == "FORBIDDEN"


# -- CRUD for every entity ----------------------------------------------------------------------------


def _prepare(client: SignedClient) -> dict[str, int]:
    """Parents most entities need: a vendor, product, tariff, customer and a /24 network."""
    ids = {"vendor": client.create("admin/inventory/vendors", {"name": "Ubiquiti"})}
    ids["product"] = client.create("admin/inventory/products", {"name": "UAP", "vendor_id": ids["vendor"]})
    ids["tariff"] = client.create(TARIFFS, tariff())
    ids["customer"] = client.create(CUSTOMERS, customer(login="ada"))
    ids["network"] = client.create(NETWORKS, {"network": "10.1.0.0", "mask": 24, "title": "Static",
                                              "location_id": 1, "type_of_usage": "static"})
    return ids


CRUD_CASES: list[tuple[str, Any, dict[str, Any], str]] = [
    ("admin/administration/partners", lambda ids: {"name": "North"}, {"name": "North 2"}, "name"),
    ("admin/administration/locations", lambda ids: {"name": "Depot"}, {"name": "Depot 2"}, "name"),
    ("admin/administration/administrators",
     lambda ids: {"login": "ops", "name": "Ops", "email": "ops@example.com", "password": "pw"}, {"name": "Op"}, "name"),
    (TARIFFS, lambda ids: tariff(title="Fiber 200"), {"price": "12.34"}, "price"),
    (NETWORKS, lambda ids: {"network": "10.9.0.0", "mask": 16, "title": "Pool", "location_id": 1,
                            "network_type": "rootnet", "type_of_usage": "pool"}, {"title": "Pool B"}, "title"),
    ("admin/inventory/vendors", lambda ids: {"name": "MikroTik"}, {"name": "Mikrotik"}, "name"),
    ("admin/inventory/products", lambda ids: {"name": "hAP", "vendor_id": ids["vendor"]}, {"sold_price": 5},
     "sold_price"),
    ("admin/inventory/items", lambda ids: {"product_id": ids["product"], "barcode": "B-1", "serial_number": "S1"},
     {"mark": "used"}, "mark"),
    (CUSTOMERS, lambda ids: customer(name="Grace Hopper", email="grace@example.com"), {"status": "active"}, "status"),
    ("admin/customers/customer/{customer}/internet-services", lambda ids: service(ids["tariff"]),
     {"status": "stopped"}, "status"),
]
EXPECTED_UPDATE = {"name": None, "price": "12.3400", "title": "Pool B", "sold_price": "5.0000", "mark": "used",
                   "status": None}


@pytest.mark.parametrize(("path", "make", "change", "changed"), CRUD_CASES, ids=[c[0] for c in CRUD_CASES])
def test_crud_answers_with_splynx_status_codes(splynx_client: SignedClient, path: str, make: Any,
                                                change: dict[str, Any], changed: str) -> None:
    ids = _prepare(splynx_client)
    path = path.format(**ids)
    item_sep = "--" if path.endswith("internet-services") else "/"
    created = splynx_client.post(path, json=make(ids))
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert isinstance(new_id, int)
    item = f"{path}{item_sep}{new_id}"
    read = splynx_client.get(item)
    assert read.status_code == 200
    assert read.json()["id"] == str(new_id)
    assert "password" not in read.json()  # never returned, a service's RADIUS password included
    updated = splynx_client.put(item, json=change)
    assert updated.status_code == 202
    expected = EXPECTED_UPDATE[changed] or change[changed]
    assert splynx_client.get(item).json()[changed] == expected
    assert splynx_client.delete(item).status_code == 204
    gone = splynx_client.get(item)
    assert gone.status_code == 404
    assert internal_code(gone) == "NOT_FOUND"
    again = splynx_client.post(path, json=make(ids))
    assert again.json()["id"] == new_id + 1  # ids are never reused


def test_get_bodies_carry_numbers_as_strings_and_rows_keep_types(splynx_sim: SplynxSimulator,
                                                                  splynx_client: SignedClient) -> None:
    tariff_id = splynx_client.create(TARIFFS, tariff(price=9.5))
    body = splynx_client.get(f"{TARIFFS}/{tariff_id}").json()
    assert (body["id"], body["price"], body["speed_download"], body["partners_ids"]) == (
        str(tariff_id), "9.5000", "102400", ["1"])
    row = splynx_sim.rows(TARIFFS)[0]
    assert (row["id"], row["speed_download"], row["partners_ids"]) == (tariff_id, 102400, [1])


def test_seeded_install_has_partner_location_and_admin_only(splynx_client: SignedClient) -> None:
    assert [p["name"] for p in splynx_client.get("admin/administration/partners").json()] == ["Main"]
    assert [p["name"] for p in splynx_client.get("admin/administration/locations").json()] == ["Central"]
    assert [a["login"] for a in splynx_client.get("admin/administration/administrators").json()] == [ADMIN_LOGIN]
    assert splynx_client.get(CUSTOMERS).json() == []


def test_customer_brings_info_and_billing_records(splynx_client: SignedClient) -> None:
    cid = splynx_client.create(CUSTOMERS, customer())
    info = splynx_client.get(f"admin/customers/customer-info/{cid}")
    assert info.status_code == 200
    assert splynx_client.put(f"admin/customers/customer-info/{cid}", json={"birthday": "1990-05-01",
                                                                          "vat_id": "GB1"}).status_code == 202
    assert splynx_client.get(f"admin/customers/customer-info/{cid}").json()["birthday"] == "1990-05-01"
    billing = splynx_client.get(f"admin/customers/customer-billing/{cid}").json()
    assert (billing["customer_id"], billing["deposit"]) == (str(cid), "0.0000")
    assert splynx_client.put(f"admin/customers/customer-billing/{cid}", json={"billing_due": 21}).status_code == 202
    assert splynx_client.get(f"admin/customers/customer-billing/{cid}").json()["billing_due"] == "21"
    assert errors_of(splynx_client.put(f"admin/customers/customer-info/{cid}", json={"birthday": "1990-13-01"}))
    assert splynx_client.get("admin/customers/customer-info/999").status_code == 404


def test_customer_labels_are_ids_of_labels_created_under_config_labels(splynx_client: SignedClient) -> None:
    labels_path = "admin/config/labels"
    vip = splynx_client.create(labels_path, {"module": "customers", "label": "VIP", "color": "#68e637"})
    fiber = splynx_client.create(labels_path, {"module": "customers", "label": "Fiber"})
    listed = {(x["label"], x["color"], x["textColor"]) for x in splynx_client.get(labels_path).json()}
    assert listed == {("VIP", "#68e637", "#fff"), ("Fiber", "#357bf2", "#fff")}
    assert "label" in errors_of(splynx_client.post(labels_path, json={"module": "customers", "label": "vip"}))
    assert "module" in errors_of(splynx_client.post(labels_path, json={"label": "No module"}))
    cid = splynx_client.create(CUSTOMERS, customer(customer_labels=[vip, fiber]))
    labels = splynx_client.get(f"{CUSTOMERS}/{cid}").json()["customer_labels"]
    assert labels == [
        {"id": str(vip), "label": "VIP", "color": "#68e637"},
        {"id": str(fiber), "label": "Fiber", "color": "#357bf2"},
    ]
    refused = splynx_client.post(CUSTOMERS, json=customer(login="l2", customer_labels=[999]))
    assert "customer_labels" in errors_of(refused)


def test_states_provinces_are_listed_read_only_and_referenced_by_customers(splynx_client: SignedClient) -> None:
    states = splynx_client.get("admin/config/states-provinces").json()
    texas = next(s for s in states if s["code"] == "TX")
    assert texas["name"] == "Texas" and set(texas) == {"id", "code", "name", "date_changed", "is_default"}
    assert splynx_client.post("admin/config/states-provinces", json={"name": "X"}).status_code == 405
    cid = splynx_client.create(CUSTOMERS, customer(subdivision_id=texas["id"]))
    assert splynx_client.get(f"{CUSTOMERS}/{cid}").json()["subdivision_id"] == texas["id"]
    assert "subdivision_id" in errors_of(splynx_client.post(CUSTOMERS, json=customer(login="x2", subdivision_id=999)))


def test_internet_services_are_scoped_to_their_customer(splynx_client: SignedClient) -> None:
    ids = _prepare(splynx_client)
    other = splynx_client.create(CUSTOMERS, customer(login="bob"))
    sid = splynx_client.create(f"{CUSTOMERS}/{ids['customer']}/internet-services", service(ids["tariff"]))
    splynx_client.create(f"{CUSTOMERS}/{other}/internet-services", service(ids["tariff"]))
    assert splynx_client.get(f"{CUSTOMERS}/{other}/internet-services--{sid}").status_code == 404
    mine = splynx_client.get(f"{CUSTOMERS}/{ids['customer']}/internet-services").json()
    assert [s["id"] for s in mine] == [str(sid)]
    everyone = splynx_client.get(f"{CUSTOMERS}/0/internet-services",
                                 params={"main_attributes[tariff_id]": ids["tariff"]}).json()
    assert len(everyone) == 2
    assert {s["login"] for s in everyone} == {"ada", "bob"}  # service login defaults to the customer's
    assert splynx_client.post(f"{CUSTOMERS}/0/internet-services", json=service(ids["tariff"])).status_code == 405


def test_ipv4_network_lists_its_addresses_and_a_static_service_uses_one(splynx_client: SignedClient) -> None:
    ids = _prepare(splynx_client)
    net = ids["network"]
    listed = splynx_client.get(f"admin/networking/ipv4-ip/{net}").json()
    assert len(listed) == 256
    splynx_client.create(f"{CUSTOMERS}/{ids['customer']}/internet-services",
                         service(ids["tariff"], taking_ipv4=1, ipv4="10.1.0.7"))
    used = splynx_client.get("admin/networking/ipv4-ip", params={"main_attributes[ipv4_networks_id]": net,
                                                                  "main_attributes[is_used]": 1}).json()
    assert [(ip["ip"], ip["customer_id"]) for ip in used] == [("10.1.0.7", str(ids["customer"]))]
    by_address = splynx_client.put(f"admin/networking/ipv4-ip/{net}--10.1.0.9", json={"title": "router"})
    assert by_address.status_code == 202
    ip = splynx_client.get("admin/networking/ipv4-ip", params={"main_attributes[ip]": "10.1.0.9"}).json()[0]
    assert ip["title"] == "router"
    assert splynx_client.get(f"admin/networking/ipv4-ip/{net}--{ip['id']}").json()["ip"] == "10.1.0.9"
    # ipv4-ip has no POST: an IP's network is its path, and an unknown network is not found
    unknown = splynx_client.put(f"admin/networking/ipv4-ip/999--{ip['id']}", json={"title": "x"})
    assert unknown.status_code == 404
    assert splynx_client.get("admin/networking/ipv4-ip/999").json() == []
    assert "ip" in errors_of(splynx_client.put(f"admin/networking/ipv4-ip/{net}--{ip['id']}", json={"ip": "10.2.0.1"}))


def test_additional_field_definitions_crud(splynx_client: SignedClient) -> None:
    path = "admin/config/additional-fields/customers"
    created = splynx_client.post(path, json={"name": "sonar_id", "title": "Sonar ID", "type": "string",
                                             "is_unique": 1})
    assert created.status_code == 201
    assert created.json() == {"name": "sonar_id"}
    assert splynx_client.get(path + "--sonar_id").json()["is_unique"] == "1"
    assert splynx_client.put(path + "--sonar_id", json={"title": "Sonar account"}).status_code == 202
    assert [d["title"] for d in splynx_client.get(path).json()] == ["Sonar account"]
    schema = splynx_client.options(CUSTOMERS).json()
    assert schema["additional_attributes"][0]["name"] == "sonar_id"
    assert {"name": "name", "title": "Full name", "type": "string", "required": True} in schema["attributes"]
    assert splynx_client.delete(path + "--sonar_id").status_code == 204
    assert splynx_client.get(path + "--sonar_id").status_code == 404
    assert splynx_client.get("admin/config/additional-fields/nonsense").status_code == 404


# -- search, order, pagination, count ---------------------------------------------------------------


@pytest.fixture
def five_customers(splynx_client: SignedClient) -> list[int]:
    splynx_client.post("admin/config/additional-fields/customers",
                       json={"name": "sonar_id", "title": "Sonar ID", "type": "string"})
    names = ["Alice Smith", "Bob Jones", "Carol Smith", "Dan Brown", "Eve Smith"]
    return [splynx_client.create(CUSTOMERS, customer(name=n, login=n.split()[0].lower(),
                                                     status="active" if i % 2 else "new",
                                                     additional_attributes={"sonar_id": str(100 + i)}))
            for i, n in enumerate(names)]


@pytest.mark.parametrize(("params", "expected"), [
    ({"main_attributes[login]": "BOB"}, ["Bob Jones"]),
    ({"main_attributes[name][0]": "LIKE", "main_attributes[name][1]": "smith"},
     ["Alice Smith", "Carol Smith", "Eve Smith"]),
    ({"main_attributes[status]": "active"}, ["Bob Jones", "Dan Brown"]),
    ({"main_attributes[status][0]": "!=", "main_attributes[status][1]": "active"},
     ["Alice Smith", "Carol Smith", "Eve Smith"]),
    ({"main_attributes[id][0]": "BETWEEN", "main_attributes[id][1]": "2", "main_attributes[id][2]": "3"},
     ["Bob Jones", "Carol Smith"]),
    ({"main_attributes[id][0]": "IN", "main_attributes[id][1][0]": "1", "main_attributes[id][1][1]": "5"},
     ["Alice Smith", "Eve Smith"]),
    ({"main_attributes[id][0]": ">=", "main_attributes[id][1]": "4"}, ["Dan Brown", "Eve Smith"]),
    ({"main_attributes[id][0]": "<", "main_attributes[id][1]": "2"}, ["Alice Smith"]),
    ({"additional_attributes[sonar_id]": "103"}, ["Dan Brown"]),
    ({"order[name]": "DESC", "limit": "2"}, ["Eve Smith", "Dan Brown"]),
    ({"order[id]": "ASC", "limit": "2", "offset": "3"}, ["Dan Brown", "Eve Smith"]),
])
def test_search_order_and_pagination(splynx_client: SignedClient, five_customers: list[int],
                                     params: dict[str, str], expected: list[str]) -> None:
    response = splynx_client.get(CUSTOMERS, params=params)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == expected


def test_head_counts_matching_records(splynx_client: SignedClient, five_customers: list[int]) -> None:
    response = splynx_client.head(CUSTOMERS, params={"main_attributes[name][0]": "LIKE",
                                                     "main_attributes[name][1]": "Smith"})
    assert response.status_code == 204
    assert response.headers["X-total-count"] == "3"
    assert response.content == b""


def test_search_on_unknown_attribute_is_a_bad_request(splynx_client: SignedClient) -> None:
    response = splynx_client.get(CUSTOMERS, params={"main_attributes[shoe_size]": "9"})
    assert response.status_code == 400
    assert internal_code(response) == "BAD_REQUEST"


def test_wrong_methods_and_paths(splynx_client: SignedClient) -> None:
    assert splynx_client.put(CUSTOMERS, json={}).status_code == 400
    assert splynx_client.post(f"{CUSTOMERS}/1", json={}).status_code == 405
    assert splynx_client.get("admin/customers/nothing-here").status_code == 404


# -- validation (422) ----------------------------------------------------------------------------------


def test_required_fields_are_reported_per_entity(splynx_client: SignedClient) -> None:
    assert set(errors_of(splynx_client.post(CUSTOMERS, json={}))) == {"name", "partner_id", "location_id"}
    assert set(errors_of(splynx_client.post(TARIFFS, json={}))) == {
        "title", "partners_ids", "speed_download", "speed_upload", "available_for_locations"}
    assert set(errors_of(splynx_client.post(NETWORKS, json={}))) == {"network", "mask", "title", "location_id"}
    cid = splynx_client.create(CUSTOMERS, customer())
    assert set(errors_of(splynx_client.post(f"{CUSTOMERS}/{cid}/internet-services", json={}))) == {
        "tariff_id", "status", "description", "start_date"}
    assert errors_of(splynx_client.post(CUSTOMERS, json=customer(name="")))["name"] == "Full name cannot be blank."
    assert "name" in errors_of(splynx_client.put(f"{CUSTOMERS}/{cid}", json={"name": ""}))


@pytest.mark.parametrize(("field", "value"), [
    ("email", "not-an-email"), ("billing_email", "a@b.com, nope"), ("date_add", "2024-02-30"),
    ("date_add", "01/02/2024"), ("status", "archived"), ("category", "alien"), ("partner_id", "one"),
    ("name", "x" * 257), ("city", "x" * 33),
])
def test_customer_format_errors(splynx_client: SignedClient, field: str, value: str) -> None:
    assert field in errors_of(splynx_client.post(CUSTOMERS, json=customer(**{field: value})))
    assert splynx_client.get(CUSTOMERS).json() == []


def test_name_of_exactly_256_characters_is_accepted(splynx_client: SignedClient) -> None:
    # mysql-columns.tsv: customers.name varchar(256)
    assert splynx_client.post(CUSTOMERS, json=customer(name="x" * 256)).status_code == 201


def test_format_errors_on_networks_and_services(splynx_client: SignedClient) -> None:
    bad_net = {"network": "10.0.0.300", "mask": 24, "title": "x", "location_id": 1, "type_of_usage": "dhcp"}
    assert set(errors_of(splynx_client.post(NETWORKS, json=bad_net))) == {"network", "type_of_usage"}
    unaligned = {"network": "10.0.0.5", "mask": 24, "title": "x", "location_id": 1}
    assert "network" in errors_of(splynx_client.post(NETWORKS, json=unaligned))
    ids = _prepare(splynx_client)
    url = f"{CUSTOMERS}/{ids['customer']}/internet-services"
    assert "status" in errors_of(splynx_client.post(url, json=service(ids["tariff"], status="on")))
    assert "start_date" in errors_of(splynx_client.post(url, json=service(ids["tariff"], start_date="2024-1-1")))


@pytest.mark.parametrize(("path", "first", "second", "field"), [
    (CUSTOMERS, customer(login="ada"), customer(login="ADA"), "login"),
    (TARIFFS, tariff(), tariff(), "title"),
    ("admin/administration/administrators",
     {"login": "ops", "name": "a", "email": "a@x.io", "password": "p"},
     {"login": "ops", "name": "b", "email": "b@x.io", "password": "p"}, "login"),
    ("admin/administration/administrators",
     {"login": "a1", "name": "a", "email": "same@x.io", "password": "p"},
     {"login": "a2", "name": "b", "email": "same@x.io", "password": "p"}, "email"),
])
def test_unique_attributes(splynx_client: SignedClient, path: str, first: dict[str, Any], second: dict[str, Any],
                           field: str) -> None:
    splynx_client.create(path, first)
    assert "already been taken" in errors_of(splynx_client.post(path, json=second))[field]


def test_item_barcode_is_unique(splynx_client: SignedClient) -> None:
    ids = _prepare(splynx_client)
    splynx_client.create("admin/inventory/items", {"product_id": ids["product"], "barcode": "X1"})
    again = splynx_client.post("admin/inventory/items", json={"product_id": ids["product"], "barcode": "X1"})
    assert "barcode" in errors_of(again)
    blank = [splynx_client.post("admin/inventory/items", json={"product_id": ids["product"]}) for _ in range(2)]
    assert [r.status_code for r in blank] == [201, 201]  # blank barcodes do not collide


def test_unknown_references_are_refused(splynx_client: SignedClient) -> None:
    assert set(errors_of(splynx_client.post(CUSTOMERS, json=customer(partner_id=7, location_id=8)))) == {
        "partner_id", "location_id"}
    assert "partners_ids" in errors_of(splynx_client.post(TARIFFS, json=tariff(partners_ids=[1, 99])))
    assert "vendor_id" in errors_of(splynx_client.post("admin/inventory/products", json={"name": "a", "vendor_id": 5}))
    assert "product_id" in errors_of(splynx_client.post("admin/inventory/items", json={"product_id": 5}))
    assert "location_id" in errors_of(splynx_client.post(NETWORKS, json={"network": "10.0.0.0", "mask": 24,
                                                                          "title": "n", "location_id": 9}))
    ids = _prepare(splynx_client)
    assert "tariff_id" in errors_of(splynx_client.post(f"{CUSTOMERS}/{ids['customer']}/internet-services",
                                                       json=service(999)))
    assert "customer_id" in errors_of(splynx_client.post(f"{CUSTOMERS}/999/internet-services",
                                                         json=service(ids["tariff"])))


def test_tariff_must_be_offered_to_the_customers_partner(splynx_client: SignedClient) -> None:
    partner = splynx_client.create("admin/administration/partners", {"name": "Reseller"})
    tariff_id = splynx_client.create(TARIFFS, tariff(partners_ids=[partner]))
    cid = splynx_client.create(CUSTOMERS, customer())
    assert "tariff_id" in errors_of(splynx_client.post(f"{CUSTOMERS}/{cid}/internet-services",
                                                       json=service(tariff_id)))


def test_static_ipv4_must_lie_in_an_existing_network_and_be_free(splynx_client: SignedClient) -> None:
    ids = _prepare(splynx_client)
    url = f"{CUSTOMERS}/{ids['customer']}/internet-services"
    outside = splynx_client.post(url, json=service(ids["tariff"], taking_ipv4=1, ipv4="192.168.5.5"))
    assert "does not belong" in errors_of(outside)["ipv4"]
    assert "ipv4" in errors_of(splynx_client.post(url, json=service(ids["tariff"], taking_ipv4=1)))
    assert "ipv4" in errors_of(splynx_client.post(url, json=service(ids["tariff"], taking_ipv4=1, ipv4="10.1.0.255")))
    assert "ipv4" in errors_of(splynx_client.post(url, json=service(ids["tariff"], taking_ipv4=1, ipv4="10.1.0.999")))
    splynx_client.create(url, service(ids["tariff"], taking_ipv4=1, ipv4="10.1.0.10"))
    assert "already used" in errors_of(splynx_client.post(url, json=service(ids["tariff"], taking_ipv4=1,
                                                                             ipv4="10.1.0.10")))["ipv4"]


def test_additional_attributes_need_a_definition_and_respect_is_unique(splynx_client: SignedClient) -> None:
    undefined = splynx_client.post(CUSTOMERS, json=customer(additional_attributes={"sonar_id": "1"}))
    assert "additional_attributes.sonar_id" in errors_of(undefined)
    fields = "admin/config/additional-fields/customers"
    assert splynx_client.post(fields, json={"name": "sonar_id", "title": "Sonar ID", "type": "string",
                                            "is_unique": 1}).status_code == 201
    assert "name" in errors_of(splynx_client.post(fields, json={"name": "sonar_id", "title": "x", "type": "string"}))
    assert "name" in errors_of(splynx_client.post(fields, json={"name": "Bad Name", "title": "x", "type": "string"}))
    cid = splynx_client.create(CUSTOMERS, customer(additional_attributes={"sonar_id": "1"}))
    duplicate = splynx_client.post(CUSTOMERS, json=customer(additional_attributes={"sonar_id": "1"}))
    assert "already been taken" in errors_of(duplicate)["additional_attributes.sonar_id"]
    assert splynx_client.get(f"{CUSTOMERS}/{cid}").json()["additional_attributes"] == {"sonar_id": "1"}
    # the definition is per module: tariffs have no sonar_id
    assert "additional_attributes.sonar_id" in errors_of(
        splynx_client.post(TARIFFS, json=tariff(additional_attributes={"sonar_id": "1"})))


def test_typed_additional_attributes_are_validated(splynx_client: SignedClient) -> None:
    fields = "admin/config/additional-fields/services_internet"
    splynx_client.post(fields, json={"name": "vlan", "title": "VLAN", "type": "integer"})
    ids = _prepare(splynx_client)
    url = f"{CUSTOMERS}/{ids['customer']}/internet-services"
    bad = splynx_client.post(url, json=service(ids["tariff"], additional_attributes={"vlan": "ten"}))
    assert "additional_attributes.vlan" in errors_of(bad)
    assert splynx_client.post(url, json=service(ids["tariff"], additional_attributes={"vlan": 10})).status_code == 201


# -- delete guards -----------------------------------------------------------------------------------


def test_records_in_use_cannot_be_deleted(splynx_client: SignedClient) -> None:
    ids = _prepare(splynx_client)
    sid = splynx_client.create(f"{CUSTOMERS}/{ids['customer']}/internet-services", service(ids["tariff"]))
    for path in (f"{TARIFFS}/{ids['tariff']}", f"{CUSTOMERS}/{ids['customer']}", "admin/administration/partners/1",
                 f"admin/inventory/vendors/{ids['vendor']}"):
        refused = splynx_client.delete(path)
        assert refused.status_code == 400, path
        assert internal_code(refused) == "ENTITY_CANNOT_BE_DELETED"
    assert splynx_client.delete(f"{CUSTOMERS}/{ids['customer']}/internet-services--{sid}").status_code == 204
    assert splynx_client.delete(f"{TARIFFS}/{ids['tariff']}").status_code == 204
    assert splynx_client.delete(f"{CUSTOMERS}/{ids['customer']}").status_code == 204
    assert splynx_client.get(f"admin/customers/customer-info/{ids['customer']}").status_code == 404


# -- faults ------------------------------------------------------------------------------------------


def test_burst_429_carries_retry_after(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.faults.burst_429 = 2
    splynx_sim.faults.retry_after_s = 0.25
    answers = [splynx_client.get(CUSTOMERS) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert float(answers[0].headers["Retry-After"]) == 0.25
    assert internal_code(answers[0]) == "TOO_MANY_REQUESTS"


def test_rate_limiter_answers_429_when_exceeded(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.rate_limiter.per_second = 5
    codes = [splynx_client.get(CUSTOMERS).status_code for _ in range(12)]
    assert codes.count(429) >= 5
    limited = next(r for r in (splynx_client.get(CUSTOMERS) for _ in range(10)) if r.status_code == 429)
    assert float(limited.headers["Retry-After"]) > 0


def test_error_rate_answers_500_and_writes_nothing(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.faults.error_rate = 1.0
    response = splynx_client.post(CUSTOMERS, json=customer())
    assert response.status_code == 500
    assert internal_code(response) == "SERVER_ERROR"
    assert splynx_sim.rows(CUSTOMERS) == []


def test_dropped_write_is_committed_before_the_connection_dies(splynx_sim: SplynxSimulator,
                                                              splynx_client: SignedClient) -> None:
    splynx_sim.faults.drop_next = 1
    with pytest.raises(requests.ConnectionError):
        splynx_client.post(CUSTOMERS, json=customer(login="dropped"))
    found = splynx_client.get(CUSTOMERS, params={"main_attributes[login]": "dropped"}).json()
    assert [c["name"] for c in found] == ["Ada Lovelace"]


def test_dropped_read_just_drops(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.faults.drop_next = 1
    with pytest.raises(requests.ConnectionError):
        splynx_client.get(CUSTOMERS)
    assert splynx_client.get(CUSTOMERS).status_code == 200


def test_latency_delays_answers(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_sim.faults.latency_s = 0.2
    started = time.monotonic()
    splynx_client.get(CUSTOMERS)
    assert time.monotonic() - started >= 0.2


# -- persistence, reset, concurrency, CLI --------------------------------------------------------------


def test_state_survives_a_restart_on_the_same_db(splynx_db: Path) -> None:
    with SplynxSimulator(db_path=splynx_db) as sim:
        client = SignedClient(sim)
        first = client.create(CUSTOMERS, customer(login="keep"))
        client.delete(f"{CUSTOMERS}/{client.create(CUSTOMERS, customer(login='gone'))}")
        nonce = next_nonce()
        assert requests.get(sim.api_url + CUSTOMERS, headers={"Authorization": signed_header(nonce=nonce)},
                            timeout=5).status_code == 200
    assert [c["login"] for c in sim.rows(CUSTOMERS)] == ["keep"]  # readable while stopped
    with SplynxSimulator(db_path=splynx_db) as sim:
        client = SignedClient(sim)
        assert [c["login"] for c in client.get(CUSTOMERS).json()] == ["keep"]
        assert client.create(CUSTOMERS, customer(login="new")) == first + 2  # the deleted id stays burnt
        replay = requests.get(sim.api_url + CUSTOMERS, headers={"Authorization": signed_header(nonce=nonce)},
                              timeout=5)
        assert replay.status_code == 401


def test_reset_returns_to_the_seeded_install(splynx_sim: SplynxSimulator, splynx_client: SignedClient) -> None:
    splynx_client.create(CUSTOMERS, customer())
    splynx_client.create("admin/administration/partners", {"name": "Extra"})
    splynx_sim.faults.latency_s = 1.0
    splynx_sim.rate_limiter.per_second = 0.001
    splynx_sim.forbidden.add(CUSTOMERS)
    splynx_sim.reset()
    assert splynx_sim.faults.latency_s == 0
    assert splynx_sim.rows(CUSTOMERS) == []
    assert [p["name"] for p in splynx_sim.rows("admin/administration/partners")] == ["Main"]
    assert splynx_client.create(CUSTOMERS, customer()) == 1


def test_concurrent_writes_get_distinct_ids_and_unique_checks_hold(splynx_sim: SplynxSimulator) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        client = SignedClient(splynx_sim, access_token=token)
        codes = [client.post(CUSTOMERS, json=customer(login=f"c{i}-{j}")).status_code for j in range(5)]
        codes.append(client.post(CUSTOMERS, json=customer(login="contested")).status_code)
        with lock:
            results.extend(codes)

    # signed requests from several threads may reach the server out of nonce order: share a token instead
    token = _token(splynx_sim, {"auth_type": "admin", "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}).json()[
        "access_token"]
    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = splynx_sim.rows(CUSTOMERS)
    assert len({r["id"] for r in rows}) == len(rows)
    assert sum(1 for r in rows if r["login"] == "contested") == 1
    assert len(rows) == results.count(201)


def test_command_line_serves_until_killed(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "etl.sandbox.splynx", "--port", str(port), "--db",
                             str(tmp_path / "cli.db"), "--key", "k1", "--secret", "s1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", port, timeout=0.2):
            assert proc.poll() is None and time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.1)
        nonce = next_nonce()
        header = f"Splynx-EA (key=k1&nonce={nonce}&signature={signature('k1', 's1', nonce)})"
        response = requests.get(f"http://127.0.0.1:{port}/api/2.0/admin/api/check",
                                headers={"Authorization": header}, timeout=5)
        assert response.status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
