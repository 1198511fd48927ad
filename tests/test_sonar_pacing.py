"""Client-side pacing: the extractor stays under Sonar's requests-a-minute limit instead of hitting it.

Sonar answers the excess over 400 requests a minute with `{"error": "Request limit of 400/min reached."}`;
the client paces itself (default 360/min, `[sonar] rate_per_minute`, ETL_SONAR_RATE_PER_MINUTE) so it
never has to be told. Measured against the simulator's own limit, scaled down to seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config import load_settings
from etl.errors import ConfigError
from etl.sandbox.sonar import SonarSimulator
from extractors import sonar_queries as q
from extractors.sonar import DEFAULT_RATE_PER_MINUTE, SonarClient, SonarExtractor

SIM_PER_MINUTE = 120  # the simulator's limit: two a second
PER_MINUTE = 100  # the client's pace, under it with a margin (as 360 is under Sonar's 400)
REQUESTS = 9


@pytest.fixture
def limited_sim() -> Iterator[SonarSimulator]:
    sim = SonarSimulator(customers=5, seed=1, token="t", rate_limit_per_s=SIM_PER_MINUTE / 60)
    sim.start()
    yield sim
    sim.stop()


def _count(client: SonarClient) -> None:
    client.execute(q.id_document("account"), {"paginator": {"page": 1, "records_per_page": 1}})


def test_requests_from_several_threads_are_paced_and_never_throttled(limited_sim: SonarSimulator) -> None:
    client = SonarClient(limited_sim.url, "t", rate_per_minute=PER_MINUTE, max_wait=5)
    assert client.pacer is not None
    time.sleep(1.0)  # the simulator's bucket starts full after a second
    started = time.monotonic()
    threads = [threading.Thread(target=_count, args=(client,)) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    client.close()
    expected = (REQUESTS - client.pacer.capacity) * 60 / PER_MINUTE
    assert elapsed >= expected - 0.05, f"{REQUESTS} requests took {elapsed:.2f}s, pacing needs {expected:.2f}s"
    assert client.requests == REQUESTS  # no attempt was throttled and retried


def test_unpaced_client_is_throttled_by_the_same_limit(limited_sim: SonarSimulator) -> None:
    client = SonarClient(limited_sim.url, "t", max_wait=0.2)
    for _ in range(REQUESTS):
        _count(client)
    client.close()
    assert client.requests > REQUESTS  # the simulator refused some: this is what pacing avoids


def test_rate_comes_from_the_environment_then_etl_toml_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "etl.toml"
    toml.write_text("[sonar]\nrate_per_minute = 200\n", encoding="utf-8")
    monkeypatch.delenv("ETL_SONAR_RATE_PER_MINUTE", raising=False)
    assert load_settings(toml).sonar_rate_per_minute == 200
    monkeypatch.setenv("ETL_SONAR_RATE_PER_MINUTE", "90")
    assert load_settings(toml).sonar_rate_per_minute == 90
    monkeypatch.setenv("ETL_SONAR_RATE_PER_MINUTE", "fast")
    with pytest.raises(ConfigError, match="ETL_SONAR_RATE_PER_MINUTE"):
        load_settings(toml)
    toml.write_text("[sonar]\nrate_per_minute = 1000\n", encoding="utf-8")
    monkeypatch.delenv("ETL_SONAR_RATE_PER_MINUTE")
    with pytest.raises(ConfigError, match="rate_per_minute"):
        load_settings(toml)


def test_default_pace_stays_under_sonars_400_a_minute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ETL_SONAR_RATE_PER_MINUTE", raising=False)
    monkeypatch.setenv("ETL_SONAR_URL", "http://127.0.0.1:9/api/graphql")
    monkeypatch.setenv("ETL_SONAR_TOKEN", "t")
    monkeypatch.setenv("ETL_CONFIG", str(tmp_path / "absent.toml"))
    settings = load_settings()
    with SonarExtractor.from_settings(settings) as extractor:
        pacer = extractor.client.pacer
        assert pacer is not None and pacer.per_minute == DEFAULT_RATE_PER_MINUTE
        assert pacer.per_minute + pacer.capacity < 400  # the worst 60 s window, burst included
