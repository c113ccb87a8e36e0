"""Where `xsync bas` gets both sides' documents, and how it pairs them.

Online: Xero's organisation and tax rates (two calls); then, per endpoint (``Invoices``,
``CreditNotes``, ``BankTransactions``, ``ManualJournals``), only what changed since the last
read (If-Modified-Since the highest ``UpdatedDateUTC`` read, less a small overlap), or the whole
endpoint the first time; the ops store is read through the side protocol (so a plugin store
reconciles too). What was read is kept in the state database (``bas_documents``), so a period is
found there by its dates, and ``--offline`` works from it alone.

Pairing goes through the engine's links (ops id ↔ Xero id): a document dated in the period on
one side brings its twin whatever the twin's date (the ``date`` cause). An ops document without
a twin carries the engine's reason where it knows one: an open conflict, a failed write, a rule
holding it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from xsync.model.side import Side
from xsync.reports.bas import Difference, Doc, Lodged, Pair, TaxLine
from xsync.reports.bas_docs import Rates, from_ops, from_xero, ops_credit_note, xero_stamp
from xsync.reports.period import Period
from xsync.state.bas import BasLedger, StoredDoc
from xsync.state.ledger import Ledger
from xsync.sync.rules import Rules

ENDPOINTS = ("Invoices", "CreditNotes", "BankTransactions", "ManualJournals")
ENTITIES_OF = {"Invoices": ("invoices", "bills"), "CreditNotes": ("credit_notes",),
               "BankTransactions": ("bank_transactions",),
               "ManualJournals": ("manual_journals",)}
UNITDP = {"Invoices", "CreditNotes", "BankTransactions"}
LINKED = ("invoices", "bills", "credit_notes")
OVERLAP = timedelta(seconds=5)


class XeroReader(Protocol):
    """What `xsync bas` asks of Xero: one envelope, or the pages of a list."""

    def get(self, endpoint: str) -> dict[str, Any]: ...

    def pages(self, endpoint: str, params: dict[str, str],
              modified_since: datetime | None) -> Iterator[list[dict[str, Any]]]: ...


@dataclass
class Organisation:
    name: str = ""
    abn: str = ""
    basis: str | None = None
    period_lock: str | None = None
    year_end_lock: str | None = None

    @classmethod
    def from_xero(cls, el: dict[str, Any]) -> Organisation:
        from xsync.reports.bas_docs import xero_date

        basis = {"INVOICE": "accrual", "ACCRUAL": "accrual", "ACCRUALS": "accrual",
                 "PAYMENTS": "cash", "CASH": "cash"}.get(str(el.get("SalesTaxBasis") or ""))
        locks = [xero_date(el.get(k)) for k in ("PeriodLockDate", "EndOfYearLockDate")]
        return cls(str(el.get("Name") or ""), str(el.get("TaxNumber") or ""), basis,
                   locks[0].isoformat() if locks[0] else None,
                   locks[1].isoformat() if locks[1] else None)

    @property
    def lock_date(self) -> str | None:
        found = [d for d in (self.period_lock, self.year_end_lock) if d]
        return max(found) if found else None


@dataclass
class Gathered:
    organisation: Organisation
    rates: Rates
    pairs: list[Pair]
    read_at: str | None
    warnings: list[str] = field(default_factory=list)
    calls: int = 0


# -- packing ---------------------------------------------------------------------------------------


def pack_doc(doc: Doc) -> StoredDoc:
    payload = {
        "n": doc.number, "c": doc.contact, "s": doc.status, "f": doc.flow, "cr": doc.credit,
        "l": [[ln.tax_type, str(ln.net), str(ln.tax), ln.flow] for ln in doc.lines],
        "t": str(doc.total), "p": [[d.isoformat(), str(a)] for d, a in doc.payments],
        "cb": doc.on_cash_basis, "st": None if doc.stated_tax is None else str(doc.stated_tax),
    }
    days = sorted(d.isoformat() for d, _ in doc.payments)
    return StoredDoc(doc.side, doc.entity, doc.id, doc.date.isoformat() if doc.date else None,
                     days[0] if days else None, days[-1] if days else None, doc.fingerprint,
                     payload)


def unpack_doc(stored: StoredDoc) -> Doc:
    p = stored.payload
    return Doc(stored.side, stored.entity, stored.id, p["n"], p["c"],  # type: ignore[arg-type]
               date.fromisoformat(stored.date) if stored.date else None, p["s"], p["f"], p["cr"],
               [TaxLine(t, Decimal(n), Decimal(x), f) for t, n, x, f in p["l"]], Decimal(p["t"]),
               [(date.fromisoformat(d), Decimal(a)) for d, a in p["p"]], p["cb"],
               stored.fingerprint, None if p["st"] is None else Decimal(p["st"]))


# -- reading ---------------------------------------------------------------------------------------


def read_xero(reader: XeroReader, bas: BasLedger, at: str) -> tuple[Organisation, Rates,
                                                                    list[str], int]:
    """Xero's organisation, tax rates and changed documents, kept in the state database."""
    warnings: list[str] = []
    calls = 2
    org = Organisation.from_xero((reader.get("Organisation").get("Organisations") or [{}])[0])
    rates = Rates.from_xero(reader.get("TaxRates").get("TaxRates") or [])
    for endpoint in ENDPOINTS:
        cursor = bas.cursor(endpoint)
        since = datetime.fromisoformat(cursor) - OVERLAP if cursor else None
        params = {"unitdp": "4"} if endpoint in UNITDP else {}
        docs: list[Doc] = []
        newest = cursor
        for page in reader.pages(endpoint, params, since):
            calls += 1
            for element in page:
                stamp = xero_stamp(element.get("UpdatedDateUTC"))
                if stamp and (newest is None or stamp > newest):
                    newest = stamp
                try:
                    docs.append(from_xero(endpoint, element))
                except (KeyError, ValueError, ArithmeticError) as exc:
                    warnings.append(f"Xero {endpoint} element could not be read ({exc}); it is "
                                    "left out of the figures")
        stored = [pack_doc(d) for d in docs]
        if since is None:
            bas.replace("xero", ENTITIES_OF[endpoint], stored, at)
        else:
            bas.upsert(stored, at)
        bas.set_cursor(endpoint, newest, at)
    bas.set_cursor("organisation", json.dumps(org.__dict__), at)
    bas.set_cursor("tax_rates", json.dumps(rates.to_json()), at)
    return org, rates, warnings, calls


def read_ops(ops: Side, bas: BasLedger, ledger: Ledger, rates: Rates, at: str) -> list[str]:
    """Every invoice, bill and credit note of the ops store, kept in the state database."""
    warnings: list[str] = []

    def scan(entity: str) -> list[Any]:
        result = ops.scan(entity, None)
        for record_id, reason in result.rejected:
            warnings.append(f"ops {entity.rstrip('s').replace('_', ' ')} {record_id} could not "
                            f"be read ({reason}); it is left out of the figures")
        return result.records

    contacts = {r.id: r.fields.get("name") or r.id for r in scan("contacts")}
    paid: dict[str, list[tuple[date, Decimal]]] = {}
    for payment in scan("payments"):
        f = payment.fields
        if f.get("status") != "deleted" and f.get("invoice_id") and f.get("date"):
            paid.setdefault(f["invoice_id"] or "", []).append(
                (date.fromisoformat(f["date"] or ""), Decimal(f.get("amount") or "0")))
    notes = scan("credit_notes")
    for note in notes:
        f = note.fields
        if f.get("invoice_id") and f.get("date") and f.get("status") in ("approved", "paid"):
            used = Decimal(f.get("total") or "0") - Decimal(f.get("remaining") or "0")
            if used:
                paid.setdefault(f["invoice_id"] or "", []).append(
                    (date.fromisoformat(f["date"] or ""), used))
    docs: dict[str, list[Doc]] = {"invoices": [], "bills": []}
    for entity in ("invoices", "bills"):
        for record in scan(entity):
            docs[entity].append(from_ops(record, rates, contacts, paid.get(record.id, ())))
    invoices = {d.id: d for d in docs["invoices"]}
    twins = ledger.links("credit_notes")
    known = {s.id: unpack_doc(s) for s in bas.by_ids("xero", "credit_notes", list(twins.values()))}
    notes_out = []
    for note in notes:
        shape = known.get(twins.get(note.id, "")) or invoices.get(note.fields.get("invoice_id")
                                                                  or "")
        notes_out.append(ops_credit_note(note, contacts, shape))
    bas.replace("ops", ("invoices", "bills", "credit_notes"),
                [pack_doc(d) for d in docs["invoices"] + docs["bills"] + notes_out], at)
    bas.set_cursor("ops", None, at)
    return warnings


def cached_settings(bas: BasLedger) -> tuple[Organisation, Rates] | None:
    org, rates = bas.cursor("organisation"), bas.cursor("tax_rates")
    if org is None or rates is None:
        return None
    return Organisation(**json.loads(org)), Rates.from_json(json.loads(rates))


# -- pairing ---------------------------------------------------------------------------------------


def pairs_for(period: Period, cash: bool, bas: BasLedger,
              reason: Callable[[Doc], str]) -> list[Pair]:
    found = bas.in_period(period.start.isoformat(), period.end.isoformat(), cash)
    by_side: dict[tuple[str, str], dict[str, Doc]] = {}
    twins: dict[tuple[str, str, str], str] = {}
    for stored in found:
        by_side.setdefault((stored.side, stored.entity), {})[stored.id] = unpack_doc(stored)
        if stored.twin:
            other = "xero" if stored.side == "ops" else "ops"
            twins[(stored.side, stored.entity, stored.id)] = stored.twin
            twins[(other, stored.entity, stored.twin)] = stored.id
    pairs: list[Pair] = []
    for entity in LINKED:
        ops = by_side.get(("ops", entity), {})
        xero = by_side.get(("xero", entity), {})
        want_x = [t for o in ops if (t := twins.get(("ops", entity, o))) and t not in xero]
        want_o = [t for x in xero if (t := twins.get(("xero", entity, x))) and t not in ops]
        for stored in bas.by_ids("xero", entity, want_x):
            xero[stored.id] = unpack_doc(stored)
        for stored in bas.by_ids("ops", entity, want_o):
            ops[stored.id] = unpack_doc(stored)
        for ops_id, doc in sorted(ops.items()):
            twin_id = twins.get(("ops", entity, ops_id))
            twin = xero.pop(twin_id, None) if twin_id else None
            pairs.append(Pair(doc, twin, None if twin else reason(doc)))
        pairs += [Pair(None, doc) for _, doc in sorted(xero.items())]
    for entity in ("bank_transactions", "manual_journals"):
        pairs += [Pair(None, doc) for _, doc in sorted(by_side.get(("xero", entity), {}).items())]
    return pairs


def reason_finder(ledger: Ledger, bas: BasLedger, rules: Rules) -> Callable[[Doc], str]:
    """Why an ops document is not in Xero, from what the engine keeps."""
    conflicts: dict[tuple[str, str], str] = {}
    for c in ledger.conflicts(open_only=True):
        if c.ops_id:
            conflicts.setdefault((c.entity, c.ops_id),
                                 f"waits for an open conflict on {c.field} (xsync resolve)")
    retries = {e: bas.retry_reasons(e, "ops") for e in LINKED}

    def reason(doc: Doc) -> str:
        key = (doc.entity, doc.id)
        if key in conflicts:
            return conflicts[key]
        rule = rules.entity(doc.entity)
        noun = doc.entity.replace("_", " ")
        if not rule.enabled:
            return f"{noun} are not synced ([sync.{doc.entity}] enabled = false)"
        if rule.direction == "pull":
            return f"{noun} flow from Xero to ops only: one entered in ops never reaches Xero"
        if doc.id in retries.get(doc.entity, {}):
            return f"rejected at the last push: {retries[doc.entity][doc.id]}"
        if rule.min_total is not None and doc.total < rule.min_total:
            return f"held back: total {doc.total} is below min_total {rule.min_total}"
        if doc.status == "draft" and rule.push_only_when_approved:
            return "a draft: pushed once approved"
        return "not pushed yet (run `xsync push`)"

    return reason


def name_changes(rows: list[Difference], ledger: Ledger, since: str) -> None:
    """Add to each changed-after-lodging row what xsync itself wrote to that Xero record since
    the period was lodged (from the audit log); changes made in Xero directly have no entry."""
    for row in rows:
        if not row.xero_id:
            continue
        entries = [e for e in ledger.audit(since=since, record=row.xero_id)
                   if e.direction == "ops->xero" and e.field]
        if entries:
            wrote = "; ".join(f"{e.field} {e.old or '∅'} → {e.new or '∅'} (run {e.run_id}, "
                              f"{e.at[:16]})" for e in entries[-5:])
            row.reason += f"; xsync wrote it from ops: {wrote}"


def lodged_for(bas: BasLedger, period: Period, basis: str) -> Lodged | None:
    found = bas.lodged(period.key, basis)
    if found is None:
        return None
    at, labels, documents = found
    return Lodged(at, {k: Decimal(v) for k, v in labels.items()},
                  {key: (doc[0], {k: Decimal(v) for k, v in doc[1].items()})
                   for key, doc in documents.items()})


def lodge(bas: BasLedger, period: Period, basis: str, at: str, labels: dict[str, Decimal],
          documents: dict[str, tuple[str, dict[str, Decimal]]]) -> None:
    bas.lodge(period.key, basis, at, {k: str(v) for k, v in labels.items()},
              {key: [p, {k: str(v) for k, v in values.items()}]
               for key, (p, values) in documents.items()})

