"""A run reads a large entity in rounds: memory holds one round, not the organisation.

Under the run lock, contacts, invoices, bills, payments and credit notes are read oldest change
first, about ``Engine.round_records`` at a time, each round planned and applied before the next
is read, and what refers to them (invoices refer to contacts; payments, credit notes and
allocations to invoices) planned once their last round is in. The outcome is the one a single
read gives: the same rows, one run, and the guards counting every round. A plan made outside the
run lock reads everything at once; ``diff`` reads the same rounds as the run, applying none
(``test_sync_preview``).
"""

from __future__ import annotations

import gc
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from bookworld import Books

from xsync.errors import MassDeleteGuard
from xsync.model.records import Record
from xsync.model.side import ScanResult
from xsync.sides.ops_sqlite import SqliteOpsStore
from xsync.sides.xero import XeroSide
from xsync.state.db import open_state
from xsync.state.ledger import Ledger
from xsync.sync import Engine, default_rules
from xsync.sync.plan import Plan
from xsync.sync.planner import Grown
from xsync.xero import client

TABLES = ("contacts", "invoices", "invoice_lines", "bills", "bill_lines", "payments")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every ops table's rows without the ids and change times a store assigns."""
    conn = sqlite3.connect(path)
    out = {}
    for table in TABLES:
        cols = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")
                if c[1] not in ("id", "updated_at") and not c[1].endswith("_id")]
        out[table] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(),
                            key=repr)
    conn.close()
    return out


def _planned(books: Books, monkeypatch: pytest.MonkeyPatch) -> list[Plan]:
    """Each plan the run makes, as it was made (a plan applied in rounds lets its steps go)."""
    plans: list[Plan] = []
    real = books.engine.plan

    def recording(mode, entities=None):  # type: ignore[no-untyped-def]
        plan = real(mode, entities)
        plans.append(Plan(plan.mode, list(plan.entities), plan.created_at,
                          steps=list(plan.steps), more=list(plan.more)))
        return plan

    monkeypatch.setattr(books.engine, "plan", recording)
    return plans


def _beside(books: Books, ops_path: Path, state_path: Path, round_records: int) -> Engine:
    """An engine over the same Xero organisation as ``books``, with a workspace of its own
    (``ops_path`` may hold a copy of ``books``' ops.db: a state.db lost)."""
    return Engine(open_state(state_path), SqliteOpsStore(ops_path, now=books.stamp),
                  XeroSide(books.engine.xero.client),  # type: ignore[attr-defined]
                  default_rules(), now=books.sandbox.now, round_records=round_records)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Books:
    books = Books(tmp_path_factory.mktemp("whole"), invoices=2_600)
    books.engine.round_records = 100_000
    assert books.cycle("pull") == 0
    return books


def test_a_first_pull_in_rounds_holds_one_round_and_lands_every_row(
        tmp_path: Path, whole: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    books = Books(tmp_path, invoices=2_600)
    books.engine.round_records = 500
    plans = _planned(books, monkeypatch)
    result = books.run("pull")
    assert result.exit_code == 0
    per_round = [sum(1 for s in p.steps if s.entity == "invoices") for p in plans]
    assert len(plans) >= 3, per_round
    # a round ends at the first page boundary past 500 records (the sandbox's pages of 1,000)
    assert max(per_round) <= 1_000, per_round
    # payments refer to invoices: planned once, after the last round of them
    assert all("payments" in p.more and "invoices" in p.more for p in plans[:-1])
    assert plans[-1].more == [] and "payments" in plans[-1].entities
    assert _rows(tmp_path / "ops.db") == _rows(whole.ops.path)
    # one run, as the user ran one command
    runs = books.engine.ledger.runs(limit=5)
    assert len(runs) == 1 and runs[0]["exit_code"] == 0
    # and the next cycle finds nothing to do, reading one page of each
    assert books.cycle() == 0
    assert max(books.reads().values()) == 1


def test_a_round_lets_its_records_go_without_waiting_for_the_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # neither a round's applied plan nor what planning held for it outlives the round, and
    # none of it is a reference cycle: with the collector off (a run makes its passes rare),
    # no record a round read is left when the next begins, so a first pull holds one round
    books = Books(tmp_path, invoices=2_600)
    books.engine.round_records = 500
    alive: list[int] = []
    real = books.engine.plan

    def counting(mode, entities=None):  # type: ignore[no-untyped-def]
        alive.append(sum(1 for o in gc.get_objects() if type(o) is Record))
        return real(mode, entities)

    monkeypatch.setattr(books.engine, "plan", counting)
    gc.collect()
    gc.disable()
    try:
        assert books.run("pull").exit_code == 0
    finally:
        gc.enable()
    assert len(alive) >= 3, alive
    assert max(alive) < 100, alive


def test_a_run_in_rounds_never_reads_every_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning and applying share one view of the links for the whole run, which asks the
    ledger for the ids a round names: no round reads every link or base of the entity (what
    the run holds is bounded by a round, not by how many records are linked)."""
    books = Books(tmp_path, invoices=2_600, micro=True)
    books.sandbox.advance_clock(0.123457)
    books.engine.round_records = 500
    plans = _planned(books, monkeypatch)
    whole: list[str] = []
    real_links, real_pages, real_based_pages = (Ledger.links, Ledger.link_pages,
                                                Ledger.based_pages)
    real_based, real_merged = Ledger.based, Ledger.merged_contacts

    def links(ledger: Ledger, entity: str) -> dict[str, str]:
        found = real_links(ledger, entity)
        whole.extend([f"links {entity}"] * len(found))
        return found

    def pages(ledger: Ledger, entity: str, by_xero: bool) -> Iterator[list[tuple[str, str]]]:
        for page in real_pages(ledger, entity, by_xero):
            whole.extend([f"links {entity}"] * len(page))
            yield page

    def based_pages(ledger: Ledger, entity: str) -> Iterator[list[str]]:
        for page in real_based_pages(ledger, entity):
            whole.extend([f"based {entity}"] * len(page))
            yield page

    def based(ledger: Ledger, entity: str, ops_ids: object = None) -> set[str]:
        found = real_based(ledger, entity, ops_ids)  # type: ignore[arg-type]
        if ops_ids is None:
            whole.extend([f"based {entity}"] * len(found))
        return found

    def merged(ledger: Ledger, ops_ids: object = None) -> dict[str, str]:
        if ops_ids is None:
            whole.append("merged")
        return real_merged(ledger, ops_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "links", links)
    monkeypatch.setattr(Ledger, "link_pages", pages)
    monkeypatch.setattr(Ledger, "based_pages", based_pages)
    monkeypatch.setattr(Ledger, "based", based)
    monkeypatch.setattr(Ledger, "merged_contacts", merged)
    assert books.run("pull").exit_code == 0
    assert len(plans) >= 3
    # (an id read whole is one entry: the first round reads the links of none)
    assert not [w for w in whole if w.endswith("invoices")], Counter(whole)
    assert whole.count("merged") <= 1, whole
    assert books.cycle() == 0


def test_a_run_in_rounds_compares_each_ops_table_in_full_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a round has found the ops table as its bases vouch, the later rounds of the run look
    only at what was written since: the full comparison is made once as the rounds go, and
    once more when the run proves the table for the next cycle."""
    books = Books(tmp_path, invoices=1_500, micro=True)
    books.sandbox.advance_clock(0.123457)  # every stamp from here on carries microseconds
    books.engine.round_records = 150
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 150)
    plans = _planned(books, monkeypatch)
    built: list[str] = []
    real = Ledger.vouched_fingerprint

    def counted(ledger: Ledger, entity: str, *args: object) -> object:
        built.append(entity)
        return real(ledger, entity, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "vouched_fingerprint", counted)
    assert books.run("pull").exit_code == 0
    assert len(plans) >= 6, len(plans)
    # the first round, with nothing written yet, counts what there is to compare (none)
    assert built.count("invoices") <= 3, built
    assert books.cycle() == 0 and max(books.reads().values()) == 1


def test_an_ops_row_another_program_edits_between_rounds_is_pushed_in_that_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books = Books(tmp_path, invoices=1_500, micro=True)
    books.sandbox.advance_clock(0.123457)
    books.engine.round_records = 150
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 150)
    real = books.engine.plan
    edited: list[str] = []

    def editing(mode, entities=None):  # type: ignore[no-untyped-def]
        if entities is not None and "invoices" in entities and not edited:
            rows = sqlite3.connect(books.ops.path)
            found = rows.execute("SELECT id, number FROM invoices WHERE status = 'approved' "
                                 "ORDER BY id").fetchone()
            if found is not None and rows.execute("SELECT count(*) FROM invoices"
                                                  ).fetchone()[0] > 300:
                books.sandbox.advance_clock(1.5)  # the edit comes after xsync wrote the row
                rows.execute("UPDATE invoices SET reference = 'between rounds', updated_at = ? "
                             "WHERE id = ?", [books.stamp(), found[0]])
                rows.commit()
                edited.append(found[1])
            rows.close()
        return real(mode, entities)

    monkeypatch.setattr(books.engine, "plan", editing)
    assert books.run("sync").exit_code == 0
    assert edited, "no round came after the first few hundred invoices"
    found = books.http.get("/Invoices", params={"InvoiceNumbers": edited[0]}).json()
    assert found["Invoices"][0]["Reference"] == "between rounds"


def test_a_diff_reads_everything_at_once(tmp_path: Path) -> None:
    books = Books(tmp_path, invoices=1_200)
    books.engine.round_records = 300
    plan = books.engine.plan("pull")
    assert plan.more == []
    assert sum(1 for s in plan.steps if s.entity == "invoices") > 900


def test_the_deletes_of_every_round_count_towards_the_guard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books = Books(tmp_path, invoices=600)
    assert books.cycle("pull") == 0
    threshold = books.engine.rules.mass_delete_threshold
    books.delete_drafts(threshold + 10)
    books.engine.round_records = threshold // 2
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)  # rounds end at pages of 5
    with pytest.raises(MassDeleteGuard):
        books.run("sync")
    deleted = books.ops.conn.execute(
        "SELECT COUNT(*) FROM invoices WHERE status = 'deleted'").fetchone()[0]
    # the rounds under the threshold landed; none past it
    assert 0 < deleted <= threshold


def test_a_rebuilt_workspace_read_in_rounds_matches_every_record_and_writes_nothing(
        tmp_path: Path, whole: Books) -> None:
    """Links lost (state.db rebuilt): each round's Xero records find their ops twins; an ops
    record a round does not match waits for the last round, rather than being looked up or
    created while the rest of Xero is still unread."""
    import shutil

    shutil.copy(whole.ops.path, tmp_path / "ops.db")
    engine = _beside(whole, tmp_path / "ops.db", tmp_path / "state.db", round_records=500)
    ops = engine.ops
    assert isinstance(ops, SqliteOpsStore)
    whole.sandbox.advance_clock(120)
    whole.wire.sent.clear()
    result = engine.run("sync")
    assert result.exit_code == 0, result.to_json()
    assert [s for s in whole.wire.sent if s[0] != "GET"] == []
    assert not [q for _, _, q in whole.wire.sent if "InvoiceNumbers" in q]
    links = engine.ledger.link_counts()
    assert links["invoices"] == ops.conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
    ops.close()


def test_records_sharing_one_change_time_are_read_in_one_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books = Books(tmp_path, invoices=300)
    assert books.cycle("pull") == 0
    found = books.http.get("/Invoices", params={"where": 'Type=="ACCREC"'}).json()["Invoices"]
    edited = found[:30]
    for invoice in edited:  # all in the same instant
        reply = books.http.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
            "InvoiceID": invoice["InvoiceID"], "Reference": "same instant"}]})
        assert reply.status_code == 200, reply.text
    books.engine.round_records = 5
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)
    assert books.cycle() == 0
    got = books.ops.conn.execute(
        "SELECT COUNT(*) FROM invoices WHERE reference = 'same instant'").fetchone()[0]
    assert got == len(edited)


def test_planning_adds_its_pairs_over_the_runs_links_without_changing_them() -> None:
    """An entity's view of the links (``Grown``) holds the run's links and the pairs its
    planning makes, read as one map; the run's own map is left as it was."""
    shared = {"INV-1": "x1", "INV-2": "x2"}
    links = Grown(shared)
    assert "INV-3" not in links and links.get("INV-3") is None
    links["INV-3"] = "x3"
    assert shared == {"INV-1": "x1", "INV-2": "x2"}
    assert links["INV-3"] == "x3" and "INV-3" in links and len(links) == 3
    assert sorted(links) == ["INV-1", "INV-2", "INV-3"]
    assert links.keys() - {"INV-1"} == {"INV-2", "INV-3"}
    assert dict(links.items()) == {"INV-1": "x1", "INV-2": "x2", "INV-3": "x3"}
    assert not Grown({}) and Grown({"a": "b"})


def test_a_round_whose_cursor_does_not_move_stops_the_read_rather_than_repeat_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing that asks for another round from where it began would have every round read
    the same records again until the day's calls ran out: the read stops at the first such
    round, a read error naming the entity and what refers to it; what was read stands."""
    books = Books(tmp_path, invoices=1_500)
    books.engine.round_records = 300
    real = XeroSide._scan
    rounds: Counter[str] = Counter()

    def stalled(self: XeroSide, entity: str, cursor: str | None) -> ScanResult:
        result = real(self, entity, cursor)
        if result.more:
            rounds[entity] += 1
            assert rounds[entity] < 5, f"{entity}: the same round read again and again"
            result.cursor = cursor
        return result

    monkeypatch.setattr(XeroSide, "_scan", stalled)
    with books.engine.preview("pull") as preview:
        assert preview.exit_code() == 1
        shown = {e.entity: e for e in preview.read_errors}
    rounds.clear()
    result = books.engine.run("pull")
    assert result.exit_code == 1, result.to_json()
    errors = {e.entity: e for e in result.read_errors}
    assert errors.keys() == shown.keys()
    assert "again without moving on" in errors["invoices"].reason
    assert "xsync sync" in errors["invoices"].reason
    waiting = [e for e in errors.values() if e.cause is not None]
    assert waiting and all(e.cause in errors for e in waiting)
    # the round read stands, and the cursor stays where the read stalled
    held = sqlite3.connect(books.ops.path).execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
    assert 0 < held == result.counts["invoices"]["create"]
    assert books.engine.ledger.cursor("xero", "invoices") is None


def test_contacts_are_read_in_rounds_too_and_a_rebuilt_workspace_matches_them_all(
        tmp_path: Path, whole: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """Contacts are read in rounds as invoices are (oldest change first, a page boundary
    ending each round), and what refers to them waits for their last round; with the links
    lost, every contact a round reads finds its ops twin, and an ops contact not yet matched
    waits for the last round rather than being created in Xero beside its twin."""
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 50)  # 130 contacts: pages of 50, 50 and 30
    (tmp_path / "rounds").mkdir()
    books = Books(tmp_path / "rounds", invoices=2_600)
    books.engine.round_records = 50
    plans = _planned(books, monkeypatch)
    assert books.run("pull").exit_code == 0
    per_round = [sum(1 for s in p.steps if s.entity == "contacts") for p in plans]
    # (a round goes on from the newest change read less the overlap: its first few are known)
    assert len([n for n in per_round if n]) == 3 and max(per_round) <= 50, per_round
    assert sum(per_round) == 130
    # no invoice is planned while contacts are still being read
    for plan in plans:
        if "contacts" in plan.more:
            assert not any(s.entity == "invoices" for s in plan.steps), plan.more
    assert _rows(tmp_path / "rounds" / "ops.db") == _rows(whole.ops.path)

    # the same ops.db, its state.db lost: every link is found again, and nothing is written
    engine = _beside(books, tmp_path / "rounds" / "ops.db", tmp_path / "rebuilt.db",
                     round_records=50)
    ops = engine.ops
    assert isinstance(ops, SqliteOpsStore)
    books.sandbox.advance_clock(120)
    books.wire.sent.clear()
    result = engine.run("sync")
    assert result.exit_code == 0, result.to_json()
    assert [s for s in books.wire.sent if s[0] != "GET"] == []
    links = engine.ledger.link_counts()
    for table in ("contacts", "invoices"):
        assert links[table] == ops.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    ops.close()


def test_a_contact_merged_into_one_listed_rounds_later_lands_in_the_same_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Merged in Xero before the first pull, into a contact edited well after the merge: read
    oldest change first, the survivor comes rounds after the contact merged into it. The pull
    still brings both in, in one run, the merged one naming the survivor's ops twin."""
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 10)  # 30 contacts: rounds of 10
    books = Books(tmp_path, invoices=600)
    books.engine.round_records = 10
    listed = books.http.get("Contacts", params={"order": "UpdatedDateUTC ASC"}).json()
    gone, kept = listed["Contacts"][3], listed["Contacts"][4]
    books.http.post(f"Contacts/{gone['ContactID']}/Merge",
                    json={"MergedToContactID": kept["ContactID"]}).raise_for_status()
    books.sandbox.advance_clock(1200)
    books.http.post("Contacts", json={"Contacts": [{"ContactID": kept["ContactID"],
                                                    "Phone": "0400 000 000"}]}
                    ).raise_for_status()
    books.sandbox.advance_clock(5)
    plans = _planned(books, monkeypatch)
    result = books.run("pull")
    assert result.exit_code == 0, result.to_json()
    rounds = [p for p in plans if any(s.entity == "contacts" for s in p.steps)]
    assert len(rounds) >= 3
    # the survivor came rounds after the first (the merged contact waited for it)
    where = {s.xero_id: n for n, p in enumerate(plans) for s in p.steps if s.entity == "contacts"}
    assert where[kept["ContactID"]] > plans.index(rounds[1])
    rows = dict(books.ops.conn.execute(
        "SELECT name, id FROM contacts WHERE name IN (?, ?)", [gone["Name"], kept["Name"]]))
    merged = books.ops.conn.execute("SELECT status, merged_into FROM contacts WHERE id = ?",
                                    [rows[gone["Name"]]]).fetchone()
    assert tuple(merged) == ("archived", rows[kept["Name"]])


def test_the_allocations_are_read_when_any_round_of_invoices_listed_a_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The allocations are left unread only while invoices, credit notes and credits list
    nothing new. Read in rounds, the accountant's changes come first (oldest change first) and
    xsync's own writes, read back, last: a last round of nothing new does not hide the rounds
    of changes before it, so the allocations are read."""
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)  # rounds end at pages of 5
    books = Books(tmp_path, invoices=300)
    books.engine.round_records = 5
    assert books.cycle("pull") == 0
    assert books.cycle() == 0
    assert not [q for q in books.reads() if "AppliedAmount" in q], "quiet, yet read"
    # the team edits a dozen invoices; as xsync pushes them, the accountant deletes six drafts
    numbers = [n for (n,) in books.ops.conn.execute(
        "SELECT number FROM invoices WHERE status = 'approved' LIMIT 12")]
    books.ops.conn.executemany("UPDATE invoices SET reference = 'PO 7', updated_at = ? "
                               "WHERE number = ?", [(books.stamp(), n) for n in numbers])
    books.ops.conn.commit()
    real = XeroSide.write
    deleted: list[int] = []

    def accountant_first(self: XeroSide, entity: str, changes: list) -> list:  # type: ignore[type-arg]
        if entity == "invoices" and not deleted:
            books.delete_drafts(6)
            deleted.append(6)
            books.sandbox.advance_clock(60)
        return real(self, entity, changes)

    monkeypatch.setattr(XeroSide, "write", accountant_first)
    assert books.cycle() == 0
    monkeypatch.setattr(XeroSide, "write", real)
    assert deleted
    # the drafts deleted, then the twelve writes read back: the last rounds are only those
    assert books.cycle() == 0
    invoices = [q for q in books.reads() if q.startswith("Invoices") and "ACCREC" in q]
    assert books.reads()[invoices[0]] >= 4, books.reads()
    assert [q for q in books.reads() if "AppliedAmount" in q], books.reads()
    deleted_in_ops = books.ops.conn.execute(
        "SELECT COUNT(*) FROM invoices WHERE status = 'deleted'").fetchone()[0]
    assert deleted_in_ops >= 6


def test_payments_and_credit_notes_are_read_in_rounds_and_land_as_one_read_lands_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Payments and sales credit notes, more than a round of each, read oldest change first in
    rounds: each applied before the next is read, and the rows the same as one read gives; the
    cycle after finds nothing to do."""
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)  # rounds end at pages of 5
    (tmp_path / "rounds").mkdir()
    books = Books(tmp_path / "rounds", invoices=300)
    books.engine.round_records = 5
    due = [i for i in books.http.get("/Invoices", params={
        "where": 'Type=="ACCREC" AND Status=="AUTHORISED"'}).json()["Invoices"]
        if i["AmountPaid"] == 0 and not i["CreditNotes"]][:24]
    for invoice in due[:12]:
        books.sandbox.advance_clock(10)
        books.http.put("/Payments", json={"Payments": [{
            "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
            "Date": "2026-11-24", "Amount": 10, "Reference": "EFT"}]}).raise_for_status()
    for invoice in due[12:]:
        books.sandbox.advance_clock(10)
        note = books.http.put("/CreditNotes", json={"CreditNotes": [{
            "Type": "ACCRECCREDIT", "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
            "Date": "2026-11-24", "Status": "AUTHORISED",
            "LineItems": [{"Description": "Goodwill", "Quantity": 1, "UnitAmount": 10,
                           "AccountCode": "200", "TaxType": "OUTPUT"}]}]})
        note.raise_for_status()
        note_id = note.json()["CreditNotes"][0]["CreditNoteID"]
        books.http.put(f"/CreditNotes/{note_id}/Allocations", json={"Allocations": [{
            "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 11,
            "Date": "2026-11-24"}]}).raise_for_status()
    plans = _planned(books, monkeypatch)
    assert books.run("pull").exit_code == 0
    for entity in ("payments", "credit_notes"):
        per_round = [sum(1 for s in p.steps if s.entity == entity) for p in plans]
        assert len([n for n in per_round if n]) >= 2 and max(per_round) <= 5, (entity, per_round)
    # the same organisation read whole, into a workspace of its own
    whole = _beside(books, tmp_path / "whole-ops.db", tmp_path / "whole-state.db",
                    round_records=100_000)
    assert whole.run("pull").exit_code == 0
    conn = sqlite3.connect(tmp_path / "whole-ops.db")
    for table in ("payments", "credit_notes", "allocations"):
        mine = books.ops.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        theirs = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        assert mine == theirs and (mine >= 12 or table != "payments"), (table, mine, theirs)
    assert _rows(tmp_path / "rounds" / "ops.db") == _rows(tmp_path / "whole-ops.db")
    conn.close()
    assert books.cycle() == 0
