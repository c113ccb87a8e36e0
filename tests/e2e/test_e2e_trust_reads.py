"""A read that failed is a failed run: through the CLI, against the sandbox.

Each test breaks one read (Xero down for one endpoint, a token Xero refuses, the wrong
organisation, a request Xero rejects, ops rows that cannot be read, an ops.db that cannot be
opened), then checks what a bookkeeper's cron line and scripts see: the exit code of `sync`,
`sync --dry-run` and `diff` agree, `--json` names every unread entity with its cause, `status`
shows each entity's own outcome, and nothing of what was not read (nor what depends on it)
changed on either side, while the other entities still synced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_helpers import World, assert_plain_words, fast_retries, run_json

DOCUMENT_ENTITIES = ("invoices", "payments", "credit_notes", "credits", "allocations", "bills")
ALL_ENTITIES = ("accounts", "tax_rates", "contacts", *DOCUMENT_ENTITIES)


@pytest.fixture
def synced(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The demo company after its first sync, with retries that do not wait in real time."""
    fast_retries(monkeypatch)
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    world.advance()
    return world


def failed_read(world: World, code: int, unread: dict[str, str | None]) -> dict[str, Any]:
    """`diff`, `sync --dry-run` and `sync` all exit ``code`` and name exactly the ``unread``
    entities (entity -> the entity it waits for, or None for the one that failed itself);
    `status` shows each entity's own outcome. Returns the sync's JSON."""
    for args in (("diff",), ("sync", "--dry-run")):
        got, plan = run_json(world, *args)
        assert got == code, (args, got, plan.get("read_errors"))
        assert plan["exit_code"] == code
        assert {e["entity"]: e["cause"] for e in plan["read_errors"]} == unread, args
    got, report = run_json(world, "sync")
    assert got == code, report
    assert report["exit_code"] == code
    errors = {e["entity"]: e for e in report["read_errors"]}
    assert {e: errors[e]["cause"] for e in errors} == unread
    for error in errors.values():
        assert error["reason"] and error["exit_code"] == code, error
        assert_plain_words(error["reason"])
    assert run_json(world, "status")[0] == 0
    status = run_json(world, "status")[1]
    runs = status["last_runs"]
    for entity in ALL_ENTITIES:
        want = "unread" if entity in unread else "ok"
        assert runs[entity]["outcome"] == want, (entity, runs[entity])
    assert {u["entity"] for u in status["unread"]} == set(unread)
    assert all(u["reason"] for u in status["unread"])
    return report


def pending_changes(world: World) -> dict[str, Any]:
    """Changes waiting on both sides: an ops contact's phone, an ops invoice's reference, a new
    approved ops invoice, and the accountant's reference on another invoice."""
    world.ops.execute("UPDATE contacts SET phone = '08 9000 1234', updated_at = "
                      "'2026-11-24T10:02:00Z' WHERE name = 'Coco Cafe'")
    world.ops.execute("UPDATE invoices SET reference = 'Changed in ops', updated_at = "
                      "'2026-11-24T10:02:00Z' WHERE number = 'INV-0011'")
    contact = world.ops.one("SELECT id FROM contacts WHERE name = 'Coco Cafe'")["id"]
    world.ops.script(f"""
        INSERT INTO invoices (id, number, contact_id, date, status, updated_at)
            VALUES ('NEW-1', 'JOB-NEW-1', '{contact}', '2026-11-20', 'approved',
                    '2026-11-24T10:02:00Z');
        INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                                   account_code, tax_type)
            VALUES ('NEW-1-1', 'NEW-1', 1, 'Work', '1', '100.00', '200', 'OUTPUT');
    """)
    world.xero.update_invoice(world.xero.invoice("INV-0012"), Reference="Changed in Xero")
    return {
        "phone": world.xero.contact("Coco Cafe").get("Phones"),
        "inv11": world.xero.invoice("INV-0011")["Reference"],
        "inv12_ops": world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0012'"),
    }


def nothing_moved(world: World, before: dict[str, Any]) -> None:
    assert world.xero.contact("Coco Cafe").get("Phones") == before["phone"]
    assert world.xero.invoice("INV-0011")["Reference"] == before["inv11"]
    assert world.xero.invoices(InvoiceNumbers="JOB-NEW-1") == []
    assert world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0012'") == \
        before["inv12_ops"]


def everything_arrived(world: World) -> None:
    world.sandbox.clear_faults()
    phones = [p for p in world.xero.contact("Coco Cafe")["Phones"] if p["PhoneType"] == "DEFAULT"]
    assert phones and phones[0]["PhoneNumber"].endswith("9000 1234")
    assert world.xero.invoice("INV-0011")["Reference"] == "Changed in ops"
    assert len(world.xero.invoices(InvoiceNumbers="JOB-NEW-1")) == 1
    assert world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0012'") == \
        {"reference": "Changed in Xero"}


def recovers(world: World) -> None:
    world.sandbox.clear_faults()
    result = world.run("sync")
    assert result.code == 0, result.out + result.err
    everything_arrived(world)
    runs = run_json(world, "status")[1]
    assert runs["unread"] == []


DEPENDENTS_OF_CONTACTS = {"contacts": None, "invoices": "contacts", "payments": "invoices",
                          "credit_notes": "contacts", "credits": "contacts",
                          "allocations": "credit_notes", "bills": "contacts"}


def test_xero_down_for_contacts_exits_8_and_holds_contacts_and_all_that_refers_to_them(
        synced: World) -> None:
    world = synced
    before = pending_changes(world)
    world.sandbox.set_faults(error_rate=1.0, status=503, match="GET /Contacts")
    failed_read(world, 8, DEPENDENTS_OF_CONTACTS)
    # the summary a person reads says the same
    text = world.run("sync")
    assert text.code == 8
    assert "could not read contacts from Xero" in text.out + text.err
    quiet = world.run("sync", "--quiet")
    assert quiet.code == 8 and "could not read contacts" in quiet.out + quiet.err
    world.sandbox.clear_faults()      # the accountant's own look at Xero
    nothing_moved(world, before)
    # the cursors stayed: the accountant's change made before the failure still comes home
    recovers(world)


def test_xero_down_for_payments_holds_payments_only_and_the_rest_syncs(synced: World) -> None:
    world = synced
    invoice = world.xero.invoice("INV-0013")
    world.xero.pay(invoice, invoice["AmountDue"], day="2026-11-23")
    pending_changes(world)
    world.sandbox.set_faults(error_rate=1.0, status=500, match="GET /Payments")
    failed_read(world, 8, {"payments": None})
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0013'")
    assert row["status"] == "paid"                      # invoices were read and synced ...
    assert world.ops.rows("SELECT * FROM payments WHERE invoice_id = ?", [row["id"]]) == []
    everything_arrived(world)                           # ... and so were contacts
    world.sandbox.clear_faults()
    assert world.run("sync").code == 0
    payment = world.ops.one("SELECT * FROM payments WHERE invoice_id = ?", [row["id"]])
    assert payment["date"] == "2026-11-23"


def test_a_401_that_survives_one_refresh_exits_6_and_stops_every_later_read(
        synced: World) -> None:
    world = synced
    before = pending_changes(world)
    world.sandbox.set_faults(error_rate=1.0, status=401, match="GET /Contacts")
    # Xero refused the grant: every entity after contacts waits for it
    failed_read(world, 6, {**{e: "contacts" for e in DEPENDENTS_OF_CONTACTS}, "contacts": None})
    # a refused call is sent again once, with a refreshed token, and then given up
    world.sandbox.reset_counters()
    assert world.run("sync").code == 6
    assert world.sandbox.get_counters()["endpoints"]["GET /Contacts"]["calls"] == 2
    world.sandbox.clear_faults()
    nothing_moved(world, before)
    recovers(world)


def test_an_access_token_xero_refuses_exits_6_and_nothing_is_read_as_empty(
        synced: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = synced
    before = pending_changes(world)
    monkeypatch.setenv("XSYNC_ACCESS_TOKEN", "a-token-xero-never-issued")
    failed_read(world, 6, {"accounts": None, **{e: "accounts" for e in ALL_ENTITIES[1:]}})
    nothing_moved(world, before)
    monkeypatch.delenv("XSYNC_ACCESS_TOKEN")
    recovers(world)


def test_an_organisation_not_connected_403_exits_6(
        synced: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = synced
    before = pending_changes(world)
    monkeypatch.setenv("XSYNC_TENANT_ID", "00000000-0000-4000-8000-000000000000")
    failed_read(world, 6, {"accounts": None, **{e: "accounts" for e in ALL_ENTITIES[1:]}})
    nothing_moved(world, before)
    monkeypatch.delenv("XSYNC_TENANT_ID")
    recovers(world)


def test_a_read_xero_rejects_fails_the_entity_and_what_refers_to_it(synced: World) -> None:
    world = synced
    before = pending_changes(world)
    # invoices and bills are both read from /Invoices
    world.sandbox.set_faults(error_rate=1.0, status=400, match="GET /Invoices")
    got, plan = run_json(world, "diff")
    assert got != 0, plan
    code = got
    failed_read(world, code, {"invoices": None, "bills": None, "payments": "invoices",
                              "credit_notes": "invoices", "allocations": "credit_notes"})
    # contacts were read and synced
    world.sandbox.clear_faults()
    phones = [p for p in world.xero.contact("Coco Cafe")["Phones"] if p["PhoneType"] == "DEFAULT"]
    assert phones and phones[0]["PhoneNumber"].endswith("9000 1234")
    assert world.xero.invoice("INV-0011")["Reference"] == before["inv11"]
    assert world.xero.invoices(InvoiceNumbers="JOB-NEW-1") == []
    recovers(world)


def test_ops_rows_that_cannot_be_read_are_named_and_their_twins_left_alone(
        synced: World) -> None:
    world = synced
    invoice = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0014'")
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [invoice["id"]])[0]
    contact = world.ops.one("SELECT * FROM contacts WHERE name = 'Bayside Club'")
    xero_invoice = world.xero.invoice("INV-0014")
    xero_contact = world.xero.contact("Bayside Club")
    world.ops.execute("UPDATE invoice_lines SET unit_price = '1e30' WHERE id = ?", [line["id"]])
    world.ops.execute("UPDATE invoices SET updated_at = '2026-11-24T10:05:00Z' WHERE id = ?",
                      [invoice["id"]])
    world.ops.execute("UPDATE contacts SET updated_at = 'yesterday', phone = '03 9000 0000' "
                      "WHERE id = ?", [contact["id"]])
    world.ops.execute("UPDATE invoices SET reference = 'Changed in ops', updated_at = "
                      "'2026-11-24T10:02:00Z' WHERE number = 'INV-0011'")
    for args in (("diff",), ("sync", "--dry-run"), ("sync",)):
        code, data = run_json(world, *args)
        assert code == 4, (args, data)
        assert data["read_errors"] == []
        reasons = {r["ops_id"]: r["reason"] for r in data["rejected"]}
        assert set(reasons) == {invoice["id"], contact["id"]}, reasons
        assert "unit_price" in reasons[invoice["id"]] and "1e30" in reasons[invoice["id"]]
        assert "updated_at" in reasons[contact["id"]] and "yesterday" in reasons[contact["id"]]
        for reason in reasons.values():
            assert_plain_words(reason)
    runs = run_json(world, "status")[1]["last_runs"]
    assert (runs["contacts"]["outcome"], runs["invoices"]["outcome"]) == ("rejected", "rejected")
    assert runs["accounts"]["outcome"] == "ok"
    # the twins are untouched: not deleted, not voided, not rewritten
    assert world.xero.invoice("INV-0014") == xero_invoice
    assert world.xero.contact("Bayside Club") == xero_contact
    # the rest synced
    assert world.xero.invoice("INV-0011")["Reference"] == "Changed in ops"
    # fixed, they sync
    world.ops.execute("UPDATE invoice_lines SET unit_price = '1.50' WHERE id = ?", [line["id"]])
    world.ops.execute("UPDATE contacts SET updated_at = '2026-11-24T10:06:00Z' WHERE id = ?",
                      [contact["id"]])
    fixed = world.run("sync")
    assert fixed.code == 0, fixed.out + fixed.err
    assert world.xero.invoice("INV-0014")["LineItems"][0]["UnitAmount"] == 1.5
    phones = [p for p in world.xero.contact("Bayside Club")["Phones"]
              if p["PhoneType"] == "DEFAULT"]
    assert phones and phones[0]["PhoneNumber"].endswith("9000 0000")


@pytest.fixture
def held_ops_db(synced: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[sqlite3.Connection]:
    """Another program holds ops.db in a write transaction; xsync's busy timeout is short."""
    from xsync.sides.ops_sqlite import SqliteOpsStore

    defaults = SqliteOpsStore.__init__.__kwdefaults__
    assert defaults is not None and "busy_timeout" in defaults
    monkeypatch.setitem(defaults, "busy_timeout", 0.2)
    holder = sqlite3.connect(synced.ops.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield holder
    holder.close()


def _xero_documents(world: World) -> list[tuple[str, str, str]]:
    return sorted((i["InvoiceNumber"], i["Status"], str(i.get("Reference")))
                  for i in world.xero.invoices())


def test_a_locked_ops_db_exits_8_naming_it_and_nothing_is_written(
        synced: World, held_ops_db: sqlite3.Connection) -> None:
    world = synced
    world.xero.update_invoice(world.xero.invoice("INV-0012"), Reference="Changed in Xero")
    documents = _xero_documents(world)
    for args in (("diff",), ("sync", "--dry-run"), ("sync",), ("sync", "--json")):
        result = world.run(*args)
        assert result.code == 8, (args, result.out, result.err)
        assert "ops.db" in result.err and "locked" in result.err, result.err
        assert_plain_words(result.out + result.err)
    assert _xero_documents(world) == documents
    held_ops_db.rollback()
    assert world.run("sync").code == 0
    assert world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0012'") == \
        {"reference": "Changed in Xero"}


def _corrupt(world: World) -> bytes:
    good = world.ops.path.read_bytes()
    # a valid header over pages of garbage, as a disk error or a half-copied file leaves it
    world.ops.path.write_bytes(good[:100] + b"\x13" * (len(good) - 100))
    return good


def test_a_corrupt_ops_db_exits_8_naming_it_and_nothing_is_written(synced: World) -> None:
    world = synced
    world.xero.update_invoice(world.xero.invoice("INV-0012"), Reference="Changed in Xero")
    documents = _xero_documents(world)
    good = _corrupt(world)
    for args in (("diff",), ("sync", "--dry-run"), ("sync",), ("sync", "--json")):
        result = world.run(*args)
        assert result.code == 8, (args, result.out, result.err)
        assert "ops.db" in result.err, result.err
        assert_plain_words(result.out + result.err)
    assert _xero_documents(world) == documents
    world.ops.path.write_bytes(good)
    assert world.run("sync").code == 0
    assert world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0012'") == \
        {"reference": "Changed in Xero"}


def test_after_a_run_that_could_not_open_ops_db_json_and_status_say_so(synced: World) -> None:
    world = synced
    _corrupt(world)
    for args in (("sync", "--dry-run"), ("sync",)):
        code, report = run_json(world, *args)
        assert code == report["exit_code"] == 8, (args, report)
        assert {e["entity"] for e in report["read_errors"]} >= {"contacts", "invoices"}, args
        assert all("ops.db" in e["reason"] for e in report["read_errors"]), args
    status = run_json(world, "status")[1]
    assert status["last_runs"]["invoices"]["outcome"] != "ok"
    assert {u["entity"] for u in status["unread"]} >= {"contacts", "invoices"}


def test_diff_json_over_an_ops_db_that_cannot_be_opened_names_the_unread_entities(
        synced: World) -> None:
    _corrupt(synced)
    code, plan = run_json(synced, "diff")
    assert code == plan["exit_code"] == 8
    assert {e["entity"] for e in plan["read_errors"]} >= {"contacts", "invoices"}


def test_a_dry_run_and_diff_that_would_hit_the_mass_delete_guard_exit_5(world: World) -> None:
    world.configure('[sync]\ndefault_policy = "latest"\nmass_delete_threshold = 2\n')
    assert world.run("sync").code == 0
    world.advance()
    drafts = world.ops.rows("SELECT * FROM invoices WHERE status = 'draft' ORDER BY number")
    for row in drafts[:3]:
        world.ops.execute("UPDATE invoices SET status = 'deleted', updated_at = "
                          "'2026-11-24T10:30:00Z' WHERE id = ?", [row["id"]])
    for args in (("diff",), ("sync", "--dry-run"), ("push", "--dry-run")):
        code, plan = run_json(world, *args)
        assert code == 5, (args, code)
        assert plan["exit_code"] == 5
    assert world.run("sync", "--dry-run").code == 5
    assert world.run("sync", "--dry-run", "--allow-mass-delete").code == 0
    assert all(world.xero.invoice(r["number"])["Status"] in ("DRAFT", "SUBMITTED")
               for r in drafts[:3])
    assert world.run("sync").code == 5
