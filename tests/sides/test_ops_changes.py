"""The ops store's cheap change check: nothing read while nothing changed, the entities that
changed named, "not known which" when a commit moved no row count or change time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xsync.model.side_changes import SupportsChangedSince
from xsync.sides.ops_changes import SqliteChangeProbe
from xsync.sides.ops_schema import create_ops_db


@pytest.fixture
def ops(tmp_path: Path) -> Path:
    path = tmp_path / "ops.db"
    create_ops_db(path)
    execute(path, "INSERT INTO contacts (id, name, updated_at) VALUES "
                  "('c1', 'Acme', '2026-11-24T10:00:00Z')")
    return path


def execute(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql)
    conn.close()


def test_changes_are_named_by_entity(ops: Path) -> None:
    probe = SqliteChangeProbe(ops)
    assert isinstance(probe, SupportsChangedSince)
    token, changed = probe.changed_since(None)
    assert changed is None  # a first answer knows no starting point
    assert probe.changed_since(token) == (token, [])
    execute(ops, "UPDATE contacts SET name = 'Acme Pty', updated_at = '2026-11-24T10:01:00Z'")
    token, changed = probe.changed_since(token)
    assert changed == ["contacts"]
    execute(ops, "INSERT INTO invoices (id, number, contact_id, updated_at) VALUES "
                 "('i1', 'INV-1', 'c1', '2026-11-24T10:02:00Z')")
    token, changed = probe.changed_since(token)
    assert changed == ["invoices"]
    assert probe.changed_since(token)[1] == []
    probe.close()


def test_a_commit_that_moves_no_count_or_time_is_a_change_of_unknown_entities(ops: Path) -> None:
    probe = SqliteChangeProbe(ops)
    token, _ = probe.changed_since(None)
    execute(ops, "UPDATE contacts SET email = 'a@b.example'")  # updated_at not bumped
    token, changed = probe.changed_since(token)
    assert changed is None
    assert probe.changed_since(token)[1] == []
    probe.close()


def test_another_connections_token_is_never_taken_for_unchanged(ops: Path) -> None:
    first = SqliteChangeProbe(ops)
    token, _ = first.changed_since(None)
    first.close()
    second = SqliteChangeProbe(ops)
    assert second.changed_since(token)[1] != []
    second.close()
