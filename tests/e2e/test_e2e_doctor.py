"""`xsync doctor` against a live sandbox: each check passes on a sound workspace and fails (or
warns) with its fix when the thing it checks is broken."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from e2e_helpers import World, fast_retries, kill_while_held

import xsync.cli.doctor as doctor_cli


@pytest.fixture(autouse=True)
def machine_clock(world: World, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """This machine's clock runs with the sandbox's (a fake clock); ``skew(s)`` moves it off."""
    offset = {"seconds": 0.0}
    monkeypatch.setattr(doctor_cli, "local_now",
                        lambda: world.sandbox.now() + timedelta(seconds=offset["seconds"]))

    def skew(seconds: float) -> None:
        offset["seconds"] = seconds

    return skew


def doctor(world: World) -> tuple[int, dict[str, Any]]:
    result = world.run("doctor", "--json")
    try:
        data = json.loads(result.out)
    except ValueError:
        raise AssertionError(f"exit {result.code}, not JSON: {result.out}{result.err}") from None
    assert "Traceback" not in result.err
    return result.code, data


def check(data: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in data["checks"] if c["name"] == name]
    assert len(found) == 1, data
    return found[0]


def failing(data: dict[str, Any]) -> list[str]:
    return [c["name"] for c in data["checks"] if c["level"] == "fail"]


def warned(data: dict[str, Any]) -> list[str]:
    return [c["name"] for c in data["checks"] if c["level"] == "warn"]


def invoice(world: World, number: str = "JOB-1", *, day: str = "2026-11-20",
            account: str | None = "200", category: str | None = None,
            tax_type: str | None = "OUTPUT", status: str = "approved") -> None:
    world.ops.script(f"""
        INSERT OR IGNORE INTO contacts (id, name, status, updated_at)
            VALUES ('C-1', 'Doctor Customer', 'active', '2026-11-24T10:00:00Z');
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, updated_at)
            VALUES ('{number}', '{number}', 'C-1', '{day}', '2026-12-20', '{status}',
                    '2026-11-24T10:00:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, category, tax_type)
            VALUES ('{number}-1', '{number}', 1, 'Work', '1', '100.00',
                    {_sql(account)}, {_sql(category)}, {_sql(tax_type)});
    """)


def _sql(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


# -- healthy ---------------------------------------------------------------------------------------


def test_a_connected_workspace_with_sound_documents_is_healthy(world: World) -> None:
    invoice(world)
    code, data = doctor(world)
    assert code == 0, data
    assert data["healthy"] is True
    assert [c["name"] for c in data["checks"]] == [
        "connection", "scopes", "lock_dates", "ops_schema", "categories", "accounts",
        "tax_types", "clock", "state_db", "outbox", "run_lock"]
    assert all(c["ok"] and c["level"] == "ok" and c["fix"] == "" for c in data["checks"]), data
    assert "Demo Company (AU)" in check(data, "connection")["detail"]
    assert "1 account code in use" in check(data, "accounts")["detail"]

    # the same as a table, and nothing written to Xero or ops: three reads of Xero
    world.sandbox.reset_counters()
    before = world.ops.rows("SELECT * FROM invoices")
    result = world.run("doctor")
    assert result.code == 0, result.out + result.err
    for name in ("connection", "scopes", "lock_dates", "clock", "state_db", "run_lock"):
        assert name in result.out
    assert "Healthy: ready to sync." in result.out and "FAIL" not in result.out
    calls = world.sandbox.get_counters()["endpoints"]
    assert sorted(calls) == ["GET /Accounts", "GET /Organisation", "GET /TaxRates"], calls
    assert world.ops.rows("SELECT * FROM invoices") == before


# -- categories, accounts, tax types ---------------------------------------------------------------


def test_an_unmapped_category_fails_with_the_mapping_to_add(world: World) -> None:
    invoice(world, "JOB-7", account=None, category="materials")
    code, data = doctor(world)
    assert code == 2
    assert data["healthy"] is False
    categories = check(data, "categories")
    assert categories["level"] == "fail" and categories["ok"] is False
    assert "'materials'" in categories["detail"] and "JOB-7" in categories["detail"]
    assert "[mappings.categories]" in categories["fix"] and "materials" in categories["fix"]

    world.configure('[mappings.categories]\nmaterials = "310"\n')
    code, data = doctor(world)
    assert check(data, "categories")["level"] == "ok"
    assert check(data, "accounts")["level"] == "ok"    # 310 is active in Xero


def test_an_account_archived_in_xero_fails_naming_it_and_its_documents(world: World) -> None:
    invoice(world, "JOB-8", account="260")
    account = next(a for a in world.xero.call("GET", "/Accounts")["Accounts"]
                   if a["Code"] == "260")
    world.xero.call("POST", f"/Accounts/{account['AccountID']}",
                    {"Accounts": [{"AccountID": account["AccountID"], "Status": "ARCHIVED"}]})
    code, data = doctor(world)
    assert code == 2
    accounts = check(data, "accounts")
    assert accounts["level"] == "fail"
    assert "260" in accounts["detail"] and "archived" in accounts["detail"]
    assert "invoice JOB-8" in accounts["detail"]
    assert "active account code" in accounts["fix"]


def test_an_account_mapped_to_a_category_must_exist_in_xero(world: World) -> None:
    invoice(world, "JOB-9", account=None, category="labour")
    world.configure('[mappings.categories]\nlabour = "999"\n')
    code, data = doctor(world)
    assert code == 2
    detail = check(data, "accounts")["detail"]
    assert "'999' is not in Xero's chart of accounts" in detail
    assert "[mappings.categories] labour" in detail


def test_a_tax_type_the_account_does_not_allow_fails_with_one_it_does(world: World) -> None:
    # INPUT (GST on Expenses) cannot be used on 200 Sales, a revenue account
    invoice(world, "JOB-10", account="200", tax_type="INPUT")
    code, data = doctor(world)
    assert code == 2
    taxes = check(data, "tax_types")
    assert taxes["level"] == "fail"
    assert "INPUT cannot be used with account 200" in taxes["detail"]
    assert "JOB-10" in taxes["detail"]
    # the account's own tax type is offered first
    assert "such as OUTPUT," in taxes["fix"] and '"200" = "OUTPUT"' in taxes["fix"]

    # a line without a tax type is checked with the default it gets
    world.ops.execute("UPDATE invoice_lines SET account_code = '400', tax_type = NULL")
    world.configure('[mappings.default_tax_types]\n"400" = "OUTPUT"\n')
    code, data = doctor(world)
    assert code == 2
    assert "OUTPUT cannot be used with account 400" in check(data, "tax_types")["detail"]


def test_documents_already_synced_are_not_checked_again(world: World) -> None:
    invoice(world, "JOB-12")
    assert world.run("sync").code == 0
    code, data = doctor(world)
    assert code == 0, data
    assert "no document waiting" in check(data, "accounts")["detail"]


# -- lock dates ------------------------------------------------------------------------------------


def test_a_document_dated_inside_a_locked_period_is_warned_of(world: World) -> None:
    invoice(world, "JOB-20", day="2026-10-15")
    invoice(world, "JOB-21", day="2026-11-20")
    world.sandbox.set_period_lock_date(world.sandbox.tenant_ids[0], date(2026, 10, 31))
    code, data = doctor(world)
    assert code == 0, data                       # a warning: the rest of the sync goes ahead
    locks = check(data, "lock_dates")
    assert locks["level"] == "warn" and locks["ok"] is False
    assert "period lock date 2026-10-31" in locks["detail"]
    assert "invoice JOB-20 (2026-10-15)" in locks["detail"]
    assert "JOB-21" not in locks["detail"]
    assert "lock date back" in locks["fix"]

    world.sandbox.set_period_lock_date(world.sandbox.tenant_ids[0], date(2026, 9, 30))
    locks = check(doctor(world)[1], "lock_dates")
    assert locks["level"] == "ok" and "2026-09-30" in locks["detail"]


# -- the clock -------------------------------------------------------------------------------------


def test_the_sandbox_dates_its_replies_by_its_admin_clock(world: World) -> None:
    world.sandbox.set_clock(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    reply = httpx.get(world.url + "/sandbox/clock")
    assert reply.headers["date"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    world.sandbox.advance_clock(3600)
    token = world.sandbox.client_credentials_token()
    reply = httpx.get(world.url + "/api.xro/2.0/Organisation",
                      headers={"Authorization": f"Bearer {token}",
                               "xero-tenant-id": world.sandbox.tenant_ids[0]})
    assert reply.headers["date"] == "Wed, 02 Jan 2030 04:04:05 GMT"


def test_a_clock_minutes_off_warns_and_far_off_fails(
        world: World, machine_clock: Callable[[float], None]) -> None:
    machine_clock(5 * 60)
    code, data = doctor(world)
    assert code == 0
    clock = check(data, "clock")
    assert clock["level"] == "warn"
    assert "300 s ahead of Xero's clock" in clock["detail"]
    assert "ntp" in clock["fix"]

    machine_clock(-20 * 60)
    code, data = doctor(world)
    assert code == 2
    clock = check(data, "clock")
    assert clock["level"] == "fail" and "1200 s behind" in clock["detail"]


def test_a_skewed_sandbox_clock_is_seen_through_the_date_header(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # this machine's own clock against the sandbox's, set through its admin API; each command
    # of the world starts a minute on, as between a person's commands
    monkeypatch.setattr(doctor_cli, "local_now", lambda: datetime.now(UTC))

    def set_sandbox(ahead: timedelta) -> None:
        when = datetime.now(UTC) + ahead - timedelta(seconds=61)
        reply = httpx.post(world.url + "/sandbox/clock", json={"set": when.isoformat()})
        assert reply.status_code == 200, reply.text

    set_sandbox(timedelta(0))
    code, data = doctor(world)
    assert check(data, "clock")["level"] == "ok", data
    set_sandbox(timedelta(minutes=15))
    code, data = doctor(world)
    assert code == 2
    clock = check(data, "clock")
    assert clock["level"] == "fail" and "behind Xero's clock" in clock["detail"]


# -- connection, tokens, scopes --------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_and_said_so(world: World) -> None:
    world.sandbox.expire_tokens()
    code, data = doctor(world)
    assert code == 0, data
    assert "refreshed just now" in check(data, "connection")["detail"]


def test_a_refused_refresh_token_fails_with_connect_as_the_fix(world: World) -> None:
    path = world.root / "tokens.json"
    tokens = json.loads(path.read_text())
    tokens["refresh_token"] = "not-the-one-xero-issued"
    tokens["expires_at"] = 0
    path.write_text(json.dumps(tokens))
    code, data = doctor(world)
    assert code == 2
    connection = check(data, "connection")
    assert connection["level"] == "fail"
    assert "xsync connect" in connection["fix"]
    assert "not-the-one-xero-issued" not in json.dumps(data)
    for name in ("lock_dates", "accounts", "tax_types", "clock"):
        assert check(data, name)["detail"].startswith("not checked"), name


def test_missing_scopes_fail_naming_what_they_are_needed_for(world: World) -> None:
    world.configure('[xero]\nscopes = "offline_access accounting.contacts '
                    'accounting.settings.read"\n')
    assert world.run("connect", "--sandbox", world.url).code == 0
    code, data = doctor(world)
    assert code == 2
    scopes = check(data, "scopes")
    assert scopes["level"] == "fail"
    assert "accounting.invoices or accounting.transactions (writing invoices)" in scopes["detail"]
    assert "accounting.payments" in scopes["detail"]
    assert "[xero] scopes" in scopes["fix"] and "xsync connect" in scopes["fix"]


def test_xero_unreachable_fails_every_xero_check_never_a_silent_pass(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_retries(monkeypatch)
    world.sandbox.stop()
    code, data = doctor(world)
    assert code == 2
    assert data["healthy"] is False
    assert "could not be reached" in check(data, "connection")["detail"]
    for name in ("lock_dates", "accounts", "tax_types", "clock"):
        found = check(data, name)
        assert found["level"] == "fail" and "Xero could not be reached" in found["detail"]
    # what needs no Xero is still checked
    assert check(data, "state_db")["level"] == "ok"
    assert check(data, "ops_schema")["level"] == "ok"


# -- ops schema, state database --------------------------------------------------------------------


def test_an_ops_db_lacking_a_contract_column_fails_naming_it(world: World) -> None:
    world.ops.execute("ALTER TABLE invoice_lines DROP COLUMN discount_rate")
    code, data = doctor(world)
    assert code == 2
    schema = check(data, "ops_schema")
    assert schema["level"] == "fail"
    assert "invoice_lines.discount_rate" in schema["detail"]
    assert "README" in schema["fix"]
    assert check(data, "accounts")["detail"].startswith("not checked")


def test_a_corrupt_state_db_fails_with_the_rebuild_and_checks_what_it_can(world: World) -> None:
    world.root.joinpath("state.db").write_bytes(os.urandom(8192))
    for suffix in ("-wal", "-shm"):
        world.root.joinpath("state.db" + suffix).unlink(missing_ok=True)
    code, data = doctor(world)
    assert code == 2
    state = check(data, "state_db")
    assert state["level"] == "fail" and "cannot be read" in state["detail"]
    assert "state.db.broken" in state["fix"] and "xsync sync" in state["fix"]
    assert check(data, "ops_schema")["level"] == "ok"
    for name in ("connection", "outbox", "run_lock"):
        assert check(data, name)["detail"].startswith("not checked"), name


def test_damage_only_the_integrity_check_sees_is_found(world: World) -> None:
    # the conflicts' index no longer matches their rows: every read the doctor and a sync
    # make still works, only SQLite's integrity check walks those pages
    conn = sqlite3.connect(world.root / "state.db")
    with conn:
        conn.executemany(
            "INSERT INTO conflicts (entity, ops_id, xero_id, field, reason, created_at, "
            "updated_at, resolved_at) VALUES ('invoices', ?, ?, 'reference', 'both changed', "
            "'2026-11-24T10:00:00+00:00', '2026-11-24T10:00:00+00:00', "
            "'2026-11-24T10:00:00+00:00')",
            [(f"op-{i}", f"x-{i:05d}") for i in range(50)])
    conn.execute("PRAGMA writable_schema=ON")
    with conn:
        conn.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX conflicts_record ON conflicts "
                     "(ops_id, entity, xero_id)' WHERE name = 'conflicts_record'")
    conn.close()
    code, data = doctor(world)
    assert code == 2
    state = check(data, "state_db")
    assert state["level"] == "fail"
    assert "is damaged: row 1 missing from index conflicts_record" in state["detail"]
    assert "state.db.broken" in state["fix"]


def test_a_migration_not_yet_applied_warns_and_one_unknown_fails(world: World) -> None:
    conn = sqlite3.connect(world.root / "state.db")
    with conn:
        conn.execute("DROP TABLE aliases")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm105_aliases'")
    conn.close()
    code, data = doctor(world)
    assert code == 0, data
    state = check(data, "state_db")
    assert state["level"] == "warn" and "m105_aliases" in state["detail"]
    # the next command applied it
    assert check(doctor(world)[1], "state_db")["level"] == "ok"

    conn = sqlite3.connect(world.root / "state.db")
    with conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('xsync.state', 'm999_from_the_future', '2030-01-01')")
    conn.close()
    code, data = doctor(world)
    assert code == 2
    state = check(data, "state_db")
    assert state["level"] == "fail" and "newer xsync" in state["detail"]


# -- outbox and run lock ---------------------------------------------------------------------------


def test_writes_left_unanswered_by_a_killed_run_are_shown_until_a_sync_settles_them(
        world: World) -> None:
    invoice(world, "JOB-30")
    kill_while_held(world, "POST /Invoices", "sync", "--quiet")
    code, data = doctor(world)
    assert code == 0, data
    outbox = check(data, "outbox")
    assert outbox["level"] == "warn"
    assert "create invoices JOB-30 in Xero" in outbox["detail"]
    assert "`xsync sync` settles them" in outbox["fix"]
    # the killed run's lock was left behind too, by a process that is gone
    lock = check(data, "run_lock")
    assert lock["level"] == "warn" and "process is gone" in lock["detail"]

    assert world.run("sync").code == 0
    code, data = doctor(world)
    assert code == 0
    assert check(data, "outbox")["level"] == "ok"
    assert check(data, "run_lock")["level"] == "ok"
    assert [i["InvoiceNumber"] for i in world.xero.invoices()].count("JOB-30") == 1


def _lock(world: World, pid: int, host: str, heartbeat: datetime) -> None:
    conn = sqlite3.connect(world.root / "state.db")
    with conn:
        conn.execute("INSERT OR REPLACE INTO run_lock (id, token, pid, host, acquired_at, "
                     "heartbeat_at) VALUES (1, 'held', ?, ?, ?, ?)",
                     [pid, host, (heartbeat - timedelta(minutes=1)).isoformat(),
                      heartbeat.isoformat()])
    conn.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_of_a_run_that_is_gone_is_stale(world: World) -> None:
    _lock(world, _dead_pid(), socket.gethostname(), world.sandbox.now())
    code, data = doctor(world)
    assert code == 0
    lock = check(data, "run_lock")
    assert lock["level"] == "warn" and "process is gone" in lock["detail"]
    assert "takes the stale lock over" in lock["fix"]


def test_a_lock_of_another_machine_is_stale_once_its_heartbeat_is_old(world: World) -> None:
    _lock(world, 4242, "elsewhere", world.sandbox.now() - timedelta(minutes=2))
    lock = check(doctor(world)[1], "run_lock")
    assert "a run holds the workspace now (pid 4242 on elsewhere" in lock["detail"]
    assert "--wait" in lock["fix"]

    _lock(world, 4242, "elsewhere", world.sandbox.now() - timedelta(minutes=20))
    lock = check(doctor(world)[1], "run_lock")
    assert lock["level"] == "warn" and "last heartbeat" in lock["detail"]
    assert "stale" in lock["fix"]
