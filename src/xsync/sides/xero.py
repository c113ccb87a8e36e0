"""The Xero side: reads changes with If-Modified-Since and paging, writes in batches.

Invariants:
- a scan's cursor is the highest ``UpdatedDateUTC`` actually received (ISO UTC); the next scan
  asks from a little before it (the overlap), and the engine recognises what it has already seen;
  once Xero's own clock is well past that stamp (``SETTLED``), no write can still land at or
  before it, so the cursor is marked settled and the next scan asks from the second after it:
  records sharing one stamp are not read again and again;
- invoices and bills are one endpoint told apart by ``Type``; payments on invoices and on bills
  are read (``PaymentType`` ACCRECPAYMENT and ACCPAYPAYMENT), sales credit notes, and their
  cash refunds (ARCREDITPAYMENT); a customer's overpayments and prepayments are one entity
  (``credits``) read from two endpoints, their refunds payments too; the allocations of sales
  credit notes and of credits are records of their own, read whole (Xero drops a removed one
  from its list), but only when something could have changed them: an allocation made or taken
  back changes its credit note or credit and its invoice, so when this side's latest scans of
  invoices, credit notes and credits since the last read of allocations all found nothing
  changed (nothing listed, or only records the engine found as it last saw them: its own writes
  read back), the allocations are unchanged too and are not read (``ALLOCATION_TRIGGERS``);
- Xero lists payments by no ``IDs``: they are fetched by a ``where`` on their PaymentIDs;
- every write carries an idempotency key derived from the engine's outbox rows, so a retried
  batch is the same request;
- a deposit the ops platform records is created as a prepayment (``PUT /BankTransactions`` of
  Type RECEIVE-PREPAYMENT; its id is the prepayment's), and an allocation of it to an invoice by
  ``PUT /Prepayments/{id}/Allocations``: creates only, never an update;
- documents are read and written with ``unitdp=4``, so a unit price of 4 decimals arrives as
  written, both ways;
- one change that cannot become a Xero element fails alone: the batch is built from the others;
- a line's tracking (``job``, ``site``) is read from and written to the tracking categories the
  workspace maps them to; an option Xero lacks is created first where allowed, else the
  document is refused with the reason (see :mod:`xsync.sides.xero_tracking`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from xsync.errors import ConfigError, XeroValidationError
from xsync.model.entities import DROPPED_WHEN_REMOVED
from xsync.model.records import Fields, Record
from xsync.model.side import Change, ChangeResult, ScanResult
from xsync.sides.xero_map import (
    ALLOCATION_SOURCES,
    CREDIT_ENDPOINT_OF,
    CREDIT_ENDPOINTS,
    ENDPOINTS,
    NO_TRACKING,
    PAYMENT_TYPES,
    Tracking,
    allocation_elements,
    allocation_reply,
    element_for_change,
    record_from_xero,
)
from xsync.sides.xero_tracking import TrackingOptions
from xsync.xero.client import XeroClient
from xsync.xero.xjson import parse_datetime, to_utc

PAGED = {"contacts", "invoices", "bills", "payments", "credit_notes", "credits"}
WRITABLE = {"contacts", "invoices", "bills"}
# written by creates only: a deposit becomes a prepayment, and one of its allocations is made
CREATED_ONLY = {"credits", "allocations"}
# documents whose unit prices Xero rounds to 2 places unless asked for 4
UNITDP = {"invoices", "bills", "credit_notes", "credits"}
CONTACT_KEYS = {"name": "Name", "email": "EmailAddress", "abn": "TaxNumber"}
WHERE_CHUNK = 10
# the business keys a scan keeps of a record it cannot map (see ``ScanResult.rejected_keys``)
KEYS_KEPT = {"invoices": ("number",), "bills": ("number",), "contacts": tuple(CONTACT_KEYS)}
# entities read whole when read at all (Xero lists a removed one no more)
ALWAYS_WHOLE = tuple(sorted(DROPPED_WHEN_REMOVED))
# endpoints Xero does not filter by an IDs list
NO_ID_LIST = {"payments", "credits"}
# what an allocation made or taken back in Xero changes (and so stamps as modified): while
# incremental scans of all three find nothing, no allocation can have changed either
ALLOCATION_TRIGGERS = ("invoices", "credit_notes", "credits")
# the allocations' cursor once they were read whole: they are known as of then
READ_WHOLE = "read-whole"
# entities a run may read in rounds (``read_in_rounds``): those on one endpoint that orders by
# change time (credits come from two endpoints, allocations are read whole)
IN_ROUNDS = frozenset({"contacts", "invoices", "bills", "payments", "credit_notes"})


def _quote(value: str) -> str:
    """A value inside a Xero `where` string literal: a double quote is doubled, a backslash is
    taken as it is (Xero's query language has no backslash escapes)."""
    return value.replace('"', '""')


def _equals(name: str, value: str, any_case: bool) -> str:
    """A `where` test of one field. Xero compares strings case-sensitively, and a method on an
    empty field is an error there, so a case-blind test lowers both and skips empty fields."""
    if not any_case:
        return f'{name}=="{_quote(value)}"'
    return f'({name}!=null AND {name}.ToLower()=="{_quote(value.lower())}")'


# how long after a stamp no write can still land at or before it (far above Xero's commit lag)
SETTLED = timedelta(seconds=60)
SETTLED_MARK = "|settled"


def reads_per_scan(entity: str) -> int:
    """The calls an incremental scan of ``entity`` costs when nothing changed: one page of each
    endpoint it reads (credits are two endpoints; allocations none, as nothing that could change
    them changed)."""
    if entity == "credits":
        return len(CREDIT_ENDPOINTS)
    if entity in ALWAYS_WHOLE:
        return 0
    return 1


class XeroSide:
    """The engine's view of one Xero organisation, through a :class:`XeroClient`."""

    name = "xero"

    def __init__(self, client: XeroClient, *, overlap_seconds: int = 5,
                 tracking: Tracking = NO_TRACKING) -> None:
        self.client = client
        self.overlap = timedelta(seconds=overlap_seconds)
        self.tracking = tracking
        # entity of ALLOCATION_TRIGGERS -> whether its latest scan since the last read of the
        # allocations listed nothing
        self._quiet: dict[str, bool] = {}
        # of a read in rounds: whether the entity's last scan said more follows, and what the
        # rounds before the latest one found (quiet only if every round of the read was)
        self._rounds_on: dict[str, bool] = {}
        self._quiet_before: dict[str, bool] = {}
        # records per round of a large entity's read, while a run reads in rounds
        self._round: int | None = None
        # entity -> (id, reason) of the records a fetch read but could not map, until the
        # engine asks (``unreadable``): left out of a fetch, a record must not read as gone
        self._unreadable: dict[str, list[tuple[str, str]]] = {}

    # -- reading -------------------------------------------------------------------------------

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        if entity in ALWAYS_WHOLE:
            quiet = cursor == READ_WHOLE and all(self._quiet.get(e)
                                                 for e in ALLOCATION_TRIGGERS)
            self._quiet.clear()
            self._quiet_before.clear()
            if quiet:
                return ScanResult(records=[], cursor=READ_WHOLE, complete=False)
            result = self._scan(entity, None)
            result.cursor = READ_WHOLE
            return result
        result = self._scan(entity, cursor)
        if entity in ALLOCATION_TRIGGERS:
            # a later round of a read in rounds: what its earlier rounds found stands with it
            earlier = self._quiet.get(entity, True) if self._rounds_on.get(entity) else True
            self._rounds_on[entity] = result.more
            self._quiet_before[entity] = earlier
            # nothing listed, from a cursor or at all (nothing there): nothing changed
            self._quiet[entity] = earlier and not result.records and not result.rejected
        return result

    def unchanged(self, entity: str) -> None:
        """Every record the latest scan of ``entity`` listed is as the engine last saw it (its
        own writes read back): for the allocations, as good as a scan that listed nothing."""
        if entity in ALLOCATION_TRIGGERS:
            # as quiet as the rounds before it of the same read, if it is a later round
            self._quiet[entity] = self._quiet_before.get(entity, True)

    def _scan(self, entity: str, cursor: str | None) -> ScanResult:
        settled = bool(cursor and cursor.endswith(SETTLED_MARK))
        stamp = cursor.removesuffix(SETTLED_MARK) if cursor else None
        newest = parse_datetime(stamp) if stamp else None
        since = None
        if newest is not None:
            since = newest + timedelta(seconds=1) if settled else newest - self.overlap
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        keys: dict[str, Fields] = {}
        if entity in ("invoices", "bills") and self.tracking.categories:
            self._check_categories()
        rounds = self._round if entity in IN_ROUNDS else None
        oldest: datetime | None = None
        more = False
        for page in self._pages(entity, since, ordered=rounds is not None):
            for element in page:
                if not self._wanted(entity, element):
                    continue
                record = self._read(entity, element, rejected)
                if record is None:
                    keys[rejected[-1][0]] = {f: _found_by(entity, f, element)
                                             for f in KEYS_KEPT.get(entity, ())}
                    continue
                records.append(record)
                changed = record.updated_at
                if changed and (newest is None or changed > newest):
                    newest = changed
                if changed and (oldest is None or changed < oldest):
                    oldest = changed
            if rounds is not None and len(records) + len(rejected) >= rounds \
                    and self._moves_on(since or oldest, newest):
                more = True
                break
            # its records are read: the page goes before the next is decoded
            del page
        new_cursor = cursor
        if newest is not None:
            new_cursor = to_utc(newest).isoformat()
            server = self.client.server_time
            if not more and server is not None and server - newest > SETTLED:
                new_cursor += SETTLED_MARK
        return ScanResult(records=records, cursor=new_cursor, complete=since is None and not more,
                          rejected=rejected, rejected_keys=keys, more=more)

    def read_in_rounds(self, records: int | None) -> None:
        """Read the entities of :data:`IN_ROUNDS` in rounds of about ``records`` (``None``: whole):
        the scan stops at the first page boundary past that many, oldest change first, with
        ``more`` set; the next scan goes on from the newest change time read, less the
        overlap."""
        self._round = records

    def _moves_on(self, floor: datetime | None, newest: datetime | None) -> bool:
        """Whether a round ending at ``newest`` leaves a cursor past ``floor`` (where this round
        began): the next round, asking from ``newest`` less the overlap, then reads on rather
        than the same records again (many records sharing a few seconds are read as one)."""
        return floor is not None and newest is not None and newest - self.overlap > floor

    def _check_categories(self) -> None:
        """A mapped tracking category Xero no longer has (renamed, removed) would read as every
        line's tracking cleared there: the read fails instead, naming the mapping to fix."""
        envelope = self.client.get("TrackingCategories", params={"includeArchived": "true"})
        names = {str(c.get("Name") or "").strip().casefold()
                 for c in envelope.get("TrackingCategories") or []}
        for column, category in self.tracking.categories.items():
            if category.casefold() not in names:
                raise ConfigError(
                    f"[mappings.tracking] {column} = {category!r}, but Xero has no tracking "
                    f"category {category!r} (renamed or removed there?): name one it has, or "
                    f"remove the mapping; lines were not read, so none was changed",
                    path="xsync.toml")

    def _pages(self, entity: str, since: datetime | None,
               ordered: bool = False) -> Iterator[list[dict[str, Any]]]:
        """The entity's elements, page by page (``ordered``: oldest change first)."""
        endpoint, _, kind = ENDPOINTS[entity]
        params = self._params(entity)
        if entity in ("invoices", "bills"):
            params["where"] = f'Type=="{kind}"'
        if ordered:
            params["order"] = "UpdatedDateUTC ASC"
        if entity == "allocations":
            yield list(self._allocation_elements())
            return
        if entity == "credits":
            # a customer's overpayments and prepayments: two endpoints, one entity
            for credit_endpoint, (_, _, typ) in CREDIT_ENDPOINTS.items():
                yield from self.client.iter_pages(credit_endpoint, modified_since=since,
                                                  params={**params, "where": f'Type=="{typ}"'})
            return
        if entity in PAGED:
            yield from self.client.iter_pages(endpoint, modified_since=since, params=params)
            return
        # Accounts take If-Modified-Since; TaxRates do not, and are always read whole.
        envelope = self.client.get(endpoint, params=params or None,
                                   modified_since=since if entity == "accounts" else None)
        yield list(envelope.get(endpoint) or [])

    def _allocation_elements(self) -> Iterator[dict[str, Any]]:
        """Every allocation of sales credit notes and of customers' credits, read whole: an
        allocation removed in Xero is then positively gone, not merely unlisted. Only what has
        credit applied can hold one (AppliedAmount counts every allocation), so nothing else is
        asked for."""
        for endpoint, (_, _, typ) in ALLOCATION_SOURCES.items():
            where = f'Type=="{typ}" AND AppliedAmount>0'
            for page in self.client.iter_pages(endpoint, params={"where": where}):
                for parent in page:
                    yield from allocation_elements(endpoint, parent)

    @staticmethod
    def _params(entity: str) -> dict[str, str]:
        params: dict[str, str] = {}
        if entity == "contacts":
            params["includeArchived"] = "true"
        if entity in UNITDP:
            params["unitdp"] = "4"
        return params

    @staticmethod
    def _wanted(entity: str, element: dict[str, Any]) -> bool:
        if entity == "payments":
            return element.get("PaymentType", "ACCRECPAYMENT") in PAYMENT_TYPES
        if entity == "credits":
            return str(element.get("Type") or "").startswith("RECEIVE-")
        kind = ENDPOINTS[entity][2]
        return kind is None or element.get("Type", kind) == kind

    def _read(self, entity: str, element: dict[str, Any],
              rejected: list[tuple[str, str]]) -> Record | None:
        """An element as a record; ``None``, with (id, reason) added to ``rejected``, where a
        value cannot be mapped."""
        try:
            return record_from_xero(entity, element, self.tracking)
        except ValueError as exc:
            # the message names the record, the field and the value
            rejected.append((_element_id(entity, element) or "?", str(exc)))
        except TypeError as exc:
            # a value of a shape no Xero field has (a list where text belongs)
            rid = _element_id(entity, element) or "?"
            rejected.append((rid, f"Xero {entity.rstrip('s').replace('_', ' ')} {rid}: "
                                  f"a value of an unexpected shape ({exc}); the record "
                                  "was not read, and nothing of it was changed"))
        return None

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """The records with these ids; one that cannot be mapped is left out and named by
        :meth:`unreadable`, never raised for the whole fetch."""
        if not ids:
            return []
        endpoint = ENDPOINTS[entity][0]
        wanted = set(ids)
        rejected: list[tuple[str, str]] = []
        if entity in ("accounts", "tax_rates", *ALWAYS_WHOLE):
            scan = self._scan(entity, None)
            rejected = [r for r in scan.rejected if r[0] in wanted]
            found = [r for r in scan.records if r.id in wanted]
        else:
            if entity in NO_ID_LIST:
                elements = self._where_ids(entity, list(ids))
            else:
                elements = self.client.get_by_ids(endpoint, list(ids),
                                                  params=self._params(entity) or None)
            found = [record for element in elements
                     if self._wanted(entity, element) and _element_id(entity, element) in wanted
                     and (record := self._read(entity, element, rejected)) is not None]
        if rejected:
            self._unreadable.setdefault(entity, []).extend(rejected)
        return found

    def unreadable(self, entity: str) -> list[tuple[str, str]]:
        """(id, reason) of the records of ``entity`` fetches left out since last asked."""
        return self._unreadable.pop(entity, [])

    def _where_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        """Records of an endpoint without an ``IDs`` filter, by a ``where`` on their ids, a
        few to a request (the URL stays short)."""
        endpoint, id_field, _ = ENDPOINTS[entity]
        places = [(endpoint, id_field)]
        if entity == "credits":
            # an id alone does not say which of the two endpoints holds it
            places = [(e, field) for e, (field, _, _) in CREDIT_ENDPOINTS.items()]
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(ids))
        for place, field in places:
            for start in range(0, len(unique), WHERE_CHUNK):
                clause = " OR ".join(f'{field}==Guid("{_quote(i)}")'
                                     for i in unique[start:start + WHERE_CHUNK])
                found += self.client.iter_all(place, params={**self._params(entity),
                                                             "where": clause})
        return found

    def find(self, entity: str, field: str, values: Sequence[str]) -> list[Record]:
        """Records whose business key ``field`` is one of ``values``, asked of Xero directly.

        Used before creating anything (no duplicates) and to learn whether a create whose reply
        was lost reached Xero: invoice numbers go 50 to a request, contact keys 10 to a `where`.
        The engine filters the answer again. A record found that cannot be mapped comes back
        holding only the value it was found by, and is named by :meth:`unreadable`: the engine
        then knows it is there, and creates nothing beside it, without reading it.
        """
        wanted = [v for v in dict.fromkeys(values) if v]
        if not wanted:
            return []
        found: list[dict[str, Any]] = []
        if entity in ("invoices", "bills") and field == "number":
            found = self.client.get_by_ids("Invoices", wanted, param="InvoiceNumbers",
                                           params=self._params(entity))
        elif entity == "payments" and field in ("invoice_id", "bill_id"):
            for start in range(0, len(wanted), WHERE_CHUNK):
                clause = " OR ".join(f'Invoice.InvoiceID==Guid("{_quote(v)}")'
                                     for v in wanted[start:start + WHERE_CHUNK])
                found += self.client.iter_all("Payments", params={"where": clause})
        elif entity == "contacts" and field in CONTACT_KEYS:
            for start in range(0, len(wanted), WHERE_CHUNK):
                clause = " OR ".join(_equals(CONTACT_KEYS[field], v, field != "abn")
                                     for v in wanted[start:start + WHERE_CHUNK])
                found += self.client.iter_all(
                    "Contacts", params={"where": clause, "includeArchived": "true"})
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        for element in found:
            if not self._wanted(entity, element):
                continue
            record = self._read(entity, element, rejected)
            if record is None:
                value = _found_by(entity, field, element)
                record = Record(entity, rejected[-1][0], {field: value}, [], None)
            records.append(record)
        if rejected:
            self._unreadable.setdefault(entity, []).extend(rejected)
        return records

    # -- writing -------------------------------------------------------------------------------

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        if entity in CREATED_ONLY and changes:
            return self._create_only(entity, changes)
        if entity not in WRITABLE:
            return [ChangeResult(key=c.key, ok=False, id=c.id,
                                 errors=[f"xsync does not write {entity} to Xero"])
                    for c in changes]
        if not changes:
            return []
        endpoint = ENDPOINTS[entity][0]
        out: dict[str, ChangeResult] = {}
        ready: list[tuple[Change, dict[str, Any]]] = []
        for change in changes:
            try:
                ready.append((change, element_for_change(entity, change, self.tracking)))
            except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                out[change.key] = ChangeResult(key=change.key, ok=False, id=change.id,
                                               errors=[unmappable(entity, change, exc)])
        if ready and self.tracking.categories and entity in ("invoices", "bills"):
            refused = TrackingOptions(self.client, self.tracking).prepare(
                [c for c, _ in ready])
            for change, _ in ready:
                if change.key in refused:
                    out[change.key] = ChangeResult(key=change.key, ok=False, id=change.id,
                                                   errors=[refused[change.key]])
            ready = [(c, e) for c, e in ready if c.key not in refused]
        if ready:
            sent = [c for c, _ in ready]
            try:
                results = self.client.write_batch(
                    endpoint, "POST", [e for _, e in ready], keys=[c.key for c in sent],
                    idempotency_key=batch_key(sent), params=self._params(entity) or None,
                )
            except XeroValidationError as exc:
                out.update(_refused_whole(sent, exc))
            else:
                for change, res in zip(sent, results, strict=True):
                    out[change.key] = self._result(entity, change, res)
        return [out[c.key] for c in changes]

    def _create_only(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        """Deposits (as prepayments) and their allocations: each change a create, PUT (which
        never updates), one request per credit for allocations (the URL names the credit)."""
        out: dict[str, ChangeResult] = {}
        groups: dict[str, list[tuple[Change, dict[str, Any]]]] = {}
        for change in changes:
            noun = "deposit" if entity == "credits" else "allocation"
            if change.action != "create":
                out[change.key] = ChangeResult(key=change.key, ok=False, id=change.id, errors=[
                    f"{noun} {change.id}: xsync only creates {entity} in Xero, it never "
                    f"changes one there ({change.action} not sent)"])
                continue
            try:
                element = element_for_change(entity, change, self.tracking)
                path = "BankTransactions"
                if entity == "allocations":
                    endpoint = CREDIT_ENDPOINT_OF[str(change.fields.get("kind"))]
                    path = f"{endpoint}/{change.fields['credit_id']}/Allocations"
            except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                out[change.key] = ChangeResult(key=change.key, ok=False, id=change.id,
                                               errors=[unmappable(entity, change, exc)])
                continue
            groups.setdefault(path, []).append((change, element))
        for path, ready in groups.items():
            sent = [c for c, _ in ready]
            try:
                results = self.client.write_batch(
                    path, "PUT", [e for _, e in ready], keys=[c.key for c in sent],
                    idempotency_key=batch_key(sent))
            except XeroValidationError as exc:
                out.update(_refused_whole(sent, exc))
                continue
            for change, res in zip(sent, results, strict=True):
                out[change.key] = self._created(entity, change, res)
        return [out[c.key] for c in changes]

    def _created(self, entity: str, change: Change, res: Any) -> ChangeResult:
        if not res.ok:
            refused = self._result(entity, change, res)
            refused.errors = [_with_fix(m) for m in refused.errors]
            return refused
        if entity == "credits":
            # the bank transaction is how a prepayment is made; the credit is the prepayment
            prepayment = res.element.get("PrepaymentID")
            if not prepayment:
                return ChangeResult(key=change.key, ok=False, id=None, errors=[
                    f"Xero made bank transaction {res.xero_id} but named no prepayment for "
                    "it; nothing was linked (look at it in Xero before syncing again)"])
            return ChangeResult(key=change.key, ok=True, id=str(prepayment))
        kind = str(change.fields.get("kind"))
        element = allocation_reply(kind, str(change.fields.get("credit_id")), res.element)
        try:
            record = record_from_xero(entity, element, self.tracking)
        except (ValueError, KeyError, TypeError):
            record = None
        return ChangeResult(key=change.key, ok=True, id=res.xero_id, record=record)

    def _result(self, entity: str, change: Change, res: Any) -> ChangeResult:
        if not res.ok:
            return ChangeResult(key=change.key, ok=False, id=change.id or res.xero_id,
                                errors=[f"Xero refused it: {m}" for m in res.messages]
                                or ["Xero refused it without saying why"])
        record = None
        if res.element:
            try:
                record = record_from_xero(entity, res.element, self.tracking)
            except (ValueError, KeyError, TypeError):
                record = None
        return ChangeResult(key=change.key, ok=True, id=res.xero_id or change.id,
                            record=record)


# what to do about Xero's refusals of a deposit or of an allocation, by a phrase of its message
FIXES = (
    ("exceeds the amount due", "lower the allocation's amount to at most what the invoice "
                               "owes in Xero (its amount_due)"),
    ("exceeds the remaining credit", "lower the allocation's amount to at most what is left of "
                                     "the deposit (its remaining)"),
    ("not of valid status", "the invoice must be approved in Xero before a deposit is applied"),
    ("same contact", "a deposit is applied only to an invoice of the same customer"),
    ("active bank account", "set bank_account to the code of one of Xero's bank accounts"),
    ("not a valid code", "set account_code to an active, non-bank account code of Xero"),
    ("lock date", "date it after the lock date, or the accountant moves the lock in Xero"),
)


def _with_fix(message: str) -> str:
    for phrase, fix in FIXES:
        if phrase in message:
            return f"{message.rstrip('. ')}: {fix}"
    return message


def _refused_whole(sent: Sequence[Change], exc: XeroValidationError) -> dict[str, ChangeResult]:
    """A batch refused as a whole: each element keeps its own message where Xero gave one."""
    named = {e.record_id: e.messages for e in exc.elements if e.record_id}
    out: dict[str, ChangeResult] = {}
    for change in sent:
        messages = named.get(change.key) or [str(exc)]
        out[change.key] = ChangeResult(key=change.key, ok=False, id=change.id,
                                       errors=[f"Xero refused it: {m}" for m in messages])
    return out


def _element_id(entity: str, element: dict[str, Any]) -> str | None:
    """The Xero id of an element read for ``entity`` (a credit's is its overpayment's or its
    prepayment's)."""
    if entity == "credits":
        found = element.get("OverpaymentID") or element.get("PrepaymentID")
    else:
        found = element.get(ENDPOINTS[entity][1])
    return None if found is None else str(found)


def _content_digest(change: Change) -> str:
    lines = None if change.lines is None else [[ln.id, ln.fields] for ln in change.lines]
    text = json.dumps([change.action, change.id, change.fields, lines], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def unmappable(entity: str, change: Change, exc: Exception) -> str:
    """Why a change could not become a Xero element, naming the field and its value."""
    for name, value in change.fields.items():
        if isinstance(exc, KeyError) and exc.args and exc.args[0] == value:
            return f"{name} {value!r} has no Xero equivalent, so it was not sent"
    noun = entity.rstrip("s")
    return f"{noun} {change.id or change.key} could not be turned into a Xero {noun} ({exc})"


def _found_by(entity: str, field: str, element: dict[str, Any]) -> str | None:
    """The value of the business key ``field`` an element found by it holds, read from the
    element as Xero sent it (for a record that cannot be mapped)."""
    if field == "number":
        value = element.get("InvoiceNumber")
    elif field in ("invoice_id", "bill_id"):
        invoice = element.get("Invoice")
        value = invoice.get("InvoiceID") if isinstance(invoice, dict) else None
    else:
        value = element.get(CONTACT_KEYS.get(field, ""))
    return value if isinstance(value, str) else None


def batch_key(changes: Sequence[Change]) -> str:
    """One idempotency key for a batch, derived from the changes' own (outbox) keys; a change
    without one (a caller other than the engine) is keyed by its content, so two different
    writes never share a key."""
    parts = [c.idempotency_key or f"{c.key}:{_content_digest(c)}" for c in changes]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return f"xsync-{digest}"
