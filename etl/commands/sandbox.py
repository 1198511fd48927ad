"""`etl sandbox up`: serve the Sonar and Splynx simulators on localhost until interrupted."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from etl.errors import ConfigError
from etl.options import positive

console = Console(stderr=True)
sandbox_app = typer.Typer(help="Local Sonar and Splynx simulators.", no_args_is_help=True)


@sandbox_app.command("up")
def up(
    customers: Annotated[int, typer.Option(help="Sonar accounts to generate (1 to 100000).", min=1, max=100_000)] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
    sonar_port: Annotated[int, typer.Option(help="Sonar port (0 = any free port).", min=0, max=65535)] = 0,
    splynx_port: Annotated[int, typer.Option(help="Splynx port (0 = any free port).", min=0, max=65535)] = 0,
    splynx_db: Annotated[Path | None, typer.Option(help="Keep Splynx's data in this SQLite file.")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second each simulator allows.", callback=positive)
    ] = None,
    env_file: Annotated[Path | None, typer.Option(help="Also write the export lines to this file.")] = None,
) -> None:
    """Serve both simulators and print `export` lines that point `etl` at them.

    Example: `etl sandbox up --customers 1000 --env-file sandbox.env` then, in another shell,
    `source sandbox.env && etl run --all`.
    """
    from etl.sandbox.pair import SandboxPair, export_lines

    pair = SandboxPair(
        customers=customers,
        seed=seed,
        splynx_db=splynx_db,
        sonar_rate=rate,
        splynx_rate=rate,
        sonar_port=sonar_port,
        splynx_port=splynx_port,
    )
    lines = export_lines(pair.start())
    try:
        if env_file is not None:
            env_file.write_text(lines, encoding="utf-8")
        typer.echo(lines, nl=False)
        console.print(f"Sonar at {pair.sonar.url}, Splynx at {pair.splynx.base_url}; Ctrl-C stops them.")
        threading.Event().wait()
    except OSError as exc:
        raise ConfigError(f"cannot write {env_file}: {exc.strerror}", fix="choose a writable path") from exc
    finally:
        pair.stop()


def register(app: typer.Typer) -> None:
    """Add the `sandbox` group to the CLI."""
    app.add_typer(sandbox_app, name="sandbox")
