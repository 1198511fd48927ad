"""The Splynx simulator serves recurring, one-time and voice tariffs and recurring and voice services over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from etl.sandbox.splynx import SplynxSimulator
from tests.fixtures.splynx import SignedClient
from tests.test_splynx_simulator import CUSTOMERS, TARIFFS, customer, errors_of, internal_code, service, tariff

RECURRING = "admin/tariffs/recurring"
ONE_TIME = "admin/tariffs/one-time"
VOICE = "admin/tariffs/voice"


def plan(**extra: Any) -> dict[str, Any]:
    """The smallest body every tariff kind accepts."""
    return {"title": "Static IP", "partners_ids": [1], "available_for_locations": [1], "price": "5", **extra}


def voice_service(tariff_id: int, **extra: Any) -> dict[str, Any]:
    return service(tariff_id, **{"description": "Home phone", "phone": "+15550100", **extra})


def services_url(customer_id: int, kind: str) -> str:
    return f"{CUSTOMERS}/{customer_id}/{kind}-services"


@pytest.fixture
def ada(splynx_client: SignedClient) -> int:
    return splynx_client.create(CUSTOMERS, customer(login="ada"))


@pytest.mark.parametrize(("path", "extra"), [(RECURRING, {}), (ONE_TIME, {}), (VOICE, {"type": "mobile"})],
                         ids=["recurring", "one-time", "voice"])
def test_each_tariff_kind_is_created_read_and_updated(splynx_client: SignedClient, path: str,
                                                      extra: dict[str, Any]) -> None:
    tariff_id = splynx_client.create(path, plan(**extra))
    body = splynx_client.get(f"{path}/{tariff_id}").json()
    assert (body["id"], body["title"], body["price"], body["partners_ids"]) == (str(tariff_id), "Static IP",
                                                                                "5.0000", ["1"])
    assert body.get("service_name", body.get("service_description")) == "Static IP"  # taken from the title
    assert splynx_client.put(f"{path}/{tariff_id}", json={"price": 7}).status_code == 202
    assert splynx_client.get(f"{path}/{tariff_id}").json()["price"] == "7.0000"
    assert splynx_client.get(f"{path}/999").status_code == 404


def test_voice_tariff_keeps_its_type_and_one_time_tariff_has_no_billing_types(splynx_client: SignedClient) -> None:
    voice = splynx_client.get(f"{VOICE}/{splynx_client.create(VOICE, plan())}").json()
    assert (voice["type"], voice["connection_cost_included"], voice["billing_types"]) == ("voip", "1", ["recurring"])
    one_time = splynx_client.get(f"{ONE_TIME}/{splynx_client.create(ONE_TIME, plan())}").json()
    assert one_time["enabled"] == "1"
    assert "billing_types" not in one_time and "speed_download" not in one_time


@pytest.mark.parametrize("path", [RECURRING, ONE_TIME, VOICE])
def test_tariff_without_title_or_partners_is_refused(splynx_client: SignedClient, path: str) -> None:
    errors = errors_of(splynx_client.post(path, json={"price": 5}))
    assert {"title", "partners_ids", "available_for_locations"} <= set(errors)
    assert errors["title"] == "Title cannot be blank."
    splynx_client.create(path, plan())
    assert "already been taken" in errors_of(splynx_client.post(path, json=plan()))["title"]
    assert "title" in errors_of(splynx_client.post(path, json=plan(title="x" * 65)))


@pytest.mark.parametrize(("path", "field", "value"), [
    (VOICE, "type", "isdn"), (RECURRING, "billing_types", ["weekly"]), (ONE_TIME, "customer_categories", ["lead"]),
    (RECURRING, "custom_period", 2), (VOICE, "partners_ids", [99]),
])
def test_tariff_with_a_bad_value_is_refused(splynx_client: SignedClient, path: str, field: str, value: Any) -> None:
    assert field in errors_of(splynx_client.post(path, json=plan(**{field: value})))


def test_recurring_and_voice_services_are_created_for_a_customer(splynx_client: SignedClient, ada: int) -> None:
    recurring = splynx_client.create(RECURRING, plan(price="12.5"))
    voice = splynx_client.create(VOICE, plan(title="Home phone"))
    rid = splynx_client.create(services_url(ada, "recurring"), service(recurring, description="Static IP"))
    vid = splynx_client.create(services_url(ada, "voice"), voice_service(voice))
    custom = splynx_client.get(f"{services_url(ada, 'recurring')}--{rid}").json()
    assert (custom["customer_id"], custom["tariff_id"], custom["type"], custom["unit_price"], custom["period"]) == (
        str(ada), str(recurring), "custom", "12.5000", "-1")
    phone = splynx_client.get(f"{services_url(ada, 'voice')}--{vid}").json()
    assert (phone["phone"], phone["direction"], phone["type"]) == ("+15550100", "outgoing", "voice")
    assert [s["id"] for s in splynx_client.get(services_url(ada, "voice")).json()] == [str(vid)]
    assert splynx_client.get(f"{VOICE}/{voice}").json()["services"] == "1"
    changed = splynx_client.put(f"{services_url(ada, 'voice')}--{vid}", json={"type": "internet", "status": "stopped"})
    assert changed.status_code == 202
    assert splynx_client.get(f"{services_url(ada, 'voice')}--{vid}").json()["type"] == "voice"  # read-only


def test_services_are_scoped_to_their_customer_and_searched_under_customer_0(splynx_client: SignedClient,
                                                                             ada: int) -> None:
    bob = splynx_client.create(CUSTOMERS, customer(login="bob"))
    recurring = splynx_client.create(RECURRING, plan())
    sid = splynx_client.create(services_url(ada, "recurring"), service(recurring))
    splynx_client.create(services_url(bob, "recurring"), service(recurring))
    assert splynx_client.get(f"{services_url(bob, 'recurring')}--{sid}").status_code == 404
    everyone = splynx_client.get(services_url(0, "recurring"), params={"main_attributes[tariff_id]": recurring})
    assert sorted(s["customer_id"] for s in everyone.json()) == sorted([str(ada), str(bob)])
    assert splynx_client.get(services_url(0, "recurring"), params={"main_attributes[customer_id]": bob}).json()[0][
        "customer_id"] == str(bob)
    assert splynx_client.post(services_url(0, "recurring"), json=service(recurring)).status_code == 405
    assert splynx_client.get(services_url(ada, "bundle")).status_code == 200  # bundle services: their own tests


def test_voice_service_needs_a_phone_that_no_other_active_service_has(splynx_client: SignedClient,
                                                                      ada: int) -> None:
    voice = splynx_client.create(VOICE, plan())
    url = services_url(ada, "voice")
    assert errors_of(splynx_client.post(url, json=service(voice)))["phone"] == "Phone number cannot be blank."
    assert "direction" in errors_of(splynx_client.post(url, json=voice_service(voice, direction="both")))
    splynx_client.create(url, voice_service(voice))
    assert "already used" in errors_of(splynx_client.post(url, json=voice_service(voice)))["phone"]
    assert splynx_client.post(url, json=voice_service(voice, status="stopped")).status_code == 201


def test_service_needs_a_tariff_of_its_own_kind(splynx_client: SignedClient, ada: int) -> None:
    splynx_client.create(RECURRING, plan())  # recurring tariff 1; internet tariffs 1 and 2 below
    splynx_client.create(TARIFFS, tariff())
    internet = splynx_client.create(TARIFFS, tariff(title="Fiber 200"))
    refused = splynx_client.post(services_url(ada, "recurring"), json=service(internet))
    assert errors_of(refused)["tariff_id"] == f"Tariff is invalid: Recurring tariff {internet} not found."
    voice = splynx_client.post(services_url(ada, "voice"), json=voice_service(internet))
    assert "tariff_id" in errors_of(voice)


def test_service_tariff_must_be_offered_to_the_customers_partner(splynx_client: SignedClient) -> None:
    partner = splynx_client.create("admin/administration/partners", {"name": "North"})
    north = splynx_client.create(CUSTOMERS, customer(partner_id=partner))
    recurring = splynx_client.create(RECURRING, plan())
    refused = splynx_client.post(services_url(north, "recurring"), json=service(recurring))
    assert "not available for partner" in errors_of(refused)["tariff_id"]
    unknown = splynx_client.post(services_url(999, "voice"), json=voice_service(splynx_client.create(VOICE, plan())))
    assert "customer_id" in errors_of(unknown)


def test_services_are_found_by_their_migration_marker(splynx_client: SignedClient, ada: int) -> None:
    for module in ("services_custom", "services_voice", "tariffs_custom", "tariffs_voice", "tariffs_one_time"):
        created = splynx_client.post(f"admin/config/additional-fields/{module}",
                                     json={"name": "sonar_id", "title": "Sonar ID", "type": "string", "is_unique": 1})
        assert created.status_code == 201, module
    recurring = splynx_client.create(RECURRING, plan(additional_attributes={"sonar_id": "t-1"}))
    voice = splynx_client.create(VOICE, plan(additional_attributes={"sonar_id": "t-1"}))
    splynx_client.create(services_url(ada, "recurring"), service(recurring, additional_attributes={"sonar_id": "s-7"}))
    marked = voice_service(voice, additional_attributes={"sonar_id": "s-7"})
    vid = splynx_client.create(services_url(ada, "voice"), marked)
    found = splynx_client.get(services_url(0, "voice"), params={"additional_attributes[sonar_id]": "s-7"}).json()
    assert [(s["id"], s["additional_attributes"]) for s in found] == [(str(vid), {"sonar_id": "s-7"})]
    again = splynx_client.post(services_url(ada, "voice"),
                               json=voice_service(voice, phone="+15550199", additional_attributes={"sonar_id": "s-7"}))
    assert "already been taken" in errors_of(again)["additional_attributes.sonar_id"]
    by_marker = splynx_client.get(VOICE, params={"additional_attributes[sonar_id]": "t-1"}).json()
    assert [t["id"] for t in by_marker] == [str(voice)]
    assert splynx_client.head(services_url(0, "recurring"), params={"main_attributes[customer_id]": ada}).headers[
        "X-total-count"] == "1"


@pytest.mark.parametrize(("kind", "path", "make"), [("recurring", RECURRING, service), ("voice", VOICE, voice_service)])
def test_tariff_in_use_cannot_be_deleted_until_its_service_is(splynx_sim: SplynxSimulator, splynx_client: SignedClient,
                                                              ada: int, kind: str, path: str, make: Any) -> None:
    tariff_id = splynx_client.create(path, plan())
    sid = splynx_client.create(services_url(ada, kind), make(tariff_id))
    for used in (f"{path}/{tariff_id}", f"{CUSTOMERS}/{ada}", "admin/administration/partners/1"):
        refused = splynx_client.delete(used)
        assert refused.status_code == 400, used
        assert internal_code(refused) == "ENTITY_CANNOT_BE_DELETED"
    assert splynx_client.delete(f"{services_url(ada, kind)}--{sid}").status_code == 204
    assert splynx_sim.rows(f"{kind}_services") == []
    assert splynx_client.delete(f"{path}/{tariff_id}").status_code == 204
    assert splynx_client.get(f"{path}/{tariff_id}").status_code == 404
    assert splynx_client.delete(f"{CUSTOMERS}/{ada}").status_code == 204


def test_partner_offering_a_one_time_tariff_cannot_be_deleted(splynx_client: SignedClient) -> None:
    partner = splynx_client.create("admin/administration/partners", {"name": "North"})
    tariff_id = splynx_client.create(ONE_TIME, plan(partners_ids=[partner]))
    assert splynx_client.delete(f"admin/administration/partners/{partner}").status_code == 400
    assert splynx_client.delete(f"{ONE_TIME}/{tariff_id}").status_code == 204  # no one-time services exist
    assert splynx_client.delete(f"admin/administration/partners/{partner}").status_code == 204


@pytest.mark.parametrize(("path", "required", "absent"), [
    (RECURRING, {"title", "partners_ids", "billing_types", "available_for_locations", "customer_categories"},
     {"type", "enabled", "speed_download"}),
    (ONE_TIME, {"title", "partners_ids", "available_for_locations", "customer_categories"},
     {"billing_types", "speed_download", "type"}),
    (VOICE, {"title", "type", "partners_ids", "billing_types", "available_for_locations", "customer_categories"},
     {"enabled", "speed_download"}),
    (services_url(1, "recurring"), {"tariff_id", "status", "description", "start_date"}, {"phone", "login"}),
    (services_url(1, "voice"), {"tariff_id", "status", "description", "start_date", "phone"}, {"login"}),
], ids=["recurring", "one-time", "voice", "recurring-services", "voice-services"])
def test_options_lists_the_attributes(splynx_client: SignedClient, path: str, required: set[str],
                                      absent: set[str]) -> None:
    schema = splynx_client.options(path).json()
    names = {a["name"] for a in schema["attributes"]}
    assert required <= {a["name"] for a in schema["attributes"] if a["required"]}
    assert not absent & names
    assert schema["additional_attributes"] == []


def test_voice_options_carry_the_live_enums(splynx_client: SignedClient) -> None:
    voice = {a["name"]: a for a in splynx_client.options(VOICE).json()["attributes"]}
    assert voice["type"]["values"] == ["voip", "mobile", "fix"]
    phone = {a["name"]: a for a in splynx_client.options(services_url(1, "voice")).json()["attributes"]}
    assert phone["direction"]["values"] == ["incoming", "outgoing"]
    assert phone["phone"]["required"] is True
