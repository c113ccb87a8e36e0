"""The layers hold: each package imports only the layers under it (the README's layout).

The sandbox in particular shares no code with xsync's client, so that a bug in one cannot hide
its twin in the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "xsync"

# package -> (xsync packages it may import, third-party modules it must not import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "model": ({"model"}, {"httpx", "keyring", "typer", "rich", "sqlite_utils", "tenacity"}),
    "sync": ({"model", "errors", "state", "sync"}, {"httpx", "keyring", "typer", "rich"}),
    "sides": ({"model", "errors", "xero", "sides"}, {"typer", "rich", "keyring"}),
    "xero": ({"model", "errors", "xero", "__version__"}, {"typer", "rich", "sqlite3",
                                                       "sqlite_utils"}),
    "sandbox": ({"sandbox"}, {"typer", "rich", "keyring", "tenacity"}),
    "state": ({"state", "model", "errors"}, {"httpx", "typer", "rich"}),
    "watch": ({"watch", "sync", "model", "errors"}, {"httpx", "typer", "rich"}),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "xsync":
                found.update(f"xsync.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_the_layers_under_it(package: str) -> None:
    allowed, banned = RULES[package]
    problems = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "xsync" and len(parts) > 1 and parts[1] not in allowed:
                problems.append(f"{path.relative_to(SRC)} imports {name}")
            if parts[0] in banned:
                problems.append(f"{path.relative_to(SRC)} imports {name}")
    assert problems == []


def test_typer_and_rich_live_only_in_the_cli() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.parts[-2] != "cli"
        and any(n.split(".")[0] in ("typer", "rich") for n in _imports(path))
    ]
    assert offenders == []
