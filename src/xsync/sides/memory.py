"""A real side kept in dicts: the engine's test bed, usable as the ops side or as Xero.

It follows the :class:`~xsync.model.side.Side` protocol exactly, plus ``find``. As "xero" it
behaves where the engine can tell: scans are incremental from a cursor (absence means
unchanged), paid/voided/deleted documents refuse edits, deletes and voids are status changes,
and a change carrying an idempotency key it has seen gets the same answer again without being
applied twice. Tests drive it with a settable clock, direct edits that bypass the engine, and
failure hooks: fail the next write of an id, or crash (raise :class:`SimulatedCrash`) before,
in the middle of, or after applying a batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from xsync.model.entities import ENTITY_ORDER, spec
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change, ChangeResult, ScanResult

DOCUMENTS = ("invoices", "bills")
LOCKED = ("paid", "void", "deleted")


class SimulatedCrash(BaseException):
    """The process died here. A BaseException, so that no ``except Exception`` swallows it."""


class MemoryStore:
    """A dict-backed side. ``path`` is accepted (and ignored) so it can stand in as an ops store
    plugin; ``incremental`` defaults to True for the side named "xero"."""

    def __init__(self, path: object = None, *, name: str = "ops",
                 clock: Callable[[], datetime] | None = None,
                 incremental: bool | None = None, overlap: int = 0,
                 categories: dict[str, str] | None = None) -> None:
        self.name = name
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
        since = int(cursor) - self.overlap if (cursor and self.incremental) else None
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
