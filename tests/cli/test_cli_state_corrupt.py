"""A damaged state.db is named, with the command that rebuilds it: no traceback, exit 2."""

from __future__ import annotations

import os
import sqlite3

import pytest
from cli_helpers import Cli


def _fill(cli: Cli) -> None:
    """Enough history that the file spans many pages, as a workspace in use does."""
    conn = sqlite3.connect(cli.state)
    with conn:
        conn.executemany(
            "INSERT INTO audit (run_id, at, entity, ops_id, label, direction, action) "
            "VALUES (1, '2026-11-24T10:00:00+00:00', 'invoices', ?, ?, 'ops->xero', 'create')",
            [(f"op-{i}", f"INV-{i:05d} a label long enough to fill pages") for i in range(3000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _garbage(cli: Cli) -> None:
    cli.state.write_bytes(os.urandom(8192))


def _truncated(cli: Cli) -> None:
    _fill(cli)
    data = cli.state.read_bytes()
    cli.state.write_bytes(data[: len(data) // 2])


def _page_overwritten(cli: Cli) -> None:
    """Header and schema intact; pages of old audit history in the middle are noise."""
    _fill(cli)
    data = bytearray(cli.state.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 8 * 4096] = os.urandom(8 * 4096)
    cli.state.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["random-bytes", "truncated"])
@pytest.mark.parametrize("command", [("status",), ("log",), ("sync",), ("status", "--json")])
def test_a_damaged_state_db_is_named_with_the_way_to_rebuild_it(
        cli: Cli, damage: object, command: tuple[str, ...]) -> None:
    damage(cli)  # type: ignore[operator]
    result = cli(*command)
    assert result.code == 2, result.err
    assert str(cli.state) in result.err
    assert "damaged" in result.err
    assert "xsync sync" in result.err and "state.db.broken" in result.err
    assert "Traceback" not in result.err
    assert result.out == ""



def test_damage_found_while_reading_the_history_is_named_too(cli: Cli) -> None:
    _page_overwritten(cli)
    result = cli("log")
    assert result.code == 2, result.err
    assert str(cli.state) in result.err and "damaged" in result.err
    assert "Traceback" not in result.err
