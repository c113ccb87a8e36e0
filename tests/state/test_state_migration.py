"""A state database written by the xsync before compact storage is upgraded in place by the
next command, losing nothing: every reader returns what it returned before, a sync after it
plans nothing new, and the file shrinks."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import sqlite_utils
from stateworld import StateWorld

from xsync.state.codec import (
    SNAPSHOT_WORDS,
    outbox_key_out,
    stamp_out,
    unpack,
    unpacked_text,
    word_out,
    xero_id_out,
)
from xsync.state.db import open_state
from xsync.state.health import state_health
from xsync.state.ledger import idempotency_key
from xsync.state.migrations import migrations

BEFORE = "m107_compact_state"
# the audit's next id was already past its last row (ids are never given twice)
SEQ_AHEAD = 5


def _old_pack(value: object, n: int) -> bytes | str:
    """A snapshot as older xsyncs stored it, one of their three forms."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if n % 3 == 0:
        deflater = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY,
                                    SNAPSHOT_WORDS)
        return b"\x01" + deflater.compress(text.encode()) + deflater.flush()
    if n % 3 == 1:
        return zlib.compress(text.encode())
    return text


def _old_hash(value: bytes | None, n: int) -> bytes | str | None:
    """A content hash as older xsyncs stored it: all 32 bytes of SHA-256, or its 64 hex."""
    if value is None:
        return None
    whole = value + bytes(range(16))
    return whole if n % 2 else whole.hex()


def write_old_copy(new: Path, old: Path) -> None:
    """The state database at ``new`` as the xsync before compact storage wrote it."""
    db = sqlite_utils.Database(old)
    migrations.apply(db, stop_before=BEFORE)
    db.close()
    conn = sqlite3.connect(old)
    conn.execute("ATTACH DATABASE ? AS new", [str(new)])
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT IN "
        "('links', 'bases', 'audit', 'outbox', 'sqlite_sequence', '_sqlite_migrations')")]
    for table in tables:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM new.{table}")
    conn.executemany(
        "INSERT INTO main.links VALUES (?, ?, ?, ?, ?)",
        [(word_out(e), o, xero_id_out(x), word_out(r), stamp_out(at)) for e, o, x, r, at in
         conn.execute("SELECT entity, ops_id, xero_id, rule, linked_at FROM new.links")])
    conn.executemany(
        "INSERT INTO main.bases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(word_out(e), o, xero_id_out(x), _old_pack(unpack(snap), n), _old_hash(oh, n),
          _old_hash(xh, n + 1), stamp_out(ou), stamp_out(xu), stamp_out(synced))
         for n, (e, o, x, snap, oh, xh, ou, xu, synced) in enumerate(conn.execute(
             "SELECT * FROM new.bases ORDER BY rowid"))])
    conn.executemany(
        "INSERT INTO main.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, run, stamp_out(at), word_out(e), o, xero_id_out(x), label, word_out(d),
          word_out(a), f, old_v, new_v, word_out(rule))
         for i, run, at, e, o, x, label, d, a, f, old_v, new_v, rule in conn.execute(
             "SELECT * FROM new.audit ORDER BY id")])
    conn.executemany(
        "INSERT INTO main.outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, run, word_out(e), word_out(a), side,
          outbox_key_out(key, word_out(e) or "", o, xero_id_out(x), side), o, xero_id_out(x),
          # an earlier xsync stored each row's idempotency key
          idem or idempotency_key(i, unpacked_text(payload)),
          zlib.compress(json.dumps(unpack(payload), sort_keys=True).encode()), state,
          result, stamp_out(created), stamp_out(updated))
         for i, run, e, a, side, key, o, x, idem, payload, state, result, created, updated
         in conn.execute("SELECT * FROM new.outbox ORDER BY id")])
    conn.execute("DELETE FROM main.sqlite_sequence")
    conn.execute("INSERT INTO main.sqlite_sequence SELECT name, seq + ? FROM new.sqlite_sequence "
                 "WHERE name = 'audit' UNION ALL SELECT name, seq FROM new.sqlite_sequence "
                 "WHERE name != 'audit'", [SEQ_AHEAD])
    conn.commit()
    conn.close()


def test_an_older_state_database_is_upgraded_losing_nothing(world: StateWorld,
                                                            tmp_path: Path) -> None:
    world.books()
    before = world.readers()
    assert before["conflicts"] and before["bas/twins"] and len(before["audit"]) >= 5
    assert len(before["outbox/rows"]) == 2 and before["outbox/pending"]
    assert world.engine().plan("sync").is_empty()
    last_id = before["audit"][-1]["id"]
    world.close()

    old = tmp_path / "old-state.db"
    write_old_copy(world.path, old)
    raw = sqlite3.connect(old)
    assert raw.execute("SELECT typeof(xero_id), typeof(linked_at) FROM links LIMIT 1"
                       ).fetchone() == ("text", "text"), "written as the older xsync did"
    raw.close()
    assert BEFORE in state_health(old).pending

    world.path = old
    world.reopen()  # the next command migrates it
    assert state_health(old).pending == []
    assert world.readers() == before
    assert world.engine().plan("sync").is_empty()
    # the audit's next entry follows the highest id ever given, not the last row kept
    world.clock.tick(60)
    [contact] = [r for r in world.ops.all("contacts") if r.fields["name"] == "Acme Pty Ltd"]
    world.ops.edit("contacts", contact.id, phone="02 9999 0000")
    # (the conflict stays open: exit 3)
    assert world.sync().counts == {"contacts": {"update": 1}}
    assert world.ledger.audit()[-1].id > last_id + SEQ_AHEAD


def test_the_upgrade_gives_the_freed_pages_back(world: StateWorld, tmp_path: Path) -> None:
    world.books()
    for n in range(200):
        world.xero.put("contacts", {"name": f"Customer {n:04d}", "status": "active",
                                    "email": f"c{n}@example.test"})
    assert world.sync().counts == {"contacts": {"create": 200}}
    world.close()
    old = tmp_path / "old-state.db"
    write_old_copy(world.path, old)
    size_before = old.stat().st_size
    open_state(old).close()
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()
    assert old.stat().st_size < size_before
