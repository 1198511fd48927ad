"""The Splynx simulator serves network sites (`admin/networking/network-sites`) over HTTP."""

from __future__ import annotations

from typing import Any

from loaders.splynx import SplynxLoader
from loaders.splynx_client import SplynxClient
from state.ledger import Ledger
from tests.fixtures.sonar_records import NetworkSiteFactory
from tests.fixtures.splynx import SignedClient
from tests.test_splynx_simulator import errors_of
from transformers.context import TransformContext
from transformers.registry import transform_record

SITES = "admin/networking/network-sites"


def site(**extra: Any) -> dict[str, Any]:
    """A site as the transformer writes it (location 1 and partner 1 exist in every fresh simulator)."""
    return {"title": "North Tower", "description": "Sonar IPs: 198.19.192.10/32", "address": "1200 Tower Rd",
            "gps": "35.4676,-97.5164", "location_id": 1, "partners_ids": [1], **extra}  # fmt: skip


def test_network_site_is_created_read_listed_updated_and_deleted(splynx_client: SignedClient) -> None:
    site_id = splynx_client.create(SITES, site())
    body = splynx_client.get(f"{SITES}/{site_id}").json()
    assert (body["title"], body["gps"], body["address"], body["partners_ids"]) == (
        "North Tower", "35.4676,-97.5164", "1200 Tower Rd", ["1"],
    )  # fmt: skip
    assert body["description"] == "Sonar IPs: 198.19.192.10/32"
    assert [r["id"] for r in splynx_client.get(SITES).json()] == [str(site_id)]
    assert splynx_client.put(f"{SITES}/{site_id}", json={"title": "North Tower 2"}).status_code == 202
    assert splynx_client.get(f"{SITES}/{site_id}").json()["title"] == "North Tower 2"
    assert splynx_client.delete(f"{SITES}/{site_id}").status_code == 204
    assert splynx_client.get(f"{SITES}/{site_id}").status_code == 404


def test_network_site_without_location_or_partners_is_refused(splynx_client: SignedClient) -> None:
    errors = errors_of(splynx_client.post(SITES, json={"title": "Bare"}))
    assert {"location_id", "partners_ids"} <= set(errors)


def test_network_site_pointing_at_unknown_location_or_partner_is_refused(splynx_client: SignedClient) -> None:
    assert "location_id" in errors_of(splynx_client.post(SITES, json=site(location_id=999)))
    assert "partners_ids" in errors_of(splynx_client.post(SITES, json=site(partners_ids=[1, 999])))


def test_network_site_has_no_additional_fields(splynx_client: SignedClient) -> None:
    site_id = splynx_client.create(SITES, site(additional_attributes={"sonar_id": "network_site:1"}))
    assert "additional_attributes" not in splynx_client.get(f"{SITES}/{site_id}").json()


def test_loader_finds_a_site_by_the_marker_in_its_description_never_by_its_title(
    loader_client: SplynxClient, ledger: Ledger
) -> None:
    loader = SplynxLoader(loader_client, ledger)
    own = transform_record("network_site", NetworkSiteFactory(id="7"), TransformContext.from_id_map({}))
    operators = loader_client.create(SITES, site(title=own.body["title"], description="hand-made"))
    assert loader.find_by_marker(own) is None  # the same title is not ours
    ours = loader_client.create(SITES, own.body)
    loader_client.create(SITES, site(description="[sonar_id=network_site:71]"))  # :71 is not :7
    assert loader.find_by_marker(own) == ours != operators
