"""Bases and outbox payloads are stored compressed against a dictionary, and content hashes as
bytes; a state database written before (plain JSON text, a plain zlib stream, JSON deflated
against the dictionary of whole records of earlier xsyncs, hashes in hex) is read as it is."""

from __future__ import annotations

import json
import zlib

import pytest
from syncworld import World

from xsync.state.ledger import RECORD_WORDS, unpack


def _older(text: str, older: str) -> str | bytes:
    if older == "plain JSON text":
        return text
    if older == "a plain zlib stream":
        return zlib.compress(text.encode())
    deflater = zlib.compressobj(6, zlib.DEFLATED, -13, 3, zlib.Z_DEFAULT_STRATEGY, RECORD_WORDS)
    return b"\x02" + deflater.compress(text.encode()) + deflater.flush()


OLDER = ["plain JSON text", "a plain zlib stream", "deflated against whole records"]


@pytest.mark.parametrize("older", OLDER)
def test_bases_stored_by_an_older_state_database_are_read(world: World, older: str) -> None:
    contact = world.contact("ops", "Acme", email="ap@acme.test")
    assert world.sync().exit_code == 0
    conn = world.state.conn
    [(raw, ops_hash)] = conn.execute("SELECT snapshot, ops_hash FROM bases").fetchall()
    assert isinstance(raw, bytes) and raw[:1] == b"\x03", "bases are stored compressed"
    assert isinstance(ops_hash, bytes) and len(ops_hash) == 16
    text = json.dumps(unpack(raw), sort_keys=True)
    stored = _older(text, older)
    conn.execute("UPDATE bases SET snapshot = ?, ops_hash = ?, xero_hash = lower(hex(xero_hash))",
                 [stored, ops_hash.hex()])
    # nothing changed, and the older hashes still prove it
    assert world.engine().plan("sync").is_empty()
    world.clock.tick(60)
    world.ops.edit("contacts", contact, email="accounts@acme.test")
    assert world.sync().exit_code == 0
    [xero] = world.xero.all("contacts")
    assert xero.fields["email"] == "accounts@acme.test"
