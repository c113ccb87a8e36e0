"""A real side kept in dicts: the engine's test bed, usable as the ops side or as Xero.

It follows the :class:`~xsync.model.side.Side` protocol exactly, plus ``find``. As "xero" it
behaves where the engine can tell: scans are incremental from a cursor (absence means
unchanged), paid/voided/deleted documents refuse edits, deletes and voids are status changes,
and a change carrying an idempotency key it has seen gets the same answer again without being
applied twice. Tests drive it with a settable clock, direct edits that bypass the engine, and
failure hooks: fail the next write of an id, or crash (raise :class:`SimulatedCrash`) before,
in the middle of, or after applying a batch.

With ``balances`` (as "xero"), documents carry what Xero computes: totals from their lines (no
tax), what their payments paid, what credit notes, overpayments and prepayments were allocated
to them (``amount_credited``), what is left due, and the move between approved and paid; credit
notes and credits (overpayments, prepayments) carry their ``remaining`` credit (total less their
allocations and cash refunds) and move between approved and paid the same way, and a credit note
names the invoice of its first allocation, as Xero's reading of it does. The accountant's own
acts are there too: :meth:`pay`, :meth:`reverse` (a payment deleted), :meth:`merge_contacts`,
:meth:`credit_note`, :meth:`receive` (an overpayment or prepayment), :meth:`allocate`,
:meth:`unallocate` (Xero stops listing the allocation) and :meth:`refund` (cash back of a
credit), each refusing what Xero refuses (``ValueError``). As in Xero, a document with money
applied takes no edit, and allocations are read whole on every scan: one removed is simply no
longer listed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xsync.model.entities import DROPPED_WHEN_REMOVED, ENTITY_ORDER, spec
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change, ChangeResult, ScanResult, microseconds

DOCUMENTS = ("invoices", "bills")
LOCKED = ("paid", "void", "deleted")
# what holds credit to allocate or refund, and the field a payment (a refund) or an allocation
# names it by
CREDIT_HOLDERS = {"credit_notes": "credit_note_id", "credits": "credit_id"}
# read whole on every scan as Xero (Xero lists a removed one no more)
ALWAYS_WHOLE = tuple(sorted(DROPPED_WHEN_REMOVED))
CENTS = Decimal("0.01")


def _money(value: str | None) -> Decimal:
    return Decimal(value or "0")


class SimulatedCrash(BaseException):
    """The process died here. A BaseException, so that no ``except Exception`` swallows it."""


class MemoryStore:
    """A dict-backed side. ``path`` is accepted (and ignored) so it can stand in as an ops store
    plugin; ``incremental`` defaults to True for the side named "xero"."""

    def __init__(self, path: object = None, *, name: str = "ops",
                 clock: Callable[[], datetime] | None = None,
                 incremental: bool | None = None, overlap: int = 0,
                 categories: dict[str, str] | None = None, balances: bool = False) -> None:
        self.name = name
        self.balances = balances
        self.clock = clock or (lambda: datetime.now(UTC))
        self.incremental = (name == "xero") if incremental is None else incremental
        self.overlap = overlap
        self.xero_rules = name == "xero"
        self.records: dict[str, dict[str, Record]] = {e: {} for e in ENTITY_ORDER}
        self._seq: dict[tuple[str, str], int] = {}
        self._counter = 0
        self._ids = 0
        self._replies: dict[str, ChangeResult] = {}
        self.fail_next: dict[str, str] = {}
        self.crash: str | None = None
        self.writes: list[tuple[str, Change]] = []

    # -- test helpers ----------------------------------------------------------------------------

    def new_id(self, entity: str) -> str:
        self._ids += 1
        prefix = "X" if self.name == "xero" else spec(entity).name[:3].upper()
        return f"{prefix}-{self._ids:05d}"

    def _touch(self, record: Record) -> None:
        if self.balances and record.entity in DOCUMENTS:
            self._rebalance(record)
        elif self.balances and record.entity in CREDIT_HOLDERS:
            self._rebalance_credit(record)
        self._counter += 1
        self._seq[(record.entity, record.id)] = self._counter
        record.updated_at = self.clock()

    def put(self, entity: str, fields: Fields, lines: list[Fields] | None = None,
            id: str | None = None) -> Record:
        """Create a record directly (as a person would in that system)."""
        full: Fields = {name: None for name in spec(entity).fields}
        full.update(fields)
        record = Record(entity, id or self.new_id(entity), full)
        if spec(entity).has_lines:
            record.lines = [self._line(entity, f, None) for f in lines or []]
        self.records[entity][record.id] = record
        self._touch(record)
        return copy.deepcopy(record)

    def edit(self, entity: str, id: str, **fields: str | None) -> Record:
        record = self.records[entity][id]
        record.fields.update(fields)
        self._touch(record)
        return copy.deepcopy(record)

    def set_lines(self, entity: str, id: str, lines: list[Line]) -> Record:
        record = self.records[entity][id]
        record.lines = [self._line(entity, ln.fields, ln.id) for ln in lines]
        self._touch(record)
        return copy.deepcopy(record)

    # -- what Xero computes, and the accountant's acts (with ``balances``) ------------------------

    def _rebalance(self, record: Record) -> None:
        total = sum((Decimal(ln.fields.get("quantity") or "0")
                     * Decimal(ln.fields.get("unit_price") or "0")
                     for ln in record.lines or []), Decimal(0)).quantize(CENTS)
        ref = "bill_id" if record.entity == "bills" else "invoice_id"
        paid_by = [p for p in self.records["payments"].values()
                   if p.fields.get(ref) == record.id and p.fields.get("status") == "authorised"]
        paid = sum((_money(p.fields["amount"]) for p in paid_by), Decimal(0))
        credited_by = [a for a in self.records["allocations"].values()
                       if a.fields.get("invoice_id") == record.id]
        credited = sum((_money(a.fields["amount"]) for a in credited_by), Decimal(0))
        status = record.fields.get("status")
        due = Decimal(0) if status in ("void", "deleted") else total - paid - credited
        if status == "approved" and (paid or credited) and due == 0:
            status = "paid"
        elif status == "paid" and due != 0:
            status = "approved"
        dates = [r.fields.get("date") or "" for r in (*paid_by, *credited_by)]
        record.fields.update({
            "subtotal": str(total), "total_tax": "0.00", "total": str(total),
            "amount_paid": str(paid.quantize(CENTS)),
            "amount_credited": str(credited.quantize(CENTS)),
            "amount_due": str(due.quantize(CENTS)), "status": status,
            "paid_on": max(dates, default=None) if status == "paid" else None})

    def _rebalance_credit(self, record: Record) -> None:
        """A credit note's or credit's remaining credit: its total less what its allocations
        and its standing cash refunds took; paid at nothing left, approved again when some
        comes back."""
        ref = CREDIT_HOLDERS[record.entity]
        allocated = [a for a in self.records["allocations"].values()
                     if a.fields.get(ref) == record.id]
        refunded = [p for p in self.records["payments"].values()
                    if p.fields.get(ref) == record.id and p.fields.get("status") == "authorised"]
        used = sum((_money(r.fields["amount"]) for r in (*allocated, *refunded)), Decimal(0))
        status = record.fields.get("status")
        left = Decimal(0) if status in ("void", "deleted") else _money(
            record.fields.get("total")) - used
        if status == "approved" and left == 0:
            status = "paid"
        elif status == "paid" and left != 0:
            status = "approved"
        record.fields.update({"remaining": str(left.quantize(CENTS)), "status": status})
        if record.entity == "credit_notes":
            record.fields["invoice_id"] = allocated[0].fields["invoice_id"] if allocated else None

    def pay(self, entity: str, id: str, amount: str, date: str = "2026-03-02") -> Record:
        """A payment on an approved document, as the accountant records one."""
        document = self.records[entity][id]
        ref = "bill_id" if entity == "bills" else "invoice_id"
        payment = self.put("payments", {ref: id, "date": date, "amount": amount,
                                        "reference": f"EFT {self._ids + 1}",
                                        "status": "authorised"})
        self._touch(document)
        return payment

    def reverse(self, payment_id: str) -> Record:
        """A payment deleted (reversed): its document owes the amount again (a refunded
        credit has it back)."""
        payment = self.edit("payments", payment_id, status="reversed")
        for entity in (*DOCUMENTS, *CREDIT_HOLDERS):
            for ref in ("invoice_id", "bill_id", *CREDIT_HOLDERS.values()):
                target = payment.fields.get(ref)
                if target and target in self.records[entity]:
                    self._touch(self.records[entity][target])
        return payment

    def credit_note(self, contact_id: str, total: str, date: str = "2026-03-02") -> Record:
        """An approved sales credit note of ``total`` for a contact."""
        number = f"CN-{self._ids + 1:05d}"
        return self.put("credit_notes", {"number": number, "contact_id": contact_id,
                                         "date": date, "total": total, "status": "approved"})

    def receive(self, kind: str, contact_id: str, total: str, date: str = "2026-03-02",
                reference: str | None = None) -> Record:
        """Money received from a customer as an overpayment or a prepayment (``kind``): a
        credit of its own, all of it to allocate or refund."""
        if kind not in ("overpayment", "prepayment"):
            raise ValueError(f"kind must be overpayment or prepayment, not {kind!r}")
        return self.put("credits", {"kind": kind, "contact_id": contact_id, "date": date,
                                    "reference": reference or f"{kind.title()} {self._ids + 1}",
                                    "total": total, "status": "approved"})

    def _credit(self, entity: str, id: str) -> Record:
        if entity not in CREDIT_HOLDERS or id not in self.records[entity]:
            raise ValueError(f"no {entity} {id} to allocate or refund")
        return self.records[entity][id]

    def allocate(self, entity: str, credit_id: str, invoice_id: str, amount: str,
                 date: str = "2026-03-02") -> Record:
        """Apply ``amount`` of a credit note's or credit's remaining credit to an invoice, as
        Xero allows it: both approved, the same contact, at most what is left on each."""
        credit = self._credit(entity, credit_id)
        invoice = self.records["invoices"].get(invoice_id)
        value = _money(amount)
        if invoice is None:
            raise ValueError(f"no invoice {invoice_id}")
        if credit.fields.get("status") != "approved":
            raise ValueError("Only approved credit with remaining credit can be allocated")
        if invoice.fields.get("status") != "approved":
            raise ValueError("Invoice not of valid status for modification")
        if credit.fields.get("contact_id") != invoice.fields.get("contact_id"):
            raise ValueError("The credit and the invoice must be for the same contact")
        if value <= 0 or value > _money(credit.fields.get("remaining")):
            raise ValueError("The amount allocated exceeds the remaining credit")
        if value > _money(invoice.fields.get("amount_due")):
            raise ValueError("The amount allocated exceeds the amount due on the invoice")
        kind = "credit_note" if entity == "credit_notes" else credit.fields["kind"]
        allocation = self.put("allocations", {
            "kind": kind, CREDIT_HOLDERS[entity]: credit_id, "invoice_id": invoice_id,
            "amount": f"{value:.2f}", "date": date, "status": "applied"})
        self._touch(invoice)
        self._touch(credit)
        return allocation

    def unallocate(self, allocation_id: str) -> None:
        """An allocation taken back: Xero no longer lists it; the invoice owes its amount
        again and the credit has it back."""
        allocation = self.records["allocations"].pop(allocation_id)
        touched = [self.records["invoices"].get(allocation.fields.get("invoice_id") or "")]
        for entity, ref in CREDIT_HOLDERS.items():
            touched.append(self.records[entity].get(allocation.fields.get(ref) or ""))
        for record in touched:
            if record is not None:
                self._touch(record)

    def refund(self, entity: str, credit_id: str, amount: str,
               date: str = "2026-03-02") -> Record:
        """Cash back of a credit note's or credit's remaining credit: a payment naming it."""
        credit = self._credit(entity, credit_id)
        value = _money(amount)
        if credit.fields.get("status") != "approved":
            raise ValueError("Payments can only be made against approved documents")
        if value <= 0 or value > _money(credit.fields.get("remaining")):
            raise ValueError("The payment amount exceeds the amount outstanding")
        payment = self.put("payments", {CREDIT_HOLDERS[entity]: credit_id, "date": date,
                                        "amount": f"{value:.2f}",
                                        "reference": f"Refund {self._ids + 1}",
                                        "status": "authorised"})
        self._touch(credit)
        return payment

    def merge_contacts(self, source: str, target: str) -> None:
        """``source`` merged into ``target``, as Xero's screens do: archived, naming the one
        kept, and every document and credit of it moved to the one kept."""
        for entity in (*DOCUMENTS, *CREDIT_HOLDERS):
            for record in self.records[entity].values():
                if record.fields.get("contact_id") == source:
                    record.fields["contact_id"] = target
                    self._touch(record)
        self.edit("contacts", source, status="archived", merged_into=target)

    def remove(self, entity: str, id: str) -> None:
        """A hard delete: the record disappears from complete scans."""
        self.records[entity].pop(id, None)

    def get(self, entity: str, id: str) -> Record | None:
        found = self.records[entity].get(id)
        return copy.deepcopy(found) if found else None

    def all(self, entity: str) -> list[Record]:
        return [copy.deepcopy(r) for r in self.records[entity].values()]

    def _line(self, entity: str, fields: Fields, line_id: str | None) -> Line:
        full: Fields = {name: None for name in spec(entity).line_fields}
        full.update(fields)
        if line_id is None:
            self._ids += 1
            line_id = f"{self.name[0].upper()}L-{self._ids:05d}"
        return Line(line_id, full)

    # -- the Side protocol -----------------------------------------------------------------------

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        whole = self.xero_rules and entity in ALWAYS_WHOLE
        since = int(cursor) - self.overlap if (cursor and self.incremental and not whole) else None
        out, newest = [], int(cursor) if cursor else 0
        for record in self.records[entity].values():
            seq = self._seq[(entity, record.id)]
            if since is None or seq > since:
                out.append(copy.deepcopy(record))
            newest = max(newest, seq)
        return ScanResult(out, str(newest), complete=since is None)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        return [copy.deepcopy(self.records[entity][i]) for i in ids if i in self.records[entity]]

    def find(self, entity: str, field: str, values: Sequence[str]) -> list[Record]:
        wanted = {" ".join(v.split()).casefold() for v in values}
        return [copy.deepcopy(r) for r in self.records[entity].values()
                if " ".join((r.fields.get(field) or "").split()).casefold() in wanted]

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        if self.crash == "before":
            self.crash = None
            raise SimulatedCrash(f"{self.name} crashed before writing")
        results = []
        for index, change in enumerate(changes):
            if self.crash == "mid" and index == 1:
                self.crash = None
                raise SimulatedCrash(f"{self.name} crashed in the middle of a batch")
            results.append(self._write_one(entity, change))
        if self.crash == "after":
            self.crash = None
            raise SimulatedCrash(f"{self.name} crashed after writing, before answering")
        return results

    def _write_one(self, entity: str, change: Change) -> ChangeResult:
        key = change.idempotency_key
        if key and key in self._replies:
            return copy.deepcopy(self._replies[key])
        self.writes.append((entity, copy.deepcopy(change)))
        reason = self.fail_next.pop(change.id or "", None) or self.fail_next.pop(change.key, None)
        if reason is not None:
            result = ChangeResult(change.key, False, change.id, errors=[reason])
        else:
            try:
                record = self._apply(entity, change)
                result = ChangeResult(change.key, True, record.id, copy.deepcopy(record))
            except ValueError as exc:
                result = ChangeResult(change.key, False, change.id, errors=[str(exc)])
        if key:
            self._replies[key] = copy.deepcopy(result)
        return result

    def _apply(self, entity: str, change: Change) -> Record:
        entity_spec = spec(entity)
        if change.action == "create":
            fields = dict(change.fields)
            if self.xero_rules:
                fields = {k: v for k, v in fields.items() if k not in entity_spec.xero_computed}
            lines = None
            if change.lines is not None:
                lines = [ln.fields for ln in change.lines]
            return self.put(entity, fields, lines)
        record = self.records[entity].get(change.id or "")
        if record is None:
            raise ValueError(f"{entity} {change.id} does not exist")
        status = record.fields.get("status")
        if self.xero_rules and entity in DOCUMENTS and status in LOCKED:
            raise ValueError("Invoice not of valid status for modification")
        if self.xero_rules and entity in DOCUMENTS and self.balances and (
                _money(record.fields.get("amount_paid"))
                or _money(record.fields.get("amount_credited"))):
            raise ValueError("A document with a payment or allocation cannot be edited")
        if change.action in ("delete", "void"):
            if entity == "contacts":
                record.fields["status"] = "archived"
            else:
                record.fields["status"] = "deleted" if change.action == "delete" else "void"
        else:
            fields = dict(change.fields)
            if self.xero_rules:
                fields = {k: v for k, v in fields.items() if k not in entity_spec.xero_computed}
            record.fields.update(fields)
            if change.lines is not None:
                known = {ln.id for ln in record.lines or []}
                record.lines = [self._line(entity, ln.fields, ln.id if ln.id in known else None)
                                for ln in change.lines]
        self._touch(record)
        return copy.deepcopy(record)

    def snapshot(self) -> dict[str, Any]:
        return {e: {i: r.to_json() for i, r in recs.items()} for e, recs in self.records.items()}



class ChangedScanStore(MemoryStore):
    """A memory side that, as the SQLite ops store does, leaves out of a scan the records the
    engine vouches for (:class:`~xsync.model.side.SupportsChangedScan`): the engine's quiet
    and changed-row paths run over it as they run over ``ops.db``."""

    def scan_changed(self, entity: str, known: Mapping[str, int]) -> ScanResult:
        out: list[Record] = []
        ids: set[str] = set()
        newest = 0
        for record in self.records[entity].values():
            ids.add(record.id)
            newest = max(newest, self._seq[(entity, record.id)])
            stamp = record.updated_at
            moment = None if stamp is None else microseconds(stamp)
            if moment is None or known.get(record.id) != moment:
                out.append(copy.deepcopy(record))
        # the cursor is the one ``scan`` gives, should the engine scan this side next time
        return ScanResult(out, str(newest), complete=False, ids=ids)
