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


@migrations()
def m002_xero_limits(db: Database) -> None:
    # The last rate-limit readings per organisation, so `xsync connect --status` can say how many
    # calls are left today without spending one.
    db.execute(
        """
        CREATE TABLE xero_limits (
            tenant_id TEXT PRIMARY KEY,
            day_remaining INTEGER,
            minute_remaining INTEGER,
            app_minute_remaining INTEGER,
            seen_at TEXT
        )
        """
    )
