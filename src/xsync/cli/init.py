"""`xsync init`: create a workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from xsync.cli.console import console

EXAMPLE_SQL = Path(__file__).with_name("example_ops.sql")

# The example's settings, over the annotated defaults: each (default line, example line). The
# example's bill line has the category `materials`, so it needs its account; JOB-1002 (44.00) is
# below the minimum and stays in ops; the accountant's and the team's wording of a line is
# decided by hand.
EXAMPLE_SETTINGS = (
    ('# description = "flag"   # decide by hand with `xsync resolve`',
     'description = "flag"   # decide by hand with `xsync resolve`'),
    ('# min_total = "100.00"   # invoices below this total are not pushed',
     'min_total = "50.00"   # invoices below this total are not pushed'),
    ('# materials = "310"', 'materials = "310"'),
)


def example_toml() -> str:
    """The annotated default `xsync.toml`, with the settings the example data needs."""
    from xsync.config import DEFAULT_TOML

    text = DEFAULT_TOML
    for default, example in EXAMPLE_SETTINGS:
        if default not in text:
            raise RuntimeError(f"the default xsync.toml no longer has the line {default!r}")
        text = text.replace(default, example, 1)
    return text


def init(
    directory: Path = typer.Argument(Path("."), help="Folder for the workspace (made if needed)."),
    force: bool = typer.Option(False, "--force", help="Rewrite xsync.toml if it exists."),
    example: bool = typer.Option(
        False, "--example",
        help="Fill ops.db with the example data (5 contacts, 3 jobs, a bill) and write the "
             "xsync.toml that fits it."),
) -> None:
    """Create a workspace: an annotated xsync.toml, the state database and an empty ops.db
    (with --example: the example's data and settings)."""
    from xsync.config import DEFAULT_TOML, Workspace
    from xsync.sync.books import Books

    workspace = Workspace(directory)
    workspace.root.mkdir(parents=True, exist_ok=True)
    if workspace.exists() and not force:
        console.print(f"Workspace already exists at {workspace.root}; left as it is.", markup=False)
        if example:
            _check_example_settings(workspace)
    else:
        workspace.config_path.write_text(example_toml() if example else DEFAULT_TOML)
        console.print(f"Wrote {workspace.config_path}", markup=False)
    Books.create(workspace.state_path)
    console.print(f"State database {workspace.state_path} (mode 0600)", markup=False)
    path = _init_ops_store(workspace)
    if example:
        _fill_example(path)
        console.print("Next: `xsync sandbox serve --data sandbox-data &`, then `xsync connect "
                      "--sandbox http://127.0.0.1:8765` (or `xsync connect` for Xero itself).",
                      markup=False)
    else:
        console.print("Next: `xsync connect` (or `xsync connect --sandbox URL` to try the "
                      "sandbox).", markup=False)


def _init_ops_store(workspace: object) -> Path | None:
    """Create the ops store's schema when the default SQLite store is used; its path."""
    try:
        from xsync.sides.ops_sqlite import create_ops_db
    except ImportError:
        return None
    from xsync.config import Workspace

    assert isinstance(workspace, Workspace)
    settings = workspace.settings()
    if settings.ops.store != "sqlite":
        return None
    path = workspace.ops_path(settings)
    create_ops_db(path)
    console.print(f"Operations store {path}", markup=False)
    return path


def _check_example_settings(workspace: object) -> None:
    """An existing xsync.toml kept under --example must still fit the example's data."""
    from xsync.config import Workspace

    assert isinstance(workspace, Workspace)
    if "materials" not in workspace.settings().mappings.categories:
        raise _refused(
            f"{workspace.config_path} maps no account for the example's category 'materials'",
            "Run `xsync init --example --force` to write the example's xsync.toml.")


def _fill_example(path: Path | None) -> None:
    """Write the example's rows into an ops.db that holds none yet."""
    if path is None:
        raise _refused("--example fills the default SQLite ops store; [ops] store is another",
                       'Set [ops] store = "sqlite" or leave out --example.')
    from xsync.sides.ops_facts import rows_held, run_script

    held = rows_held(path)
    if held:
        raise _refused(
            f"{path} already holds {held} contacts, invoices or bills; the example is "
            "written only into an empty ops.db",
            "Use another folder: `xsync init --example DIR`.")
    run_script(path, EXAMPLE_SQL.read_text())
    console.print(f"Example data written to {path}: 5 contacts, 3 invoices (jobs), 1 bill",
                  markup=False)


def _refused(message: str, hint: str) -> Exception:
    from xsync.errors import ConfigError

    error = ConfigError(message)
    error.hint = hint
    return error


def register(app: typer.Typer) -> None:
    app.command("init")(init)
