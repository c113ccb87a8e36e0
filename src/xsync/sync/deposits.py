"""Deposits the ops platform records: pushed to Xero as prepayments, and applied to invoices.

Credits (overpayments, prepayments) and allocations are Xero's records, pulled into ops. Two
kinds of ops row still go the other way, as creates only, in every push and sync run (whatever
``[sync.credits]`` or ``[sync.allocations]`` direction says; the direction governs the rest):

- a ``credits`` row with no Xero twin is a deposit: a prepayment (``kind = 'prepayment'``) with
  a contact, a date, a total above zero, the bank account it was paid into and the account it is
  held in (``bank_account``, ``account_code``; ``tax_type`` optional). It is created in Xero and
  linked; Xero's ``remaining`` and ``status`` come back in the same run.
- an ``allocations`` row with no Xero twin applies such a credit to an invoice. It is pushed once
  its credit and its invoice are both in Xero (or go there earlier in the same run) and the
  invoice is approved there; until then it waits, shown as held back (not an error). Once it is
  applied, the invoice's and the credit's balances are read back from Xero and written to ops in
  the same run (:func:`balances_after`), so ops' ``amount_due`` is Xero's.

A row that cannot be what Xero needs (no contact, a total of zero or less, an account that is not
in the chart, an allocation larger than what is left of the credit or than what the invoice
owes, an invoice or credit that does not exist) is rejected alone, with a sentence naming the
record, the field and the fix. Xero cannot change a prepayment or an allocation once made: an
ops edit of one that is in Xero is rejected, naming the field, the value to put back and what to
do instead (:func:`edited`), and nothing of the record is written until it is put back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from xsync.errors import ExitCode, XsyncError
from xsync.model.entities import EntitySpec, spec
from xsync.model.records import Fields, Record
from xsync.model.side import left_out
from xsync.sync.accounting import TERMINAL
from xsync.sync.plan import TO_OPS, Action, FieldChange, ReadError, Step, Write

if TYPE_CHECKING:
    from xsync.model.side import Side
    from xsync.sync.apply import Applier, Job
    from xsync.sync.planner import EntityPlanner
    from xsync.sync.rules import Rules

# entities whose only writes to Xero are creates of what the ops platform records
CREATES_ONLY = frozenset({"credits", "allocations"})
# the kinds of credit an ops allocation may apply (a credit note is allocated in Xero)
APPLIED_KINDS = ("prepayment", "overpayment")
NOUN = {"credits": "deposit", "allocations": "allocation"}


def creates_up(entity: str, rules: Rules, mode: str) -> bool:
    """Whether this run creates in Xero the new ops records of ``entity`` (deposits and their
    allocations): in every push and sync, while the entity is enabled."""
    return entity in CREATES_ONLY and rules.entity(entity).enabled and mode in ("push", "sync")


@dataclass
class Verdict:
    """What becomes of one new ops record: ``push`` (``record`` as it is sent, ``fill``: what
    is written back to the ops row with it), ``hold`` (waits; not an error), ``reject`` (the
    record cannot be sent; exit 4) or ``ignore`` (nothing to send: a voided deposit, a deleted
    allocation)."""

    kind: Literal["push", "hold", "reject", "ignore"]
    reason: str = ""
    record: Record | None = None
    fill: Fields = field(default_factory=dict)


def judge(ep: EntityPlanner, records: Sequence[Record]) -> list[tuple[Record, Verdict]]:
    """The verdict on each new ops record of ``ep``'s entity (credits or allocations)."""
    if not records:
        return []
    if ep.entity == "credits":
        chart = _chart(ep)
        return [(r, _deposit(ep, r, chart)) for r in records]
    return _Allocations(ep, records).verdicts()


# -- deposits ------------------------------------------------------------------------------------


@dataclass
class _Chart:
    # code -> (type, status) of the accounts xsync has pulled; tax types known; empty: not pulled
    accounts: dict[str, tuple[str | None, str | None]]
    tax_types: set[str]


def _chart(ep: EntityPlanner) -> _Chart:
    accounts = {code: (base.snapshot["fields"].get("type"), base.snapshot["fields"].get("status"))
                for code, base in ep.ledger.bases("accounts").items()}
    return _Chart(accounts, set(ep.ledger.bases("tax_rates")))


def _money(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def _positive(fields: Fields, name: str, what: str, problems: list[str],
              after: str = "") -> Decimal | None:
    """The amount in ``name``; an empty one, or one of zero or less, is a problem saying to set
    it to ``what`` (``after`` adds to that sentence for the second)."""
    value = _money(fields.get(name))
    if value is None:
        problems.append(f"{name} is empty: set it to {what}")
    elif value <= 0:
        problems.append(f"{name} {fields.get(name)} is not more than zero: set it to {what}"
                        f"{after}")
    return value


def _deposit(ep: EntityPlanner, record: Record, chart: _Chart) -> Verdict:
    f = record.fields
    who = f"deposit {record.id}"
    if f.get("status") in TERMINAL:
        return Verdict("ignore")
    if f.get("kind") != "prepayment":
        return Verdict("reject", f"{who}: kind {f.get('kind')!r} is not a deposit: the ops "
                       "platform records a deposit as a prepayment (kind 'prepayment'); an "
                       "overpayment is made in Xero, not in ops")
    problems: list[str] = []
    if not f.get("contact_id"):
        problems.append("contact_id is empty: set it to the customer the deposit was received "
                        "from (a row of contacts)")
    _positive(f, "total", "the amount received", problems, " (a refund is made in Xero)")
    if not f.get("date"):
        problems.append("date is empty: set it to the day the deposit was received "
                        "(YYYY-MM-DD)")
    problems += _accounts(f, chart)
    if problems:
        return Verdict("reject", f"{who}: " + "; ".join(problems))
    contact = str(f["contact_id"])
    _, known = ep.p.refs_for("contacts")
    if contact not in known:
        if not _exists(ep, "contacts", [contact]):
            return Verdict("reject", f"{who}: contact_id {contact!r} names no row of contacts: "
                           "set it to the customer's contact id")
        return Verdict("hold", f"waits for contact {contact}, which is not in Xero yet (see "
                       "why above); the deposit is pushed once it is")
    return Verdict("push", record=record)


def _accounts(f: Fields, chart: _Chart) -> list[str]:
    """What is wrong with a deposit's accounts, against the chart xsync pulled from Xero (not
    checked before the chart is pulled: Xero then says)."""
    out: list[str] = []
    bank, code, tax = f.get("bank_account"), f.get("account_code"), f.get("tax_type")
    if not bank:
        out.append("bank_account is empty: set it to the code of the Xero bank account the "
                   "deposit was paid into (a BANK account of the accounts table)")
    elif chart.accounts:
        typ, status = chart.accounts.get(bank, (None, None))
        if bank not in chart.accounts:
            out.append(f"bank_account {bank!r} is not in the chart of accounts (the accounts "
                       "table): set it to the code of a Xero bank account")
        elif typ != "BANK" or status not in (None, "active"):
            out.append(f"bank_account {bank!r} is not an active bank account in Xero ({typ}, "
                       f"{status}): set it to the code of the bank account the deposit was "
                       "paid into")
    if not code:
        out.append("account_code is empty: set it to the account the deposit is held in (a "
                   "revenue or customer-deposits liability account of the accounts table)")
    elif chart.accounts:
        typ, status = chart.accounts.get(code, (None, None))
        if code not in chart.accounts:
            out.append(f"account_code {code!r} is not in the chart of accounts (the accounts "
                       "table)")
        elif typ == "BANK" or status not in (None, "active"):
            out.append(f"account_code {code!r} cannot hold a deposit ({typ}, {status}): set "
                       "it to an active revenue or liability account")
    if tax and chart.tax_types and tax not in chart.tax_types:
        out.append(f"tax_type {tax!r} is not a tax rate of Xero (the tax_rates table)")
    return out


def _exists(ep: EntityPlanner, entity: str, ids: list[str]) -> bool:
    return bool(_fetch(ep, ep.p.ops, entity, ids))


def _fetch(ep: EntityPlanner, side: Side, entity: str, ids: Iterable[str]) -> list[Record]:
    """Records another entity holds, read for ``ep``'s entity: a failure is its failed read."""
    from xsync.sync.planner import FATAL, unread

    wanted = sorted(set(ids))
    if not wanted:
        return []
    try:
        found = side.fetch(entity, wanted)
    except FATAL:
        raise
    except Exception as exc:
        raise unread(ep.entity, side.name, exc) from exc
    # one of them read but not mapped: what ``ep``'s records owe or hold cannot be told
    problems = left_out(side, entity)
    if problems:
        raise unread(ep.entity, side.name, XsyncError("; ".join(r for _, r in problems)))
    return found


# -- allocations ---------------------------------------------------------------------------------


class _Gone(Exception):
    """A credit linked before this run that Xero does not list any more."""


class _Allocations:
    """New ops allocations, judged together: what each credit has left and each invoice still
    owes falls with every allocation pushed before it in this run."""

    def __init__(self, ep: EntityPlanner, records: Sequence[Record]) -> None:
        self.ep = ep
        self.records = records
        self.left: dict[str, Decimal] = {}
        self.owed: dict[str, Decimal | None] = {}
        planned = {(s.entity, s.ops_id): s for s in ep.whole.steps
                   if s.entity in ("credits", "invoices")}
        self.steps = planned
        self.refused = {(r.entity, r.ops_id): r for r in [*ep.whole.rejected,
                                                          *ep.whole.skipped]}
        live = [r for r in records if r.fields.get("status") != "deleted"]
        credit_ids = {str(r.fields["credit_id"]) for r in live if r.fields.get("credit_id")}
        invoice_ids = {str(r.fields["invoice_id"]) for r in live if r.fields.get("invoice_id")}
        self.credits = {r.id: r for r in _fetch(ep, ep.p.ops, "credits", credit_ids)}
        self.invoices = {r.id: r for r in _fetch(ep, ep.p.ops, "invoices", invoice_ids)}
        self.credit_links = ep.p.xero_ids("credits")
        self.invoice_links = ep.p.xero_ids("invoices")
        self._xero: dict[str, dict[str, Record]] = {}

    def _in_xero(self, entity: str, ops_id: str) -> Record | None:
        """What Xero holds now of a credit or an invoice linked before this run; asked of Xero
        once, for all the rows these allocations name, and only when one needs it."""
        links = self.credit_links if entity == "credits" else self.invoice_links
        if entity not in self._xero:
            named = self.credits if entity == "credits" else self.invoices
            wanted = {links[i] for i in named if i in links}
            self._xero[entity] = {r.id: r for r in _fetch(self.ep, self.ep.p.xero, entity,
                                                          wanted)}
        return self._xero[entity].get(links.get(ops_id, ""))

    def verdicts(self) -> list[tuple[Record, Verdict]]:
        return [(r, self._one(r)) for r in self.records]

    def _one(self, record: Record) -> Verdict:
        f = record.fields
        who = f"allocation {record.id}"
        if f.get("status") == "deleted":
            return Verdict("ignore")
        kind = f.get("kind")
        if kind == "credit_note":
            # Xero's alone (a row of one no Xero allocation matches is left as it is)
            return Verdict("hold", "not pushed: a credit note is allocated in Xero; xsync "
                           "applies only a deposit (kind 'prepayment') or an overpayment")
        if kind not in APPLIED_KINDS:
            return Verdict("reject", f"{who}: kind {kind!r} is not one xsync applies: set it "
                           "to 'prepayment' (a deposit) or 'overpayment'")
        problems: list[str] = []
        if not f.get("credit_id"):
            problems.append("credit_id is empty: set it to the deposit's row of credits")
        if not f.get("invoice_id"):
            problems.append("invoice_id is empty: set it to the invoice the deposit is applied "
                            "to")
        amount = _positive(f, "amount", "the part of the deposit applied", problems)
        if problems:
            return Verdict("reject", f"{who}: " + "; ".join(problems))
        assert amount is not None
        credit_id, invoice_id = str(f["credit_id"]), str(f["invoice_id"])
        credit = self.credits.get(credit_id)
        if credit is None:
            return self._missing(who, "credits", credit_id, "credit_id", "credit")
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return self._missing(who, "invoices", invoice_id, "invoice_id", "invoice")
        if credit.fields.get("kind") != kind:
            theirs = credit.fields.get("kind")
            return Verdict("reject", f"{who}: kind {kind!r}, but credit {credit_id} is of kind "
                           f"{theirs!r}: set kind to {theirs!r}")
        number = invoice.fields.get("number") or invoice_id
        waits = self._waits(credit_id, invoice_id, number)
        if waits is not None:
            return waits
        if credit.fields.get("contact_id") != invoice.fields.get("contact_id"):
            return Verdict("reject", f"{who}: deposit {credit_id} is from contact "
                           f"{credit.fields.get('contact_id')} but invoice {number} is for "
                           f"contact {invoice.fields.get('contact_id')}: a deposit is applied "
                           "only to an invoice of the same customer")
        status = self._invoice_status(invoice_id)
        if status == "draft":
            return Verdict("hold", f"waits for invoice {number} to be approved: it is a draft "
                           "in Xero, and Xero applies a deposit only to an approved invoice")
        if status in TERMINAL:
            return Verdict("reject", f"{who}: invoice {number} is {status} in Xero: a deposit "
                           "cannot be applied to it; set invoice_id to the invoice that "
                           "replaces it")
        try:
            left = self._left(credit_id, credit)
        except _Gone:
            return Verdict("hold", f"waits for deposit {credit_id}, which Xero no longer lists")
        if left is not None and amount > left:
            return Verdict("reject", f"{who}: amount {amount:.2f} is more than what is left of "
                           f"deposit {credit_id} ({left:.2f}): lower the amount to at most "
                           f"{left:.2f}")
        owed = self._owed(invoice_id)
        if owed is not None and amount > owed:
            return Verdict("reject", f"{who}: amount {amount:.2f} is more than invoice {number} "
                           f"owes in Xero ({owed:.2f}): lower the amount to at most {owed:.2f}")
        if left is not None:
            self.left[credit_id] = left - amount
        if owed is not None:
            self.owed[invoice_id] = owed - amount
        fill: Fields = {}
        if not f.get("date"):
            # Xero needs the day it is applied: the later of the deposit's and the invoice's
            days = [d for d in (credit.fields.get("date"), invoice.fields.get("date")) if d]
            fill["date"] = max(days) if days else self.ep.p.now().date().isoformat()
        sent = Record(record.entity, record.id, {**f, **fill}, record.lines, record.updated_at)
        return Verdict("push", record=sent, fill=fill)

    def _missing(self, who: str, entity: str, ops_id: str, column: str, noun: str) -> Verdict:
        if (entity, ops_id) in self.refused:
            return Verdict("hold", f"waits for {noun} {ops_id}, which is not synced (see why "
                           "above)")
        return Verdict("reject", f"{who}: {column} {ops_id!r} names no {noun} of the "
                       f"{entity} table (an unknown {noun}): set {column} to the "
                       f"{'deposit' if noun == 'credit' else noun} it applies to")

    def _waits(self, credit_id: str, invoice_id: str, number: str) -> Verdict | None:
        """A hold while the credit or the invoice is not in Xero and is not going there now."""
        _, credits_known = self.ep.p.refs_for("credits")
        _, invoices_known = self.ep.p.refs_for("invoices")
        if credit_id not in credits_known:
            return Verdict("hold", f"waits for deposit {credit_id}, which is not in Xero yet "
                           "(see why above)")
        if invoice_id not in invoices_known:
            why = self.refused.get(("invoices", invoice_id))
            because = f" ({why.reason})" if why is not None else ""
            return Verdict("hold", f"waits for invoice {number}, which is not in Xero yet"
                           f"{because}")
        if invoice_id in self.invoice_links and self._in_xero("invoices", invoice_id) is None:
            return Verdict("hold", f"waits for invoice {number}, which Xero no longer lists")
        return None

    def _invoice_status(self, invoice_id: str) -> str | None:
        """The invoice's status in Xero once this run's invoice writes are made."""
        step = self.steps.get(("invoices", invoice_id))
        if step is not None and step.to_xero is not None and "status" in step.to_xero.fields:
            return step.to_xero.fields["status"]
        found = self._in_xero("invoices", invoice_id)
        return found.fields.get("status") if found is not None else None

    def _left(self, credit_id: str, credit: Record) -> Decimal | None:
        if credit_id in self.left:
            return self.left[credit_id]
        if credit_id in self.credit_links:
            found = self._in_xero("credits", credit_id)
            if found is None:
                raise _Gone(credit_id)
            return _money(found.fields.get("remaining"))
        # made in this run: all of it is left
        return _money(credit.fields.get("total"))

    def _owed(self, invoice_id: str) -> Decimal | None:
        """What the invoice owes in Xero, where this run does not change it (an invoice created
        or re-written now is Xero's to judge)."""
        if invoice_id in self.owed:
            return self.owed[invoice_id]
        step = self.steps.get(("invoices", invoice_id))
        if step is not None and step.to_xero is not None and (
                step.to_xero.action == "create" or step.to_xero.lines is not None):
            return None
        found = self._in_xero("invoices", invoice_id)
        return _money(found.fields.get("amount_due")) if found is not None else None


# -- a deposit or allocation already in Xero -----------------------------------------------------


def edited(entity_spec: EntitySpec, base: dict[str, Any], ops: Fields, xero: Fields,
           ops_id: str) -> str | None:
    """Why an ops edit of a credit or an allocation in Xero cannot go there, if it was edited:
    a field ops changed since the last sync to a value Xero does not hold (Xero's own values,
    ``remaining`` and ``status`` of a credit, are not the platform's to change)."""
    known = base.get("fields") or {}
    moved: list[tuple[str, str | None]] = []
    for name in entity_spec.fields:
        if name in entity_spec.xero_computed:
            continue
        if ops.get(name) != known.get(name) and ops.get(name) != xero.get(name):
            moved.append((name, known.get(name)))
    for name in entity_spec.create_only:
        if name in known and ops.get(name) != known[name]:
            moved.append((name, known[name]))
    if not moved:
        return None
    back = ", ".join(f"{name} = {'NULL' if old is None else repr(old)}" for name, old in moved)
    if entity_spec.name == "credits":
        if (known.get("kind") or "prepayment") != "prepayment":
            return (f"credit {ops_id}: {_names(moved)} changed in ops, but the credit is "
                    f"Xero's, and xsync never changes one there: put it back ({back})")
        return (f"deposit {ops_id}: {_names(moved)} changed in ops, but the credit is in Xero, "
                f"and Xero cannot change a prepayment once made: put it back ({back}); to "
                "change a deposit, the accountant refunds or voids it in Xero and the platform "
                "records a new one")
    return (f"allocation {ops_id}: {_names(moved)} changed in ops, but the allocation is in "
            f"Xero, and Xero cannot change one: put it back ({back}); to change it, the "
            "accountant removes it in Xero (xsync then marks it deleted here) and the platform "
            "records a new one")


def removed(entity: str, ops_id: str, xero_id: str) -> str:
    """Why a credit or an allocation the ops platform removed, but Xero holds, stays there."""
    if entity == "credits":
        return (f"deposit {ops_id}: its row is gone from ops, but Xero holds it (prepayment "
                f"{xero_id}) and xsync never takes one back: put the row back; to cancel the "
                "deposit, the accountant refunds or voids it in Xero")
    return (f"allocation {ops_id}: its row is gone from ops, but Xero holds it and xsync never "
            "takes one back: put the row back; to undo it, the accountant removes it in Xero "
            "(the row then shows it deleted)")


def _names(moved: list[tuple[str, str | None]]) -> str:
    names = [name for name, _ in moved]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def keep_create_only(entity_spec: EntitySpec, step: Step, old: dict[str, Any] | None,
                     ops: Fields) -> None:
    """What a deposit was created with stays in its base (a merge keeps only what both sides
    hold), so that a later edit of it in ops is seen."""
    if not entity_spec.create_only or step.base is None:
        return
    before = (old or {}).get("fields") or {}
    for name in entity_spec.create_only:
        if name in before:
            step.base["fields"][name] = before[name]
        elif ops.get(name) is not None:
            step.base["fields"][name] = ops[name]


# -- balances once an allocation is made ---------------------------------------------------------

# what Xero changes on an invoice and on a credit when a credit is applied to the invoice
SETTLED_BY_ALLOCATION = {"invoices": spec("invoices").xero_computed,
                         "credits": spec("credits").xero_computed}
MOVING = ("approved", "paid")


def balances_after(applier: Applier, entity: str,
                   jobs: Sequence[Job]) -> list[tuple[str, list[Job]]]:
    """Once allocations were made in Xero this run, the ops writes that give their credits and
    invoices Xero's balances now (read back from Xero): credits first, then invoices. A read that
    fails is the run's failure to report; the next sync brings the balances."""
    from xsync.sync.apply import FATAL, Job

    made = [j for j in jobs if entity == "allocations" and j.error is None and j.xero_id
            and j.step.to_xero is not None and j.step.to_xero.action == "create"]
    if not made:
        return []
    out: list[tuple[str, list[Job]]] = []
    for target, column in (("credits", "credit_id"), ("invoices", "invoice_id")):
        wanted: dict[str, str] = {}
        for job in made:
            ops_id = (job.step.to_xero.fields if job.step.to_xero else {}).get(column)
            xero_id = applier.ids.xero_id_of(target, ops_id) if ops_id else None
            if ops_id and xero_id:
                wanted[xero_id] = ops_id
        if not wanted:
            continue
        try:
            found = applier.sides["xero"].fetch(target, sorted(wanted))
            ops_records = {r.id: r for r in applier.sides["ops"].fetch(
                target, sorted(set(wanted.values())))}
            problems = (left_out(applier.sides["xero"], target)
                        + left_out(applier.sides["ops"], target))
            if problems:
                applier.report(ReadError(
                    target, "xero", f"the {target} a deposit was applied to could not be read "
                    f"back ({'; '.join(r for _, r in problems)}); the next sync names them",
                    ExitCode.REJECTED))
        except FATAL:
            raise
        except Exception as exc:
            code = getattr(exc, "exit_code", 1)
            applier.report(ReadError(
                target, "xero", f"the {target} a deposit was applied to could not be read back "
                f"from Xero ({exc}); the next sync brings their balances", int(code)))
            continue
        follow: list[Job] = []
        for record in found:
            ops_id = wanted.get(record.id)
            mine = ops_records.get(ops_id or "")
            if ops_id is None or mine is None:
                continue
            step = _balance_step(target, ops_id, mine, record)
            if step is not None:
                follow.append(Job.of(step))
        if follow:
            out.append((target, follow))
    return out


def _balance_step(target: str, ops_id: str, mine: Record, xero: Record) -> Step | None:
    diff = {f: xero.fields.get(f) for f in SETTLED_BY_ALLOCATION[target]
            if xero.fields.get(f) != mine.fields.get(f)}
    if target == "invoices":
        now, then = mine.fields.get("status"), xero.fields.get("status")
        if now != then and now in MOVING and then in MOVING:
            diff["status"] = then
    if not diff:
        return None
    from xsync.sync.steps import label_of

    label = label_of(spec(target), mine.fields, ops_id)
    changes = [FieldChange(f, mine.fields.get(f), v, "xero-computed:deposit-applied")
               for f, v in diff.items()]
    step = Step(target, ops_id, xero.id, label, to_ops=Write("ops", "update", diff),
                ops_record=mine, xero_record=xero)
    step.actions.append(Action("update", TO_OPS, target, ops_id, xero.id, label, changes,
                               reason="a deposit was applied in Xero"))
    return step


