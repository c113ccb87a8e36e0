"""Open the state database: created with mode 0600, migrated to the newest schema."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from xsync.errors import StateCorrupt
from xsync.state.migrations import migrations

# SQLite's primary result codes for a file that is not, or no longer, a whole database
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only, before SQLite ever opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    # a locked or unopenable file is an OperationalError with other codes: not corruption
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _DAMAGED


def open_state(path: Path | str | None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the state database. ``None`` gives an in-memory one.

    A file that is not a readable SQLite database (random bytes, a truncated copy) raises
    :class:`StateCorrupt` naming it; SQLite notices both when the journal mode is set.
    """
    if path is None:
        db = sqlite_utils.Database(memory=True)
        migrations.apply(db)
        return db
    path = Path(path)
    if not path.exists():
        _create_private(path)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    try:
        with damage_named(path):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            db = sqlite_utils.Database(conn)
            migrations.apply(db)
    except BaseException:
        conn.close()
        raise
    return db


@contextlib.contextmanager
def damage_named(path: Path | str) -> Iterator[None]:
    """Turn SQLite's word that the state database is damaged into :class:`StateCorrupt` naming
    it. Damage inside the file (a page of old history) shows only when that page is read, so
    commands reading the state wrap their reads in this too."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if not _damaged(exc):
            raise
        raise StateCorrupt(
            f"the state database {path} is damaged and cannot be read (SQLite: {exc})",
            path=str(path)) from None


# SQLite page cache of the state database while a sync holds it, in KiB (bounded, so that
# memory does not grow with the file; a first import of 100,000 invoices took no more CPU and
# wrote no more to disk with 4 MiB than with 8 or 32)
RUN_CACHE_KIB = 4096
# pages in the write-ahead log before SQLite copies them into the file, and the bytes the log is
# cut back to afterwards: a first import of 100,000 invoices logs about 130 MiB, so it is copied
# into the file once, at its end (each checkpoint writes every page logged since the last)
RUN_CHECKPOINT_PAGES = 65536
RUN_WAL_LIMIT = 64 * 2**20


def tune_for_runs(db: sqlite_utils.Database) -> None:
    """Settings of the connection a sync runs on (memory and disk use, not behaviour). Links and
    bases are keyed by random ids, so a first import of many records writes index pages all over
    the file: keep them cached, and checkpoint the log seldom, so that a page written by many
    commits of one run is copied into the file once, not once per commit."""
    db.conn.execute(f"PRAGMA cache_size = -{RUN_CACHE_KIB}")
    # a page freed whole (the outbox rows of a large import, forgotten once answered) is not
    # written again only to be zeroed; deleted bytes in pages written anyway still are
    db.conn.execute("PRAGMA secure_delete = FAST")
    db.conn.execute(f"PRAGMA wal_autocheckpoint = {RUN_CHECKPOINT_PAGES}")
    db.conn.execute(f"PRAGMA journal_size_limit = {RUN_WAL_LIMIT}")
