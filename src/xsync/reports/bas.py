"""The BAS reconciliation: GST labels of a period from both sides, and a cause for every cent.

Pure: it is handed both sides' documents already paired (:class:`Pair`), the organisation's tax
rates (tax type → ``ReportTaxType``) and, for a lodged period, what was lodged; it reads and
writes nothing.

How a document reaches the labels (ATO "Completing the GST labels on your BAS"; Xero's mapping):
- each line's tax type is looked up in the organisation's rates, so custom ``TAX00n`` rates land
  where their ``ReportTaxType`` says: OUTPUT → G1 + 1A; EXEMPTEXPORT → G1 + G2; EXEMPTOUTPUT →
  G1 + G3; INPUT → G11 + 1B; CAPITALEXINPUT → G10 + 1B; EXEMPTEXPENSES → G11; EXEMPTCAPITAL →
  G10; INPUTTAXED → G1 on a sale, G11 on a purchase; GSTONIMPORTS, GSTONCAPIMPORTS → 1B;
  BASEXCLUDED and NONE → nothing. G labels take amounts including GST; 1A and 1B the GST;
- a document is a sale (sales invoice, receive money) or a purchase (bill, spend money); a
  credit note counts against its side; a line whose label is of the other side counts against
  it (a bill line at OUTPUT lowers G1 and 1A). Manual journal lines count as purchases when
  debits and as sales when credits, by their sign;
- accrual basis: documents dated in the period that post (approved or paid; drafts, submitted,
  voided and deleted documents do not); cash basis: the payments, refunds and allocations dated
  in the period, each carrying its document's labels pro rata (rounded half-up per document and
  label). Manual journals shown off cash-basis reports count on the accrual basis only.

Invariant (the property test's): every document is in exactly one pair, so per label the
differences listed sum to the label's difference, to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from xsync.reports.period import Period

LABELS = ("G1", "G2", "G3", "G10", "G11", "1A", "1B")
SIMPLER_LABELS = ("G1", "1A", "1B")
SALES_LABELS = frozenset({"G1", "G2", "G3", "1A"})
CAUSES = ("not-in-xero", "not-in-ops", "not-posted", "tax-type", "amount", "date", "status",
          "rounding", "changed-after-lodging")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
POSTED = frozenset({"approved", "paid"})
UNPOSTED = frozenset({"draft"})
GONE = frozenset({"void", "deleted"})
# kinds Xero alone holds: listed as "only in Xero" so the difference they make is explained
XERO_ONLY_KINDS = frozenset({"bank_transactions", "manual_journals"})

Day = date  # a field named ``date`` hides the type inside the classes below
Flow = Literal["sale", "purchase"]
Basis = Literal["accrual", "cash"]

# ReportTaxType -> (labels taking the amount including GST, label taking the GST)
_BY_REPORT_TYPE: dict[str, tuple[tuple[str, ...], str | None]] = {
    "OUTPUT": (("G1",), "1A"),
    "EXEMPTEXPORT": (("G1", "G2"), None),
    "EXEMPTOUTPUT": (("G1", "G3"), None),
    "INPUT": (("G11",), "1B"),
    "CAPITALEXINPUT": (("G10",), "1B"),
    "CAPEXINPUT": (("G10",), "1B"),
    "EXEMPTEXPENSES": (("G11",), None),
    "EXEMPTCAPITAL": (("G10",), None),
    "GSTONIMPORTS": ((), "1B"),
    "GSTONCAPIMPORTS": ((), "1B"),
    "GSTONCAPITALIMPORTS": ((), "1B"),
    "BASEXCLUDED": ((), None),
    "NONE": ((), None),
}


def labels_of(report_type: str, flow: Flow) -> tuple[tuple[str, ...], str | None] | None:
    """The labels a line of this report tax type reaches, or ``None`` when xsync has no rule."""
    if report_type == "INPUTTAXED":
        return (("G1",), None) if flow == "sale" else (("G11",), None)
    return _BY_REPORT_TYPE.get(report_type)


class TaxLine(NamedTuple):
    """One line as it posts: ``net`` excludes GST, ``tax`` is the GST, both with the document's
    own sign (a journal's credit lines are negative). ``flow`` overrides the document's for
    journal lines. (A tuple: a report builds tens of thousands of them.)"""

    tax_type: str
    net: Decimal
    tax: Decimal
    flow: Flow | None = None


@dataclass(slots=True)
class Doc:
    """One side's document, in the words the reconciliation needs.

    ``entity``: invoices, bills, credit_notes, bank_transactions, manual_journals. ``status``
    in the ops words (draft, approved, paid, void, deleted). ``payments``: (date, amount) of the
    money that settled it, for the cash basis. ``fingerprint``: a hash of what the document
    posts, compared with the one recorded when its period was lodged."""

    side: Literal["ops", "xero"]
    entity: str
    id: str
    number: str | None
    contact: str | None
    date: Day | None
    status: str
    flow: Flow
    credit: bool
    lines: list[TaxLine]
    total: Decimal = ZERO
    payments: list[tuple[Day, Decimal]] = field(default_factory=list)
    on_cash_basis: bool = True
    fingerprint: str = ""
    # GST the side itself states for the whole document, where it differs from its lines'
    stated_tax: Decimal | None = None


@dataclass(slots=True)
class Pair:
    """A document and its twin (either may be missing); ``reason`` says why an ops document is
    not in Xero, where the engine knows."""

    ops: Doc | None
    xero: Doc | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Lodged:
    """A lodged period: its labels then, and each Xero document's fingerprint and labels."""

    at: str
    labels: dict[str, Decimal]
    documents: dict[str, tuple[str, dict[str, Decimal]]]  # "entity:xero_id" -> (print, labels)


@dataclass(slots=True)
class Difference:
    cause: str
    entity: str
    number: str | None
    contact: str | None
    ops_id: str | None
    xero_id: str | None
    date: Day | None
    labels: dict[str, tuple[Decimal, Decimal]]  # label -> (xero, ops), only labels that differ
    reason: str


@dataclass(slots=True)
class Report:
    period: Period
    basis: Basis
    labels: tuple[str, ...]
    xero: dict[str, Decimal]
    ops: dict[str, Decimal]
    differences: list[Difference]
    xero_only: list[Difference]
    changed_after_lodging: list[Difference]
    lodged: Lodged | None = None
    warnings: list[str] = field(default_factory=list)
    # "entity:xero_id" -> (fingerprint, labels) of every Xero document the period holds: what
    # lodging the period records
    xero_documents: dict[str, tuple[str, dict[str, Decimal]]] = field(default_factory=dict)

    def difference(self, label: str) -> Decimal:
        return self.xero[label] - self.ops[label]

    @property
    def reconciled(self) -> bool:
        return not self.differences and not self.warnings and not self.changed_after_lodging


def dollars(amount: Decimal) -> int:
    """Whole dollars as the ATO form takes them: cents dropped."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_DOWN))


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Mapper:
    def __init__(self, report_types: dict[str, str], labels: tuple[str, ...]) -> None:
        self.report_types = report_types
        self.labels = labels
        self.unknown: dict[str, set[str]] = {}

    def full(self, doc: Doc) -> dict[str, Decimal]:
        """The whole document's contribution to every label, before the basis."""
        out = dict.fromkeys(LABELS, ZERO)
        doc_sign = -1 if doc.credit else 1
        for line in doc.lines:
            flow = line.flow or doc.flow
            report = self.report_types.get(line.tax_type)
            found = labels_of(report, flow) if report is not None else None
            if found is None:
                self.unknown.setdefault(line.tax_type, set()).add(_name(doc))
                continue
            gross_labels, tax_label = found
            for label in gross_labels:
                out[label] += _signed(doc_sign, label, doc.flow) * (line.net + line.tax)
            if tax_label:
                out[tax_label] += _signed(doc_sign, tax_label, doc.flow) * line.tax
        return out

    def in_period(self, doc: Doc | None, period: Period, basis: Basis) -> dict[str, Decimal]:
        out = dict.fromkeys(LABELS, ZERO)
        if doc is None or doc.status not in POSTED:
            return out
        if basis == "accrual" or doc.entity in XERO_ONLY_KINDS:
            if doc.date in period and (basis == "accrual" or doc.on_cash_basis):
                out = self.full(doc)
            return out
        paid = sum((amount for day, amount in doc.payments if day in period), ZERO)
        if not paid or not doc.total:
            return out
        whole = self.full(doc)
        return {label: round2(value * paid / doc.total) for label, value in whole.items()}


def _signed(doc_sign: int, label: str, flow: Flow) -> int:
    same_side = (label in SALES_LABELS) == (flow == "sale")
    return doc_sign if same_side else -doc_sign


def _name(doc: Doc) -> str:
    noun = doc.entity.rstrip("s").replace("_", " ")
    return f"{noun} {doc.number or doc.id}"


def reconcile(pairs: Iterable[Pair], *, period: Period, basis: Basis,
              report_types: dict[str, str], simpler: bool = False,
              lodged: Lodged | None = None) -> Report:
    labels = SIMPLER_LABELS if simpler else LABELS
    mapper = _Mapper(report_types, labels)
    xero_total = dict.fromkeys(LABELS, ZERO)
    ops_total = dict.fromkeys(LABELS, ZERO)
    differences: list[Difference] = []
    xero_only: list[Difference] = []
    now_docs: dict[str, tuple[Doc, dict[str, Decimal]]] = {}
    for pair in pairs:
        x = mapper.in_period(pair.xero, period, basis)
        o = mapper.in_period(pair.ops, period, basis)
        for label in LABELS:
            xero_total[label] += x[label]
            ops_total[label] += o[label]
        if pair.xero is not None and any(x.values()):
            now_docs[f"{pair.xero.entity}:{pair.xero.id}"] = (pair.xero, x)
        changed = _lodged_change(pair.xero, lodged)
        delta = {label: (x[label], o[label]) for label in labels if x[label] != o[label]}
        if not delta:
            continue
        cause, reason = _cause(pair, x, o, period, changed)
        row = _row(pair, cause, reason, delta)
        differences.append(row)
        if pair.xero is not None and pair.xero.entity in XERO_ONLY_KINDS:
            xero_only.append(row)
    warnings = [f"tax type {tax_type} has no BAS label xsync knows (on "
                f"{', '.join(sorted(names)[:3])}{' …' if len(names) > 3 else ''}); its "
                "amounts are left out of every label: map it in Xero's tax rates"
                for tax_type, names in sorted(mapper.unknown.items())]
    changed_rows = _changed_after_lodging(lodged, now_docs, labels) if lodged else []
    differences.sort(key=lambda d: (CAUSES.index(d.cause), d.entity, d.number or "",
                                    d.xero_id or d.ops_id or ""))
    documents = {key: (doc.fingerprint, {k: v for k, v in values.items() if v})
                 for key, (doc, values) in now_docs.items()}
    return Report(period, basis, labels, {k: xero_total[k] for k in labels},
                  {k: ops_total[k] for k in labels}, differences, xero_only, changed_rows,
                  lodged, warnings, documents)


def _row(pair: Pair, cause: str, reason: str,
         delta: dict[str, tuple[Decimal, Decimal]]) -> Difference:
    main = pair.xero or pair.ops
    assert main is not None
    return Difference(cause, main.entity, main.number, main.contact,
                      pair.ops.id if pair.ops else None, pair.xero.id if pair.xero else None,
                      main.date, delta, reason)


def _lodged_change(doc: Doc | None, lodged: Lodged | None) -> bool:
    if lodged is None or doc is None:
        return False
    known = lodged.documents.get(f"{doc.entity}:{doc.id}")
    return known is not None and known[0] != doc.fingerprint


def _cause(pair: Pair, x: dict[str, Decimal], o: dict[str, Decimal], period: Period,
           changed: bool) -> tuple[str, str]:
    xd, od = pair.xero, pair.ops
    if xd is None:
        return "not-in-xero", pair.reason or "the ops document has not reached Xero"
    if od is None:
        noun = xd.entity.rstrip("s").replace("_", " ")
        if xd.entity in XERO_ONLY_KINDS:
            return "not-in-ops", f"a {noun} only Xero holds"
        return "not-in-ops", pair.reason or f"a Xero {noun} the ops store does not hold"
    if changed:
        return "changed-after-lodging", "changed in Xero after its period was lodged"
    states = (xd.status, od.status)
    if any(s in GONE for s in states) and states[0] != states[1]:
        return "status", f"{xd.status} in Xero, {od.status} in ops"
    if any(s in UNPOSTED for s in states) and states[0] != states[1]:
        return "not-posted", f"{xd.status} in Xero, {od.status} in ops (drafts do not post)"
    if (xd.date in period) != (od.date in period) and xd.date != od.date:
        return "date", f"dated {_day(xd.date)} in Xero, {_day(od.date)} in ops"
    if _tax_types(xd) != _tax_types(od):
        return "tax-type", (f"tax types {', '.join(sorted(_tax_types(xd)))} in Xero, "
                            f"{', '.join(sorted(_tax_types(od)))} in ops")
    if _rounding(xd, od, x, o):
        return "rounding", "GST rounded per document in ops, per line in Xero"
    return "amount", (f"total {xd.total} in Xero, {od.total} in ops" if xd.total != od.total
                      else "the amounts differ")


def _day(day: date | None) -> str:
    return day.isoformat() if day else "undated"


def _tax_types(doc: Doc) -> frozenset[str]:
    return frozenset(line.tax_type for line in doc.lines if line.net or line.tax)


def _rounding(xd: Doc, od: Doc, x: dict[str, Decimal], o: dict[str, Decimal]) -> bool:
    """Same amounts before GST, GST a few cents apart: one side rounded per document."""
    if sum((ln.net for ln in xd.lines), ZERO) != sum((ln.net for ln in od.lines), ZERO):
        return False
    slack = CENT * max(len(xd.lines), len(od.lines), 1)
    return all(abs(x[k] - o[k]) <= slack for k in LABELS)


def _changed_after_lodging(lodged: Lodged, now: dict[str, tuple[Doc, dict[str, Decimal]]],
                           labels: Sequence[str]) -> list[Difference]:
    """Xero documents entered, voided or edited into the lodged period since: per label, what
    was lodged and what Xero holds now (``labels``: (now, lodged))."""
    out = []
    for key in sorted(set(lodged.documents) | set(now)):
        before = lodged.documents.get(key)
        current = now.get(key)
        if before and current and before[0] == current[0].fingerprint:
            continue
        then = before[1] if before else {}
        values = current[1] if current else {}
        delta = {label: (values.get(label, ZERO), then.get(label, ZERO)) for label in labels
                 if values.get(label, ZERO) != then.get(label, ZERO)}
        if not delta and before and current:
            continue
        entity, _, xero_id = key.partition(":")
        doc = current[0] if current else None
        how = ("entered into the period" if before is None else
               "voided, deleted or moved out of the period" if current is None else "edited")
        out.append(Difference("changed-after-lodging", entity, doc.number if doc else None,
                              doc.contact if doc else None, None, xero_id,
                              doc.date if doc else None, delta, f"{how} after lodging"))
    return out
