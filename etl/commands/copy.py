"""`etl copy SRC DST`: copy files between local paths, SFTP, S3, GCS and Azure, resumably."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from etl.context import get_settings, open_ledger
from etl.errors import ConfigError
from etl.sizes import parse_size

if TYPE_CHECKING:  # the storage SDKs (boto3, google-cloud, azure, paramiko) load only when a copy runs
    from loaders.files import CopyResult, Engine

console = Console()


def _size(text: str) -> str:
    """Typer callback: a chunk size that does not parse is a usage error of `--chunk-size`."""
    try:
        parse_size(text)
    except ConfigError as exc:
        raise typer.BadParameter(exc.message) from None
    return text


def copy(
    src: Annotated[str, typer.Argument(help="Source: path, file://, sftp://user@host:port/path, s3://, gs://, az://.")],
    dst: Annotated[str, typer.Argument(help="Destination, same forms as SRC.")],
    streams: Annotated[int, typer.Option(help="Parallel chunk transfers.", min=1)] = 4,
    chunk_size: Annotated[str, typer.Option(help="Chunk size: 8MiB, 64M, 1G.", callback=_size)] = "8MiB",
    checksum: Annotated[
        bool, typer.Option("--checksum", help="Read every destination back and compare sha256.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (files, chunks, engine, skips); write nothing.")
    ] = False,
    engine: Annotated[str, typer.Option(help="go, python or auto (Go when it can reach both ends).")] = "auto",
    json_lines: Annotated[bool, typer.Option("--json", help="Print the JSON-lines protocol on stdout.")] = False,
) -> None:
    """Copy a file or a tree in checkpointed chunks; rerun the same command to resume.

    Example: `etl copy ./exports s3://isp-archive/exports --streams 8 --chunk-size 16MiB`.
    """
    from loaders.files import CopyOptions, copy_files

    if engine not in ("go", "python", "auto"):
        raise typer.BadParameter("must be go, python or auto", param_hint="--engine")
    chosen: Engine = engine  # type: ignore[assignment]
    options = CopyOptions(
        streams=streams, chunk_size=parse_size(chunk_size), checksum=checksum, dry_run=dry_run, engine=chosen
    )

    plan: list[dict[str, Any]] = []

    def show(event: dict[str, Any]) -> None:
        if json_lines:
            print(json.dumps(event), flush=True)
        elif dry_run:
            plan.append(event)

    ledger = open_ledger()
    try:
        result = copy_files(src, dst, options, ledger, get_settings().home, on_event=show)
    finally:
        ledger.close()
    if json_lines:
        print(json.dumps({"event": "summary", **_summary(result)}), flush=True)
    elif dry_run:
        _print_plan(plan, result)
    else:
        console.print(
            f"run {result.run_id}: {result.files} file(s) copied with the {result.engine} engine, "
            f"{result.skipped} already there; chunks copied {result.copied_chunks}, "
            f"resumed {result.resumed_chunks}, recopied {result.redone_chunks}",
            highlight=False,
        )


def _summary(result: CopyResult) -> dict[str, Any]:
    keys = ("run_id", "engine", "files", "skipped", "bytes", "planned_chunks", "copied_chunks",
            "resumed_chunks", "redone_chunks", "dry_run")
    return {k: getattr(result, k) for k in keys}


def _print_plan(plan: list[dict[str, Any]], result: CopyResult) -> None:
    """The dry run's plan as a table: what each file would cost and what the ledger lets us skip."""
    table = Table("file", "size", "chunks", "action", title=f"dry run: {result.engine} engine, nothing written")
    for e in plan:
        if e.get("skip"):
            action = f"skip ({e['skip']})"
        elif e.get("verified_chunks"):
            action = f"resume: recheck {e['verified_chunks']} verified chunk(s), copy the rest"
        else:
            action = "copy"
        table.add_row(e["file"], f"{e['size']:,}", str(e["chunks"]), action)
    console.print(table)
    console.print(
        f"would copy {result.files} file(s), {result.bytes:,} bytes in {result.planned_chunks} chunk(s); "
        f"{result.resumed_chunks} chunk(s) already verified, {result.skipped} file(s) already copied",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `copy` to the CLI."""
    app.command()(copy)
