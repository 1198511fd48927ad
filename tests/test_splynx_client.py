"""The Splynx client over real HTTP against the simulator: auth, errors, retries, pacing."""

from __future__ import annotations

import threading
import time

import pytest

from etl.errors import ConnectionFailure, RecordError, RetryableError
from etl.sandbox.splynx import SplynxSimulator
from loaders.ratelimit import TokenBucket
from loaders.splynx_client import NonceCounter, SplynxClient, UncertainWrite, coerce_id, php_query
from tests.fixtures.loader import make_client
from tests.fixtures.services import free_port
from tests.fixtures.splynx import API_SECRET

CUSTOMERS = "admin/customers/customer"
GOOD_CUSTOMER = {"name": "Ann Lee", "partner_id": 1, "location_id": 1, "email": "ann@example.com"}


def test_php_query_flattens_nested_search_like_http_build_query() -> None:
    pairs = php_query({"main_attributes": {"login": ["LIKE", "dur"], "id": ["IN", [1, 2]]}, "limit": 5})
    assert pairs == [
        ("main_attributes[login][0]", "LIKE"),
        ("main_attributes[login][1]", "dur"),
        ("main_attributes[id][0]", "IN"),
        ("main_attributes[id][1][0]", "1"),
        ("main_attributes[id][1][1]", "2"),
        ("limit", "5"),
    ]


def test_ids_are_coerced_to_strings_whatever_splynx_sends() -> None:
    assert [coerce_id(v) for v in (12, "12", 12.0, " 12 ", "abc")] == ["12", "12", "12", "12", "abc"]


def test_nonce_strictly_increases_across_threads() -> None:
    counter = NonceCounter()
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        values = [counter.next() for _ in range(500)]
        with lock:
            seen.extend(values)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 2000
    assert min(seen) >= int(time.time() * 100) - 1000


@pytest.mark.parametrize("auth", ["signature", "token"])
def test_both_auth_modes_read_and_write(splynx_sim: SplynxSimulator, auth: str) -> None:
    client = make_client(splynx_sim, auth=auth)
    client.check()
    partners = client.list("admin/administration/partners")
    assert partners[0]["id"] == "1"
    new_id = client.create(CUSTOMERS, GOOD_CUSTOMER)
    assert isinstance(new_id, str) and client.get(f"{CUSTOMERS}/{new_id}")["name"] == "Ann Lee"


@pytest.mark.parametrize("auth", ["signature", "token"])
def test_wrong_secret_is_a_connection_failure_with_the_fix_and_no_secret(
    splynx_sim: SplynxSimulator, auth: str
) -> None:
    client = make_client(splynx_sim, auth=auth, secret="not-the-secret")
    with pytest.raises(ConnectionFailure) as caught:
        client.list(CUSTOMERS)
    line = caught.value.one_line()
    assert "rejected the API key" in line or "refused" in line
    assert "ETL_SPLYNX_KEY/ETL_SPLYNX_SECRET" in line
    assert "not-the-secret" not in line and API_SECRET not in line


def test_missing_permission_is_reported_as_such(splynx_sim: SplynxSimulator) -> None:
    splynx_sim.forbidden.add(CUSTOMERS)
    with pytest.raises(ConnectionFailure, match="permission") as caught:
        make_client(splynx_sim).list(CUSTOMERS)
    assert "permissions" in (caught.value.fix or "")


def test_unreachable_splynx_says_where_it_looked() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = SplynxClient(url, "k", "s", auth="signature", attempts=2, max_wait_s=0.01)
    with pytest.raises(ConnectionFailure, match=f"cannot reach Splynx at {url}"):
        client.list(CUSTOMERS)
    with pytest.raises(ConnectionFailure, match="cannot reach Splynx"):  # a POST never sent is no uncertain write
        client.create(CUSTOMERS, GOOD_CUSTOMER)


def test_token_is_renewed_before_it_expires(splynx_sim: SplynxSimulator) -> None:
    splynx_sim.auth.access_ttl_s = 20.0  # inside the client's 30 s margin: every call renews
    client = make_client(splynx_sim, auth="token")
    client.list(CUSTOMERS)
    first = client.requests_sent
    client.list(CUSTOMERS)
    assert client.requests_sent == first + 2  # a renewal, then the call itself: never a 401 round trip


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({**GOOD_CUSTOMER, "name": ""}, "name", "''"[1:-1]),
        ({**GOOD_CUSTOMER, "email": "not-an-email"}, "email", "not-an-email"),
        ({**GOOD_CUSTOMER, "status": "sleeping"}, "status", "sleeping"),
        ({**GOOD_CUSTOMER, "partner_id": 999}, "partner_id", "999"),
        ({**GOOD_CUSTOMER, "location_id": 777}, "location_id", "777"),
    ],
    ids=["blank-name", "bad-email", "bad-status", "unknown-partner", "unknown-location"],
)
def test_each_validation_refusal_is_a_record_error_with_field_value_and_fix(
    splynx_sim: SplynxSimulator, body: dict[str, object], field: str, value: str
) -> None:
    client = make_client(splynx_sim)
    with pytest.raises(RecordError) as caught:
        client.create(CUSTOMERS, body)
    problem = caught.value.problem
    assert problem.code == "splynx_validation"
    assert problem.field == field
    assert (problem.value or "") == value
    assert field in (problem.fix or "") and "etl fix" in (problem.fix or "")
    assert splynx_sim.rows(CUSTOMERS) == []


def test_every_field_error_is_in_the_message(splynx_sim: SplynxSimulator) -> None:
    with pytest.raises(RecordError) as caught:
        make_client(splynx_sim).create(CUSTOMERS, {"partner_id": 1, "location_id": 1, "email": "x", "status": "?"})
    message = caught.value.problem.message
    assert "name" in message and "email" in message and "status" in message


def test_secret_field_values_never_appear_in_errors(splynx_sim: SplynxSimulator) -> None:
    body = {**GOOD_CUSTOMER, "name": "", "password": "hunter2-secret"}
    with pytest.raises(RecordError) as caught:
        make_client(splynx_sim).create(CUSTOMERS, {**body, "password": ["not", "a", "string"]})
    assert "hunter2" not in caught.value.one_line()


def test_429_is_retried_after_retry_after(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    splynx_sim.faults.retry_after_s = 0.05
    splynx_sim.faults.burst_429 = 2
    before = client.requests_sent
    assert client.list("admin/administration/partners")[0]["id"] == "1"
    assert client.requests_sent - before == 3


def test_post_is_retried_on_429_because_nothing_was_done(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    splynx_sim.faults.burst_429 = 1
    before = client.requests_sent
    client.create(CUSTOMERS, GOOD_CUSTOMER)
    assert client.requests_sent - before == 2
    assert len(splynx_sim.rows(CUSTOMERS)) == 1


def test_5xx_on_a_read_is_retried_until_it_succeeds(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature", attempts=40, max_wait_s=0.01)
    splynx_sim.faults.error_rate = 0.9  # the simulator's seeded RNG fails the first request and some after
    before = client.requests_sent
    assert client.list("admin/administration/partners")[0]["id"] == "1"
    splynx_sim.faults.reset()
    assert client.requests_sent - before > 1


def test_5xx_that_persists_surfaces_as_retryable(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature", attempts=3)
    splynx_sim.faults.error_rate = 1.0
    before = client.requests_sent
    with pytest.raises(RetryableError, match="HTTP 500"):
        client.list(CUSTOMERS)
    assert client.requests_sent - before == 3


def test_5xx_on_a_post_is_an_uncertain_write_never_retried(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    splynx_sim.faults.error_rate = 1.0
    before = client.requests_sent
    with pytest.raises(UncertainWrite):
        client.create(CUSTOMERS, GOOD_CUSTOMER)
    assert client.requests_sent - before == 1


def test_dropped_post_is_not_retried_and_raises_uncertain_write(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    client.check()
    splynx_sim.faults.drop_next = 1
    before = client.requests_sent
    with pytest.raises(UncertainWrite, match="may have applied"):
        client.create(CUSTOMERS, GOOD_CUSTOMER)
    assert client.requests_sent - before == 1
    assert len(splynx_sim.rows(CUSTOMERS)) == 1  # committed exactly once, answer lost


def test_dropped_read_is_retried(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    splynx_sim.faults.drop_next = 1
    before = client.requests_sent
    assert client.list("admin/administration/partners")[0]["id"] == "1"
    assert client.requests_sent - before == 2


def test_search_count_options_update_and_delete(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim)
    ids = [client.create(CUSTOMERS, {**GOOD_CUSTOMER, "name": f"Durden {i}", "email": f"d{i}@x.org"}) for i in range(3)]
    assert client.count(CUSTOMERS) == 3
    found = client.list(CUSTOMERS, main={"name": ["LIKE", "Durden 1"]})
    assert [r["id"] for r in found] == [ids[1]]
    assert client.count(CUSTOMERS, main={"id": ["IN", ids[:2]]}) == 2
    assert any(a["name"] == "name" for a in client.options(CUSTOMERS)["attributes"])
    client.update(f"{CUSTOMERS}/{ids[0]}", {"city": "Shelbyville"})
    assert client.get(f"{CUSTOMERS}/{ids[0]}")["city"] == "Shelbyville"
    assert client.delete(f"{CUSTOMERS}/{ids[2]}") is True
    assert client.delete(f"{CUSTOMERS}/{ids[2]}") is False
    assert client.count(CUSTOMERS) == 2


def test_signature_mode_survives_nonce_races_between_threads(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature", max_concurrency=8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                client.list("admin/administration/partners")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_second_process_using_the_key_right_after_the_first_still_gets_in(splynx_sim: SplynxSimulator) -> None:
    first = make_client(splynx_sim, auth="signature")
    for _ in range(30):  # runs the first client's nonces ahead of the clock
        first.list("admin/administration/partners")
    second = make_client(splynx_sim, auth="signature")
    assert second.list("admin/administration/partners")[0]["id"] == "1"


def test_client_side_rate_limit_paces_requests(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature", rate_per_s=40.0)
    start = time.monotonic()
    for _ in range(21):
        client.list("admin/administration/partners")
    elapsed = time.monotonic() - start
    assert elapsed >= 0.45  # 20 intervals at 40/s


def test_token_bucket_allows_its_rate_and_no_more() -> None:
    bucket = TokenBucket(200.0)
    start = time.monotonic()
    for _ in range(101):
        bucket.acquire()
    assert 0.45 <= time.monotonic() - start < 1.5


# --- answers that are not JSON (issue #11) ------------------------------------------------------------

PARTNERS = "admin/administration/partners"


@pytest.mark.parametrize("fault", ["html_next", "html_after_next", "truncate_next"])
def test_a_read_answered_with_html_or_cut_json_is_retried_until_it_succeeds(
    splynx_sim: SplynxSimulator, fault: str
) -> None:
    client = make_client(splynx_sim, auth="signature")
    setattr(splynx_sim.faults, fault, 2)
    before = client.requests_sent
    assert client.list(PARTNERS)[0]["id"] == "1"
    assert client.requests_sent - before == 3
    assert sum(splynx_sim.faults.injected.values()) == 2


def test_a_put_answered_with_html_after_commit_is_repeated_because_it_is_idempotent(
    splynx_sim: SplynxSimulator,
) -> None:
    client = make_client(splynx_sim, auth="signature")
    new_id = client.create(CUSTOMERS, GOOD_CUSTOMER)
    splynx_sim.faults.html_after_next = 1
    before = client.requests_sent
    client.update(f"{CUSTOMERS}/{new_id}", {"city": "Shelbyville"})
    assert client.requests_sent - before == 2
    assert client.get(f"{CUSTOMERS}/{new_id}")["city"] == "Shelbyville"


def test_a_persistent_html_answer_is_one_line_naming_the_call_what_came_back_and_the_fix(
    splynx_sim: SplynxSimulator,
) -> None:
    client = make_client(splynx_sim, auth="token", attempts=3, max_wait_s=0.01)
    client.check()  # the token is fetched before the faults start
    splynx_sim.faults.html_next = 100
    before = client.requests_sent
    with pytest.raises(RetryableError) as caught:
        client.list(CUSTOMERS)
    assert not isinstance(caught.value, UncertainWrite)
    assert client.requests_sent - before == 3
    line = caught.value.one_line()
    assert "GET admin/customers/customer" in line and "text/html" in line and "<!DOCTYPE html>" in line
    assert "proxy or maintenance page" in line and "ETL_SPLYNX_URL" in line
    assert "\n" not in line and API_SECRET not in line and "access_token" not in line


def test_a_record_of_the_wrong_shape_is_retried_then_named(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature", attempts=2, max_wait_s=0.01)
    before = client.requests_sent
    with pytest.raises(RetryableError, match="a JSON list where a JSON object was expected"):
        client.get(PARTNERS)  # a collection path answers a list; a record was asked for
    assert client.requests_sent - before == 2


@pytest.mark.parametrize("fault", ["html_after_next", "truncate_next"])
def test_a_post_answered_with_html_or_cut_json_after_commit_is_an_uncertain_write_never_repeated(
    splynx_sim: SplynxSimulator, fault: str
) -> None:
    client = make_client(splynx_sim, auth="signature")
    setattr(splynx_sim.faults, fault, 1)
    before = client.requests_sent
    with pytest.raises(UncertainWrite) as caught:
        client.create(CUSTOMERS, GOOD_CUSTOMER)
    assert client.requests_sent - before == 1
    assert len(splynx_sim.rows(CUSTOMERS)) == 1  # applied once, answer unusable
    assert "POST admin/customers/customer" in caught.value.one_line()
    assert "migration marker" in (caught.value.fix or "")


def test_a_token_login_answered_with_html_is_simply_repeated(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="token")
    splynx_sim.faults.html_next = 1  # hits POST admin/auth/tokens: a second login is harmless
    before = client.requests_sent
    client.check()
    assert client.requests_sent - before == 3  # login (html), login, check


def test_a_count_without_its_header_is_retried(splynx_sim: SplynxSimulator) -> None:
    client = make_client(splynx_sim, auth="signature")
    splynx_sim.faults.html_next = 1
    before = client.requests_sent
    assert client.count(PARTNERS) == 1
    assert client.requests_sent - before == 2
