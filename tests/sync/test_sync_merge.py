"""The three-way merge, seen through whole syncs between two MemoryStores."""

from __future__ import annotations

from syncworld import World

from xsync.model.records import Line
from xsync.sync import EntityRules, Rules, default_rules


def linked_contact(world: World, **fields: str | None) -> tuple[str, str]:
    ops_id = world.contact("ops", "Acme Pty Ltd", email="a@acme.test", **fields)
    world.sync()
    xero_id = world.xero_id("contacts", ops_id)
    assert xero_id is not None
    return ops_id, xero_id


def test_disjoint_edits_merge_both_ways(world: World) -> None:
    ops_id, xero_id = linked_contact(world)
    world.clock.tick()
    world.ops.edit("contacts", ops_id, email="billing@acme.test")
    world.xero.edit("contacts", xero_id, phone="02 9999 0000")
    result = world.sync()
    assert result.exit_code == 0
    for rec in (world.ops.get("contacts", ops_id), world.xero.get("contacts", xero_id)):
        assert rec is not None
        assert rec.fields["email"] == "billing@acme.test"
        assert rec.fields["phone"] == "02 9999 0000"
    rules = {e.field: e.rule for e in world.engine().audit(entity="contacts") if e.field}
    assert rules["email"] == "only-ops-changed"
    assert rules["phone"] == "only-xero-changed"


def test_same_new_value_on_both_sides_is_no_conflict(world: World) -> None:
    ops_id, xero_id = linked_contact(world)
    world.ops.edit("contacts", ops_id, city="Sydney")
    world.clock.tick(1)
    world.xero.edit("contacts", xero_id, city="Sydney")
    plan = world.engine().plan("sync")
    assert plan.conflicts == [] and plan.actions == []
    assert world.sync().exit_code == 0
    assert world.engine().plan("sync").steps == []


def test_latest_policy_picks_the_later_change(world: World) -> None:
    ops_id, xero_id = linked_contact(world)
    world.ops.edit("contacts", ops_id, city="Sydney")
    world.clock.tick(600)
    world.xero.edit("contacts", xero_id, city="Melbourne")
    result = world.sync()
    assert result.exit_code == 0
    assert world.ops.get("contacts", ops_id).fields["city"] == "Melbourne"  # type: ignore[union-attr]
    audit = [e for e in world.engine().audit(entity="contacts") if e.field == "city"]
    assert audit[-1].rule == "latest:xero-newer" and audit[-1].direction == "xero->ops"


def test_changes_within_skew_tolerance_make_a_conflict_and_write_nothing(world: World) -> None:
    ops_id, xero_id = linked_contact(world)
    world.ops.edit("contacts", ops_id, city="Sydney", phone="1")
    world.clock.tick(30)
    world.xero.edit("contacts", xero_id, city="Melbourne")
    result = world.sync()
    assert result.exit_code == 3
    [conflict] = result.conflicts
    assert (conflict.field, conflict.ops, conflict.xero) == ("city", "Sydney", "Melbourne")
    assert world.ops.get("contacts", ops_id).fields["city"] == "Sydney"  # type: ignore[union-attr]
    assert world.xero.get("contacts", xero_id).fields["city"] == "Melbourne"  # type: ignore[union-attr]
    # the other field still merged
    assert world.xero.get("contacts", xero_id).fields["phone"] == "1"  # type: ignore[union-attr]
    # and the conflict persists, once, across runs
    world.sync()
    world.sync()
    assert len(world.engine().conflicts()) == 1


def test_policy_ops_and_flag() -> None:
    world = World(Rules(policies={"city": "ops", "phone": "flag"},
                        entities=default_rules().entities))
    ops_id, xero_id = linked_contact(world)
    world.ops.edit("contacts", ops_id, city="Sydney", phone="1")
    world.clock.tick(3600)
    world.xero.edit("contacts", xero_id, city="Melbourne", phone="2")
    result = world.sync()
    assert world.xero.get("contacts", xero_id).fields["city"] == "Sydney"  # type: ignore[union-attr]
    [conflict] = result.conflicts
    assert conflict.field == "phone" and "flag" in conflict.reason
    assert world.xero.get("contacts", xero_id).fields["phone"] == "2"  # type: ignore[union-attr]
    assert world.ops.get("contacts", ops_id).fields["phone"] == "1"  # type: ignore[union-attr]


def invoice_pair(world: World) -> tuple[str, str]:
    contact = world.contact("ops", "Acme")
    ops_id = world.invoice("ops", "INV-1", contact)
    world.sync()
    xero_id = world.xero_id("invoices", ops_id)
    assert xero_id
    return ops_id, xero_id


def test_line_tax_type_defaults_to_xero_policy(world: World) -> None:
    ops_id, xero_id = invoice_pair(world)
    ops_inv, xero_inv = world.ops.get("invoices", ops_id), world.xero.get("invoices", xero_id)
    assert ops_inv and xero_inv and ops_inv.lines and xero_inv.lines
    ol, xl = ops_inv.lines[0], xero_inv.lines[0]
    world.ops.set_lines("invoices", ops_id,
                        [Line(ol.id, {**ol.fields, "tax_type": "EXEMPTOUTPUT"})])
    world.clock.tick(3600)  # ops even later would win under latest; xero policy still wins
    world.xero.set_lines("invoices", xero_id,
                         [Line(xl.id, {**xl.fields, "tax_type": "GSTONEXP"})])
    world.clock.tick(3600)
    world.ops.edit("invoices", ops_id, reference="later")
    world.sync()
    assert world.ops.get("invoices", ops_id).lines[0].fields["tax_type"] == "GSTONEXP"  # type: ignore[union-attr]
    assert world.xero.get("invoices", xero_id).fields["reference"] == "later"  # type: ignore[union-attr]


def test_xero_computed_fields_flow_only_to_ops(world: World) -> None:
    ops_id, xero_id = invoice_pair(world)
    world.xero.edit("invoices", xero_id, total="230.00", subtotal="200.00", total_tax="30.00")
    world.sync()
    assert world.ops.get("invoices", ops_id).fields["total"] == "230.00"  # type: ignore[union-attr]
    sent_before = len(world.xero.writes)
    world.ops.edit("invoices", ops_id, total="999.00")
    world.sync()
    assert world.ops.get("invoices", ops_id).fields["total"] == "230.00"  # type: ignore[union-attr]
    assert len(world.xero.writes) == sent_before
    assert all("total" not in c.fields for _, c in world.xero.writes)


def test_lines_added_edited_and_removed(world: World) -> None:
    ops_id, xero_id = invoice_pair(world)
    ops_inv = world.ops.get("invoices", ops_id)
    assert ops_inv and ops_inv.lines
    first = ops_inv.lines[0]
    world.ops.set_lines("invoices", ops_id, [
        first, Line(None, {"position": "2", "description": "Parts", "quantity": "1.00",
                           "unit_price": "50.00", "account_code": "200"})])
    world.sync()
    xero_inv = world.xero.get("invoices", xero_id)
    assert xero_inv and xero_inv.lines
    assert [ln.fields["description"] for ln in xero_inv.lines] == ["Labour", "Parts"]
    # every Xero update carried the line ids of the lines it kept
    _, change = world.xero.writes[-1]
    assert change.lines is not None and change.lines[0].id == xero_inv.lines[0].id
    # Xero removes the first line and edits the second
    second = xero_inv.lines[1]
    world.xero.set_lines("invoices", xero_id, [Line(second.id, {**second.fields,
                                                                "quantity": "3.00"})])
    world.sync()
    ops_inv = world.ops.get("invoices", ops_id)
    assert ops_inv and ops_inv.lines
    assert [(ln.fields["description"], ln.fields["quantity"]) for ln in ops_inv.lines] == [
        ("Parts", "3.00")]
    assert world.engine().plan("sync").actions == []


def test_line_edited_on_one_side_and_deleted_on_the_other_is_kept(world: World) -> None:
    ops_id, xero_id = invoice_pair(world)
    xero_line = world.xero.get("invoices", xero_id).lines[0]  # type: ignore[union-attr]
    world.ops.set_lines("invoices", ops_id, [])
    world.xero.set_lines("invoices", xero_id, [Line(xero_line.id, {**xero_line.fields,
                                                                   "description": "Edited"})])
    world.sync()
    ops_lines = world.ops.get("invoices", ops_id).lines  # type: ignore[union-attr]
    assert [ln.fields["description"] for ln in ops_lines or []] == ["Edited"]


def test_references_are_translated_between_ids(world: World) -> None:
    contact = world.contact("xero", "Beta Co")
    invoice = world.invoice("xero", "INV-9", contact)
    world.sync()
    ops_contact = world.ops_id("contacts", contact)
    ops_invoice = world.ops_id("invoices", invoice)
    assert ops_contact and ops_invoice
    assert world.ops.get("invoices", ops_invoice).fields["contact_id"] == ops_contact  # type: ignore[union-attr]
    # moving the invoice to another ops contact moves it in Xero too
    other = world.contact("ops", "Gamma Co")
    world.ops.edit("invoices", ops_invoice, contact_id=other)
    world.sync()
    assert world.xero.get("invoices", invoice).fields["contact_id"] == world.xero_id(  # type: ignore[union-attr]
        "contacts", other)


def test_reference_to_a_contact_that_cannot_reach_xero_is_rejected_with_a_reason() -> None:
    rules = Rules(entities={**default_rules().entities,
                            "contacts": EntityRules(direction="pull")})
    world = World(rules)
    contact = world.contact("ops", "Lonely Co")
    world.invoice("ops", "INV-5", contact)
    result = world.sync()
    assert result.exit_code == 4
    [rejected] = result.rejected
    assert rejected.reason == f"contact {contact} is not in Xero yet"
    assert world.xero.all("invoices") == []


def test_pull_leaves_ops_changes_for_a_later_push(world: World) -> None:
    ops_id, xero_id = linked_contact(world)
    world.ops.edit("contacts", ops_id, city="Hobart")
    world.xero.edit("contacts", xero_id, phone="5")
    world.sync("pull")
    assert world.xero.get("contacts", xero_id).fields["city"] is None  # type: ignore[union-attr]
    assert world.ops.get("contacts", ops_id).fields["phone"] == "5"  # type: ignore[union-attr]
    world.sync("push")
    assert world.xero.get("contacts", xero_id).fields["city"] == "Hobart"  # type: ignore[union-attr]
