"""The Splynx simulator serves bundle tariffs and bundle services, and services that belong to a bundle."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.splynx import SignedClient
from tests.test_splynx_simulator import CUSTOMERS, TARIFFS, customer, errors_of, internal_code, service, tariff

BUNDLES = "admin/tariffs/bundle"
RECURRING = "admin/tariffs/recurring"


def bundle(**extra: Any) -> dict[str, Any]:
    """The smallest bundle tariff body the simulator accepts (the live OPTIONS' required attributes)."""
    return {"title": "Home bundle", "partners_ids": [1], "billing_types": ["recurring"],
            "available_for_locations": [1], "price": "59.99", **extra}  # fmt: skip


def bundle_service(bundle_id: int, **extra: Any) -> dict[str, Any]:
    return {"bundle_id": bundle_id, "status": "active", "description": "Home bundle", "start_date": "2024-01-01",
            "end_date": "0000-00-00", **extra}  # fmt: skip


def services_url(customer_id: int, kind: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{kind}-services"


@pytest.fixture
def plans(splynx_client: SignedClient) -> dict[str, int]:
    """An internet and a recurring tariff, and a bundle of both."""
    internet = splynx_client.create(TARIFFS, tariff())
    recurring = splynx_client.create(RECURRING, {"title": "Router Rental", "partners_ids": [1],
                                                 "available_for_locations": [1], "price": "8"})  # fmt: skip
    home = splynx_client.create(BUNDLES, bundle(internet_tariffs=[internet], custom_tariffs=[recurring]))
    return {"internet": internet, "recurring": recurring, "bundle": home}


@pytest.fixture
def ada(splynx_client: SignedClient) -> int:
    return splynx_client.create(CUSTOMERS, customer(login="ada"))


def test_bundle_tariff_is_created_read_updated_and_deleted(splynx_client: SignedClient,
                                                           plans: dict[str, int]) -> None:  # fmt: skip
    url = f"{BUNDLES}/{plans['bundle']}"
    body = splynx_client.get(url).json()
    assert (body["title"], body["price"], body["partners_ids"], body["billing_types"]) == (
        "Home bundle", "59.9900", ["1"], ["recurring"])  # fmt: skip
    assert (body["internet_tariffs"], body["custom_tariffs"], body["voice_tariffs"]) == (
        [str(plans["internet"])], [str(plans["recurring"])], [])  # fmt: skip
    assert body["service_description"] == "Home bundle"  # taken from the title, as for the other tariffs
    assert body["services"] == "0"
    assert splynx_client.put(url, json={"price": "64.5", "title": "Home bundle plus"}).status_code == 202
    assert [b["title"] for b in splynx_client.get(BUNDLES).json()] == ["Home bundle plus"]
    assert splynx_client.get(url).json()["price"] == "64.5000"
    assert splynx_client.delete(url).status_code == 204
    assert splynx_client.get(url).status_code == 404


@pytest.mark.parametrize("missing", ["title", "partners_ids", "billing_types"])
def test_bundle_tariff_without_a_required_attribute_is_refused(splynx_client: SignedClient, missing: str) -> None:
    body = bundle()
    del body[missing]
    assert missing in errors_of(splynx_client.post(BUNDLES, json=body))
    assert splynx_client.get(BUNDLES).json() == []


def test_bundle_tariff_titles_are_unique_and_partners_must_exist(splynx_client: SignedClient) -> None:
    splynx_client.create(BUNDLES, bundle())
    assert "title" in errors_of(splynx_client.post(BUNDLES, json=bundle()))
    assert "partners_ids" in errors_of(splynx_client.post(BUNDLES, json=bundle(title="Other", partners_ids=[9])))
    assert "billing_types" in errors_of(
        splynx_client.post(BUNDLES, json=bundle(title="Other", billing_types=["weekly"]))
    )


@pytest.mark.parametrize("field", ["internet_tariffs", "voice_tariffs", "custom_tariffs"])
def test_bundle_tariff_naming_an_unknown_tariff_is_refused(splynx_client: SignedClient, plans: dict[str, int],
                                                           field: str) -> None:  # fmt: skip
    errors = errors_of(splynx_client.post(BUNDLES, json=bundle(title="Broken", **{field: [999]})))
    assert list(errors) == [field]
    assert "999" in errors[field]


def test_bundle_tariff_takes_a_sonar_id_marker_and_is_searchable(splynx_client: SignedClient,
                                                                 plans: dict[str, int]) -> None:  # fmt: skip
    marker = {"name": "sonar_id", "title": "Sonar ID", "type": "string"}
    assert splynx_client.post("admin/config/additional-fields/bundle", json=marker).status_code == 201
    other = splynx_client.create(BUNDLES, bundle(title="Business bundle", additional_attributes={"sonar_id": "7"}))
    assert splynx_client.get(f"{BUNDLES}/{other}").json()["additional_attributes"] == {"sonar_id": "7"}
    found = splynx_client.get(BUNDLES, params={"main_attributes[title]": "Business bundle"}).json()
    assert [b["id"] for b in found] == [str(other)]
    by_marker = splynx_client.get(BUNDLES, params={"additional_attributes[sonar_id]": "7"}).json()
    assert [b["id"] for b in by_marker] == [str(other)]


def test_bundle_service_is_created_read_updated_and_searched(splynx_client: SignedClient, plans: dict[str, int],
                                                             ada: int) -> None:  # fmt: skip
    sid = splynx_client.create(services_url(ada, "bundle"), bundle_service(plans["bundle"]))
    body = splynx_client.get(f"{services_url(ada, 'bundle')}--{sid}").json()
    assert (body["customer_id"], body["bundle_id"], body["status"], body["type"]) == (
        str(ada), str(plans["bundle"]), "active", "bundle")  # fmt: skip
    assert (body["unit_price"], body["end_date"]) == ("59.9900", "0000-00-00")  # the bundle's price by default
    assert splynx_client.put(f"{services_url(ada, 'bundle')}--{sid}", json={"status": "stopped"}).status_code == 202
    found = splynx_client.get(services_url(0, "bundle"), params={"main_attributes[bundle_id]": plans["bundle"]})
    assert [(s["id"], s["status"]) for s in found.json()] == [(str(sid), "stopped")]
    assert splynx_client.get(f"{BUNDLES}/{plans['bundle']}").json()["services"] == "1"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"status": "running"}, "status"),
        ({"bundle_id": 999}, "bundle_id"),
        ({"end_date": "2024-13-01"}, "end_date"),
        ({"description": ""}, "description"),
    ],
    ids=["bad-status", "unknown-bundle", "bad-end-date", "no-description"],
)
def test_bad_bundle_service_is_refused(splynx_client: SignedClient, plans: dict[str, int], ada: int,
                                       extra: dict[str, Any], field: str) -> None:  # fmt: skip
    body = {**bundle_service(plans["bundle"]), **extra}
    errors = errors_of(splynx_client.post(services_url(ada, "bundle"), json=body))
    assert field in errors
    assert splynx_client.get(services_url(ada, "bundle")).json() == []


def test_services_join_a_bundle_of_their_own_customer_only(splynx_client: SignedClient, plans: dict[str, int],
                                                           ada: int) -> None:  # fmt: skip
    grace = splynx_client.create(CUSTOMERS, customer(name="Grace Hopper", login="grace"))
    adas = splynx_client.create(services_url(ada, "bundle"), bundle_service(plans["bundle"]))
    graces = splynx_client.create(services_url(grace, "bundle"), bundle_service(plans["bundle"]))
    internet = splynx_client.create(services_url(ada, "internet"),
                                    service(plans["internet"], bundle_service_id=adas))  # fmt: skip
    assert splynx_client.get(f"{services_url(ada, 'internet')}--{internet}").json()["bundle_service_id"] == str(adas)
    for kind, tariff_id in (("internet", plans["internet"]), ("recurring", plans["recurring"])):
        refused = splynx_client.post(services_url(ada, kind), json=service(tariff_id, bundle_service_id=graces))
        assert "bundle_service_id" in errors_of(refused)
    lone = splynx_client.create(services_url(ada, "recurring"), service(plans["recurring"]))
    assert splynx_client.get(f"{services_url(ada, 'recurring')}--{lone}").json()["bundle_service_id"] == "0"
    moved = splynx_client.put(f"{services_url(ada, 'recurring')}--{lone}", json={"bundle_service_id": 999})
    assert "bundle_service_id" in errors_of(moved)


def test_referenced_bundle_service_bundle_tariff_and_customer_cannot_be_deleted(
    splynx_client: SignedClient, plans: dict[str, int], ada: int
) -> None:
    adas = splynx_client.create(services_url(ada, "bundle"), bundle_service(plans["bundle"]))
    member = splynx_client.create(services_url(ada, "recurring"), service(plans["recurring"], bundle_service_id=adas))
    assert "id" in errors_of(splynx_client.delete(f"{services_url(ada, 'bundle')}--{adas}"))
    tariff_refusal = splynx_client.delete(f"{BUNDLES}/{plans['bundle']}")
    assert (tariff_refusal.status_code, internal_code(tariff_refusal)) == (400, "ENTITY_CANNOT_BE_DELETED")
    assert splynx_client.delete(f"{services_url(ada, 'recurring')}--{member}").status_code == 204
    customer_refusal = splynx_client.delete(f"{CUSTOMERS}/{ada}")  # the bundle service alone keeps it
    assert (customer_refusal.status_code, internal_code(customer_refusal)) == (400, "ENTITY_CANNOT_BE_DELETED")
    assert "bundle services" in customer_refusal.json()["error"]["message"]
    assert splynx_client.delete(f"{services_url(ada, 'bundle')}--{adas}").status_code == 204
    assert splynx_client.delete(f"{BUNDLES}/{plans['bundle']}").status_code == 204
    assert splynx_client.delete(f"{CUSTOMERS}/{ada}").status_code == 204
