"""Subscribers stay online after cutover: RADIUS logins, passwords and MACs reach the internet services.

The pairing rule (docs/mapping.md): an account's RADIUS accounts and MACs, in id order, pair with its DATA
services in id order; what is left over is listed on the last DATA service, never dropped in silence. A
password is a secret: staged as a digest, read from Sonar at load time, and found nowhere in the
workspace (staging, ledger, logs) or in what the CLI prints.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from etl.load_stage import EntityLoader, EntityOutcome
from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.sonar_data import DATA_SERVICE_IDS
from etl.sandbox.splynx_validation import hash_secret
from etl.secrets import RadiusPasswords
from extractors.sonar import SonarClient, SonarExtractor
from extractors.sonar_secrets import DIGEST, password_digest, seal
from state.ledger import Ledger
from state.states import ItemState, RunStatus
from tests.fixtures.pipeline import EVENT, SERVICES, Sandbox, actions, marker_of
from tests.fixtures.sonar_records import AccountServiceFactory, connection
from tests.fixtures.splynx import SignedClient
from transformers.context import TransformContext
from transformers.registry import transform_record
from transformers.service_access import normal_mac
from transformers.validation import SkipRecord

ACTIVE = {"id": "1", "name": "Active", "activates_account": True}


def _account(services: list[tuple[str, str]], radius: list[dict[str, Any]], macs: list[str]) -> dict[str, Any]:
    """A folded account: (service id, type) pairs, RADIUS accounts and MAC spellings (ids 1..n)."""
    return {
        "id": "1",
        "account_status": ACTIVE,
        "ip_assignments": connection(),
        "account_services": connection(*({"id": sid, "service": {"id": "1", "type": t}} for sid, t in services)),
        "radius_accounts": connection(*radius),
        "uninventoried_mac_addresses": connection(
            *({"id": str(n + 1), "mac_address": mac} for n, mac in enumerate(macs))
        ),
    }


def _body(ctx: TransformContext, service_id: str, account: dict[str, Any]) -> dict[str, Any]:
    return transform_record("account_service", AccountServiceFactory(id=service_id, account=account), ctx).body


# --- the transformer (pure) ------------------------------------------------------------------------


def test_radius_accounts_and_macs_pair_with_the_data_services_in_id_order(transform_ctx: TransformContext) -> None:
    radius = [  # listed out of order: the pairing is by id, not by the order Sonar sent them
        {"id": "20", "username": "second", "password": "pw-second"},
        {"id": "10", "username": "first", "password": "pw-first"},
    ]
    account = _account(
        [("7", "DATA"), ("5", "RECURRING"), ("3", "DATA")], radius, ["aa-bb-cc-00-00-01", "aabb.cc00.0002"]
    )

    first, second = _body(transform_ctx, "3", account), _body(transform_ctx, "7", account)

    assert (first["login"], first["password"], first["mac"]) == ("first", "pw-first", "AA:BB:CC:00:00:01")
    assert (second["login"], second["password"], second["mac"]) == ("second", "pw-second", "AA:BB:CC:00:00:02")
    assert "sonar_radius_extra" not in first["additional_attributes"]  # extra logins get services of their own


def test_service_without_a_radius_account_keeps_its_generated_login_and_gets_no_password(
    transform_ctx: TransformContext,
) -> None:
    account = _account([("3", "DATA"), ("7", "DATA")], [{"id": "1", "username": "only", "password": "pw"}], [])
    body = _body(transform_ctx, "7", account)
    assert body["login"] == "sonar-svc-7"
    assert "password" not in body and body["mac"] == ""


def test_macs_beyond_the_data_services_are_listed_on_the_last_one_and_extra_logins_left_to_their_own(
    transform_ctx: TransformContext,
) -> None:
    radius = [{"id": str(n), "username": f"user{n}", "password": f"secret-{n}"} for n in (1, 2, 3)]
    account = _account([("3", "DATA")], radius, ["02:00:00:00:00:01", "02:00:00:00:00:02"])

    body = _body(transform_ctx, "3", account)

    assert (body["login"], body["password"]) == ("user1", "secret-1")
    assert body["additional_attributes"]["sonar_mac_extra"] == "02:00:00:00:00:02"
    assert "secret-2" not in json.dumps(body) and "secret-3" not in json.dumps(body)


def _radius(rid: str, services: list[str], radius_ids: list[str]) -> dict[str, Any]:
    """A staged RADIUS account with its account's pairing view (DATA services of plan 1, RADIUS ids)."""
    view = {
        "id": "1",
        "account_status": ACTIVE,
        "account_services": [{"id": s, "service": {"id": "1", "type": "DATA"}} for s in services],
        "radius_accounts": [{"id": r} for r in radius_ids],
    }
    held = connection({"id": "9", "subnet": "198.18.0.77/32"})
    return {"id": rid, "account_id": "1", "username": f"login{rid}", "password": f"pw-{rid}", "account": view,
            "ip_assignments": held, "created_at": "2024-01-02"}  # fmt: skip


def test_a_radius_account_beyond_the_data_services_is_an_internet_service_of_its_own_billed_nothing(
    transform_ctx: TransformContext,
) -> None:
    extra = transform_record("radius_account", _radius("30", ["3"], ["20", "30"]), transform_ctx)

    assert extra.target == "internet_service" and extra.parent == {"customer_id": "31"}
    body = extra.body
    assert (body["login"], body["password"], body["unit_price"]) == ("login30", "pw-30", "0.00")
    assert body["tariff_id"] == "21" and (body["taking_ipv4"], body["ipv4"]) == (1, "198.18.0.77")
    assert body["additional_attributes"]["sonar_id"] == "radius_account:30"


@pytest.mark.parametrize(
    ("services", "reason"), [(["3"], "login and password of its DATA service"), ([], "no DATA service")]
)
def test_a_radius_account_that_is_a_services_login_or_has_no_plan_is_skipped_with_the_reason(
    transform_ctx: TransformContext, services: list[str], reason: str
) -> None:
    with pytest.raises(SkipRecord, match=reason):
        transform_record("radius_account", _radius("20", services, ["20", "30"]), transform_ctx)


def test_a_staged_radius_account_gives_the_login_and_no_password_until_one_is_injected(
    transform_ctx: TransformContext,
) -> None:
    account = seal(_account([("3", "DATA")], [{"id": "1", "username": "u1", "password": "pw"}], []))
    assert "password" not in account["radius_accounts"]["entities"][0]
    body = _body(transform_ctx, "3", account)
    assert body["login"] == "u1" and "password" not in body


@pytest.mark.parametrize("spelling", ["0a:1b:2c:3d:4e:5f", "0A-1B-2C-3D-4E-5F", "0a1b.2c3d.4e5f", "0a1b2c3d4e5f"])
def test_a_mac_in_any_common_spelling_is_sent_upper_case_with_colons(spelling: str) -> None:
    assert normal_mac(spelling) == "0A:1B:2C:3D:4E:5F"
    assert normal_mac("not a mac") == "not a mac"  # left for Splynx to judge, which names the field


# --- sealing and injection ---------------------------------------------------------------------------


class FakeReader:
    """Sonar's `radius_accounts` by id, recording which ids were asked for."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.asked: list[set[str]] = []

    def by_id(self, fold: str, ids: Any) -> dict[str, dict[str, Any]]:
        wanted = {str(i) for i in ids}
        self.asked.append(wanted)
        return {i: {"id": i, "password": p} for i, p in self.passwords.items() if i in wanted}


def test_a_sealed_account_holds_a_digest_that_changes_with_the_password() -> None:
    account = seal(_account([("3", "DATA")], [{"id": "1", "username": "u", "password": "old"}], []))
    [radius] = account["radius_accounts"]["entities"]
    assert radius[DIGEST] == password_digest("1", "old") != password_digest("1", "new")
    assert "old" not in json.dumps(account)


def test_injection_reads_only_the_paired_passwords_and_refuses_a_changed_one() -> None:
    radius = [{"id": str(n), "username": f"u{n}", "password": f"pw{n}"} for n in (1, 2)]
    records = [
        AccountServiceFactory(id="3", account=seal(_account([("3", "DATA"), ("9", "DATA")], radius, []))),
        AccountServiceFactory(id="9", account=seal(_account([("3", "DATA"), ("9", "DATA")], radius, []))),
    ]
    reader = FakeReader({"1": "pw1", "2": "changed since extraction"})

    injected, unreadable = RadiusPasswords(reader).inject("account_service", records)

    assert reader.asked == [{"1", "2"}]  # one batched read for the whole batch
    assert [r["id"] for r in injected] == ["3"]
    assert injected[0]["account"]["radius_accounts"]["entities"][0]["password"] == "pw1"
    assert [(u.record_id, u.radius_id) for u in unreadable] == [("9", "2")]
    assert "password" not in records[0]["account"]["radius_accounts"]["entities"][0]  # the staged copy untouched


def test_the_load_stage_fails_a_service_whose_password_sonar_no_longer_has_and_never_sends_it(tmp_path: Path) -> None:
    radius = [{"id": str(n), "username": f"u{n}", "password": f"pw{n}"} for n in (1, 2)]
    batch = [
        (AccountServiceFactory(id=sid, account=seal(_account([("3", "DATA"), ("9", "DATA")], radius, []))), f"h{sid}")
        for sid in ("3", "9")
    ]
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        run_id = ledger.start_run("migrate")
        ledger.add_items(run_id, "account_service", [("3", "h3"), ("9", "h9")], state=ItemState.EXTRACTED)
        stage = EntityLoader(
            ledger=ledger, loader=None, staging_dir=tmp_path, run_id=run_id, context=None, progress=None,  # type: ignore[arg-type]
            secrets=RadiusPasswords(FakeReader({"1": "pw1"})),  # radius 2 deleted in Sonar since extraction
        )  # fmt: skip
        outcome = EntityOutcome("account_service")

        kept = stage._with_secrets("account_service", batch, outcome)

        assert [(r["id"], digest) for r, digest in kept] == [("3", "h3")]
        failed = ledger.item(run_id, "account_service", "9")
        assert failed is not None and failed.state == ItemState.FAILED and failed.error_code == "secret_unavailable"
        assert "etl resume" in (failed.fix_hint or "") and "pw2" not in (failed.error_message or "")
        assert stage.stop.is_set()  # stop-on-error, as for any record failure
    finally:
        ledger.close()


# --- the extractor against the Sonar simulator -------------------------------------------------------


def test_extractor_folds_radius_accounts_and_macs_sealed_and_finds_their_changes(sonar_sim: SonarSimulator) -> None:
    store = sonar_sim.store
    radius = next(r for r in store.tables["radius_accounts"].values() if r["account_id"] not in (4, 6, 8))
    macs = [m for m in store.tables["uninventoried_mac_addresses"].values() if m["account_id"] != radius["account_id"]]
    mac_account = next(m["account_id"] for m in macs if m["account_id"] not in (4, 6, 8))
    since = datetime.now(UTC) - timedelta(seconds=1)
    with SonarExtractor(SonarClient(sonar_sim.url, sonar_sim.token), page_size=50) as extractor:
        assert extractor.changed_child_account_ids(since) == []
        store.update_child(radius["account_id"], "radius_accounts", radius["id"], password="New-Secret-7")
        store.update_child(mac_account, "uninventoried_mac_addresses", mac_address="02:00:00:00:00:99")
        changed = extractor.changed_child_account_ids(since)
        services = [
            r
            for p in extractor.fetch_where("account_service", "account_id", [str(radius["account_id"])])
            for r in p.records
        ]

    assert changed == sorted({str(radius["account_id"]), str(mac_account)}, key=int)
    [folded] = [a for a in services[0]["account"]["radius_accounts"]["entities"] if a["id"] == str(radius["id"])]
    assert folded["username"] == radius["username"] and "password" not in folded
    assert folded[DIGEST] == password_digest(radius["id"], "New-Secret-7")
    assert "New-Secret-7" not in json.dumps(services)
    assert all(s["service"]["type"] == "DATA" for s in services[0]["account"]["account_services"]["entities"])


# --- end to end -----------------------------------------------------------------------------------


def _files_holding(root: Path, secrets: set[str]) -> list[str]:
    """Files under `root` whose bytes, or whose staged records (Parquet is compressed), hold a secret."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        texts = [path.read_bytes().decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            texts += [str(v) for c in pq.read_table(path).columns for v in c.to_pylist()]
        if any(s in t for s in secrets for t in texts):
            found.append(str(path.relative_to(root)))
    return found


def _events(box: Sandbox, run_id: int) -> list[tuple[str, str, str]]:
    with box.ledger() as ledger, ledger.reader.connect() as conn:
        query = select(EVENT.c.entity, EVENT.c.source_id, EVENT.c.detail).where(EVENT.c.run_id == run_id)
        return [(str(e), str(s), str(d)) for e, s, d in conn.execute(query)]


def test_run_migrates_logins_passwords_and_macs_keeps_passwords_secret_and_follows_a_password_change(
    sandbox: Sandbox,
) -> None:
    store = sandbox.sonar.store
    secrets = {str(r["password"]) for r in store.tables["radius_accounts"].values()} | {"Changed-Secret-42"}
    sandbox.fix_planted_problems()
    outputs = [sandbox.etl("--debug", "run", "--all", "--workers", "8").output]
    outputs += [sandbox.etl("status", "1").output, sandbox.etl("report", "1").output]
    is_data = {str(s) for s, v in store.tables["account_services"].items() if v["service_id"] in DATA_SERVICE_IDS}

    services = {str(marker_of(r)): r for r in sandbox.splynx.rows(SERVICES)}
    radius_of: dict[int, list[dict[str, Any]]] = {}
    for radius in sorted(store.tables["radius_accounts"].values(), key=lambda r: r["id"]):
        radius_of.setdefault(radius["account_id"], []).append(radius)
    macs_of: dict[int, list[str]] = {}
    for mac in sorted(store.tables["uninventoried_mac_addresses"].values(), key=lambda r: r["id"]):
        macs_of.setdefault(mac["account_id"], []).append(mac["mac_address"])
    mac_fields = {f["id"] for f in store.tables["inventory_model_fields"].values() if f["type"] == "MAC_ADDRESS"}
    items = store.tables["inventory_items"]
    cpe_macs: dict[int, list[str]] = {}
    field_data = store.tables["inventory_model_field_data"].values()
    for data in sorted(field_data, key=lambda d: (d["inventory_item_id"], d["id"])):
        served = items[data["inventory_item_id"]].get("account_service_id")
        if served and data["inventory_model_field_id"] in mac_fields:
            cpe_macs.setdefault(served, []).append(normal_mac(data["value"]))
    checked = 0
    for sid, service in store.tables["account_services"].items():
        row = services.get(f"account_service:{sid}")
        if row is None or not radius_of.get(service["account_id"]):
            continue
        first = radius_of[service["account_id"]][0]  # one DATA service per generated account
        assert row["login"] == first["username"]
        assert row["password"] == hash_secret(first["password"])  # the simulator stores it; GET never shows it
        own = [normal_mac(macs_of[service["account_id"]][0])] if service["account_id"] in macs_of else []
        assert row["mac"] == ", ".join(own + cpe_macs.get(sid, []))  # the subscriber's MAC, then its CPEs'
        checked += 1
    assert checked >= 10
    doubled = [a for a, rs in radius_of.items() if len(rs) > 1 and a != 8]
    assert doubled, "the generator must plant accounts with two RADIUS accounts"
    for account_id in doubled:  # the second login authenticates too: a service of its own, billed nothing
        for extra in radius_of[account_id][1:]:
            own = services[f"radius_account:{extra['id']}"]
            assert own["login"] == extra["username"] and own["password"] == hash_secret(extra["password"])
            assert Decimal(own["unit_price"]) == 0

    # A changed password brings its one service back, and only that one.
    single = next(a for a, rs in radius_of.items() if len(rs) == 1 and a not in (4, 6, 8))
    [changed] = [s for s in is_data if store.tables["account_services"][int(s)]["account_id"] == single]
    store.update_child(single, "radius_accounts", password="Changed-Secret-42")
    outputs.append(sandbox.etl("run", "--all").output)
    with sandbox.ledger() as ledger:
        assert ledger.get_run(2).status == RunStatus.SUCCEEDED
        assert actions(ledger, 2, "account_service", ["update", "create"]) == {"update": 1}
        updated = ledger.item(2, "account_service", changed)
        assert updated is not None and updated.action == "update"
    rows = {str(marker_of(r)): r for r in sandbox.splynx.rows(SERVICES)}
    assert rows[f"account_service:{changed}"]["password"] == hash_secret("Changed-Secret-42")

    # A login Splynx already has is that one record's failure, named and with a fix.
    other = next(r for m, r in rows.items() if m != f"account_service:{changed}" and r["login"].startswith("pppoe"))
    sandbox.etl("fix", "account_service", str(changed), "--set", f"login={other['login']}")
    outputs.append(sandbox.etl("run", "--all", code=None).output)
    failed = sandbox.etl("failures", code=None).output
    outputs.append(failed)
    assert "login" in failed and str(changed) in failed
    with sandbox.ledger() as ledger:
        refused = ledger.item(3, "account_service", changed)
        assert refused is not None and refused.error_field == "login"
        assert "must be unique" in (refused.fix_hint or "") and "RADIUS" in (refused.fix_hint or "")

    assert _files_holding(sandbox.home, secrets) == []
    assert not [s for s in secrets for out in outputs if s in out]

    # Last (its signed requests would race the CLI's nonces): the API never returns a password.
    client = SignedClient(sandbox.splynx, sandbox.pair.key, sandbox.pair.secret)
    some = next(r for r in rows.values() if r["login"].startswith("pppoe"))
    served = client.get(f"admin/customers/customer/{some['customer_id']}/internet-services--{some['id']}").json()
    assert served["login"] == some["login"] and "password" not in served
