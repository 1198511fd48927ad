"""`etl copy SRC DST`: copy files between local paths, SFTP, S3, GCS and Azure, resumably."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from etl.context import get_settings, open_ledger
from etl.sizes import parse_size
from loaders.files import CopyOptions, Engine, copy_files

console = Console()


def copy(
    src: Annotated[str, typer.Argument(help="Source: path, file://, sftp://user@host:port/path, s3://, gs://, az://.")],
    dst: Annotated[str, typer.Argument(help="Destination, same forms as SRC.")],
    streams: Annotated[int, typer.Option(help="Parallel chunk transfers.")] = 4,
    chunk_size: Annotated[str, typer.Option(help="Chunk size: 8MiB, 64M, 1G.")] = "8MiB",
    checksum: Annotated[
        bool, typer.Option("--checksum", help="Read every destination back and compare sha256.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be copied; copy nothing.")] = False,
    engine: Annotated[str, typer.Option(help="go, python or auto (Go when it can reach both ends).")] = "auto",
    json_lines: Annotated[bool, typer.Option("--json", help="Print the JSON-lines protocol on stdout.")] = False,
) -> None:
    """Copy a file or a tree in checkpointed chunks; rerun the same command to resume.

    Example: `etl copy ./exports s3://isp-archive/exports --streams 8 --chunk-size 16MiB`.
    """
    if engine not in ("go", "python", "auto"):
        raise typer.BadParameter("must be go, python or auto", param_hint="--engine")
    chosen: Engine = engine  # type: ignore[assignment]
    options = CopyOptions(
        streams=streams, chunk_size=parse_size(chunk_size), checksum=checksum, dry_run=dry_run, engine=chosen
    )

    def show(event: dict[str, Any]) -> None:
        if json_lines:
            print(json.dumps(event), flush=True)

    ledger = open_ledger()
    try:
        result = copy_files(src, dst, options, ledger, get_settings().home, on_event=show)
    finally:
        ledger.close()
    if json_lines:
        print(
            json.dumps(
                {
                    "event": "summary",
                    "run_id": result.run_id,
                    "engine": result.engine,
                    "files": result.files,
                    "skipped": result.skipped,
                    "bytes": result.bytes,
                    "copied_chunks": result.copied_chunks,
                    "resumed_chunks": result.resumed_chunks,
                    "redone_chunks": result.redone_chunks,
                }
            ),
            flush=True,
        )
        return
    console.print(
        f"run {result.run_id}: {result.files} file(s) copied with the {result.engine} engine, "
        f"{result.skipped} already there; chunks copied {result.copied_chunks}, "
        f"resumed {result.resumed_chunks}, recopied {result.redone_chunks}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add `copy` to the CLI."""
    app.command()(copy)
