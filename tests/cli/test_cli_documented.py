"""Every command a user can run is documented in the README and has help text."""

from __future__ import annotations

from pathlib import Path

import typer.main

from xsync.cli.app import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands(group, prefix="xsync"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if hasattr(command, "commands"):
            yield from _commands(command, path)


def test_every_command_is_in_the_readme_with_help():
    root = typer.main.get_command(app)
    found = list(_commands(root))
    assert any(path == "xsync init" for path, _ in found)
    for path, command in found:
        assert f"`{path}" in README, f"{path} is not documented in README.md"
        assert (command.help or "").strip(), f"{path} has no help text"
