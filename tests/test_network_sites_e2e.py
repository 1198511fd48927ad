"""Every Sonar network site reaches Splynx as a network site with its name, position and IPs.

Checked in what Splynx holds (its records, then its API after the rollback), against the Sonar simulator's
own tables: title = name, gps = the geopoint (else the address's coordinates), the IPs Sonar
assigns to the site listed in the description, which also carries the marker. A second run writes no
site; `etl rollback` deletes them all and nothing an operator made.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.fixtures.pipeline import Sandbox, SandboxFactory, actions, marker_of, splynx_markers
from tests.fixtures.splynx import SignedClient, signed_header
from transformers.rules import gps, gps_from_geopoint

CUSTOMERS = 120  # 4 sites: one without geopoint, one without address, one without IPs
SITES = "admin/networking/network-sites"


def _site_made_by_hand(box: Sandbox, title: str) -> int:
    """A site an operator made before the migration (its nonce a past clock reading, as in test_rollback)."""
    response = requests.post(
        box.splynx.api_url + SITES,
        json={"title": title, "location_id": 1, "partners_ids": [1], "description": "hand-made"},
        headers={"Authorization": signed_header(box.pair.key, box.pair.secret, int(time.time() * 100) - 100)},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _expected_gps(tables: dict[str, dict[int, Any]], site: dict[str, Any]) -> str:
    addresses = [a for a in tables["addresses"].values()
                 if a.get("addressable_type") == "NetworkSite" and a["addressable_id"] == site["id"]]  # fmt: skip
    from_address = gps(addresses[0]["latitude"], addresses[0]["longitude"]) if addresses else None
    return gps_from_geopoint(site.get("geopoint")) or from_address or ""


def test_every_network_site_is_a_splynx_network_site_with_its_name_gps_and_ips(make_sandbox: SandboxFactory) -> None:
    box = make_sandbox(customers=CUSTOMERS)
    tables = box.sonar.store.tables
    made_by_hand = _site_made_by_hand(box, "North Tower 1")  # the title of Sonar's site 1
    box.migrate_everything()
    box.etl("run", "--all")  # nothing changed in Sonar: no site is written again
    with box.ledger() as ledger:
        assert actions(ledger, 2, "network_site", ["create", "update"]) == {}
        assert ledger.counts(1)["network_site"] == {"verified": 4}, ledger.counts(1)["network_site"]

    rows = {m: row for row in box.splynx.rows(SITES) if (m := marker_of(row))}  # the API is read last (nonces)
    sites = tables["network_sites"]
    assert len(sites) == 4 and set(rows) == {f"network_site:{sid}" for sid in sites}
    held_by: dict[int, list[str]] = {}
    for assignment in tables["ip_assignments"].values():
        if assignment.get("ipassignmentable_type") == "NetworkSite":
            held_by.setdefault(assignment["ipassignmentable_id"], []).append(assignment["subnet"])
    for sid, site in sites.items():
        row = rows[f"network_site:{sid}"]
        assert row["title"] == site["name"], sid
        assert row["gps"] == _expected_gps(tables, site) != "", sid
        first_line = row["description"].splitlines()[0]
        assert first_line == f"Sonar IPs: {', '.join(held_by[sid]) if sid in held_by else 'none'}", sid
        assert str(row["location_id"]) == "1" and "1" in [str(p) for p in row["partners_ids"]], sid
    assert held_by and any(len(ips) > 1 for ips in held_by.values())
    assert str(made_by_hand) not in {str(r["id"]) for r in rows.values()}  # same title, never adopted

    box.etl("rollback", "1", "--yes")
    response = SignedClient(box.splynx, box.pair.key, box.pair.secret).get(SITES)
    assert response.status_code == 200, response.text
    assert [int(r["id"]) for r in response.json()] == [made_by_hand]
    assert not any(m.startswith("network_site:") for m in splynx_markers(box.splynx))
