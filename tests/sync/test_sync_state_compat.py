"""Bases and outbox payloads are stored deflated against a preset dictionary, and content hashes
as bytes; a state database written before (plain JSON text, a plain zlib stream, hashes in hex)
is read as it is."""

from __future__ import annotations

import json
import zlib

import pytest
from syncworld import World

from xsync.state.ledger import unpack


@pytest.mark.parametrize("older", ["plain JSON text", "a plain zlib stream"])
def test_bases_stored_by_an_older_state_database_are_read(world: World, older: str) -> None:
    contact = world.contact("ops", "Acme", email="ap@acme.test")
    assert world.sync().exit_code == 0
    conn = world.state.conn
    [(raw, ops_hash)] = conn.execute("SELECT snapshot, ops_hash FROM bases").fetchall()
    assert isinstance(raw, bytes) and raw[:1] == b"\x02", "bases are stored deflated"
    assert isinstance(ops_hash, bytes) and len(ops_hash) == 16
    text = json.dumps(unpack(raw), sort_keys=True)
    stored = text if older == "plain JSON text" else zlib.compress(text.encode())
    conn.execute("UPDATE bases SET snapshot = ?, ops_hash = ?, xero_hash = lower(hex(xero_hash))",
                 [stored, ops_hash.hex()])
    # nothing changed, and the older hashes still prove it
    assert world.engine().plan("sync").is_empty()
    world.clock.tick(60)
    world.ops.edit("contacts", contact, email="accounts@acme.test")
    assert world.sync().exit_code == 0
    [xero] = world.xero.all("contacts")
    assert xero.fields["email"] == "accounts@acme.test"
