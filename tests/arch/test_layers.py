"""The layers hold: each package imports only the layers under it (the README's layout).

Each rule below is one package: the xsync packages it may import (itself always), then, after
"not", the third-party modules it must not import; a rule ending in a comma goes on in the next
line. The test reads its rules from these lines.

    model:    - ; not httpx, keyring, typer, rich, sqlite_utils, tenacity
    state:    model, errors ; not httpx, typer, rich
    xero:     model, errors, __version__ ; not typer, rich, sqlite3, sqlite_utils
    sides:    model, errors, xero ; not typer, rich, keyring
    sync:     model, errors, state ; not httpx, keyring, typer, rich
    watch:    sync, state, model, errors ; not httpx, typer, rich
    reports:  sync, state, model, errors ; not httpx, keyring, typer, rich
    sandbox:  - ; not typer, rich, keyring, tenacity
    cli:      model, errors, config, __version__, xero, sides, sync, watch, reports,
              sandbox ; not sqlite_utils

Typer and rich live only in ``cli/``, which sits on top. The sandbox in particular shares no
code with xsync's client, so that a bug in one cannot hide its twin in the other. The commands
reach the state database only through the engine (its books, :mod:`xsync.sync.books`, for the
commands that need no side), never through ``state/``.

Each database has one owner, with no exception: every SQL statement on the state database is in
``state/``, on the ops store in ``sides/``, on the sandbox's store in ``sandbox/``. Elsewhere no
module runs a statement (``execute``, ``executemany``, ``executescript``, ``query``, ``table``),
opens a SQLite file (``sqlite3.connect``), or spells one (a string that starts with a statement).

A run's record of what it did has one writer too: outside ``state/``, only the journal
(``sync/journal.py``) writes the outbox, links and aliases, bases and the audit log; everything
else asks the journal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "xsync"

RULE_LINE = re.compile(r"^    (\w+):\s+(.+?)\s*;\s*not\s+(.+)$")


def _rules() -> dict[str, tuple[set[str], set[str]]]:
    """package -> (xsync packages it may import, third-party modules it must not import), as
    this module's docstring states them."""
    rules: dict[str, tuple[set[str], set[str]]] = {}
    text = re.sub(r",\n\s+", ", ", __doc__ or "")
    for line in text.splitlines():
        found = RULE_LINE.match(line)
        if found:
            package, allowed, banned = found.groups()
            names = {n.strip() for n in allowed.split(",") if n.strip() not in ("", "-")}
            rules[package] = (names | {package}, {n.strip() for n in banned.split(",")})
    return rules


RULES = _rules()


def test_the_rules_cover_every_package() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert set(RULES) == packages


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


SQL_OWNERS = ("state", "sides", "sandbox")
SQL_CALLS = {"execute", "executemany", "executescript", "query", "table"}
SQL_TEXT = re.compile(
    r"\s*(SELECT\s.+\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\S+\s+SET\s|"
    r"DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|UNIQUE|TEMP)|DROP\s+|ALTER\s+TABLE|PRAGMA\s+\w|"
    r"BEGIN\b|COMMIT\b|ROLLBACK\b|SAVEPOINT\s|RELEASE\s)", re.DOTALL)


def _text(node: ast.AST) -> str | None:
    """A string literal's text, an f-string's with ``{}`` for what it interpolates."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _sql_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            target = node.func.value
            if name in SQL_CALLS or (name == "connect" and isinstance(target, ast.Name)
                                     and target.id == "sqlite3"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} calls {name}")
        elif (text := _text(node)) is not None and SQL_TEXT.match(text):
            found.append(f"{path.relative_to(SRC)}:{node.lineno} spells {text[:30]!r}")
    return found


def test_only_each_databases_owner_runs_sql_on_it() -> None:
    offenders = [use for path in sorted(SRC.rglob("*.py"))
                 if path.relative_to(SRC).parts[0] not in SQL_OWNERS
                 for use in _sql_uses(path)]
    assert offenders == []


# the state package's writers of the outbox, links and aliases, bases and the audit log
JOURNAL_WRITES = {"alias", "link", "link_many", "save_base", "save_bases", "confirm_bases",
                  "outbox_add", "outbox_add_many", "outbox_mark", "outbox_marks",
                  "outbox_supersede", "outbox_prune", "audit_add", "audit_add_many"}


def _asks_the_journal(target: ast.expr) -> bool:
    return (isinstance(target, ast.Name) and target.id == "journal") or (
        isinstance(target, ast.Attribute) and target.attr == "journal")


def test_only_the_journal_writes_what_a_run_did() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC)
        if where.parts[0] == "state" or where == Path("sync/journal.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in JOURNAL_WRITES and not _asks_the_journal(node.func.value):
                offenders.append(f"{where}:{node.lineno} calls {node.func.attr}")
    assert offenders == []
