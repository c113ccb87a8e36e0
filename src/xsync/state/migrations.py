"""The state database's schema, as named migrations applied in order.

Append new migrations at the end; never edit or reorder one that has shipped.
"""

from __future__ import annotations

import sqlite3

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
# -- sync engine: links, bases, cursors, conflicts, outbox, audit, runs, run lock ----------------


@migrations()
def m100_sync_links(db: Database) -> None:
    # A record known on both sides: unique both ways, so nothing is ever linked twice.
    db.execute(
        """
        CREATE TABLE links (
            entity TEXT NOT NULL,
            ops_id TEXT NOT NULL,
            xero_id TEXT NOT NULL,
            rule TEXT,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (entity, ops_id),
            UNIQUE (entity, xero_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE line_links (
            entity TEXT NOT NULL,
            ops_id TEXT NOT NULL,
            ops_line_id TEXT NOT NULL,
            xero_line_id TEXT NOT NULL,
            PRIMARY KEY (entity, ops_line_id),
            UNIQUE (entity, xero_line_id)
        )
        """
    )
    db.execute("CREATE INDEX line_links_owner ON line_links (entity, ops_id)")


@migrations()
def m101_sync_bases(db: Database) -> None:
    # The last synced values of a linked record (canonical JSON, refs as ops ids, lines paired).
    db.execute(
        """
        CREATE TABLE bases (
            entity TEXT NOT NULL,
            ops_id TEXT NOT NULL,
            xero_id TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            ops_hash TEXT,
            xero_hash TEXT,
            ops_updated_at TEXT,
            xero_updated_at TEXT,
            synced_at TEXT NOT NULL,
            PRIMARY KEY (entity, ops_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE cursors (
            side TEXT NOT NULL,
            entity TEXT NOT NULL,
            cursor TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (side, entity)
        )
        """
    )
    # Records whose last apply failed: read again next run even when a scan does not list them.
    db.execute(
        """
        CREATE TABLE retries (
            entity TEXT NOT NULL,
            side TEXT NOT NULL,
            id TEXT NOT NULL,
            reason TEXT,
            run_id INTEGER,
            at TEXT NOT NULL,
            PRIMARY KEY (entity, side, id)
        )
        """
    )


@migrations()
def m102_sync_conflicts(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            entity TEXT NOT NULL,
            ops_id TEXT,
            xero_id TEXT,
            label TEXT,
            field TEXT NOT NULL,
            base TEXT,
            ops TEXT,
            xero TEXT,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_take TEXT,
            resolution TEXT,
            applied_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX conflicts_record ON conflicts (entity, ops_id, xero_id)")


@migrations()
def m103_sync_outbox_audit_runs(db: Database) -> None:
    # Every write is recorded here, and committed, before it is sent.
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER,
            entity TEXT NOT NULL,
            action TEXT NOT NULL,
            side TEXT NOT NULL,
            key TEXT NOT NULL,
            ops_id TEXT,
            xero_id TEXT,
            idempotency_key TEXT,
            payload TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sent', 'done', 'failed', 'abandoned')),
            result TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX outbox_state ON outbox (state, entity)")
    db.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER,
            at TEXT NOT NULL,
            entity TEXT NOT NULL,
            ops_id TEXT,
            xero_id TEXT,
            label TEXT,
            direction TEXT NOT NULL,
            action TEXT NOT NULL,
            field TEXT,
            old TEXT,
            new TEXT,
            rule TEXT
        )
        """
    )
    db.execute("CREATE INDEX audit_record ON audit (entity, ops_id)")
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            entities TEXT,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            outcome TEXT,
            exit_code INTEGER,
            counts TEXT
        )
        """
    )
    # One row while a run holds the workspace; a dead owner's or a stale heartbeat's row is taken.
    db.execute(
        """
        CREATE TABLE run_lock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            acquired_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m104_run_entity_outcomes(db: Database) -> None:
    # each entity's own outcome of a run ({entity: {outcome, reason, exit_code}}), so that
    # `xsync status` never shows one entity's conflicts or read failure as every entity's
    db.execute("ALTER TABLE runs ADD COLUMN entity_outcomes TEXT")


@migrations()
def m105_aliases(db: Database) -> None:
    # an ops record that is the same record as an already linked one (two ops contacts for one
    # Xero contact): it follows that Xero record, and is never created in Xero
    db.execute(
        """
        CREATE TABLE aliases (
            entity TEXT NOT NULL,
            ops_id TEXT NOT NULL,
            xero_id TEXT NOT NULL,
            rule TEXT,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (entity, ops_id)
        )
        """
    )


@migrations()
def m106_line_pairs_in_bases(db: Database) -> None:
    # each base already keeps its lines' ops and Xero ids: a table of the same pairs was a
    # second copy of them, rewritten on every sync of every record
    db.execute("DROP TABLE IF EXISTS line_links")


# -- BAS reconciliation: what `xsync bas` read of each side, and the periods lodged -------------


@migrations()
def m200_bas(db: Database) -> None:
    # each side's GST documents as `xsync bas` last read them (a packed Doc), found by their date
    # and by the last day money settled them (the cash basis), so a period is one indexed query
    db.execute(
        """
        CREATE TABLE bas_documents (
            side TEXT NOT NULL,
            entity TEXT NOT NULL,
            id TEXT NOT NULL,
            date TEXT,
            settled_from TEXT,
            settled_to TEXT,
            fingerprint TEXT NOT NULL,
            doc BLOB NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (side, entity, id)
        )
        """
    )
    db.execute("CREATE INDEX bas_documents_date ON bas_documents (date)")
    db.execute("CREATE INDEX bas_documents_settled ON bas_documents (settled_to)")
    # per Xero endpoint: the highest UpdatedDateUTC read, so the next run asks only for changes
    db.execute(
        """
        CREATE TABLE bas_reads (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            read_at TEXT NOT NULL
        )
        """
    )
    # a lodged period: its labels then and every Xero document's fingerprint and labels
    db.execute(
        """
        CREATE TABLE bas_lodged (
            period TEXT NOT NULL,
            basis TEXT NOT NULL,
            lodged_at TEXT NOT NULL,
            labels TEXT NOT NULL,
            documents BLOB NOT NULL,
            PRIMARY KEY (period, basis)
        )
        """
    )


# -- xsync watch: webhook events as received, and the running watcher ---------------------------


@migrations()
def m300_watch(db: Database) -> None:
    # every webhook event, stored before it is acknowledged: ``dedupe_key`` (a digest of the
    # event's own fields) makes a second delivery of it a no-op; ``state`` is new until a sync
    # that started after it came in has finished, then done (or ignored: another organisation's)
    db.execute(
        """
        CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dedupe_key TEXT NOT NULL UNIQUE,
            tenant_id TEXT,
            category TEXT NOT NULL,
            event_type TEXT,
            resource_id TEXT,
            event_date TEXT,
            received_at TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('new', 'done', 'ignored')),
            processed_at TEXT,
            run_id INTEGER,
            reason TEXT
        )
        """
    )
    db.execute("CREATE INDEX webhook_events_state ON webhook_events (state, id)")
    # one row: the watcher that runs (or last ran) on this workspace, for `xsync status`
    db.execute(
        """
        CREATE TABLE watcher (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            stopped_at TEXT,
            exit_code INTEGER,
            listen TEXT,
            state TEXT NOT NULL,
            last_step TEXT,
            last_step_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            next_try_at TEXT
        )
        """
    )


# -- compact storage: the state database no larger than the ops store it serves ------------------


@migrations()
def m107_compact_state(db: Database) -> None:
    # links, bases and the audit log in compact form (see ``codec``): Xero ids as 16 bytes, times as
    # microseconds, hashes as 16 bytes, the words every row repeats as numbers, bases packed
    # (``codec.pack``: compressed against a dictionary of records). A column holding an encoded
    # value has no declared type, so SQLite never turns one form into another (a number into text,
    # or text that looks like a number into a number). Links are keyed by their primary key alone
    # (no rowid, no second copy of the key); the audit log loses an index no query used (`xsync log`
    # filters by time, entity and a record's ops id, Xero id or label at once). Every row is carried
    # over as it reads.
    from xsync.state.codec import outbox_key_in, pack, stamp_in, unpack, word_in, xero_id_in

    conn = db.conn
    conn.execute(
        """
        CREATE TABLE links_compact (
            entity NOT NULL,
            ops_id TEXT NOT NULL,
            xero_id NOT NULL,
            rule,
            linked_at NOT NULL,
            PRIMARY KEY (entity, ops_id),
            UNIQUE (entity, xero_id)
        ) WITHOUT ROWID
        """
    )
    conn.executemany(
        "INSERT INTO links_compact VALUES (?, ?, ?, ?, ?)",
        [(word_in(entity), ops_id, xero_id_in(xero_id), word_in(rule), stamp_in(at))
         for entity, ops_id, xero_id, rule, at in conn.execute(
             "SELECT entity, ops_id, xero_id, rule, linked_at FROM links "
             "ORDER BY entity, ops_id").fetchall()])
    conn.execute("DROP TABLE links")
    conn.execute("ALTER TABLE links_compact RENAME TO links")

    conn.execute(
        """
        CREATE TABLE bases_compact (
            entity NOT NULL,
            ops_id TEXT NOT NULL,
            xero_id NOT NULL,
            snapshot BLOB NOT NULL,
            ops_hash BLOB,
            xero_hash BLOB,
            ops_updated_at,
            xero_updated_at,
            synced_at NOT NULL,
            PRIMARY KEY (entity, ops_id)
        )
        """
    )
    rows = conn.execute("SELECT entity, ops_id, xero_id, snapshot, ops_hash, xero_hash, "
                        "ops_updated_at, xero_updated_at, synced_at FROM bases ORDER BY rowid")
    while chunk := rows.fetchmany(1000):
        conn.executemany(
            "INSERT INTO bases_compact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(word_in(entity), ops_id, xero_id_in(xero_id), pack(unpack(snapshot)),
              _short_hash(oh), _short_hash(xh), stamp_in(ou), stamp_in(xu), stamp_in(synced))
             for entity, ops_id, xero_id, snapshot, oh, xh, ou, xu, synced in chunk])
    conn.execute("DROP TABLE bases")
    conn.execute("ALTER TABLE bases_compact RENAME TO bases")

    conn.execute(
        """
        CREATE TABLE audit_compact (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER,
            at NOT NULL,
            entity NOT NULL,
            ops_id TEXT,
            xero_id,
            label TEXT,
            direction NOT NULL,
            action NOT NULL,
            field TEXT,
            old TEXT,
            new TEXT,
            rule
        )
        """
    )
    rows = conn.execute("SELECT id, run_id, at, entity, ops_id, xero_id, label, direction, "
                        "action, field, old, new, rule FROM audit ORDER BY id")
    while chunk := rows.fetchmany(1000):
        conn.executemany(
            "INSERT INTO audit_compact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(id_, run, stamp_in(at), word_in(entity), ops_id, xero_id_in(xero_id), label,
              word_in(direction), word_in(action), field, old, new, word_in(rule))
             for id_, run, at, entity, ops_id, xero_id, label, direction, action, field, old,
             new, rule in chunk])
    _keep_sequence(conn, "audit", "audit_compact")


    # the outbox, whose rows live only until their write is answered, but a large import
    # writes (and forgets) one for every record: its key is NULL where it is the usual one
    # (entity:ops id:Xero id:side, as the row's own columns say)
    conn.execute(
        """
        CREATE TABLE outbox_compact (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER,
            entity NOT NULL,
            action NOT NULL,
            side TEXT NOT NULL,
            key TEXT,
            ops_id TEXT,
            xero_id,
            idempotency_key TEXT,
            payload BLOB NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'sent', 'done', 'failed', 'abandoned')),
            result TEXT,
            created_at NOT NULL,
            updated_at NOT NULL
        )
        """
    )
    conn.executemany(
        "INSERT INTO outbox_compact VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(id_, run, word_in(entity), word_in(action), side, outbox_key_in(key, entity, ops_id,
          xero_id, side), ops_id, xero_id_in(xero_id), idem, payload, state, result,
          stamp_in(created), stamp_in(updated))
         for id_, run, entity, action, side, key, ops_id, xero_id, idem, payload, state, result,
         created, updated in conn.execute(
             "SELECT id, run_id, entity, action, side, key, ops_id, xero_id, idempotency_key, "
             "payload, state, result, created_at, updated_at FROM outbox ORDER BY id").fetchall()])
    _keep_sequence(conn, "outbox", "outbox_compact")
    conn.execute("CREATE INDEX outbox_state ON outbox (state, entity)")


def _keep_sequence(conn: sqlite3.Connection, table: str, compact: str) -> None:
    """Put ``compact`` in the place of ``table``; its next id follows the highest ever given."""
    seq = conn.execute("SELECT max(seq) FROM main.sqlite_sequence WHERE name IN (?, ?)",
                       [table, compact]).fetchone()[0]
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {compact} RENAME TO {table}")
    conn.execute("DELETE FROM main.sqlite_sequence WHERE name = ?", [table])
    if seq is not None:
        conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", [table, seq])


def _short_hash(value: bytes | str | None) -> bytes | str | None:
    """A content hash as this xsync writes them: the first 16 bytes of SHA-256 (hashes were
    once kept whole, as 32 bytes or 64 hex characters)."""
    from xsync.state.codec import digest_in

    if isinstance(value, str):
        value = digest_in(value)
    if isinstance(value, bytes) and len(value) == 32:
        return value[:16]
    return value


@migrations(transactional=False)
def m108_vacuum(db: Database) -> None:
    # the tables just rewritten leave their old pages free: give them back to the file system
    db.execute("VACUUM")


@migrations()
def m109_proven_fingerprints(db: Database) -> None:
    # what a cycle proved of the ops side: the digest of an entity's table (ids, change times,
    # the owners of its lines) when it held exactly the rows the bases vouch for, with how many
    # they are and how many links have no base that vouches. Any write to the entity's bases or
    # links forgets it (the triggers), so a row here always describes the bases as they are
    db.execute(
        """
        CREATE TABLE proven_fingerprints (
            entity NOT NULL,
            margin_us INTEGER NOT NULL,
            vouched INTEGER NOT NULL,
            unvouched INTEGER NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (entity, margin_us)
        ) WITHOUT ROWID
        """
    )
    for table in ("bases", "links"):
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
            db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_forgets_proof AFTER {event} ON {table} "
                f"BEGIN DELETE FROM proven_fingerprints WHERE entity = {row}.entity; END")
        db.execute(
            f"CREATE TRIGGER {table}_update_forgets_proof AFTER UPDATE ON {table} "
            "BEGIN DELETE FROM proven_fingerprints WHERE entity IN (OLD.entity, NEW.entity); END")
