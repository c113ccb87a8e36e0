"""What the state machine found, each as its smallest reproduction over the in-memory sides.

A test marked ``xfail(strict=True)`` is a defect of the engine that is not fixed yet: it fails
as the defect has it, and passes (failing the suite, as strict) once fixed, so that its mark and
the state machine's way around it are removed then."""

from __future__ import annotations

import contextlib

from syncworld import World

from xsync.model.records import Record
from xsync.sides.memory import SimulatedCrash


def allocated_world() -> tuple[World, str, str]:
    """A customer owing 200.00 on one invoice, 50.00 of it credited by a credit note, synced."""
    world = World(balances=True)
    contact = world.contact("xero", "Acme")
    invoice = world.invoice("xero", "INV-1", contact)
    note = world.xero.credit_note(contact, "50.00")
    allocation = world.xero.allocate("credit_notes", note.id, invoice, "50.00")
    assert world.sync().exit_code == 0
    assert ops_invoice(world, invoice).fields["amount_due"] == "150.00"
    return world, invoice, allocation.id


def ops_invoice(world: World, xero_id: str) -> Record:
    found = world.ops.get("invoices", world.ops_id("invoices", xero_id) or "")
    assert found is not None
    return found


def test_an_allocation_taken_back_while_another_stands_is_marked_deleted() -> None:
    world, invoice, allocation = allocated_world()
    contact = world.xero.get("invoices", invoice).fields["contact_id"] or ""
    other = world.xero.receive("prepayment", contact, "20.00")
    world.xero.allocate("credits", other.id, invoice, "20.00")
    world.xero.unallocate(allocation)
    assert world.sync().exit_code == 0
    ops = world.ops.get("allocations", world.ops_id("allocations", allocation) or "")
    assert ops is not None and ops.fields["status"] == "deleted"
    assert ops_invoice(world, invoice).fields["amount_due"] == "180.00"


def test_the_last_allocation_taken_back_is_marked_deleted() -> None:
    world, invoice, allocation = allocated_world()
    world.xero.unallocate(allocation)
    assert world.sync().exit_code == 0
    ops = world.ops.get("allocations", world.ops_id("allocations", allocation) or "")
    assert ops is not None and ops.fields["status"] == "deleted"
    assert ops_invoice(world, invoice).fields["amount_due"] == "200.00"


def test_an_ops_edit_of_a_row_a_crashed_pull_wrote_is_kept() -> None:
    world = World(balances=True)
    contact = world.contact("xero", "Customer 1")
    for number in ("INV-1", "INV-2"):
        world.invoice("xero", number, contact)
    world.ops.crash = "mid"  # the pull of the invoices dies after writing the first
    with contextlib.suppress(SimulatedCrash):
        world.sync()
    world.ops.crash = None
    (row,) = world.ops.all("invoices")
    world.clock.tick(60)
    world.ops.edit("invoices", row.id, reference="typed in ops after the crash")
    world.sync()
    world.sync()
    kept = world.ops.get("invoices", row.id)
    assert kept is not None and kept.fields["reference"] == "typed in ops after the crash"


def test_a_merge_seen_on_first_contact_names_the_survivors_ops_twin() -> None:
    world = World(balances=True)
    kept = world.contact("xero", "Customer 1")
    twin = world.contact("ops", "Shared 2")
    merged = world.contact("xero", "shared  2")  # the same customer, typed on both sides
    world.xero.merge_contacts(merged, kept)
    world.ops.edit("contacts", twin, phone="02 9555 0100")
    world.sync()
    world.sync()
    ops = world.ops.get("contacts", twin)
    assert ops is not None and ops.fields["merged_into"] == world.ops_id("contacts", kept)

