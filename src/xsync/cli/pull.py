"""`xsync pull`: Bring Xero's changes into the operations store (Xero → ops)."""

from __future__ import annotations

import typer

from xsync.cli.runner import sync_command


def register(app: typer.Typer) -> None:
    app.command("pull")(sync_command("pull", __doc__.split(": ", 1)[1]))
