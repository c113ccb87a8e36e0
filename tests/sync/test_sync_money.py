"""Payments, reversals and merged contacts through the engine over two MemoryStores, Xero's
balances computed as Xero computes them."""

from __future__ import annotations

from syncworld import World

from xsync.sync import EntityRules, Rules, default_rules


def world() -> World:
    entities = dict(default_rules().entities)
    entities["invoices"] = EntityRules(push_only_when_approved=False)
    return World(Rules(entities=entities), balances=True)


def clean(w: World) -> None:
    for _ in range(2):
        result = w.sync()
        assert not result.rejected and not result.read_errors, result
    plan = w.engine().plan("sync")
    assert [a.to_json() for a in plan.actions if a.kind != "conflict"] == []


def test_payments_and_a_reversal_keep_every_balance_as_xero_has_it() -> None:
    w = world()
    contact = w.contact("ops", "Harbourside Builders")
    invoice = w.invoice("ops", "JOB-1", contact)
    clean(w)
    xero_invoice = w.xero_id("invoices", invoice) or ""
    first = w.xero.pay("invoices", xero_invoice, "50.00")
    w.xero.pay("invoices", xero_invoice, "150.00")
    clean(w)
    ops = w.ops.get("invoices", invoice)
    assert ops is not None
    assert (ops.fields["status"], ops.fields["amount_due"]) == ("paid", "0.00")
    w.xero.reverse(first.id)
    clean(w)
    ops = w.ops.get("invoices", invoice)
    assert ops is not None
    assert (ops.fields["status"], ops.fields["amount_due"]) == ("approved", "50.00")
    statuses = sorted((p.fields["amount"], p.fields["status"]) for p in w.ops.all("payments"))
    assert statuses == [("150.00", "authorised"), ("50.00", "reversed")]


def test_a_merge_re_points_linked_voided_and_ops_only_invoices() -> None:
    w = world()
    gone = w.contact("xero", "Bayside Club")
    kept = w.contact("xero", "Coco Cafe")
    open_one = w.invoice("xero", "INV-1", gone)
    voided = w.invoice("xero", "INV-2", gone)
    clean(w)
    w.xero.edit("invoices", voided, status="void")
    clean(w)
    gone_ops = w.ops_id("contacts", gone) or ""
    kept_ops = w.ops_id("contacts", kept) or ""
    draft = w.invoice("ops", "QUOTE-1", gone_ops, status="draft")
    w.xero.merge_contacts(gone, kept)
    clean(w)
    merged = w.ops.get("contacts", gone_ops)
    assert merged is not None
    assert (merged.fields["status"], merged.fields["merged_into"]) == ("archived", kept_ops)
    for xero_id in (open_one, voided):
        ops_id = w.ops_id("invoices", xero_id) or ""
        record = w.ops.get("invoices", ops_id)
        assert record is not None and record.fields["contact_id"] == kept_ops, xero_id
    quote = w.ops.get("invoices", draft)
    assert quote is not None and quote.fields["contact_id"] == kept_ops
    pushed = w.xero.get("invoices", w.xero_id("invoices", draft) or "")
    assert pushed is not None and pushed.fields["contact_id"] == kept
    assert len(w.xero.all("contacts")) == 2


def test_a_bill_matched_long_after_xero_paid_it_brings_that_payment() -> None:
    """The platform enters a bill the accountant had already entered and paid in Xero: it is
    matched to Xero's, and the payment, older than every cursor, is still read into ops."""
    w = world()
    supplier = w.contact("xero", "Harbour Timber")
    lines = [{"position": "1", "description": "Decking", "quantity": "2.00",
              "unit_price": "100.00", "account_code": "400", "tax_type": "INPUT"}]
    bill = w.xero.put("bills", {"number": "HTS-1", "contact_id": supplier,
                                "date": "2026-03-01", "status": "approved", "currency": "AUD",
                                "amounts_are": "exclusive"}, lines).id
    w.xero.pay("bills", bill, "50.00")
    clean(w)
    w.clock.tick(600)
    clean(w)  # every record of both sides trusted, every cursor past the payment
    assert w.ops.all("payments") == []
    w.ops.put("bills", {"number": "HTS-1", "contact_id": w.ops_id("contacts", supplier),
                        "date": "2026-03-01", "status": "approved", "currency": "AUD",
                        "amounts_are": "exclusive"}, lines)
    w.sync()
    assert w.xero_id("bills", w.ops.all("bills")[0].id) == bill
    assert [p.fields["amount"] for p in w.ops.all("payments")] == ["50.00"]


def test_documents_linked_to_a_merged_contact_move_once_the_workspace_merges_them() -> None:
    """Under ``merged_contacts = "link"`` an ops invoice keeps naming a contact merged in
    Xero; once the rule is ``merge``, the next sync moves it to the survivor, though nothing
    of the invoice changed on either side."""
    entities = dict(default_rules().entities)
    entities["invoices"] = EntityRules(push_only_when_approved=False)
    w = World(Rules(entities=entities, merged_contacts="link"), balances=True)
    gone = w.contact("xero", "Bayside Club")
    kept = w.contact("xero", "Coco Cafe")
    invoice = w.invoice("xero", "INV-1", gone)
    clean(w)
    w.xero.merge_contacts(gone, kept)
    clean(w)
    w.clock.tick(600)
    clean(w)
    ops_id = w.ops_id("invoices", invoice) or ""
    gone_ops, kept_ops = w.ops_id("contacts", gone), w.ops_id("contacts", kept)
    assert w.ops.get("invoices", ops_id).fields["contact_id"] == gone_ops  # type: ignore[union-attr]
    w.rules = Rules(entities=entities, merged_contacts="merge")
    w.sync()
    assert w.ops.get("invoices", ops_id).fields["contact_id"] == kept_ops  # type: ignore[union-attr]
