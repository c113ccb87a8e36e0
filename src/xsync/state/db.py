"""Open the state database: created with mode 0600, migrated to the newest schema."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from xsync.state.migrations import migrations


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, before SQLite ever opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def open_state(path: Path | str | None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the state database. ``None`` gives an in-memory one."""
    if path is None:
        db = sqlite_utils.Database(memory=True)
    else:
        path = Path(path)
        if not path.exists():
            _create_private(path)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        db = sqlite_utils.Database(conn)
    migrations.apply(db)
    return db
