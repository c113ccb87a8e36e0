"""The state database's schema, as named migrations applied in order.

Append new migrations at the end; never edit or reorder one that has shipped.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("xsync.state")


@migrations()
def m001_connection(db: Database) -> None:
    # One row: the organisation this workspace syncs and where its Xero lives. Never a secret.
    db.execute(
        """
        CREATE TABLE connection (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tenant_id TEXT,
            tenant_name TEXT,
            connection_id TEXT,
            auth_mode TEXT,
            client_id TEXT,
            scopes TEXT,
            api_url TEXT,
            authorize_url TEXT,
            token_url TEXT,
            revocation_url TEXT,
            connections_url TEXT,
            connected_at TEXT
        )
        """
    )
