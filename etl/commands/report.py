"""`etl report`: a run's counts, timings and failures as Markdown, JSON or HTML."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from etl.commands.failures import resolve_run
from etl.context import open_ledger
from etl.errors import ConfigError


class ReportFormat(StrEnum):
    """Output formats of `etl report`."""

    MD = "md"
    JSON = "json"
    HTML = "html"


def report(
    run: Annotated[int | None, typer.Argument(help="Run id; default the newest migration run.")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="md, json or html.")] = ReportFormat.MD,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Write a run report (HTML has charts of throughput and failures).

    Example: `etl report 3 --format html -o run3.html`.
    """
    from etl.report import render

    ledger = open_ledger(upgrade=False)
    try:
        text = render(ledger, resolve_run(ledger, run), fmt.value)
    finally:
        ledger.close()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror}", fix="choose a writable path") from exc
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add `report` to the CLI."""
    app.command()(report)
