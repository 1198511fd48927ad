"""Every storage backend as source and destination, resumable uploads, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl.errors import ConfigError, ConnectionFailure
from loaders.files import CopyOptions, CopyResult, copy_files
from state.ledger import Ledger
from tests.copy_helpers import etl_copy, make_tree
from tests.fixtures.storage import azurite_connection_string

CHUNK = 256 * 1024
SIZES = {"big.bin": 3 * CHUNK + 1234, "dir/small.txt": 700, "empty": 0}


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    led = Ledger.open(f"sqlite:///{tmp_path}/ledger.db")
    yield led
    led.close()


def run_copy(ledger: Ledger, home: Path, src: str, dst: str, engine: str = "auto", streams: int = 3,
             on_event: Callable[[dict[str, Any]], None] | None = None) -> CopyResult:
    options = CopyOptions(streams=streams, chunk_size=CHUNK, checksum=True, engine=engine)  # type: ignore[arg-type]
    return copy_files(src, dst, options, ledger, home, on_event=on_event)


@pytest.fixture
def remote(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty remote location, by backend name."""
    kind = request.param
    if kind == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}/data"
    if kind == "gcs":
        return f"gs://{request.getfixturevalue('gcs_bucket')}/data"
    if kind == "azure":
        return f"az://{request.getfixturevalue('az_container')}/data"
    url, _ = request.getfixturevalue("sftp_dir")
    return f"{url}/data"


@pytest.mark.services
@pytest.mark.parametrize("remote", ["s3", "gcs", "azure", "sftp"], indirect=True)
def test_local_to_remote_and_back_is_byte_identical(remote: str, ledger: Ledger, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "src", SIZES)
    up = run_copy(ledger, tmp_path / "home", str(tmp_path / "src"), remote)
    assert up.files == 3 and up.copied_chunks == 4 + 1
    down = run_copy(ledger, tmp_path / "home", remote, str(tmp_path / "back"))
    assert down.files == 3
    for name, blob in data.items():
        assert (tmp_path / "back" / name).read_bytes() == blob
    again = run_copy(ledger, tmp_path / "home", str(tmp_path / "src"), remote)
    assert again.skipped == 3 and again.copied_chunks == 0


@pytest.mark.services
@pytest.mark.parametrize("pair", [("s3", "gcs"), ("azure", "sftp"), ("gcs", "azure")])
def test_remote_to_remote_streams_chunk_by_chunk(pair: tuple[str, str], request: pytest.FixtureRequest,
                                                 ledger: Ledger, tmp_path: Path) -> None:
    urls = []
    for kind in pair:
        urls.append(_remote_url(kind, request))
    data = make_tree(tmp_path / "src", {"a.bin": 2 * CHUNK + 5, "b.txt": 42})
    run_copy(ledger, tmp_path / "home", str(tmp_path / "src"), urls[0])
    moved = run_copy(ledger, tmp_path / "home", urls[0], urls[1])
    assert moved.files == 2 and moved.engine == "python"
    run_copy(ledger, tmp_path / "home", urls[1], str(tmp_path / "back"))
    for name, blob in data.items():
        assert (tmp_path / "back" / name).read_bytes() == blob


def _remote_url(kind: str, request: pytest.FixtureRequest) -> str:
    if kind == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}/{kind}"
    if kind == "gcs":
        return f"gs://{request.getfixturevalue('gcs_bucket')}/{kind}"
    if kind == "azure":
        return f"az://{request.getfixturevalue('az_container')}/{kind}"
    url, _ = request.getfixturevalue("sftp_dir")
    return f"{url}/{kind}"


class Interrupt(Exception):
    pass


@pytest.mark.services
@pytest.mark.parametrize(
    ("remote", "engine"),
    [("s3", "python"), ("s3", "go"), ("gcs", "python"), ("azure", "python"), ("sftp", "python")],
    indirect=["remote"],
)
def test_interrupted_upload_resumes_with_the_parts_already_there(
    remote: str, engine: str, ledger: Ledger, tmp_path: Path
) -> None:
    data = make_tree(tmp_path / "src", {"big.bin": 5 * CHUNK + 99})["big.bin"]
    seen: list[int] = []

    def stop_after_two(event: dict[str, Any]) -> None:
        if event["event"] == "chunk":
            seen.append(event["chunk"])
            if len(seen) == 2:
                raise Interrupt

    with pytest.raises(Interrupt):
        run_copy(ledger, tmp_path / "home", str(tmp_path / "src/big.bin"), remote, engine=engine, streams=1,
                 on_event=stop_after_two)
    resumed = run_copy(ledger, tmp_path / "home", str(tmp_path / "src/big.bin"), remote, engine=engine, streams=1)
    assert resumed.resumed_chunks == 2 and resumed.copied_chunks == 4
    run_copy(ledger, tmp_path / "home", remote, str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data


def test_missing_source_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = etl_copy(tmp_path / "home", str(tmp_path / "nope"), str(tmp_path / "dst"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unwritable_destination_is_one_line(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {"f": 10})
    (tmp_path / "blocker").write_text("a file where a directory should be")
    proc = etl_copy(tmp_path / "home", str(tmp_path / "src"), str(tmp_path / "blocker" / "dst"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "blocker" in proc.stderr


@pytest.mark.services
def test_wrong_azure_key_is_a_connection_failure_without_the_key(
    azurite_port: int, monkeypatch: pytest.MonkeyPatch, ledger: Ledger, tmp_path: Path
) -> None:
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_connection_string(azurite_port, wrong))
    make_tree(tmp_path / "src", {"f": 10})
    with pytest.raises(ConnectionFailure) as err:
        run_copy(ledger, tmp_path / "home", str(tmp_path / "src"), "az://nocontainer/x")
    assert wrong not in err.value.one_line() and "\n" not in err.value.one_line()


@pytest.mark.services
def test_wrong_sftp_password_fails_in_one_line_through_the_cli(
    sftp_dir: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ETL_SFTP_PASSWORD", "not-the-password")
    make_tree(tmp_path / "src", {"f": 10})
    proc = etl_copy(tmp_path / "home", str(tmp_path / "src"), sftp_dir[0])
    assert proc.returncode == 4
    assert "authentication refused" in proc.stderr and "not-the-password" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_chunk_size_not_fit_for_gcs_is_a_config_error(gcs_bucket: str, ledger: Ledger, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {"f": 3000})
    with pytest.raises(ConfigError, match="256 KiB"):
        copy_files(str(tmp_path / "src"), f"gs://{gcs_bucket}/x", CopyOptions(chunk_size=1000), ledger,
                   tmp_path / "home")
