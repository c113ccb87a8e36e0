"""Bases and outbox payloads are stored deflated; a state database written before, in plain JSON
text, is read as it is."""

from __future__ import annotations

import zlib

from syncworld import World


def test_bases_in_plain_json_from_an_older_state_database_are_read(world: World) -> None:
    contact = world.contact("ops", "Acme", email="ap@acme.test")
    assert world.sync().exit_code == 0
    conn = world.state.conn
    [(raw,)] = conn.execute("SELECT snapshot FROM bases").fetchall()
    assert isinstance(raw, bytes), "bases are stored deflated"
    conn.execute("UPDATE bases SET snapshot = ?", [zlib.decompress(raw).decode()])
    assert world.engine().plan("sync").is_empty()
    world.clock.tick(60)
    world.ops.edit("contacts", contact, email="accounts@acme.test")
    assert world.sync().exit_code == 0
    [xero] = world.xero.all("contacts")
    assert xero.fields["email"] == "accounts@acme.test"
