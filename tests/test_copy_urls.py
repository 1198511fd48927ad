"""Storage URLs: a password in a URL or a malformed port is refused before anything is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.errors import ConfigError
from loaders.file_backends import locate
from state.ledger import Ledger


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sftp://bob:hunter2@files.example.com/srv/docs", "contains a password"),
        ("sftp://bob@files.example.com:port/srv/docs", "bad port"),
        ("s3:///no-bucket", "has no bucket"),
        ("ftp://files.example.com/x", "unsupported scheme ftp"),
    ],
)
def test_bad_storage_url_is_refused_with_a_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        locate(url)
    assert message in caught.value.message
    assert "hunter2" not in caught.value.one_line()


def test_copy_with_a_password_in_the_url_records_nothing_and_shows_no_secret(tmp_path: Path) -> None:
    home = tmp_path / ".etl"
    result = CliRunner().invoke(
        app, ["--home", str(home), "copy", "sftp://bob:hunter2@127.0.0.1:2222/srv", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert "ETL_SFTP_PASSWORD" in result.output
    if (home / "ledger.db").exists():
        ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
        try:
            assert ledger.runs(kind="copy") == []
        finally:
            ledger.close()
