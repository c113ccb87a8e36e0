"""`xsync init`: create a workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from xsync.cli.console import console


def init(
    directory: Path = typer.Argument(Path("."), help="Folder for the workspace (made if needed)."),
    force: bool = typer.Option(False, "--force", help="Rewrite xsync.toml if it exists."),
) -> None:
    """Create a workspace: an annotated xsync.toml, the state database and an empty ops.db."""
    from xsync.config import DEFAULT_TOML, Workspace
    from xsync.state.db import open_state

    workspace = Workspace(directory)
    workspace.root.mkdir(parents=True, exist_ok=True)
    if workspace.exists() and not force:
        console.print(f"Workspace already exists at {workspace.root}; left as it is.", markup=False)
    else:
        workspace.config_path.write_text(DEFAULT_TOML)
        console.print(f"Wrote {workspace.config_path}", markup=False)
    open_state(workspace.state_path).close()
    console.print(f"State database {workspace.state_path} (mode 0600)", markup=False)
    _init_ops_store(workspace)
    console.print("Next: `xsync connect` (or `xsync connect --sandbox URL` to try the sandbox).")


def _init_ops_store(workspace: object) -> None:
    """Create the ops store's schema when the default SQLite store is used."""
    try:
        from xsync.sides.ops_sqlite import create_ops_db
    except ImportError:
        return
    from xsync.config import Workspace

    assert isinstance(workspace, Workspace)
    settings = workspace.settings()
    if settings.ops.store == "sqlite":
        path = workspace.ops_path(settings)
        create_ops_db(path)
        console.print(f"Operations store {path}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
