"""xsync's own state database: connection, links, base snapshots, cursors, conflicts, outbox,
audit log and runs. SQLite, mode 0600, schema through named migrations (`state/migrations.py`)."""
