"""Secrets stay secret; `status` and `log` tell a bookkeeper where things stand."""

from __future__ import annotations

import json

from e2e_helpers import World


def test_tokens_never_reach_output_or_the_databases(world: World) -> None:
    outputs = [world.run("sync"), world.run("status"), world.run("connect", "--status",
                                                                   "--json"),
               world.run("log"), world.run("diff", "--json")]
    tokens = json.loads((world.root / "tokens.json").read_text())
    secrets = [v for v in _secrets(tokens) if len(v) >= 16]
    assert secrets, "the token file holds the token set"
    for blob in [(world.root / "state.db").read_bytes(), (world.root / "ops.db").read_bytes(),
                 (world.root / "xsync.toml").read_bytes()]:
        for secret in secrets:
            assert secret.encode() not in blob
    for result in outputs:
        for secret in [*secrets, "xsync-sandbox-secret"]:
            assert secret not in result.out and secret not in result.err
    assert (world.root / "tokens.json").stat().st_mode & 0o777 == 0o600
    assert (world.root / "state.db").stat().st_mode & 0o777 == 0o600


def _secrets(value: object) -> list[str]:
    """Every string stored under a key naming a token or a secret, at any depth."""
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            if isinstance(inner, str) and ("token" in key or "secret" in key):
                found.append(inner)
            else:
                found += _secrets(inner)
        return found
    if isinstance(value, list):
        return [s for v in value for s in _secrets(v)]
    return []


def test_status_and_log_after_a_sync_with_a_conflict(world: World) -> None:
    world.configure('[sync.policies]\ndescription = "flag"\ntax_type = "xero"\n')
    assert world.run("sync").code == 0
    invoice = world.xero.invoice("INV-0009")
    world.xero.edit_first_line(invoice, Description="Xero says")
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0009'")
    world.ops.execute("UPDATE invoice_lines SET description = 'Ops says' WHERE invoice_id = ? "
                      "AND position = 1", [row["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T10:40:00Z' WHERE id = ?",
                      [row["id"]])
    assert world.run("sync").code == 3
    status = json.loads(world.run("status", "--json").out)
    assert status["organisation"] == "Demo Company (AU)"
    assert status["open_conflicts"] == 1
    assert status["pending_writes"] == 0
    assert isinstance(status["calls_left_today"], int) and status["calls_left_today"] < 5000
    assert status["last_runs"]["invoices"]["outcome"] == "conflicts"
    text = world.run("status").out
    assert "Open conflicts: 1" in text and "xsync resolve" in text

    log = json.loads(world.run("log", "--entity", "contacts", "--json").out)
    assert log and all(e["entity"] == "contacts" for e in log)
    assert json.loads(world.run("log", "--since", "2999-01-01", "--json").out) == []
    one = json.loads(world.run("log", "--record", "INV-0009", "--json").out)
    assert one and all(e["label"].startswith("INV-0009") for e in one)
