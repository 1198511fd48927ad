"""The `etl` command: a thin Typer layer over the library.

Commands live one group per module in `etl/commands/`; each module's `register(app)` adds them.
This file only owns the global options and the rule that a user error is one line and an exit
code, never a traceback; `--debug` adds the traceback before that line and keeps the exit code.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from loguru import logger
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from typer._click.core import Context as TyperClickContext
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

import etl.commands
from etl import __version__
from etl.config import load_settings
from etl.context import set_settings
from etl.errors import EtlError
from etl.logs import register_secrets, scrub, setup_logging

err_console = Console(stderr=True)
INTERNAL_ERROR = 70


def report_error(exc: BaseException) -> int:
    """Print one line for an error and return the exit code it maps to."""
    if isinstance(exc, EtlError):
        err_console.print(f"[bold red]error:[/] {escape(scrub(exc.one_line()))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    err_console.print(
        f"[bold red]internal error:[/] {escape(scrub(type(exc).__name__ + ': ' + str(exc)))} "
        "(fix: rerun with --debug for the traceback and report it)",
        highlight=False,
        soft_wrap=True,
    )
    return INTERNAL_ERROR


def report_usage(exc: UsageError) -> int:
    """Print a usage error (bad flag, value out of range) as one line pointing at the command's help."""
    where = exc.ctx.command_path if exc.ctx is not None else "etl"
    err_console.print(
        f"[bold red]error:[/] {escape(exc.format_message())} (fix: see `{escape(where)} --help`)",
        highlight=False,
        soft_wrap=True,
    )
    return exc.exit_code


def print_traceback(exc: BaseException) -> None:
    """The traceback `--debug` asks for, scrubbed of secrets, on stderr before the one-line error."""
    sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
    sys.stderr.flush()


class EtlGroup(TyperGroup):
    """The root command group: turns errors into one line and an exit code."""

    def parse_args(self, ctx: TyperClickContext, args: list[str]) -> list[str]:
        """Parse the global options; a usage error there is one line too."""
        try:
            return super().parse_args(ctx, args)
        except NoArgsIsHelpError:
            raise  # bare `etl` shows the help
        except UsageError as exc:
            raise typer.Exit(report_usage(exc)) from None

    def invoke(self, ctx: TyperClickContext) -> Any:
        """Run the command, mapping errors to exit codes."""
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise  # a bare command group (`etl db`) shows its help
        except UsageError as exc:
            raise typer.Exit(report_usage(exc)) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own exits (typer >= 0.29 vendors click: not click's classes)
        except KeyboardInterrupt:
            err_console.print("interrupted: the run is resumable with `etl resume`")
            raise typer.Exit(130) from None
        except Exception as exc:
            logger.bind(file_only=True).opt(exception=exc).debug("command failed")
            if ctx.find_root().params.get("debug"):
                print_traceback(exc)
            raise typer.Exit(report_error(exc)) from None


app = typer.Typer(
    cls=EtlGroup,
    help="Migrate an ISP from Sonar to Splynx, resumably, with a state ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"etl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    home: Annotated[Path | None, typer.Option(help="Workspace for ledger, staging and logs [env ETL_HOME].")] = None,
    ledger: Annotated[
        str | None, typer.Option(help="Ledger URL: sqlite:///path or postgresql://… [env ETL_LEDGER_URL].")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Config file (default ./etl.toml).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Write logs as JSON lines.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on the terminal.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Resumable Sonar → Splynx migration. Start with `etl demo`, or `etl init` then `etl run`."""
    setup_logging(None, json_lines=log_json, debug=debug, quiet=quiet)  # no workspace yet: the terminal only
    settings = load_settings(config, home).with_overrides(
        ledger_url=ledger, debug=debug, log_json=log_json, quiet=quiet
    )  # a bad etl.toml raises here, inside EtlGroup.invoke: one line, or the traceback with --debug
    set_settings(settings)
    secrets = [settings.sonar_token, settings.splynx_key, settings.splynx_secret]
    register_secrets([*secrets, *_url_password(settings.ledger_url)])
    setup_logging(settings.logs_dir, json_lines=log_json, debug=debug, quiet=quiet)
    for warning in settings.warnings:
        logger.warning(warning)


def _url_password(url: str) -> list[str]:
    """The ledger URL's password, as typed (percent-encoded) and decoded, so logs can scrub both."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return []
    return [str(password), quote(str(password), safe="")] if password else []


def _register_commands() -> None:
    for module_info in sorted(pkgutil.iter_modules(etl.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"etl.commands.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
