"""`xsync push`: Send the operations store's changes to Xero (ops → Xero)."""

from __future__ import annotations

import typer

from xsync.cli.runner import sync_command


def register(app: typer.Typer) -> None:
    app.command("push")(sync_command("push", __doc__.split(": ", 1)[1]))
