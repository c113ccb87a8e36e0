"""`xsync sync`: Sync both directions in one plan: merge, apply, and flag what needs a person."""

from __future__ import annotations

import typer

from xsync.cli.runner import sync_command


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command("sync", __doc__.split(": ", 1)[1]))
