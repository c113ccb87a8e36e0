"""How the state database is, read without changing it: SQLite's integrity check and migrations.

Every other reader opens the file through :func:`xsync.state.db.open_state`, which migrates it;
this one opens it read-only, so `xsync doctor` reports what it finds instead of repairing it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from xsync.state.migrations import migrations

# the problems SQLite's integrity check lists before it stops
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class StateHealth:
    """``exists``: the file is there. ``unreadable``: SQLite's word when it cannot be read at
    all. ``problems``: what `PRAGMA integrity_check` found (empty when the file is whole).
    ``pending``: migrations this xsync has that the file lacks (applied by the next command);
    ``unknown``: migrations the file has that this xsync does not know (a newer xsync wrote it)."""

    path: str
    exists: bool
    unreadable: str | None = None
    problems: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def state_health(path: Path | str) -> StateHealth:
    """Check the state database at ``path`` without writing to it."""
    path = Path(path)
    if not path.exists():
        return StateHealth(str(path), exists=False)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return StateHealth(str(path), exists=True, unreadable=str(exc))
    try:
        rows = conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})").fetchall()
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        applied = [m.name for m in migrations.applied(sqlite_utils.Database(conn))]
    except sqlite3.Error as exc:
        return StateHealth(str(path), exists=True, unreadable=str(exc))
    finally:
        conn.close()
    # every migration this xsync has: all of them are pending on an empty database
    known = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    return StateHealth(
        str(path), exists=True, problems=problems,
        pending=[name for name in known if name not in applied],
        unknown=[name for name in applied if name not in known],
    )
