"""One `ops.db` row read and validated into canonical form, or refused with a sentence.

Rows are validated here, at the edge: a malformed amount, date, status or stamp, an unknown
account code or a missing contact adds a sentence to ``problems`` naming the record, the field
and the value; the store reports a row with any problem as rejected and leaves it untouched, so
it syncs once fixed.

Invariants:
- Every value comes out as canonical text or ``None``: money and quantities as plain decimal
  text, dates as `YYYY-MM-DD` within 1900 to 2100, stamps as aware UTC datetimes.
- Values stored as SQLite INTEGER are exact and read as their digits. Values stored as REAL
  (binary floating point) are refused in money and quantity columns: ``0.1`` stored that way is
  not 0.1, and pushing whatever it rounds to would change the books without anyone writing it.
- Reading never raises for a bad value: it records a problem and carries on, so one reason
  names every problem of a row (the first few, and how many more).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from xsync.model.entities import (
    ALLOCATION_KINDS,
    ALLOCATION_STATUSES,
    CONTACT_STATUSES,
    CREDIT_KINDS,
    DOC_STATUSES,
    PAYMENT_STATUSES,
    TRACKING_FIELDS,
    EntitySpec,
    spec,
)
from xsync.model.money import BadAmount, money, quantity
from xsync.model.records import Fields, Line, Record
from xsync.sides.ops_schema import NOUN, TABLES

AMOUNTS_ARE = ("exclusive", "inclusive", "no_tax")
# (entity, field) -> (allowed values, whether an empty value is allowed too)
ENUMS: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("contacts", "status"): (CONTACT_STATUSES, False),
    ("invoices", "status"): (DOC_STATUSES, False),
    ("bills", "status"): (DOC_STATUSES, False),
    ("invoices", "amounts_are"): (AMOUNTS_ARE, True),
    ("bills", "amounts_are"): (AMOUNTS_ARE, True),
    ("payments", "status"): (PAYMENT_STATUSES, False),
    ("credit_notes", "status"): (DOC_STATUSES, True),
    ("credits", "status"): (DOC_STATUSES, True),
    ("credits", "kind"): (CREDIT_KINDS, False),
    ("allocations", "kind"): (ALLOCATION_KINDS, False),
    ("allocations", "status"): (ALLOCATION_STATUSES, False),
}
# entities whose rows carry an updated_at stamp
STAMPED = frozenset({"contacts", "invoices", "bills", "payments", "credit_notes", "credits",
                     "allocations"})
# entities only Xero writes: a row's contact is Xero's to name, even one ops has not pulled
PULLED_ONLY = frozenset({"credit_notes", "credits"})

DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DATE = "1900-01-01"
LAST_DATE = "2100-12-31"
CURRENCY = re.compile(r"[A-Z]{3}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
WHOLE_NUMBER = re.compile(r"[0-9]+")

# text already in canonical form, as xsync writes it: returned as it is, without Decimal work
CANONICAL_TEXT = {
    "money": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}"),
    "quantity": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}(?:[0-9]?[1-9])?"),
}

# problems named in one reason; a row with hundreds of bad lines says how many more there are
REASON_PROBLEMS = 5


class RowError(ValueError):
    """An ops row that cannot become a canonical record; its text is a sentence for people."""


def utc_now_text() -> str:
    """Now, as xsync stamps a row it writes (see :func:`own_stamp`)."""
    return own_stamp(datetime.now(UTC))


_ONE_MICROSECOND = timedelta(microseconds=1)


def own_stamp(moment: datetime) -> str:
    """:func:`stamp_text` of the moment xsync writes a row at, a microsecond later where it
    falls on a whole millisecond. A stamp there reads as a coarse one (a clock of milliseconds
    or seconds, see ``vouches_us`` in the planner), which a base stored just after it cannot
    vouch for: one write in a thousand would otherwise have every row of it read and hashed
    again by the next cycle."""
    if moment.microsecond % 1000 == 0:
        moment += _ONE_MICROSECOND
    return stamp_text(moment)


def stamp_text(moment: datetime) -> str:
    """The ``updated_at`` text of a row xsync writes: UTC to the microsecond, all six digits
    always (2026-11-02T09:30:00.000000Z), so an edit the platform stamps in whole seconds, even
    in the same second, never carries the same text as xsync's own write."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=4096)
def parse_updated_at(value: str | None) -> datetime | None:
    """An ISO-8601 time as aware UTC (a time without offset is taken as UTC). ValueError else.

    Remembered: the rows of one write share one stamp, and a datetime cannot be changed."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reason_for(problems: list[str]) -> str:
    shown = "; ".join(problems[:REASON_PROBLEMS])
    more = len(problems) - REASON_PROBLEMS
    return f"{shown}; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else shown


# Xero's longest tracking option name
LONGEST_OPTION = 100


class StoredRow(Protocol):
    """A row as stored, column by name: an ``sqlite3.Row``, or a dict of the same values."""

    def __getitem__(self, name: str) -> Any: ...


# kinds whose stored text is the canonical text as it is
TEXT_KINDS = frozenset({"text", "status", "ref"})
# how each field is read: its name, its kind (None: not read, a tracking column not mapped),
# and the test that its stored text is canonical as it is (None: any text but the empty)
Plan = tuple[tuple[str, str | None, Callable[[str], object] | None], ...]


@functools.lru_cache(maxsize=8192)
def _good_date(text: str) -> bool:
    """Whether ``text`` is a date :func:`read_date` takes as it is (it says why when not)."""
    return read_date(text, "", "", []) == text


def _never(_: str) -> bool:
    return False


def _plan(names: Sequence[str], kinds: Callable[[str], str | None]) -> Plan:
    """Each field, worked out once: every row's values are then tested without a lookup."""
    out: list[tuple[str, str | None, Callable[[str], object] | None]] = []
    for name in names:
        kind = kinds(name)
        test: Callable[[str], object] | None = None
        if kind in CANONICAL_TEXT:
            test = CANONICAL_TEXT[kind].fullmatch
        elif kind == "date":
            test = _good_date
        elif kind is not None and kind not in TEXT_KINDS:
            test = _never
        out.append((name, kind, test))
    return tuple(out)


@functools.cache
def _field_plan(entity: str) -> Plan:
    return _plan(spec(entity).fields, spec(entity).kind)


@functools.cache
def _line_plan(entity: str, tracked: frozenset[str]) -> Plan:
    entity_spec = spec(entity)
    return _plan(entity_spec.line_fields,
                 lambda name: None if name in TRACKING_FIELDS and name not in tracked
                 else entity_spec.line_kinds.get(name, "text"))


@functools.cache
def _enums_of(entity: str) -> tuple[tuple[str, tuple[tuple[str, ...], bool]], ...]:
    return tuple((name, allowed) for (of, name), allowed in ENUMS.items() if of == entity)


def read_record(entity: str, row: StoredRow, line_rows: Sequence[StoredRow],
                problems: list[str], categories: dict[str, str],
                default_tax_types: dict[str, str],
                tracked: frozenset[str] = frozenset()) -> Record:
    """The row (and its line rows) as a record; what cannot be read is added to ``problems``.

    ``categories`` maps an ops category to an account code for a line that names none, and
    ``default_tax_types`` an account code to the tax type of a line that names none;
    ``tracked``: the tracking columns mapped to Xero (the others read as empty)."""
    entity_spec = spec(entity)
    record_id = str(row[TABLES[entity][3]])
    who = f"{NOUN[entity]} {record_id}"
    fields: Fields = dict.fromkeys(entity_spec.fields)
    for name, kind, canonical in _field_plan(entity):
        value = row[name]
        if value is None or kind is None:
            continue
        # text canonical as stored is taken as it is; read_value decides (and explains) the rest
        if _as_stored(value, canonical):
            fields[name] = value
        else:
            fields[name] = read_value(kind, value, who, name, problems)
    for name in entity_spec.create_only:
        # what the platform gives only to create the record in Xero (a deposit's accounts)
        value = read_value("text", row[name], who, name, problems)
        fields[name] = (value.strip() or None) if value is not None else None
    for name, allowed in _enums_of(entity):
        check_enum(fields[name], row[name], allowed, who, name, problems)
    start, due = fields.get("date"), fields.get("due_date")
    if start and due and due < start:
        problems.append(f"{who}: due_date {due!r} is before the date {start!r}")
    currency = fields.get("currency")
    if currency and not CURRENCY.fullmatch(currency):
        problems.append(f"{who}: currency {currency!r} is not a three-letter currency code "
                        "in capitals (such as AUD)")
    if entity == "contacts":
        if not (fields.get("name") or "").strip():
            problems.append(f"{who}: name is empty; Xero needs a name for every contact")
        email = fields.get("email")
        if email and not EMAIL.fullmatch(email.strip()):
            problems.append(f"{who}: email {email!r} is not an email address")
    updated = None
    if entity in STAMPED:
        updated = read_stamp(row["updated_at"], who, problems)
    lines = None
    if entity_spec.has_lines:
        lines = [read_line(entity_spec, lr, who, problems, categories, default_tax_types,
                           tracked) for lr in line_rows]
    return Record(entity=entity, id=record_id, fields=fields, lines=lines, updated_at=updated)


def _as_stored(value: Any, canonical: Callable[[str], Any] | None) -> bool:
    """Whether a stored value is text already in its canonical form (``canonical``: the test
    of its kind, ``None`` for free text), so that it is read as it is."""
    return type(value) is str and bool(value) and (
        canonical is None or (bool(canonical(value)) and value[:3] != "-0."))


def read_line(entity_spec: EntitySpec, row: StoredRow, owner: str, problems: list[str],
              categories: dict[str, str], default_tax_types: dict[str, str],
              tracked: frozenset[str] = frozenset()) -> Line:
    line_id = row["id"]
    who = f"line {line_id}"
    if line_id is None or line_id == "":
        problems.append(f"a line of {owner} has no id: give it the platform's line id")
    fields: Fields = dict.fromkeys(entity_spec.line_fields)
    for name, kind, canonical in _line_plan(entity_spec.name, tracked):
        if kind is None:
            continue
        value = row[name]
        if name == "account_code" and not value and row["category"]:
            value = categories.get(row["category"])
            if value is None:
                problems.append(f"{who}: category {row['category']!r} has no account "
                                "mapping in [mappings.categories]")
        if value is None:
            continue
        if _as_stored(value, canonical):
            fields[name] = value
        else:
            fields[name] = read_value(kind, value, who, name, problems)
    for name in TRACKING_FIELDS:
        value = fields.get(name)
        if value is not None and (len(value) > LONGEST_OPTION or not value.strip()):
            problems.append(f"{who}: {name} {value!r} is not a tracking option Xero can hold "
                            f"(1 to {LONGEST_OPTION} characters, not only spaces)")
    position = fields.get("position")
    if position is not None and not WHOLE_NUMBER.fullmatch(position):
        problems.append(f"{who}: position {row['position']!r} is not a whole number")
    code = fields.get("account_code")
    if "tax_type" in fields and not fields["tax_type"] and code:
        fields["tax_type"] = default_tax_types.get(code)
    return Line(id=None if line_id is None else str(line_id), fields=fields)


def read_value(kind: str, value: Any, who: str, name: str, problems: list[str]) -> str | None:
    """One stored value as canonical text; a value that cannot be read adds a sentence."""
    if value is None:
        return None
    kind_of = type(value)
    if kind_of is bytes:
        problems.append(f"{who}: {name} is stored as binary data (a BLOB), not as text")
        return None
    if kind_of is str and value == "":
        return None
    if kind == "money" or kind == "quantity":
        if kind_of is str and CANONICAL_TEXT[kind].fullmatch(value) and value[:3] != "-0.":
            return value
        try:
            return money(value) if kind == "money" else quantity(value)
        except BadAmount as exc:
            problems.append(f"{who}: {name} {exc}")
            return None
    if kind == "date":
        return read_date(value, who, name, problems)
    return value if kind_of is str else str(value)


def read_date(value: Any, who: str, name: str, problems: list[str]) -> str | None:
    text = value if isinstance(value, str) else str(value)
    if not DATE_TEXT.fullmatch(text):
        problems.append(f"{who}: {name} {value!r} is not a date in the form YYYY-MM-DD")
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        problems.append(f"{who}: {name} {text!r} is not a date of the calendar (YYYY-MM-DD)")
        return None
    if not FIRST_DATE <= text <= LAST_DATE:
        problems.append(f"{who}: {name} {text!r} is outside the years 1900 to 2100")
        return None
    return text


def read_stamp(value: Any, who: str, problems: list[str]) -> datetime | None:
    if value is None or value == "":
        problems.append(f"{who}: updated_at is empty; the platform must stamp every change "
                        "with an ISO-8601 UTC time (such as 2026-11-02T09:30:00Z)")
        return None
    if isinstance(value, str):
        try:
            return parse_updated_at(value)
        except ValueError:
            pass
    problems.append(f"{who}: updated_at {value!r} is not an ISO-8601 time (such as "
                    "2026-11-02T09:30:00Z)")
    return None


def check_enum(value: str | None, raw: Any, allowed: tuple[tuple[str, ...], bool], who: str,
               name: str, problems: list[str]) -> None:
    values, may_be_empty = allowed
    if value is None:
        if not may_be_empty and not isinstance(raw, bytes):
            problems.append(f"{who}: {name} is empty; allowed values: {', '.join(values)}")
    elif value not in values:
        problems.append(f"{who}: {name} {value!r} is not one of the allowed values: "
                        f"{', '.join(values)}")


def check_refs(record: Record, accounts: set[str], contacts: set[str],
               problems: list[str]) -> None:
    """Add a problem for a missing or unknown contact and for a line's unknown account code.

    ``accounts`` empty means the chart is not pulled yet, so no code is refused for it."""
    who = f"{NOUN[record.entity]} {record.id}"
    contact = record.fields.get("contact_id")
    if "contact_id" in spec(record.entity).refs and record.entity not in PULLED_ONLY:
        if not contact:
            problems.append(f"{who}: contact_id is empty; every {NOUN[record.entity]} "
                            "needs a contact")
        elif contact not in contacts:
            problems.append(f"{who}: contact_id {contact!r} names a contact that is not in "
                            "the contacts table")
    for line in record.lines or []:
        code = line.fields.get("account_code")
        if code and accounts and code not in accounts:
            problems.append(f"line {line.id}: account_code {code!r} is not in the chart of "
                            "accounts (pulled from Xero)")
