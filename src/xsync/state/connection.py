"""The `connection` and `xero_limits` rows of the state database.

One `connection` row: which organisation the workspace syncs, where its Xero lives and how xsync
signs in, as plain facts (never a token or a secret). `xero_limits`: the last rate-limit readings
per organisation, advisory, so that `xsync connect --status` can say how many calls are left.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xsync.state.db import open_state


def load_connection(path: Path) -> dict[str, Any] | None:
    """The connection row's columns, or ``None`` before the first connect."""
    db = open_state(path)
    try:
        rows = list(db.query("SELECT * FROM connection WHERE id = 1"))
    finally:
        db.close()
    return rows[0] if rows else None


def save_connection(path: Path, facts: Mapping[str, Any]) -> None:
    db = open_state(path)
    try:
        db.table("connection").upsert({"id": 1, **facts}, pk="id")
    finally:
        db.close()


def clear_connection(path: Path) -> None:
    """Forget the connection and its rate-limit readings."""
    db = open_state(path)
    try:
        db.execute("DELETE FROM connection")
        db.execute("DELETE FROM xero_limits")
    finally:
        db.close()


def save_limits(path: Path, tenant_id: str | None, day: int | None, minute: int | None,
                app_minute: int | None, seen_at: str) -> None:
    """Record the last readings; advisory, so a busy database is skipped, never waited on."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(str(path), timeout=0.5)
        try:
            conn.execute("INSERT OR REPLACE INTO xero_limits VALUES (?, ?, ?, ?, ?)",
                         (tenant_id or "", day, minute, app_minute, seen_at))
            conn.commit()
        finally:
            conn.close()


def load_limits(path: Path, tenant_id: str | None) -> dict[str, Any] | None:
    db = open_state(path)
    try:
        rows = list(db.query("SELECT * FROM xero_limits WHERE tenant_id = ?", [tenant_id or ""]))
    finally:
        db.close()
    return rows[0] if rows else None
