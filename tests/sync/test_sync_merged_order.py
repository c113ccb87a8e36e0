"""Contacts merged into contacts that are new as well: the one named goes first, in planning and
in the writes, along a chain of merges, and a loop of merges ends rather than runs for ever."""

from __future__ import annotations

from xsync.model.records import Record
from xsync.sync.apply import Job, _waves
from xsync.sync.plan import XERO_REF, Step, Write
from xsync.sync.planner import _named_first


def _contact(xero_id: str, merged_into: str | None) -> Record:
    return Record("contacts", xero_id, {"name": xero_id, "merged_into": merged_into}, None)


def test_planning_takes_each_contact_after_the_one_it_was_merged_into() -> None:
    # A into B into C, listed oldest first; D stands alone; E into a contact not listed
    listed = {r.id: r for r in (_contact("A", "B"), _contact("D", None), _contact("B", "C"),
                                _contact("E", "Z"), _contact("C", None))}
    order = [r.id for r in _named_first("contacts", listed)]
    assert sorted(order) == sorted(listed)
    assert order.index("C") < order.index("B") < order.index("A")
    # a loop (X into Y into X) is taken as met, each once
    loop = {r.id: r for r in (_contact("X", "Y"), _contact("Y", "X"))}
    assert sorted(r.id for r in _named_first("contacts", loop)) == ["X", "Y"]
    # an entity that names none of its own keeps its order
    invoices = {i: Record("invoices", i, {"contact_id": "A"}, None) for i in ("2", "1")}
    assert [r.id for r in _named_first("invoices", invoices)] == ["2", "1"]


def _create(xero_id: str, merged_into: str | None) -> Job:
    fields = {"name": xero_id, "merged_into": XERO_REF + merged_into if merged_into else None}
    step = Step("contacts", None, xero_id, xero_id, to_ops=Write("ops", "create", fields))
    return Job.of(step)


def test_the_writes_to_ops_go_in_waves_survivor_first() -> None:
    jobs = [_create("A", "B"), _create("B", "C"), _create("C", None), _create("D", None),
            _create("E", "Z")]
    waves = [[j.xero_id for j in wave] for wave in _waves("contacts", "ops", jobs)]
    assert waves == [["C", "D", "E"], ["B"], ["A"]]
    # a loop goes last, together
    loop = [_create("X", "Y"), _create("Y", "X"), _create("W", None)]
    assert [[j.xero_id for j in w] for w in _waves("contacts", "ops", loop)] == [["W"],
                                                                                 ["X", "Y"]]
