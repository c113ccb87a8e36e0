"""Whether `ops.db` changed, asked cheaply: the ops side's ``changed_since`` for `xsync watch`.

First ``PRAGMA data_version`` on a connection of its own, which moves only when another
connection committed to the file: while it stands still, nothing is read at all. When it has
moved, each table's row count and latest ``updated_at`` say which entities changed; a commit
that moved neither (a line edited, a row changed without bumping ``updated_at``) is answered
"changed, not known which" (``None``), so every entity is pushed and nothing is missed.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from xsync.sides.ops_schema import TABLES

# tables whose rows carry updated_at (the platform bumps it on every change)
STAMPED_TABLES = ("contacts", "invoices", "bills", "payments", "credit_notes",
                  "credits", "allocations")


class SqliteChangeProbe:
    """:class:`~xsync.model.side_changes.SupportsChangedSince` over an `ops.db` file."""

    def __init__(self, path: Path | str, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                    timeout=busy_timeout, isolation_level=None)
        # data_version is this connection's own count: a token made by another connection
        # (another process, an earlier watcher) is never taken for "unchanged"
        self.nonce = uuid.uuid4().hex[:12]

    def close(self) -> None:
        self.conn.close()

    def changed_since(self, token: str | None) -> tuple[str, list[str] | None]:
        try:
            version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
            old = _parse(token)
            if old is not None and old.get("n") == self.nonce and old.get("v") == version:
                return str(token), []
            signature = self._signature()
        except sqlite3.Error:
            # the push that follows reads the file and says what is wrong with it
            return token or "", None
        new = json.dumps({"n": self.nonce, "v": version, "s": signature},
                         separators=(",", ":"), sort_keys=True)
        if old is None:
            return new, None
        before = old.get("s")
        if not isinstance(before, dict):
            before = {}
        changed = [e for e in TABLES if signature.get(e) != before.get(e)]
        return new, changed or None

    def _signature(self) -> dict[str, list[object]]:
        out: dict[str, list[object]] = {}
        for entity, (table, line_table, _, _) in TABLES.items():
            stamp = "max(updated_at)" if table in STAMPED_TABLES else "NULL"
            row = self.conn.execute(f"SELECT count(*), {stamp} FROM {table}").fetchone()
            sig: list[object] = [row[0], row[1]]
            if line_table:
                sig.append(self.conn.execute(f"SELECT count(*) FROM {line_table}").fetchone()[0])
            out[entity] = sig
        return out


def _parse(token: str | None) -> dict[str, object] | None:
    if not token:
        return None
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
