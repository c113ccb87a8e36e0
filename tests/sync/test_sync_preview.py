"""``diff`` and a dry run read in rounds as the run does, and hold one round at a time.

A preview plans the rounds a run would read (none applied: each later round goes on from the
cursor the one before ended at, and leaves alone what it planned), and keeps their steps on
disk. It shows, step for step, what the run then applies; no record twice, although a round's
If-Modified-Since overlap lists the end of the round before again.
"""

from __future__ import annotations

import gc
import sqlite3
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from bookworld import Books

from xsync.sync.plan import Plan, RunResult
from xsync.xero import client


def _preview_and_run(books: Books, mode: str, monkeypatch: pytest.MonkeyPatch, code: int = 0
                     ) -> tuple[list[dict[str, object]], int, RunResult]:
    """The preview's steps and rounds, then the run's outcome, on one clock: the preview
    holds no round once the next is planned."""
    books.sandbox.advance_clock(120)
    books.wire.sent.clear()
    alive: list[weakref.ref[Plan]] = []
    real = books.engine.rounds

    def watched(mode: str, entities: object = None) -> Iterator[Plan]:
        for plan in real(mode, entities):  # type: ignore[arg-type]
            gc.collect()
            held = [r for r in alive if r() is not None]
            assert held == [], f"{len(held)} earlier rounds still held"
            alive.append(weakref.ref(plan))
            yield plan
            del plan

    monkeypatch.setattr(books.engine, "rounds", watched)
    with books.engine.preview(mode) as preview:
        steps = list(preview.steps())
        rounds = preview.rounds
        assert preview.exit_code() == code
        rejected = [r.to_json() for r in preview.rejected]
    previewed = list(books.wire.sent)
    books.wire.sent.clear()
    result = books.engine.run(mode)
    # the preview asks Xero nothing the run does not, and no more often (the run's own writes
    # may move the records it reads in its later rounds): no record is fetched by id to see
    # again what an earlier round showed, no retry read twice, nothing looked up
    shown, ran = _reads(previewed), _reads(books.wire.sent)
    assert shown.keys() <= ran.keys(), shown.keys() - ran.keys()
    assert shown.total() <= ran.total()
    assert result.exit_code == code, result.to_json()
    assert rejected == [{"entity": r.entity, "ops_id": r.ops_id, "xero_id": r.xero_id,
                         "label": r.label, "reason": r.reason} for r in result.rejected]
    return steps, rounds, result


def _edit_in_ops(books: Books, number: str) -> None:
    rows = sqlite3.connect(books.ops.path)
    rows.execute("UPDATE invoices SET due_date = '2027-01-31', updated_at = ? WHERE number = ?",
                 [books.stamp(), number])
    rows.commit()
    rows.close()


def _reads(sent: list[tuple[str, str, dict[str, str]]]) -> Counter[tuple[object, ...]]:
    return Counter((path, tuple(sorted(query.items()))) for method, path, query in sent
                   if method == "GET")


def _applied(result: RunResult) -> Counter[tuple[object, ...]]:
    return Counter((o.entity, o.xero_id, o.action, o.direction) for o in result.applied
                   if o.action not in ("link",))


def _shown(steps: list[dict[str, object]]) -> Counter[tuple[object, ...]]:
    return Counter((s["entity"], s["xero_id"], a["kind"], a["direction"])  # type: ignore[index]
                   for s in steps for a in s["actions"]  # type: ignore[attr-defined]
                   if a["kind"] != "link")


def test_a_first_pull_previewed_in_rounds_shows_every_create_the_run_makes_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books = Books(tmp_path, invoices=2_600)
    books.engine.round_records = 500
    steps, rounds, result = _preview_and_run(books, "pull", monkeypatch)
    assert rounds >= 3
    shown = _shown(steps)
    invoices = [key for key in shown if key[0] == "invoices"]
    assert len(invoices) > 2_000
    assert max(shown.values()) == 1  # no record twice
    assert shown == _applied(result)
    assert sqlite3.connect(books.ops.path).execute(
        "SELECT COUNT(*) FROM invoices").fetchone()[0] == len(invoices)


def test_a_sync_previewed_in_rounds_shows_both_sides_changes_as_the_run_applies_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Xero changes read in rounds of five, each round's overlap listing the last changes of
    the one before again; an ops edit whose Xero twin no round lists waits for the last round,
    in the preview as in the run."""
    books = Books(tmp_path, invoices=300)
    assert books.cycle("pull") == 0
    found = books.http.get("/Invoices", params={"where": 'Type=="ACCREC" AND Status=="AUTHORISED"'}
                           ).json()["Invoices"]
    # an ops edit Xero refused once: it waits as a retry, read by id once per run
    _edit_in_ops(books, found[50]["InvoiceNumber"])
    books.sandbox.set_faults(fail_next=1, status=400, match="POST /Invoices")
    assert books.cycle() != 0
    books.sandbox.clear_faults()
    assert books.engine.ledger.retries("invoices", "ops")
    for n, invoice in enumerate(found[:30]):
        books.sandbox.advance_clock(1)  # within the overlap of the next few
        if n == 12:  # one Xero changes into what xsync cannot map: rejected once, alone
            tenant = books.tenant
            doc = books.sandbox.store.get("invoices", tenant, invoice["InvoiceID"])
            doc.update(Date="yesterday", DateString="yesterday")
            books.sandbox.store.put("invoices", tenant, doc,
                                    int(books.sandbox.now().timestamp() * 1000))
            continue
        reply = books.http.post(f"/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
            "InvoiceID": invoice["InvoiceID"], "Reference": "edited in Xero"}]})
        assert reply.status_code == 200, reply.text
    # one whose Xero twin no round lists, one whose twin the first round lists (changed there
    # too): each ops row is listed by every round's ops scan, and planned once
    for number in (found[40]["InvoiceNumber"], found[0]["InvoiceNumber"]):
        _edit_in_ops(books, number)
    books.engine.round_records = 5
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)
    steps, rounds, result = _preview_and_run(books, "sync", monkeypatch, code=4)
    assert len(result.rejected) == 1
    assert rounds >= 6
    shown = _shown(steps)
    assert max(shown.values()) == 1, [k for k, n in shown.items() if n > 1]
    assert shown == _applied(result)
    # 29 edited in Xero (one of them in ops too), one more edited in ops, and the retry
    assert sum(1 for k in shown if k[2] == "update") == 32
    assert books.cycle() == 4


def test_a_rebuilt_workspace_previewed_in_rounds_matches_as_the_run_does_looking_nothing_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links lost (state.db rebuilt): each round's Xero records find their ops twins; the
    ops records an earlier round matched are not looked up again in the last round."""
    import shutil

    from xsync.sides.ops_sqlite import SqliteOpsStore
    from xsync.state.db import open_state
    from xsync.sync import Engine, default_rules

    (tmp_path / "first").mkdir()
    books = Books(tmp_path / "first", invoices=2_600)
    books.engine.round_records = 100_000
    assert books.cycle("pull") == 0
    (tmp_path / "again").mkdir()
    shutil.copy(books.ops.path, tmp_path / "again" / "ops.db")
    books.ops = SqliteOpsStore(tmp_path / "again" / "ops.db", now=books.stamp)
    books.engine = Engine(open_state(tmp_path / "again" / "state.db"), books.ops,
                          books.engine.xero, default_rules(), now=books.sandbox.now,
                          round_records=500)
    steps, rounds, result = _preview_and_run(books, "sync", monkeypatch)
    assert rounds >= 3
    links = [s for s in steps if any(a["kind"] == "link" for a in s["actions"])]  # type: ignore[attr-defined]
    assert len(links) > 2_000
    assert Counter((s["entity"], s["xero_id"]) for s in links) == Counter(
        (o.entity, o.xero_id) for o in result.applied if o.action == "link")
    assert not [q for _, _, q in books.wire.sent if "InvoiceNumbers" in q]


def test_a_preview_counts_the_deletes_of_every_round_towards_the_guard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each round deletes fewer than the threshold, all of them together more: the preview
    exits with the guard's code, as the run stops at it."""
    books = Books(tmp_path, invoices=600)
    assert books.cycle("pull") == 0
    threshold = books.engine.rules.mass_delete_threshold
    books.delete_drafts(threshold + 10)
    books.engine.round_records = threshold // 2
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 5)
    books.sandbox.advance_clock(120)
    with books.engine.preview("sync") as preview:
        assert preview.rounds > 2
        assert preview.deletes == threshold + 10
        assert preview.exit_code(books.engine.guard_code(preview)) == 5
