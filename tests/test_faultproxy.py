"""The fault proxy: it forwards faithfully, each action does what it says at the moment it says, and a
migration SIGKILLed by it right after Splynx committed a customer's POST resumes without a duplicate.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from etl.sandbox.faultproxy import FaultProxy, When, answer, delay, html, kill, reset, truncate
from etl.sandbox.splynx import SplynxSimulator
from loaders.splynx_client import SplynxClient, UncertainWrite
from state.states import ItemState, RunStatus
from tests.fixtures.faults import FaultProxyFactory, ProxiedSandboxFactory
from tests.fixtures.pipeline import CUSTOMERS, entity_markers, run_ids
from tests.fixtures.splynx import API_KEY, API_SECRET, signed_header

PARTNERS = "admin/administration/partners"
CUSTOMER = {"name": "Ann Lee", "partner_id": 1, "location_id": 1, "email": "ann@example.com"}
POST_CUSTOMER = r"/admin/customers/customer$"


@pytest.fixture
def proxy(splynx_sim: SplynxSimulator, make_fault_proxy: FaultProxyFactory) -> FaultProxy:
    """A proxy in front of the test's Splynx simulator."""
    return make_fault_proxy(splynx_sim.base_url)


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process for the proxy to kill."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def call(proxy: FaultProxy, method: str, path: str, **kwargs: Any) -> requests.Response:
    """One signed request through the proxy."""
    url = f"{proxy.url}/api/2.0/{path}"
    return requests.request(method, url, headers={"Authorization": signed_header()}, timeout=10, **kwargs)


def post_customer(proxy: FaultProxy) -> requests.Response:
    """Create the test customer through the proxy."""
    return call(proxy, "POST", "admin/customers/customer", json=CUSTOMER)


def test_requests_pass_through_unchanged_and_are_logged(proxy: FaultProxy, splynx_sim: SplynxSimulator) -> None:
    created = post_customer(proxy)
    assert created.status_code == 201 and created.json() == {"id": 1}
    listed = call(proxy, "GET", CUSTOMERS, params={"main_attributes[name]": "Ann Lee"})
    assert [row["name"] for row in listed.json()] == ["Ann Lee"]
    counted = call(proxy, "HEAD", CUSTOMERS)
    assert counted.status_code == 204 and counted.headers["X-total-count"] == "1"
    assert [(s.method, s.status, s.action) for s in proxy.log] == [("POST", 201, None), ("GET", 200, None),
                                                                   ("HEAD", 204, None)]  # fmt: skip
    assert proxy.seen("GET", r"/customers/customer$")[0].path == f"/api/2.0/{CUSTOMERS}"
    assert len(splynx_sim.rows(CUSTOMERS)) == 1


def test_the_upstream_path_is_kept_in_the_proxy_url(
    splynx_sim: SplynxSimulator, make_fault_proxy: FaultProxyFactory
) -> None:
    proxy = make_fault_proxy(splynx_sim.api_url)
    assert proxy.url.endswith("/api/2.0")
    response = requests.get(f"{proxy.url}/{PARTNERS}", headers={"Authorization": signed_header()}, timeout=10)
    assert response.json()[0]["name"] == "Main"


@pytest.mark.parametrize(("when", "stored"), [("before", 0), ("after", 1)])
def test_html_answers_a_maintenance_page_before_or_after_the_upstream_committed(
    proxy: FaultProxy, splynx_sim: SplynxSimulator, when: When, stored: int
) -> None:
    rule = proxy.add("POST", POST_CUSTOMER, html(when=when))
    response = post_customer(proxy)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert b"maintenance" in response.content
    assert len(splynx_sim.rows(CUSTOMERS)) == stored and rule.fired == 1
    assert proxy.log[-1].action == "html"


def test_truncate_forwards_then_sends_the_first_part_of_the_body(proxy: FaultProxy) -> None:
    whole = call(proxy, "GET", PARTNERS).content
    proxy.add("GET", PARTNERS, truncate(keep=0.5))
    cut = call(proxy, "GET", PARTNERS)
    assert cut.status_code == 200 and cut.content == whole[: len(whole) // 2]
    assert int(cut.headers["Content-Length"]) == len(cut.content)


@pytest.mark.parametrize(("when", "stored"), [("before", 0), ("after", 1)])
def test_reset_closes_the_connection_without_an_answer(
    proxy: FaultProxy, splynx_sim: SplynxSimulator, when: When, stored: int
) -> None:
    proxy.add("POST", POST_CUSTOMER, reset(when=when))
    with pytest.raises(requests.ConnectionError):
        post_customer(proxy)
    assert len(splynx_sim.rows(CUSTOMERS)) == stored
    assert (proxy.log[-1].status, proxy.log[-1].action) == (None, "reset")


def test_delay_holds_the_request_then_forwards_it(proxy: FaultProxy) -> None:
    proxy.add("GET", PARTNERS, delay(0.3))
    started = time.monotonic()
    assert call(proxy, "GET", PARTNERS).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(("when", "stored"), [("before", 0), ("after", 1)])
def test_kill_sigkills_the_process_before_forwarding_or_after_the_commit(
    proxy: FaultProxy, splynx_sim: SplynxSimulator, victim: subprocess.Popen[bytes], when: When, stored: int
) -> None:
    proxy.add("POST", POST_CUSTOMER, kill(victim.pid, when=when))
    with pytest.raises(requests.ConnectionError):
        post_customer(proxy)
    assert victim.wait(timeout=5) == -signal.SIGKILL
    assert len(splynx_sim.rows(CUSTOMERS)) == stored
    assert (proxy.log[-1].status, proxy.log[-1].action) == (None, "kill")


def test_a_rule_fires_on_its_nth_match_for_its_times_and_ignores_other_methods(proxy: FaultProxy) -> None:
    rule = proxy.add("GET", PARTNERS, html(), nth=2, times=2)
    statuses = []
    for _ in range(4):
        call(proxy, "HEAD", PARTNERS)  # another method: not counted
        statuses.append(call(proxy, "GET", PARTNERS).headers["Content-Type"].split(";")[0])
    assert statuses == ["application/json", "text/html", "text/html", "application/json"]
    assert (rule.matched, rule.fired) == (4, 2)
    proxy.remove(rule)
    assert call(proxy, "GET", PARTNERS).headers["Content-Type"].startswith("application/json")


def test_rules_can_be_added_while_requests_run_on_other_threads(proxy: FaultProxy) -> None:
    errors: list[BaseException] = []

    def reads() -> None:
        try:
            for _ in range(20):
                call(proxy, "GET", PARTNERS)
        except BaseException as exc:  # pragma: no cover - a failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=reads) for _ in range(4)]
    for thread in threads:
        thread.start()
    rule = proxy.add("GET", PARTNERS, delay(0.0), times=None)
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(proxy.seen("GET")) == 80 and rule.fired == rule.matched <= 80


def test_a_created_answer_without_an_id_is_an_uncertain_write_for_the_client(
    proxy: FaultProxy, splynx_sim: SplynxSimulator
) -> None:
    client = SplynxClient(proxy.url, API_KEY, API_SECRET, auth="signature", max_wait_s=0.05)
    proxy.add("POST", POST_CUSTOMER, answer(201, '{"result": "ok"}', when="after"))
    with pytest.raises(UncertainWrite, match="without the new record's id"):
        client.create(CUSTOMERS, CUSTOMER)
    assert len(splynx_sim.rows(CUSTOMERS)) == 1
    assert len(proxy.seen("POST")) == 1  # never repeated blindly


def test_a_run_killed_right_after_splynx_committed_a_customer_resumes_with_each_customer_once(
    make_proxied_sandbox: ProxiedSandboxFactory,
) -> None:
    box = make_proxied_sandbox(customers=12)
    box.fix_planted_problems()
    child = box.spawn("run", "--all")
    rule = box.proxy.add("POST", POST_CUSTOMER, kill(child.pid, when="after"), nth=5)
    assert child.wait(timeout=90) == -signal.SIGKILL, child.stderr.read().decode() if child.stderr else ""
    assert rule.fired == 1
    committed = {int(r["id"]) for r in box.customers()}
    assert len(committed) >= 5
    with box.ledger() as ledger:
        (run_id,) = run_ids(ledger)
        loading = {i.source_id for i in ledger.items(run_id, state=ItemState.LOADING, entity="account")}
    assert loading & set(entity_markers(box.splynx, "account")), "no customer died between its commit and its answer"

    box.etl("resume")
    with box.ledger() as ledger:
        assert ledger.get_run(run_id).status == RunStatus.SUCCEEDED
    box.check()
    visible = {str(i) for i, a in box.sonar.store.tables["accounts"].items() if a.get("archived_at") is None}
    assert set(entity_markers(box.splynx, "account")) == visible
    assert len(box.splynx.rows(CUSTOMERS)) == len(visible)
    assert committed <= {int(r["id"]) for r in box.customers()}
    assert len(box.proxy.seen("POST", POST_CUSTOMER)) == len(visible)  # no customer was POSTed twice
