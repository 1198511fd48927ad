"""Both simulators together, as `etl sandbox up` and `etl demo` run them.

Why one object: the demo, the CLI and the end-to-end tests all need "a Sonar with N customers and
an empty Splynx, and the environment variables that point the tool at them" — defined once here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from etl.sandbox.sonar import SonarSimulator
from etl.sandbox.splynx import SplynxSimulator


@dataclass
class SandboxPair:
    """A running Sonar simulator and Splynx simulator, with fresh random credentials."""

    customers: int = 100
    seed: int = 42
    splynx_db: Path | None = None
    sonar_rate: float | None = None
    splynx_rate: float | None = None
    sonar_port: int = 0
    splynx_port: int = 0
    token: str = field(default_factory=lambda: "sonar-" + secrets.token_hex(12))
    key: str = field(default_factory=lambda: secrets.token_hex(16))
    secret: str = field(default_factory=lambda: secrets.token_hex(16))

    def __post_init__(self) -> None:
        self.sonar = SonarSimulator(
            customers=self.customers,
            seed=self.seed,
            token=self.token,
            rate_limit_per_s=self.sonar_rate,
            port=self.sonar_port,
        )
        self.splynx = SplynxSimulator(
            db_path=self.splynx_db,
            api_key=self.key,
            api_secret=self.secret,
            rate_limit_per_s=self.splynx_rate,
            port=self.splynx_port,
        )

    def start(self) -> dict[str, str]:
        """Start both servers and return the environment that points `etl` at them."""
        self.sonar.start()
        self.splynx.start()
        return self.environment()

    def environment(self) -> dict[str, str]:
        """ETL_* variables for the running simulators (secrets included: this is a sandbox)."""
        return {
            "ETL_SONAR_URL": self.sonar.url,
            "ETL_SONAR_TOKEN": self.token,
            # the client paces itself 10% under the simulator's own limit (as 360 under Sonar's 400); 0: none
            "ETL_SONAR_RATE_PER_MINUTE": f"{(self.sonar.rate_limiter.per_second or 0) * 54:g}",
            "ETL_SPLYNX_URL": self.splynx.base_url,
            "ETL_SPLYNX_KEY": self.key,
            "ETL_SPLYNX_SECRET": self.secret,
            # the simulator applies a write within milliseconds (fault latency adds at most a second)
            "ETL_SPLYNX_SETTLE_SECONDS": "2",
        }

    def stop(self) -> None:
        """Stop both servers."""
        self.sonar.stop()
        self.splynx.stop()

    def __enter__(self) -> SandboxPair:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def export_lines(environment: dict[str, str]) -> str:
    """`export NAME=value` lines a shell can `eval` or `source`."""
    return "".join(f"export {name}={value}\n" for name, value in environment.items())
