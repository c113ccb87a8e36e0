"""The one small protocol through which the engine sees each side.

Glossary:
- side: "ops" (the operations store) or "xero".
- id: a side's own key of a record (ops text id, Xero GUID); ``ops_id``/``xero_id`` when both meet.
- cursor: opaque text a side returns from ``scan`` and gets back next time (Xero: the highest
  ``UpdatedDateUTC`` received, ISO UTC; ops: whatever the store finds cheapest).
- complete: a scan that lists every record of the entity, so a record absent from it is gone.
  Incremental scans (Xero's If-Modified-Since, the ops store's ``updated_at``) are not complete:
  absence means "unchanged". An incremental scan may still give ``ids``, every id the side
  holds, so that a record gone from it is known to be gone.
- change: one write the engine asks a side to make; ``key`` ties its result back to the plan.
- base: the last synced values of a record, kept by the engine, never by a side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from xsync.model.records import Fields, Line, Record

Action = Literal["create", "update", "delete", "void"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """An aware time as microseconds since 1970, UTC: how change times are compared (the unit
    of :class:`SupportsChangedScan`'s ``known``)."""
    return (moment - _EPOCH) // _MICROSECOND


class FingerprintDigest:
    """The digest of a fingerprint text (see :class:`SupportsChangedScan`), fed a part at a
    time, so that neither side ever holds the text of a large table whole: the parts are what
    SQLite's ``group_concat(x, ',')`` gives of consecutive slices of the rows (``None`` for a
    slice with no text), and the digest is that of the whole text they join into."""

    __slots__ = ("_digest", "_empty")

    def __init__(self) -> None:
        self._digest = hashlib.blake2b(digest_size=16)
        self._empty = True

    def add(self, part: str | None) -> None:
        if part is None:
            return
        if not self._empty:
            self._digest.update(b",")
        self._digest.update(part.encode("utf-8", "surrogatepass"))
        self._empty = False

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def fingerprint_of(times: Iterable[tuple[str, int]]) -> str:
    """The digest of the fingerprint of these ids and change times, in the order given."""
    digest = FingerprintDigest()
    for row_id, moment in times:
        digest.add(f"{len(row_id)}:{row_id}:{moment}")
    return digest.hexdigest()


@dataclass(slots=True)
class ScanResult:
    records: list[Record]
    cursor: str | None
    complete: bool
    # records the side could not turn into canonical form: (id, reason); reported, never dropped
    rejected: list[tuple[str, str]] = field(default_factory=list)
    # of a rejected record, the business keys the side could still read (an invoice's number,
    # a contact's name): the engine creates nothing beside it that could be its twin
    rejected_keys: dict[str, Fields] = field(default_factory=dict)
    # ids of lines the side lists under no readable record (their record is missing): the
    # record a line belonged to before is unknown too, not one line shorter
    rejected_lines: list[str] = field(default_factory=list)
    # an incremental scan's list of every id the side holds now (None: not given)
    ids: set[str] | None = None
    # the side stopped at a page boundary (a run reads a large entity in rounds): ``cursor`` is
    # where the rest begins, and the scan is not complete
    more: bool = False
    # a listing of changed records found the side holding exactly the records the engine
    # vouched for, at the times it gave (nothing listed, nothing gone; ``ids`` is not given)
    as_known: bool = False
    # with ``ids``: of the ids the engine vouched for, those the side no longer holds, where
    # the listing compared every one (None: not told; ``ids`` alone then tells what is gone)
    gone: list[str] | None = None


@dataclass(slots=True)
class Change:
    key: str
    action: Action
    id: str | None
    fields: Fields = field(default_factory=dict)
    # the full wanted line set (ids where this side knows them) when lines changed, else None
    lines: list[Line] | None = None
    idempotency_key: str | None = None


@dataclass(slots=True)
class ChangeResult:
    key: str
    ok: bool
    id: str | None = None
    # the record as the side holds it after the write (new ids, computed totals, line ids)
    record: Record | None = None
    errors: list[str] = field(default_factory=list)


class Side(Protocol):
    name: str

    def scan(self, entity: str, cursor: str | None) -> ScanResult:
        """Records of ``entity`` changed since ``cursor`` (``None``: all of them)."""
        ...

    def fetch(self, entity: str, ids: Sequence[str]) -> list[Record]:
        """The current records with these ids (missing ones are simply absent)."""
        ...

    def write(self, entity: str, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply changes; one result per change, in order. A failed change never stops the rest."""
        ...


@runtime_checkable
class SupportsFind(Protocol):
    """Optional: a side that can look records up by a field's values without a full scan.

    The engine uses it to match records before creating them elsewhere (no duplicates) and to
    find out whether a create whose outcome was lost in a crash reached the side. ``field`` is a
    canonical field name (``number``, ``abn``, ``email``, ``name``); ``values`` are all the
    values wanted, so a side can ask for many in few calls. Text compares as the side compares
    it, and the engine filters the answer again, so a side may return extra records. A record
    found that the side cannot map is returned holding only ``field``'s value, and named by
    ``unreadable`` (:class:`SupportsUnreadable`): it is there, so nothing is created beside it.
    """

    def find(self, entity: str, field: str, values: Sequence[str]) -> list[Record]: ...


@runtime_checkable
class SupportsChangedScan(Protocol):
    """Optional: a side that can leave out of a scan what the engine already knows unchanged.

    ``known`` maps ids to the change time the engine last saw each record at (microseconds
    since 1970, UTC), at a moment that proves nothing changed since (so a side that bumps a
    record's change time on every change may skip it while that time is the same). The answer
    lists every other record, is not complete, and gives ``ids``, every id the side holds, so
    that a record gone is known to be gone.

    ``known`` may offer ``fingerprint()``: ``None``, or how many ids it maps and the digest
    (:class:`FingerprintDigest`) of the text ``length:id:microseconds,...`` of them in the order
    of the ids (SQLite's text order). A side that builds the same of its own records, a slice
    of rows at a time, and finds the two equal may list nothing,
    give no ``ids``, and set ``as_known``: every record is as the engine vouched for, and none
    is gone. ``known`` may also offer ``proof_wanted()``, ``recall(digest)`` and
    ``confirm(digest)``, for a digest the side takes of its records' ids and change times as
    stored: one it confirmed once, when it found the fingerprints equal, is recalled while the
    engine's times stand, and the side may then answer ``as_known`` without building the
    fingerprint. ``proof_wanted`` says whether to take the digest first (``"recall"``), only on
    a match (``"confirm"``), or not at all (``None``). A side may also offer
    ``prove(entity, known) -> bool``: that comparison alone, confirming a match and listing
    nothing either way, which a run asks once its writes are done.
    """

    def scan_changed(self, entity: str, known: Mapping[str, int]) -> ScanResult: ...


@runtime_checkable
class SupportsUnreadable(Protocol):
    """Optional: a side whose ``fetch`` leaves out a record it read but could not turn into
    canonical form, and says which. ``unreadable`` gives (id, reason) of each such record of
    ``entity`` since it was last asked, and forgets them: the engine holds each unknown (reported,
    retried, never planned as gone), and the rest of the fetch goes on."""

    def unreadable(self, entity: str) -> list[tuple[str, str]]: ...


def left_out(side: object, entity: str) -> list[tuple[str, str]]:
    """What ``side``'s fetches of ``entity`` read but could not map since last asked (nothing,
    for a side that maps every record it reads or raises)."""
    return side.unreadable(entity) if isinstance(side, SupportsUnreadable) else []


@runtime_checkable
class SupportsUnchanged(Protocol):
    """Optional: a side told, after a scan, that every record it listed is as the engine last saw
    it (its own writes read back, say), so that what it reads only on news need not be read."""

    def unchanged(self, entity: str) -> None: ...


@runtime_checkable
class SupportsRounds(Protocol):
    """Optional: a side that can read a large entity in rounds of about ``records`` records
    (``None``: whole), each scan ending at a page boundary with ``ScanResult.more`` set and a
    cursor the next scan goes on from, so that a run holds one round in memory, not the whole
    organisation."""

    def read_in_rounds(self, records: int | None) -> None: ...
