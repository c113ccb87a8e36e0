"""Cycles cost what changed, not what exists, on an organisation larger than a page.

A cycle with nothing changed reads at most one page per entity (If-Modified-Since from the
cursor; bills included, though they flow to Xero only). A cycle with k records changed on each
side fetches, by id, no record Xero did not change: what Xero did not list is known from the
base. The engine runs over the real ops store and the Xero side over the in-process sandbox.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from bookworld import Books
from syncworld import World

import xsync.sync.planner as planner
from xsync.state.codec import word_in
from xsync.state.ledger import Ledger


def _asked(monkeypatch: pytest.MonkeyPatch, name: str, into: list[str] | None = None,
           tagged: bool = False) -> list[str]:
    """The entities ``Ledger.<name>`` is asked about from now on, in order (``tagged``: as
    ``"<name> <entity>"``), added to ``into`` where given."""
    asked: list[str] = [] if into is None else into
    original = getattr(Ledger, name)

    def counting(self: Ledger, entity: str, *args: Any) -> Any:
        asked.append(f"{name} {entity}" if tagged else entity)
        return original(self, entity, *args)
    monkeypatch.setattr(Ledger, name, counting)
    return asked


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Books:
    # about 20% of them bills: more than a page of each
    books = Books(tmp_path_factory.mktemp("books"), invoices=5_500)
    assert books.cycle("pull") == 0
    assert books.cycle() == 0
    return books


def test_a_cycle_with_nothing_changed_reads_one_page_per_entity(books: Books) -> None:
    assert books.cycle() == 0
    reads = books.reads()
    assert reads, "the cycle read nothing at all"
    assert max(reads.values()) == 1, reads
    assert books.by_id() == []
    assert not [s for s in books.wire.sent if s[0] != "GET"], "a cycle with nothing changed wrote"


def test_a_cycle_with_nothing_changed_reads_no_link_and_no_base(
        books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """What neither side listed needs no step: an entity whose listings are empty, with no row
    gone and nothing waiting, is planned without reading its links or its bases."""
    assert books.cycle() == 0  # anything written before is read back here
    read: list[tuple[str, str]] = []
    for name in ("links", "based", "bases", "bases_of"):
        original = getattr(Ledger, name)

        def counting(self: Ledger, entity: str, *args: object, _name: str = name,
                     _original: Any = original) -> Any:
            read.append((_name, entity))
            return _original(self, entity, *args)
        monkeypatch.setattr(Ledger, name, counting)
    assert books.cycle() == 0
    # contacts' bases are read once, to know which contacts were merged in Xero
    assert not [r for r in read if r[1] in ("invoices", "bills")], read


def test_a_cycle_after_one_that_proved_the_ops_side_builds_no_fingerprint(
        books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quiet cycle proves each ops table as its bases vouch; the next, with neither side
    changed, asks only the table's digest. An edit made after it is still pushed."""
    assert books.cycle() == 0
    assert books.cycle() == 0  # proves what the one before read back
    built = _asked(monkeypatch, "vouched_fingerprint")
    assert books.cycle() == 0
    # the entities with rows vouched for (the rest have none to fingerprint)
    assert not {"contacts", "invoices"} & set(built), \
        "a cycle rebuilt the fingerprints of tables proved unchanged"
    # a time before the cycles' clock: the next cycles vouch for it
    _edit_and_sync(books, "DESC", "after the proof", "2026-10-01T08:30:00Z")


def _edit_and_sync(books: Books, order: str, reference: str, at: str) -> None:
    """Edit the reference of the first approved invoice by number (``order``: ASC or DESC) in
    ops.db, changed at ``at``, run a cycle, and find the edit in Xero."""
    row = books.ops.conn.execute(
        f"SELECT id, number FROM invoices WHERE status = 'approved' ORDER BY number {order}"
    ).fetchone()
    books.ops.conn.execute("UPDATE invoices SET reference = ?, updated_at = ? WHERE id = ?",
                           [reference, at, row["id"]])
    assert books.cycle() == 0
    found = books.http.get("/Invoices", params={"InvoiceNumbers": row["number"]}).json()
    assert found["Invoices"][0]["Reference"] == reference


def _pulled(folder: Path) -> Books:
    """Books of 1,500 invoices pulled, every stamp from the pull on to the microsecond."""
    books = Books(folder, invoices=1_500, micro=True)
    books.sandbox.advance_clock(0.123457)  # every stamp from here on carries microseconds
    assert books.cycle("pull") == 0
    return books


def _proved(folder: Path) -> Books:
    """Books pulled, whose ops tables the pull proved."""
    books = _pulled(folder)
    proved = books.engine.ledger.db.conn.execute("SELECT count(*) FROM proven_fingerprints")
    assert proved.fetchone()[0] >= 2
    return books


def test_an_ops_edit_after_the_proof_is_found_by_the_rows_times_not_by_fingerprints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle whose ops table moved since it was proved reads the rows' times to find which
    moved, without first building the two fingerprints (they would only tell that some row
    did); once its writes are done the run proves the table anew from the rows that moved, still
    without a fingerprint, and the next cycle asks only the table's digest."""
    books = _proved(tmp_path)
    built = _asked(monkeypatch, "vouched_fingerprint")
    _edit_and_sync(books, "ASC", "moved after the proof", "2026-10-01T08:45:00Z")
    assert "invoices" not in built, built
    proved = books.engine.ledger.db.conn.execute(
        "SELECT count(*) FROM proven_fingerprints WHERE entity = ?",
        [word_in("invoices")]).fetchone()[0]
    assert proved == 1, "the run did not prove the invoices once its writes were done"
    built.clear()
    assert books.cycle() == 0  # lists the write back from Xero
    assert "invoices" not in built, built


def test_a_table_that_moved_with_its_rows_unchanged_is_proved_anew(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row written again as it was (a new place in the table, the same id and change time)
    no longer has the digest proved, though nothing changed: the cycle finds nothing by the
    rows' times, and the run proves the table anew, so the next cycle reads no times at all."""
    fresh = _proved(tmp_path)
    [(contact,)] = fresh.ops.conn.execute("SELECT id FROM contacts ORDER BY id LIMIT 1")
    fresh.ops.conn.execute("INSERT OR REPLACE INTO contacts SELECT * FROM contacts WHERE id = ?",
                           [contact])
    read = _asked(monkeypatch, "vouched_times")
    run = fresh.run()
    assert run.exit_code == 0 and not run.counts, run.counts
    assert "contacts" in read  # the digest moved: the times told that nothing did
    read.clear()
    assert fresh.cycle() == 0
    assert "contacts" not in read, read


def test_the_cycle_reading_back_its_own_writes_asks_their_bases_by_id(
        books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """The records Xero lists again after xsync wrote them are looked up in the links and the
    bases one by one: neither is read whole for them, nor the times every base vouches for.
    Being nothing new, they do
    not keep that cycle from proving the ops table as it plans: by its digest alone, as the run
    before (in the same process) left it found as its bases have it, not compared again when
    its writes are done, and the next cycle builds no fingerprint of it."""
    rows = books.ops.conn.execute(
        "SELECT id FROM invoices WHERE status = 'approved' ORDER BY number DESC LIMIT 3"
    ).fetchall()
    for row in rows:
        books.ops.conn.execute("UPDATE invoices SET reference = 'pushed', updated_at = ? "
                               "WHERE id = ?", ["2026-10-01T08:00:00Z", row["id"]])
    assert books.cycle() == 0  # pushes the three: the next cycle lists them from Xero
    # as if that run could not prove the table once its writes were done
    books.engine.ledger.db.conn.execute("DELETE FROM proven_fingerprints")
    read = _asked(monkeypatch, "vouched_times")
    built = _asked(monkeypatch, "vouched_fingerprint")
    for name in ("links", "based"):
        _asked(monkeypatch, name, into=read, tagged=True)
    assert books.cycle() == 0
    assert books.by_id() == [] and max(books.reads().values()) == 1
    # the three are looked up by id: neither every link nor every base id is read for them
    assert not {"invoices", "links invoices", "based invoices"} & set(read), read
    assert "invoices" not in built, built
    proved = books.engine.ledger.db.conn.execute(
        "SELECT count(*) FROM proven_fingerprints WHERE entity = ?", [word_in("invoices")])
    assert proved.fetchone()[0] == 1, "the cycle did not prove the invoices"
    built.clear()
    assert books.cycle() == 0
    assert "invoices" not in built


def test_a_cycle_right_after_a_pull_builds_no_fingerprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run proves what the ops side holds once its writes are done: the first cycle after
    a first pull already takes only the tables' digests."""
    fresh = _pulled(tmp_path)
    built = _asked(monkeypatch, "vouched_fingerprint")
    assert fresh.cycle() == 0
    assert not {"contacts", "invoices"} & set(built), built
    assert max(fresh.reads().values()) == 1


def test_k_changes_on_each_side_fetch_no_record_xero_did_not_change(books: Books) -> None:
    rows = books.ops.conn.execute(
        "SELECT id, number FROM invoices WHERE status = 'approved' ORDER BY number").fetchall()
    mine, theirs = rows[:5], rows[5:10]
    for row in mine:
        books.ops.conn.execute("UPDATE invoices SET reference = ?, updated_at = ? WHERE id = ?",
                               [f"ops {row['number']}", "2026-10-02T09:00:00Z", row["id"]])
    numbers = ",".join(row["number"] for row in theirs)
    found = books.http.get("/Invoices", params={"InvoiceNumbers": numbers}).json()["Invoices"]
    for invoice in found:
        reply = books.http.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
            "InvoiceID": invoice["InvoiceID"], "Reference": f"xero {invoice['InvoiceNumber']}"}]})
        assert reply.status_code == 200, reply.text

    assert books.cycle() == 0
    assert books.by_id() == [], "records Xero did not change were fetched by id"
    assert books.reads()['Invoices Type=="ACCREC"'] == 1
    by_number = {inv["InvoiceNumber"]: inv for inv in books.http.get(
        "/Invoices", params={"InvoiceNumbers": ",".join(r["number"] for r in mine), "page": "1"}
    ).json()["Invoices"]}
    for row in mine:
        invoice = by_number[row["number"]]
        assert invoice["Reference"] == f"ops {row['number']}"
        assert len(invoice["LineItems"]) == 3
    for row in theirs:
        got = books.ops.conn.execute("SELECT reference FROM invoices WHERE id = ?",
                                     [row["id"]]).fetchone()[0]
        assert got == f"xero {row['number']}"
    # and the next cycle is quiet again
    assert books.cycle() == 0
    assert max(books.reads().values()) == 1


def _hashed_ops_rows(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the ops rows the planner hashes from now on, in order (rows the ops scan
    listed, hashed to tell whether they changed)."""
    hashed: list[str] = []
    real = planner.hashes_as
    from_ops: set[int] = set()
    def tagging(name: str) -> None:
        read = getattr(world.ops, name)

        def tagged(entity, since):  # type: ignore[no-untyped-def]
            result = read(entity, since)
            from_ops.update(id(r) for r in result.records)
            return result
        monkeypatch.setattr(world.ops, name, tagged)

    def counting(record, stored):  # type: ignore[no-untyped-def]
        if id(record) in from_ops:
            hashed.append(record.id)
        return real(record, stored)

    tagging("scan")
    tagging("scan_changed")
    monkeypatch.setattr(planner, "hashes_as", counting)
    return hashed


def test_an_unchanged_ops_row_is_hashed_once_then_trusted_by_its_change_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose content proved it unchanged, with a change time well in the past, is not
    hashed again while its change time stays; an edit, which moves the change time, is seen."""
    world = World()
    world.ops.incremental = False  # lists every row, as the SQLite ops store does
    ids = [world.contact("ops", f"Customer {n}") for n in range(3)]
    assert world.sync().exit_code == 0  # stored with the change times of the same instant
    hashed = _hashed_ops_rows(world, monkeypatch)
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert sorted(set(hashed) & set(ids)) == sorted(ids)  # proved by content, once
    hashed.clear()
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert not set(hashed) & set(ids)  # trusted by their change time
    world.ops.edit("contacts", ids[1], email="new@customer.test")
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert [c.fields["email"] for c in world.xero.all("contacts")
            if c.fields["name"] == "Customer 1"] == ["new@customer.test"]


def test_a_row_hashed_by_an_earlier_xsync_is_proved_unchanged_by_that_hash(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A base stored by an earlier xsync holds the hash of ``json``'s text of the record (with
    its spaces): its row, unchanged, is proved so by that hash, once; its base is not stored
    again, and nothing is written to either side."""
    world = World()
    world.ops.incremental = False
    ids = [world.contact("ops", f"Customer {n}") for n in range(3)]
    assert world.sync().exit_code == 0
    earlier: dict[str, bytes] = {}
    for rid in ids:
        record = world.ops.get("contacts", rid)
        assert record is not None
        text = json.dumps({"fields": record.fields, "lines": None}, sort_keys=True)
        earlier[rid] = hashlib.sha256(text.encode()).digest()[:16]
        world.state.conn.execute("UPDATE bases SET ops_hash = ? WHERE ops_id = ?",
                                 [earlier[rid], rid])
    writes = len(world.xero.writes)
    hashed = _hashed_ops_rows(world, monkeypatch)
    world.clock.tick(600)
    result = world.sync()
    assert result.exit_code == 0 and not result.applied
    assert sorted(set(hashed) & set(ids)) == sorted(ids)  # proved by content, once
    assert dict(world.state.conn.execute("SELECT ops_id, ops_hash FROM bases WHERE ops_id IN "
                                         "(?, ?, ?)", ids).fetchall()) == earlier
    hashed.clear()
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    assert not set(hashed) & set(ids), "a row its earlier hash proved unchanged was hashed again"
    assert len(world.xero.writes) == writes


def test_a_row_stamped_to_the_microsecond_is_trusted_at_the_next_cycle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A change time to the microsecond (as xsync stamps the rows it writes) names one instant:
    the cycle after a pull does not hash those rows again; an edit, a new instant, is seen."""
    world = World()
    world.ops.incremental = False
    world.clock.tick(0.123457)  # every stamp from here on carries microseconds
    names = [f"Supplier {n}" for n in range(3)]
    for name in names:
        world.contact("xero", name)
    assert world.sync("pull").exit_code == 0
    ids = [c.id for c in world.ops.all("contacts")]
    assert len(ids) == 3
    hashed = _hashed_ops_rows(world, monkeypatch)
    assert world.sync().exit_code == 0
    assert not set(hashed) & set(ids), "rows written to the microsecond were hashed again"
    world.ops.edit("contacts", ids[1], email="new@supplier.test")
    assert world.sync().exit_code == 0
    assert hashed == [ids[1]]
    assert "new@supplier.test" in [c.fields.get("email") for c in world.xero.all("contacts")]


def test_a_row_deleted_before_its_change_time_is_trusted_is_still_known_gone() -> None:
    """A whole-second change time is trusted only once its base is well older: a row deleted
    within that margin is in no vouched list, and its delete still reaches Xero."""
    world = World()
    kept = world.contact("ops", "Kept Co")
    gone = world.contact("ops", "Gone Co")
    world.clock.tick(600)
    assert world.sync().exit_code == 0
    world.clock.tick(600)
    assert world.sync().exit_code == 0  # both trusted by their change times from here on
    world.ops.edit("contacts", gone, email="last@gone.test")
    assert world.sync().exit_code == 0
    assert world.sync().exit_code == 0  # its push read back; stored seconds ago: not trusted
    xero_id = world.xero_id("contacts", gone) or ""
    world.ops.remove("contacts", gone)
    assert world.sync().exit_code == 0
    assert world.xero.get("contacts", xero_id).fields["status"] == "archived"  # type: ignore[union-attr]
    assert world.xero_id("contacts", kept)


def test_a_row_gone_whose_base_does_not_vouch_is_known_gone_when_the_rest_match(
        tmp_path: Path) -> None:
    """ops.db's rows and the bases that vouch for theirs tell the same text, and yet a linked
    row is gone: the one whose base was stored within the margin of its change time, so in
    no vouched list. Its Xero invoice is still taken back, never left as if unchanged."""
    books = Books(tmp_path, invoices=40)
    assert books.cycle() == 0
    assert books.cycle() == 0
    ledger = books.engine.ledger
    links = ledger.links("invoices")
    row = books.ops.conn.execute(
        "SELECT id, number FROM invoices WHERE status = 'approved' AND amount_paid = '0.00' "
        "ORDER BY number LIMIT 1").fetchone()
    gone = row["id"]
    # every base stored well after its row's change time (which then proves the row as it
    # was) but one, stored the very second its row was stamped: that time proves nothing yet
    ledger.db.conn.execute("UPDATE bases SET synced_at = ops_updated_at + 3600000000 "
                           "WHERE typeof(ops_updated_at) = 'integer'")
    ledger.db.conn.execute("UPDATE bases SET synced_at = ops_updated_at WHERE ops_id = ?",
                           [gone])
    books.ops.conn.execute("DELETE FROM invoice_lines WHERE invoice_id = ?", [gone])
    books.ops.conn.execute("DELETE FROM invoices WHERE id = ?", [gone])
    books.ops.conn.commit()
    result = books.run()
    assert result.exit_code == 0
    assert [(o.ops_id, o.action) for o in result.applied] == [(gone, "delete")]
    invoice = books.http.get(f"/Invoices/{links[gone]}").json()["Invoices"][0]
    assert invoice["Status"] == "VOIDED"  # an approved invoice is voided, as Xero allows


def test_a_row_gone_whose_base_vouches_is_known_gone_without_reading_every_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every base vouches for its row's change time and another program deletes one row:
    the listing that compared the table with those times says which vouched row is gone, so
    its Xero invoice is taken back without the planner walking every link to find it."""
    books = Books(tmp_path, invoices=40)
    assert books.cycle() == 0
    assert books.cycle() == 0
    ledger = books.engine.ledger
    links = ledger.links("invoices")
    ledger.db.conn.execute("UPDATE bases SET synced_at = ops_updated_at + 3600000000 "
                           "WHERE typeof(ops_updated_at) = 'integer'")
    gone = books.ops.conn.execute(
        "SELECT id FROM invoices WHERE status = 'approved' AND amount_paid = '0.00' "
        "ORDER BY number LIMIT 1").fetchone()["id"]
    books.ops.conn.execute("DELETE FROM invoice_lines WHERE invoice_id = ?", [gone])
    books.ops.conn.execute("DELETE FROM invoices WHERE id = ?", [gone])
    books.ops.conn.commit()
    walked: list[set[str]] = []
    original = planner.Grown.__iter__

    def walking(self: planner.Grown) -> Any:
        walked.append(set(original(self)))
        return original(self)
    monkeypatch.setattr(planner.Grown, "__iter__", walking)
    result = books.run()
    assert result.exit_code == 0
    assert [(o.ops_id, o.action) for o in result.applied] == [(gone, "delete")]
    invoice = books.http.get(f"/Invoices/{links[gone]}").json()["Invoices"][0]
    assert invoice["Status"] == "VOIDED"
    assert set(links) not in walked, "every invoice link was walked to find the one gone"
