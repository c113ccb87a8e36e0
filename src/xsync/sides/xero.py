"""The Xero side: reads changes with If-Modified-Since and paging, writes in batches.

Invariants:
- a scan's cursor is the highest ``UpdatedDateUTC`` actually received (ISO UTC); the next scan
  asks from a little before it (the overlap), and the engine recognises what it has already seen;
- invoices and bills are one endpoint told apart by ``Type``; only sales payments and sales
  credit notes are read (the ops store holds no bill payments);
- every write carries an idempotency key derived from the engine's outbox rows, so a retried
  batch is the same request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from xsync.model.records import Record
from xsync.model.side import Change, ChangeResult, ScanResult
from xsync.sides.xero_map import ENDPOINTS, element_for_change, record_from_xero
from xsync.xero.client import XeroClient
from xsync.xero.xjson import parse_datetime, to_utc

PAGED = {"contacts", "invoices", "bills", "payments", "credit_notes"}
WRITABLE = {"contacts", "invoices", "bills"}
CONTACT_KEYS = {"name": "Name", "email": "EmailAddress", "abn": "TaxNumber"}
WHERE_CHUNK = 10


def _quote(value: str) -> str:
    """A value inside a Xero `where` string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


class XeroSide:
    """The engine's view of one Xero organisation, through a :class:`XeroClient`."""

    name = "xero"

    def __init__(self, client: XeroClient, *, overlap_seconds: int = 5) -> None:
        self.client = client
        self.overlap = timedelta(seconds=overlap_seconds)

    # -- reading -------------------------------------------------------------------------------

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        newest = parse_datetime(cursor) if cursor else None
        since = newest - self.overlap if newest else None
        records: list[Record] = []
        rejected: list[tuple[str, str]] = []
        for element in self._elements(entity, since):
            if not self._wanted(entity, element):
                continue
            try:
                record = record_from_xero(entity, element)
            except (ValueError, KeyError, TypeError) as exc:
                rejected.append((str(element.get(ENDPOINTS[entity][1], "?")), str(exc)))
                continue
            records.append(record)
            if record.updated_at and (newest is None or record.updated_at > newest):
                newest = record.updated_at
        new_cursor = to_utc(newest).isoformat() if newest else cursor
        return ScanResult(records=records, cursor=new_cursor, complete=since is None,
                          rejected=rejected)

    def _elements(self, entity: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        endpoint, _, kind = ENDPOINTS[entity]
        params: dict[str, str] = {}
        if entity == "contacts":
            params["includeArchived"] = "true"
        if entity in ("invoices", "bills"):
            params["where"] = f'Type=="{kind}"'
        if entity in PAGED:
            for page in self.client.iter_pages(endpoint, modified_since=since, params=params):
                yield from page
            return
        # Accounts take If-Modified-Since; TaxRates do not, and are always read whole.
        envelope = self.client.get(endpoint, params=params or None,
                                   modified_since=since if entity == "accounts" else None)
        yield from envelope.get(endpoint) or []

    @staticmethod
    def _wanted(entity: str, element: dict[str, Any]) -> bool:
        if entity == "payments":
            return element.get("PaymentType", "ACCRECPAYMENT") == "ACCRECPAYMENT"
        kind = ENDPOINTS[entity][2]
        return kind is None or element.get("Type", kind) == kind

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        if not ids:
            return []
        endpoint = ENDPOINTS[entity][0]
        if entity in ("accounts", "tax_rates"):
            wanted = set(ids)
            return [r for r in self.scan(entity, None).records if r.id in wanted]
        out = []
        for element in self.client.get_by_ids(endpoint, list(ids)):
            if self._wanted(entity, element):
                out.append(record_from_xero(entity, element))
        return out

    def find(self, entity: str, field: str, values: Sequence[str]) -> list[Record]:
        """Records whose business key ``field`` is one of ``values``, asked of Xero directly.

        Used before creating anything (no duplicates) and to learn whether a create whose reply
        was lost reached Xero: invoice numbers go 50 to a request, contact keys 10 to a `where`.
        The engine filters the answer again.
        """
        wanted = [v for v in dict.fromkeys(values) if v]
        if not wanted:
            return []
        found: list[dict[str, Any]] = []
        if entity in ("invoices", "bills") and field == "number":
            found = self.client.get_by_ids("Invoices", wanted, param="InvoiceNumbers")
        elif entity == "contacts" and field in CONTACT_KEYS:
            for start in range(0, len(wanted), WHERE_CHUNK):
                clause = " OR ".join(f'{CONTACT_KEYS[field]}=="{_quote(v)}"'
                                     for v in wanted[start:start + WHERE_CHUNK])
                found += self.client.iter_all(
                    "Contacts", params={"where": clause, "includeArchived": "true"})
        return [record_from_xero(entity, el) for el in found if self._wanted(entity, el)]

    # -- writing -------------------------------------------------------------------------------

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        if entity not in WRITABLE:
            return [ChangeResult(key=c.key, ok=False, id=c.id,
                                 errors=[f"xsync does not write {entity} to Xero"])
                    for c in changes]
        if not changes:
            return []
        endpoint = ENDPOINTS[entity][0]
        elements = [element_for_change(entity, c) for c in changes]
        results = self.client.write_batch(
            endpoint, "POST", elements, keys=[c.key for c in changes],
            idempotency_key=batch_key(changes),
        )
        return [self._result(entity, change, res) for change, res in zip(changes, results,
                                                                         strict=True)]

    @staticmethod
    def _result(entity: str, change: Change, res: Any) -> ChangeResult:
        if not res.ok:
            return ChangeResult(key=change.key, ok=False, id=change.id or res.xero_id,
                                errors=list(res.messages) or ["Xero refused the record"])
        record = None
        if res.element:
            try:
                record = record_from_xero(entity, res.element)
            except (ValueError, KeyError, TypeError):
                record = None
        return ChangeResult(key=change.key, ok=True, id=res.xero_id or change.id,
                            record=record)


def batch_key(changes: Sequence[Change]) -> str:
    """One idempotency key for a batch, derived from the changes' own (outbox) keys."""
    parts = [c.idempotency_key or c.key for c in changes]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return f"xsync-{digest}"
