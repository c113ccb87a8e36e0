"""The watcher's loop in-process against the live sandbox, step by step on a fake clock: what a
burst, a duplicate, a reorder, an outage, a guard and the ops side's changes do."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import World, fast_retries, run_json
from watch_helpers import KEY

from xsync.cli.runtime import load_runtime, open_engine
from xsync.sides.ops_changes import SqliteChangeProbe
from xsync.state.db import open_state
from xsync.watch.loop import STOP_CODES, UNHOOKED, StepOutcome, Watcher, WatchOptions
from xsync.watch.notify import run_notify
from xsync.watch.receiver import Receiver
from xsync.watch.sink import StateSink


class Loop:
    """A watcher over the world's workspace with its receiver registered in the sandbox; time
    moves only when ``advance`` says so."""

    def __init__(self, world: World, stack: contextlib.ExitStack,
                 notify: Any = None, settle: float = 1.0) -> None:
        self.world = world
        self.now = 0.0
        runtime = load_runtime(world.root)
        self.engine = stack.enter_context(open_engine(runtime))
        self.probe = SqliteChangeProbe(world.root / "ops.db")
        stack.callback(self.probe.close)
        options = WatchOptions(poll=600, ops_poll=2, poll_entities=list(UNHOOKED),
                               settle=settle, lock_wait=0, tenant_id=world.sandbox.tenant_ids[0],
                               workspace=str(world.root))
        self.watcher = Watcher(self.engine, options, probe=self.probe, notify=notify,
                               clock=lambda: self.now)
        state = runtime.workspace.state_path
        self.receiver = Receiver("127.0.0.1", 0, KEY,
                                 sink=lambda: StateSink(open_state(state), self.watcher.health),
                                 on_events=self.watcher.arrived)
        self.receiver.start()
        stack.callback(self.receiver.stop)
        self.watcher.start()

    def register(self) -> None:
        sandbox = self.world.sandbox
        sandbox.webhooks_out.add(self.receiver.url, KEY, sandbox.tenant_ids[0])
        assert sandbox.webhooks()[-1]["status"] == "OK"

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def delivered(self) -> None:
        assert self.world.sandbox.webhooks_out.flush(10)

    def steps(self, limit: int = 10) -> list[StepOutcome]:
        """Every step due now, one after another, until none is."""
        done = []
        for _ in range(limit):
            outcome = self.watcher.tick()
            if outcome is None:
                return done
            done.append(outcome)
            if not outcome.ok and outcome.exit_code in STOP_CODES:
                return done  # the watcher stops here
        raise AssertionError(f"still stepping after {limit} steps: {done}")

    def reads(self) -> int:
        counters = self.world.sandbox.get_counters()["endpoints"]
        return sum(c["calls"] for name, c in counters.items() if name.startswith("GET "))


@pytest.fixture
def loop(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loop]:
    fast_retries(monkeypatch)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    assert world.run("sync").code == 0
    with contextlib.ExitStack() as stack:
        made = Loop(world, stack)
        made.register()
        assert [o.ok for o in made.steps()] == [True]  # the sync of every entity at start
        yield made


def audit_count(world: World, ops_id: str) -> int:
    _, entries = run_json(world, "log", "--record", ops_id)
    return len(entries) if isinstance(entries, list) else len(entries["entries"])


def ops_contact(world: World, name: str) -> dict[str, Any]:
    return world.ops.one("SELECT * FROM contacts WHERE name = ?", [name])


def new_contacts(world: World, names: list[str]) -> None:
    for start in range(0, len(names), 50):
        world.xero.call("PUT", "/Contacts", {"Contacts": [
            {"Name": name} for name in names[start:start + 50]]})


# -- webhooks ------------------------------------------------------------------------------------


def test_a_burst_of_1000_events_is_a_handful_of_reads(loop: Loop) -> None:
    world = loop.world
    names = [f"Storm Customer {n:04d}" for n in range(1000)]
    new_contacts(world, names)
    loop.delivered()
    world.sandbox.reset_counters()
    loop.advance(1)
    outcomes = loop.steps()
    assert [o.kind for o in outcomes] == ["events"] and outcomes[0].ok
    assert loop.reads() <= 25, world.sandbox.get_counters()["endpoints"]
    assert len(world.ops.rows("SELECT id FROM contacts WHERE name LIKE 'Storm Customer %'")) \
        == 1000
    assert loop.watcher.events.counts() == {"done": 1000}
    assert loop.steps() == []


def test_events_wait_for_the_burst_to_settle(loop: Loop) -> None:
    world = loop.world
    new_contacts(world, ["Early Bird"])
    loop.delivered()
    assert loop.steps() == []  # seen now; gathered for one second
    loop.advance(0.5)
    new_contacts(world, ["Second Bird"])
    loop.delivered()
    assert loop.steps() == []
    loop.advance(0.5)
    (outcome,) = loop.steps()
    assert outcome.kind == "events" and outcome.ok
    assert ops_contact(world, "Early Bird") and ops_contact(world, "Second Bird")


def test_a_duplicated_delivery_changes_nothing_twice(loop: Loop) -> None:
    world = loop.world
    contact = world.xero.contact(ops_contact(world, world.xero.contacts()[0]["Name"])["name"])
    world.sandbox.webhooks_out.set_faults(duplicate=1)
    world.xero.update_contact(contact, EmailAddress="twice@example.com")
    loop.delivered()
    assert world.sandbox.webhooks()[0]["delivered"] == 2
    assert loop.watcher.events.counts() == {"new": 1}
    loop.advance(1)
    assert [o.kind for o in loop.steps()] == ["events"]
    row = ops_contact(world, contact["Name"])
    assert row["email"] == "twice@example.com"
    before = audit_count(world, row["id"])
    # the same delivery once more, later (Xero's retry after a lost 200): still nothing new
    world.sandbox.webhooks_out.set_faults(duplicate=1)
    world.xero.update_contact(contact, EmailAddress="twice@example.com")
    loop.delivered()
    loop.advance(1)
    loop.steps()
    assert audit_count(world, row["id"]) == before


def test_a_reordered_delivery_leaves_the_latest_value(loop: Loop) -> None:
    world = loop.world
    invoice = world.xero.invoice("INV-0011")
    world.sandbox.webhooks_out.set_faults(reorder=2)
    world.xero.update_invoice(invoice, Reference="first")
    world.xero.update_invoice(invoice, Reference="second")
    loop.delivered()
    assert world.sandbox.webhooks()[0]["delivered"] == 2
    loop.advance(1)
    (outcome,) = loop.steps()
    assert outcome.ok
    row = world.ops.one("SELECT id, reference FROM invoices WHERE number = 'INV-0011'")
    assert row["reference"] == "second"
    entries = run_json(world, "log", "--record", row["id"])[1]
    changes = [e for e in (entries if isinstance(entries, list) else entries["entries"])
               if e.get("field") == "reference"]
    assert [e["new"] for e in changes] == ["second"]
    assert loop.watcher.events.counts() == {"done": 2}


def test_events_of_another_organisation_are_kept_but_ignored(loop: Loop) -> None:
    world = loop.world
    other = world.sandbox.add_organisation("Elsewhere Pty", seed="empty")
    world.sandbox.webhooks_out.add(loop.receiver.url, KEY, other)
    token = world.sandbox.client_credentials_token(other)
    import httpx

    with httpx.Client(base_url=world.url + "/api.xro/2.0", headers={
            "Authorization": f"Bearer {token}", "xero-tenant-id": other,
            "Accept": "application/json"}) as http:
        assert http.put("/Contacts", json={"Contacts": [{"Name": "Not Ours"}]}).status_code \
            == 200
    loop.delivered()
    loop.advance(1)
    assert loop.steps() == []
    assert loop.watcher.events.counts() == {"ignored": 1}
    assert world.ops.rows("SELECT id FROM contacts WHERE name = 'Not Ours'") == []



def received(world: World, contact: str, typ: str, amount: str, reference: str) -> str:
    """Money the accountant records as received in Xero; the overpayment's or prepayment's id."""
    bank = world.xero.call("PUT", "/BankTransactions", {"BankTransactions": [{
        "Type": typ, "Contact": {"ContactID": contact}, "BankAccount": {"Code": "090"},
        "Date": "2026-11-20", "Reference": reference, "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": reference, "Quantity": 1, "UnitAmount": amount,
                       "AccountCode": "200"}]}]})["BankTransactions"][0]
    return str(bank.get("OverpaymentID") or bank["PrepaymentID"])


def test_credits_and_allocations_arrive_by_their_events_with_no_poll(loop: Loop) -> None:
    world = loop.world
    invoice = world.xero.invoice("INV-0011")
    owed = Decimal(str(invoice["AmountDue"]))
    contact = invoice["Contact"]["ContactID"]
    over = received(world, contact, "RECEIVE-OVERPAYMENT", "50.00", "Paid twice")
    note = world.xero.call("PUT", "/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact}, "Date": "2026-11-24",
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Overcharge", "Quantity": 1, "UnitAmount": 20,
                       "AccountCode": "200"}]}]})["CreditNotes"][0]
    world.xero.call("PUT", f"/Overpayments/{over}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 30, "Date": "2026-11-24"}]})
    placed = world.xero.call("PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations", {
        "Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 20,
                         "Date": "2026-11-24"}]})["Allocations"][0]["AllocationID"]
    loop.delivered()
    loop.advance(1)
    (step,) = loop.steps()
    assert step.kind == "events" and step.ok, step
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0011'")
    assert Decimal(row["amount_due"]) == owed - 50
    credit = world.ops.one("SELECT * FROM credits WHERE reference = 'Paid twice'")
    assert (credit["kind"], credit["remaining"]) == ("overpayment", "20.00")
    rows = world.ops.rows("SELECT kind, amount, status FROM allocations WHERE invoice_id = ? "
                          "ORDER BY kind", [row["id"]])
    assert [tuple(r.values()) for r in rows] == [("credit_note", "20.00", "applied"),
                                                ("overpayment", "30.00", "applied")]
    assert loop.watcher.events.counts() == {"done": 6}

    # the accountant takes the credit note's allocation back: its event marks it deleted
    world.xero.call("DELETE", f"/CreditNotes/{note['CreditNoteID']}/Allocations/{placed}")
    loop.delivered()
    loop.advance(1)
    (step,) = loop.steps()
    assert step.kind == "events" and step.ok, step
    assert world.ops.one("SELECT status FROM allocations WHERE kind = 'credit_note' AND "
                         "invoice_id = ?", [row["id"]])["status"] == "deleted"
    assert Decimal(world.ops.one("SELECT amount_due FROM invoices WHERE id = ?",
                                 [row["id"]])["amount_due"]) == owed - 30
    assert loop.watcher.events.counts() == {"done": 8}

# -- the ops side ----------------------------------------------------------------------------------


def test_an_ops_approval_is_pushed_at_the_next_check_and_pulls_are_not_pushed_back(
    loop: Loop
) -> None:
    world = loop.world
    draft = world.ops.one("SELECT id, number FROM invoices WHERE status = 'draft' "
                          "ORDER BY number LIMIT 1")
    world.ops.execute("UPDATE invoices SET status = 'approved', updated_at = "
                      "'2026-11-24T10:05:00Z' WHERE id = ?", [draft["id"]])
    loop.advance(1)
    assert loop.steps() == []  # the check runs every 2 s
    loop.advance(1)
    (push,) = loop.steps()
    assert push.kind == "push" and push.ok
    assert world.xero.invoice(draft["number"])["Status"] == "AUTHORISED"

    # a change pulled into ops by a webhook is not taken for an ops change
    world.xero.update_invoice(world.xero.invoice("INV-0012"), Reference="from Xero")
    loop.delivered()
    loop.advance(2)
    assert [o.kind for o in loop.steps()] == ["events"]
    loop.advance(2)
    assert loop.steps() == []


def test_an_idle_watcher_reads_nothing_until_its_poll(loop: Loop) -> None:
    world = loop.world
    world.sandbox.reset_counters()
    for _ in range(50):
        loop.advance(10)
        assert loop.steps() == []
    assert loop.reads() == 0
    loop.advance(100)
    (poll,) = loop.steps()
    assert poll.kind == "poll" and poll.ok
    assert loop.reads() == len(UNHOOKED)


# -- failures ------------------------------------------------------------------------------------


def test_xero_down_keeps_the_watcher_running_says_so_and_it_catches_up(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fast_retries(monkeypatch)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    assert world.run("sync").code == 0
    told = tmp_path / "told.jsonl"
    notify = lambda summary: run_notify(f"cat >> {told}; echo >> {told}", summary)  # noqa: E731
    world.sandbox.set_faults(error_rate=1.0, status=503)
    with contextlib.ExitStack() as stack:
        loop = Loop(world, stack, notify=notify)
        first = loop.steps()
        assert [(o.kind, o.ok, o.exit_code) for o in first] == [("poll", False, 8)]
        assert first[0].retry_in == 5
        code, status = run_json(world, "status")
        assert code == 0
        watcher = status["watcher"]
        assert watcher["running"] and watcher["state"] == "retrying"
        assert watcher["last_error"].startswith("Xero could not be read (Service Unavailable")
        assert watcher["next_try_at"]
        text = world.run("status").out
        assert "Watcher: retrying" in text and "last error" in text

        loop.advance(5)
        (again,) = loop.steps()
        assert not again.ok and again.retry_in == 10
        world.sandbox.clear_faults()
        invoice = world.xero.invoice("INV-0011")
        world.xero.update_invoice(invoice, Reference="while Xero was down")
        loop.advance(9)
        assert loop.steps() == []
        loop.advance(1)
        (caught,) = loop.steps()
        assert caught.ok
        assert world.ops.one("SELECT reference FROM invoices WHERE number = 'INV-0011'")[
            "reference"] == "while Xero was down"
        assert run_json(world, "status")[1]["watcher"]["state"] == "running"
    summaries = [json.loads(line) for line in told.read_text().splitlines() if line.strip()]
    assert [s["outcome"] for s in summaries] == ["failed"]  # once for the same error
    assert summaries[0]["exit_code"] == 8 and summaries[0]["step"] == "poll"


def test_a_guard_stops_the_watcher_with_exit_5(world: World,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fast_retries(monkeypatch)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    assert world.run("sync").code == 0
    world.ops.script("DELETE FROM invoice_lines; DELETE FROM payments; "
                     "DELETE FROM credit_notes; DELETE FROM invoices;")
    with contextlib.ExitStack() as stack:
        loop = Loop(world, stack)
        (stopped,) = loop.steps()
        assert (stopped.exit_code, stopped.ok, stopped.retry_in) == (5, False, None)
        assert loop.watcher.run() == 5
    code, status = run_json(world, "status")
    assert code == 0
    assert status["watcher"]["state"] == "stopped" and status["watcher"]["exit_code"] == 5
    assert len(world.xero.invoices()) > 0


def test_a_new_rejection_is_told_once_and_the_watcher_goes_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_retries(monkeypatch)
    world.sandbox.set_limits(minute_limit=100_000, reset=True)
    assert world.run("sync").code == 0
    told: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        loop = Loop(world, stack, notify=told.append)
        loop.steps()
        row = world.ops.one("SELECT id FROM invoices WHERE status = 'draft' ORDER BY number "
                            "LIMIT 1")
        world.ops.execute("UPDATE invoices SET total = '12,50', updated_at = "
                          "'2026-11-24T10:05:00Z' WHERE id = ?", [row["id"]])
        loop.advance(2)
        (push,) = loop.steps()
        assert push.ok and push.exit_code == 4
        world.ops.execute("UPDATE invoices SET reference = 'another change', updated_at = "
                          "'2026-11-24T10:06:00Z' WHERE id != ? AND status = 'draft'",
                          [row["id"]])
        loop.advance(2)
        (again,) = loop.steps()  # the row is rejected again: nothing new to tell
        assert again.kind == "push" and again.exit_code == 4
    assert [s["outcome"] for s in told] == ["rejected"]
    (rejected,) = told[0]["rejected"]
    assert rejected["ops_id"] == row["id"] and "12,50" in rejected["reason"]
