"""First-contact matching, push rules, accounting rules, guards, plans without side effects."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from syncworld import World

from xsync.errors import EmptySideGuard, MassDeleteGuard
from xsync.sync import EntityRules, Rules, default_rules


@pytest.mark.parametrize(("ops_fields", "xero_fields", "rule"), [
    ({"name": "Acme", "abn": "51 824 753 556"}, {"name": "ACME Ltd", "abn": "51824753556"},
     "first-sync:match-by-abn"),
    ({"name": "Acme", "email": "Accounts@Acme.test"}, {"name": "Acme Ltd",
                                                       "email": "accounts@acme.test"},
     "first-sync:match-by-email"),
    ({"name": "Acme  Pty Ltd "}, {"name": "acme pty ltd"}, "first-sync:match-by-name"),
])
def test_first_contact_links_instead_of_duplicating(world: World, ops_fields: dict[str, str],
                                                    xero_fields: dict[str, str],
                                                    rule: str) -> None:
    ops_id = world.ops.put("contacts", {"status": "active", **ops_fields}).id
    xero_id = world.xero.put("contacts", {"status": "active", **xero_fields}).id
    plan = world.engine().plan("sync")
    [link] = [a for a in plan.actions if a.kind == "link"]
    assert link.reason == rule
    world.sync()
    assert world.xero_id("contacts", ops_id) == xero_id
    assert len(world.xero.all("contacts")) == 1 and len(world.ops.all("contacts")) == 1


def test_ambiguous_match_is_a_conflict_not_a_guess(world: World) -> None:
    x1 = world.contact("xero", "Acme One", email="a@acme.test")
    x2 = world.contact("xero", "Acme Two", email="A@acme.test")
    world.clock.tick(3600)
    ops_id = world.contact("ops", "Acme", email="a@acme.test")
    result = world.sync()
    assert result.exit_code == 3
    [conflict] = result.conflicts
    assert conflict.field == "_match" and conflict.xero == ",".join(sorted([x1, x2]))
    assert len(world.xero.all("contacts")) == 2
    assert len(world.ops.all("contacts")) == 1
    world.sync()
    assert len(world.engine().conflicts()) == 1
    world.engine().resolve(int(conflict.id or 0), value=x2)
    world.sync()
    assert world.xero_id("contacts", ops_id) == x2
    assert world.engine().conflicts() == []
    # the ops values were the later ones
    assert world.xero.get("contacts", x2).fields["name"] == "Acme"  # type: ignore[union-attr]


def test_incremental_scan_still_finds_an_old_xero_record_before_creating(world: World) -> None:
    world.contact("xero", "Old Co", abn="111")
    world.sync()
    assert len(world.ops.all("contacts")) == 1
    # the ops copy is removed from the links by hand: a new ops contact with the same ABN
    world.state.conn.execute("DELETE FROM links")
    world.state.conn.execute("DELETE FROM bases")
    for rec in world.ops.all("contacts"):
        world.ops.remove("contacts", rec.id)
    world.contact("ops", "Old Co Pty", abn="111")
    world.sync(allow_empty_side=True)
    assert len(world.xero.all("contacts")) == 1


def test_drafts_and_small_totals_are_not_pushed() -> None:
    rules = Rules(entities={**default_rules().entities,
                            "invoices": EntityRules(min_total=Decimal("100"))})
    world = World(rules)
    contact = world.contact("ops", "Acme")
    world.invoice("ops", "INV-D", contact, status="draft")
    world.invoice("ops", "INV-S", contact, total="50.00")
    world.invoice("ops", "INV-B", contact, total="500.00")
    plan = world.engine().plan("sync")
    assert sorted(s.label for s in plan.skipped) == ["INV-D", "INV-S (total 50.00)"]
    world.sync()
    assert [r.fields["number"] for r in world.xero.all("invoices")] == ["INV-B"]


def test_edit_of_a_paid_invoice_becomes_a_conflict_saying_why(world: World) -> None:
    contact = world.contact("ops", "Acme")
    ops_id = world.invoice("ops", "INV-1", contact)
    world.sync()
    xero_id = world.xero_id("invoices", ops_id)
    assert xero_id
    world.xero.edit("invoices", xero_id, status="paid", amount_paid="200.00")
    world.sync()
    assert world.ops.get("invoices", ops_id).fields["status"] == "paid"  # type: ignore[union-attr]
    world.ops.edit("invoices", ops_id, reference="changed")
    result = world.sync()
    assert result.exit_code == 3
    [conflict] = result.conflicts
    assert conflict.field == "reference" and "paid" in conflict.reason
    assert world.xero.get("invoices", xero_id).fields["reference"] is None  # type: ignore[union-attr]


def test_ops_delete_of_a_draft_deletes_and_of_an_approved_invoice_voids(world: World) -> None:
    contact = world.contact("xero", "Acme")
    draft = world.invoice("xero", "INV-D", contact, status="draft")
    approved = world.invoice("xero", "INV-A", contact)
    paid = world.invoice("xero", "INV-P", contact, amount_paid="10.00")
    world.sync()
    for xero_id in (draft, approved, paid):
        world.ops.edit("invoices", world.ops_id("invoices", xero_id) or "", status="deleted")
    result = world.sync()
    assert world.xero.get("invoices", draft).fields["status"] == "deleted"  # type: ignore[union-attr]
    assert world.xero.get("invoices", approved).fields["status"] == "void"  # type: ignore[union-attr]
    assert world.ops.get("invoices", world.ops_id("invoices", approved) or "").fields[  # type: ignore[union-attr]
        "status"] == "void"
    assert world.xero.get("invoices", paid).fields["status"] == "approved"  # type: ignore[union-attr]
    [conflict] = result.conflicts
    assert conflict.field == "status" and "payment or credit applied" in conflict.reason
    kinds = sorted(o.action for o in result.applied if o.direction == "ops->xero")
    assert kinds == ["delete", "void"]


def test_mass_delete_guard_stops_before_any_write() -> None:
    world = World(Rules(mass_delete_threshold=2, entities=default_rules().entities))
    contact = world.contact("ops", "Acme")
    ids = [world.invoice("ops", f"INV-{i}", contact, status="approved") for i in range(3)]
    world.sync()
    for ops_id in ids:
        world.ops.edit("invoices", ops_id, status="deleted")
    with pytest.raises(MassDeleteGuard) as caught:
        world.sync()
    assert caught.value.data["count"] == 3
    assert all(r.fields["status"] == "approved" for r in world.xero.all("invoices"))
    world.sync(allow_mass_delete=True)
    assert all(r.fields["status"] == "void" for r in world.xero.all("invoices"))


def test_empty_side_guard_never_deletes_what_could_not_be_read(world: World) -> None:
    contact = world.contact("ops", "Acme")
    world.invoice("ops", "INV-1", contact)
    world.sync()
    for entity in ("contacts", "invoices"):
        for rec in world.ops.all(entity):
            world.ops.remove(entity, rec.id)
    with pytest.raises(EmptySideGuard):
        world.sync()
    assert all(r.fields["status"] == "approved" for r in world.xero.all("invoices"))


def test_a_plan_has_no_side_effects_and_serialises(world: World) -> None:
    contact = world.contact("ops", "Acme")
    world.invoice("ops", "INV-1", contact)
    world.contact("xero", "Beta")
    before = (world.ops.snapshot(), world.xero.snapshot(), list(world.state.conn.iterdump()))
    engine = world.engine()
    plan = engine.plan("sync")
    text = json.dumps(plan.to_json())
    assert "INV-1" in text
    after = (world.ops.snapshot(), world.xero.snapshot(), list(world.state.conn.iterdump()))
    assert after == before
    assert plan.to_json()["actions"] == engine.plan("sync").to_json()["actions"]
    assert {(a.kind, a.direction) for a in plan.actions} == {
        ("create", "ops->xero"), ("create", "xero->ops")}


def test_a_record_whose_contact_waits_on_a_conflict_is_held_back_not_rejected(
        world: World) -> None:
    coco = world.contact("xero", "Coco Cafe")
    world.invoice("xero", "INV-C", coco)
    world.contact("ops", "Coco Cafe")
    world.contact("ops", " coco  cafe ")
    result = world.sync()
    assert result.exit_code == 3 and result.rejected == []
    assert world.ops.all("invoices") == []
    [conflict, _] = world.engine().conflicts()
    world.engine().resolve(int(conflict.id or 0), value=coco)
    world.sync()
    [invoice] = world.ops.all("invoices")
    assert invoice.fields["contact_id"] == conflict.ops_id
