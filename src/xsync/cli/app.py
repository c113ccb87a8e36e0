"""The `xsync` root command and the single error boundary.

Each command lives in its own module exposing ``register(app)``; heavy imports stay inside the
commands so that `xsync --help` is fast.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any

import typer
from rich.markup import escape

from xsync import __version__
from xsync.cli.console import MIN_WIDTH, err_console, set_width
from xsync.errors import ExitCode, XsyncError

COMMAND_MODULES = (
    "init",
    "connect",
    "pull",
    "push",
    "sync",
    "diff",
    "resolve",
    "status",
    "log",
    "bas",
    "doctor",
    "watch",
    "sandbox",
)

app = typer.Typer(
    name="xsync",
    help="Keep an operations platform and Xero in true bidirectional sync.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xsync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    width: int | None = typer.Option(
        None, "--width", min=MIN_WIDTH, metavar="N",
        help="Print at N columns (else COLUMNS, the terminal's width, or in full into a pipe)."),
) -> None:
    """Keep an operations platform and Xero in true bidirectional sync."""
    set_width(width)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"xsync.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"xsync.cli.{name}":
                continue
            raise
        module.register(app)


_register_commands()


def render_error(exc: XsyncError) -> None:
    """Print an xsync error: what happened, then what to do next.

    The message and hint carry record values, config keys and paths (`[mappings.categories]`),
    so they are printed as written, never read as markup.
    """
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    if exc.hint:
        err_console.print(f"[yellow]next:[/] {escape(exc.hint)}", highlight=False)


@functools.cache
def _command() -> Any:
    """The command tree, built from the app once per process: building it reads every
    command's signature and type hints, which costs more than most commands' own work (a
    process that runs many commands, as ``xsync watch`` and the tests do, pays it once)."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the app inside the error boundary."""
    set_width(None)  # until --width says otherwise, for this run (tests run many in one process)
    try:
        # without standalone mode, click hands back typer.Exit's code as the return value
        code = _command()(args=argv, standalone_mode=False)
    except XsyncError as exc:
        render_error(exc)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(ExitCode.UNEXPECTED)
    except Exception as exc:
        # Usage errors of the command-line parser (Typer vendors click, so match by shape).
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            sys.exit(ExitCode.USAGE)
        raise
    if isinstance(code, int) and code != ExitCode.OK:
        sys.exit(code)
