"""How the state database stores its values compactly, and reads back what any xsync stored.

Each ``*_in`` function turns a value into its stored form and each ``*_out`` function turns any
stored form back, so a column may hold old and new forms side by side:

- records (base snapshots, outbox payloads, lodged documents): compact JSON compressed with
  zstd against a dictionary of what records are made of (:func:`pack`, :func:`unpack`); the
  forms earlier xsyncs stored (deflated against a dictionary of their own, plain zlib, plain
  JSON) are still read;
- Xero ids: a UUID in its canonical lowercase text is kept as its 16 bytes; any other id (a tax
  type, a code) as its text (:func:`xero_id_in`, :func:`xero_id_out`);
- moments: an ISO time in UTC as ``datetime.isoformat`` writes it is kept as the microseconds
  since 1970 (8 bytes rather than 32); any other text as itself (:func:`stamp_in`,
  :func:`stamp_out`);
- content hashes: their bytes rather than hex (:func:`digest_in`, :func:`digest_out`);
- the words the big tables repeat on every row (an entity, what was done, which way, the rule
  that decided): a word of :data:`WORDS` as its number, any other as its text (:func:`word_in`,
  :func:`word_out`).

Every ``*_in`` keeps the text whenever its compact form would not give back the very same text,
so nothing is ever lost to the encoding.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import orjson
import zstandard

from xsync.model.side import microseconds

# the first byte of a value deflated against SNAPSHOT_WORDS (a zlib stream starts with 0x78)
PRESET = b"\x01"
# what snapshots and payloads are mostly made of, primed into the deflater so that even one
# small record compresses well. Never change it: stored values depend on it byte for byte (a
# new dictionary needs a new first byte).
SNAPSHOT_WORDS = (
    b'"abn":"account_code":"address_line1":"amount":"amount_credited":"amount_due":'
    b'"amount_paid":"amounts_are":"city":"code":"contact_id":"country":"currency":"date":'
    b'"description":"discount_rate":"due_date":"email":"invoice_id":"line_amount":"name":'
    b'"number":"paid_on":"phone":"position":"postal_code":"quantity":"rate":"reference":'
    b'"region":"remaining":"status":"subtotal":"tax_amount":"tax_type":"total":"total_tax":'
    b'"type":"unit_price":{"fields":{"lines":[{"fields":"ops":"xero":null,"0.00","approved",'
    b'"exclusive","inclusive","AUD","OUTPUT","INPUT","authorised","paid","active","2025-2026-'
)
# the first byte of a value deflated against RECORD_WORDS (as xsync stored records until it
# compressed them with zstd, PRESET_ZSTD below)
PRESET_RECORDS = b"\x02"
# whole records as pack() writes them, one of each kind, the most frequent last (the nearest
# text is the cheapest to refer to): a record's keys come in the same order every time, so most
# of its keys and punctuation are one reference each. Never change it either (see above).
RECORD_WORDS = (
    b'{"fields":{"amount":"0.00","credit_id":null,"credit_note_id":null,"date":"20","invoi'
    b'ce_id":"INV-","kind":"credit_note","status":"applied"},"lines":null}{"fields":{"amou'
    b'nt":"0.00","bill_id":null,"credit_id":null,"credit_note_id":null,"date":"20","invoic'
    b'e_id":"INV-","reference":null,"status":"authorised"},"lines":null}{"fields":{"contac'
    b't_id":"C-","date":"20","kind":"prepayment","reference":null,"remaining":"0.00","stat'
    b'us":"authorised","total":"0.00"},"lines":null}{"fields":{"contact_id":"C-","date":"2'
    b'0","invoice_id":null,"number":"CN-","remaining":"0.00","status":"authorised","total"'
    b':"0.00"},"lines":null}{"fields":{"name":"","rate":"10.00","status":"active","tax_typ'
    b'e":"OUTPUT"},"lines":null}{"fields":{"code":"","name":"","status":"active","tax_type'
    b'":"OUTPUT","type":"REVENUE"},"lines":null}{"action":"create","fields":{"amount_credi'
    b'ted":"0.00","amount_due":"0.00","amount_paid":"0.00","amounts_are":"exclusive","cont'
    b'act_id":null,"currency":"AUD","date":"20","due_date":"20","number":"INV-","paid_on":'
    b'null,"reference":null,"status":"approved","subtotal":"0.00","total":"0.00","total_ta'
    b'x":"0.00"},"id":null,"lines":[{"fields":{"account_code":"200","description":"","disc'
    b'ount_rate":null,"job":null,"line_amount":"0.00","position":"1","quantity":"1.00","si'
    b'te":null,"tax_amount":"0.00","tax_type":"OUTPUT","unit_price":"0.00"},"id":null}]}{"'
    b'fields":{"amount_credited":"0.00","amount_due":"0.00","amount_paid":"0.00","amounts_'
    b'are":"exclusive","contact_id":"C-","currency":"AUD","date":"20","due_date":"20","num'
    b'ber":"BILL-","paid_on":null,"reference":null,"status":"draft","subtotal":"0.00","tot'
    b'al":"0.00","total_tax":"0.00"},"lines":[{"fields":{"account_code":"400","description'
    b'":"","discount_rate":null,"job":null,"line_amount":"0.00","position":"1","quantity":'
    b'"1.00","site":null,"tax_amount":"0.00","tax_type":"INPUT","unit_price":"0.00"},"ops"'
    b':"BILL-","xero":""}]}{"fields":{"abn":null,"address_line1":null,"city":null,"country'
    b'":null,"email":null,"merged_into":null,"name":"","phone":null,"postal_code":null,"re'
    b'gion":null,"status":"active"},"lines":null}{"fields":{"amount_credited":"0.00","amou'
    b'nt_due":"0.00","amount_paid":"0.00","amounts_are":"exclusive","contact_id":"C-","cur'
    b'rency":"AUD","date":"20","due_date":"20","number":"INV-","paid_on":null,"reference":'
    b'null,"status":"approved","subtotal":"0.00","total":"0.00","total_tax":"0.00"},"lines'
    b'":[{"fields":{"account_code":"200","description":"","discount_rate":null,"job":null,'
    b'"line_amount":"0.00","position":"1","quantity":"1.00","site":null,"tax_amount":"0.00'
    b'","tax_type":"OUTPUT","unit_price":"0.00"},"ops":"INV-","xero":""},{"fields":{"accou'
    b'nt_code":"200","description":"","discount_rate":null,"job":null,"line_amount":"0.00"'
    b',"position":"2","quantity":"1.00","site":null,"tax_amount":"0.00","tax_type":"OUTPUT'
    b'","unit_price":"0.00"},"ops":"INV-","xero":""}]}'
)
# the first byte of a value compressed with zstd against RECORDS_DICTIONARY: what xsync stores
PRESET_ZSTD = b"\x03"
# zstd's dictionary of records, trained on records as pack() writes them (``benchmarks/pack.py
# --train`` says how). Never change it: stored values depend on it byte for byte (a new
# dictionary needs a new first byte); its digest is checked before it is used.
RECORDS_DICTIONARY = "records.zdict"
RECORDS_DICTIONARY_SHA256 = "2e6c76285e26ff804492f19709446bfa327af0c979672ec6512254b9714ed481"
# zstd's effort: level 3 for what is kept (a base: an invoice of three lines, 1.3 KB of text,
# in 3 µs to 180 bytes, where deflate took 27 µs to 260); level 1 for a text kept only until
# its write is answered (an outbox row: a few percent more bytes for a tenth less work)
ZSTD_LEVEL = 3
ZSTD_BRIEF_LEVEL = 1


def packed_json(value: Any) -> bytes:
    """The text :func:`pack` compresses: compact JSON, keys sorted, in UTF-8.

    orjson writes it, several times faster than the standard library (see the README's
    "Speed"); what orjson refuses (a text holding half of a surrogate pair, as Xero may serve and
    ``json`` reads; an integer past 64 bits) is written by ``json``, non-ASCII escaped. (A float
    that is not a number would be written as null: a record holds its money and quantities as
    text, never as floats.)"""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def pack(value: Any) -> bytes:
    """A record (or any JSON value) as the state database keeps it: compact JSON, keys sorted,
    compressed against :data:`RECORDS_DICTIONARY` (about a seventh of the text)."""
    return pack_text(packed_json(value))


@lru_cache(maxsize=1)
def records_dictionary() -> bytes:
    """The bytes of :data:`RECORDS_DICTIONARY`, once their digest is the one stored values need."""
    raw = resources.files(__package__).joinpath(RECORDS_DICTIONARY).read_bytes()
    if hashlib.sha256(raw).hexdigest() != RECORDS_DICTIONARY_SHA256:
        raise RuntimeError(f"{RECORDS_DICTIONARY} in {__package__} is not the dictionary the "
                           "state database's records are compressed against: reinstall xsync")
    return raw


class _Zstd(threading.local):
    """zstd's compressors and decompressor, primed with the dictionary: one set per thread
    (neither may be used by two threads at once), made when a thread first packs or unpacks."""

    def __init__(self) -> None:
        dictionary = zstandard.ZstdCompressionDict(records_dictionary())
        self.full = zstandard.ZstdCompressor(level=ZSTD_LEVEL, dict_data=dictionary,
                                             write_checksum=False, write_dict_id=False)
        self.brief = zstandard.ZstdCompressor(level=ZSTD_BRIEF_LEVEL, dict_data=dictionary,
                                              write_checksum=False, write_dict_id=False)
        self.reader = zstandard.ZstdDecompressor(dict_data=dictionary)


_ZSTD = _Zstd()


def pack_text(text: bytes, *, brief: bool = False) -> bytes:
    """:func:`pack` of the value whose :func:`packed_json` is ``text`` (``brief``: a text kept
    only briefly, compressed with less effort; read back the same way)."""
    return PRESET_ZSTD + (_ZSTD.brief if brief else _ZSTD.full).compress(text)


def unpack(raw: bytes | str) -> Any:
    """What :func:`pack` stored, or what an earlier xsync stored: a value deflated against
    :data:`RECORD_WORDS` or :data:`SNAPSHOT_WORDS`, a plain zlib stream, or plain JSON text."""
    return json.loads(unpacked_text(raw))


def unpacked_text(raw: bytes | str) -> bytes | str:
    """The JSON text of what :func:`unpack` reads, not yet decoded."""
    if isinstance(raw, bytes):
        head = raw[:1]
        if head == PRESET_ZSTD:
            return _ZSTD.reader.decompress(raw[1:])
        if head in (PRESET_RECORDS, PRESET):
            words = RECORD_WORDS if head == PRESET_RECORDS else SNAPSHOT_WORDS
            inflater = zlib.decompressobj(-15, words)
            return inflater.decompress(raw[1:]) + inflater.flush()
        return zlib.decompress(raw)
    return raw


# -- Xero ids --------------------------------------------------------------------------------


def xero_id_in(value: str | None) -> bytes | str | None:
    """A Xero id as stored: a canonical UUID as its 16 bytes, anything else as it is."""
    if value is None:
        return None
    digits = value.replace("-", "")
    if (len(digits) != 32 or value[8] != "-" or value[13] != "-" or value[18] != "-"
            or value[23] != "-"):
        return value
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return value
    # fromhex also takes capitals and spaces: only the canonical spelling is kept as bytes
    return raw if raw.hex() == digits else value


def xero_id_out(value: bytes | str | None) -> str | None:
    """A stored Xero id as Xero spells it."""
    if isinstance(value, bytes):
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value


# -- moments ---------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)
_NO_OFFSET = timedelta(0)


def moment_in(moment: datetime | None) -> int | str | None:
    """:func:`stamp_in` of ``moment.isoformat()``, without writing the text: a time at UTC as
    its microseconds since 1970, any other (naive, or at another offset) as its ISO text."""
    if moment is None:
        return None
    if moment.utcoffset() == _NO_OFFSET:
        return (moment - _EPOCH) // _MICROSECOND
    return moment.isoformat()


def stamp_in(value: str | None) -> int | str | None:
    """A moment as stored: an aware UTC ISO time as ``isoformat`` writes it (and only so:
    2026-03-02T09:00:00[.ffffff]+00:00) is kept as its microseconds since 1970; any other text
    as it is, since another spelling of the same moment must come back as it was written."""
    if not isinstance(value, str) or not value.endswith("+00:00"):
        return value
    size = len(value)
    if size == 32:
        fraction = value[20:26]
        if value[19] != "." or not (fraction.isascii() and fraction.isdigit()) \
                or fraction == "000000":
            return value
        seconds = _seconds_of(value[:19])
        return value if seconds is None else seconds * 1_000_000 + int(fraction)
    if size == 25:
        seconds = _seconds_of(value[:19])
        return value if seconds is None else seconds * 1_000_000
    return value


@lru_cache(maxsize=8192)
def _seconds_of(text: str) -> int | None:
    """Seconds since 1970 of a UTC time to the second, as ``isoformat`` spells it, else None
    (fromisoformat also reads a week date, 2026-W10-1T..., which is spelt otherwise)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None or moment.isoformat() != text:
        return None
    return (moment - _NAIVE_EPOCH) // _SECOND


@lru_cache(maxsize=8192)
def _whole_second(seconds: int) -> str:
    return (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat()


def stamp_out(value: int | str | None) -> str | None:
    """A stored moment as ``datetime.isoformat`` wrote it (UTC, ``+00:00``)."""
    if isinstance(value, int):
        seconds, micros = divmod(value, 1_000_000)
        if micros:
            return f"{_whole_second(seconds)}.{micros:06d}+00:00"
        return f"{_whole_second(seconds)}+00:00"
    return value


def stamp_moment(value: int | str | None) -> datetime | None:
    """A stored moment as an aware UTC datetime (``None`` if none is stored)."""
    if isinstance(value, int):
        return _EPOCH + timedelta(microseconds=value)
    return datetime.fromisoformat(value) if value else None


def moment_key(value: str) -> int | None:
    """``value`` (an ISO date or time; UTC unless it names an offset) as stored moments are
    compared: microseconds since 1970; ``None`` if it is not a time at all."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return microseconds(moment)


# -- content hashes --------------------------------------------------------------------------


def digest_in(value: str | None) -> bytes | str | None:
    """A content hash as stored: its bytes rather than its hex characters."""
    if value is not None and len(value) in (32, 64):
        try:
            return bytes.fromhex(value)
        except ValueError:
            return value
    return value


def digest_out(value: bytes | str | None) -> str | None:
    """A stored content hash as :func:`xsync.state.ledger.record_hash` writes it (hex)."""
    return value.hex() if isinstance(value, bytes) else value


# -- words -----------------------------------------------------------------------------------

# the words links, bases and the audit log repeat on every row, each stored as its place here
# (from 1). Append only: never reorder, rename or drop one, since stored rows hold the numbers;
# a word added needs a migration too (even one that does nothing), so that an older xsync knows
# the file is newer than it (`xsync doctor`).
WORDS: tuple[str, ...] = (
    # entities
    "accounts", "tax_rates", "contacts", "invoices", "bills", "credit_notes", "credits",
    "payments", "allocations",
    # what a run did, and which way
    "create", "update", "delete", "void", "link", "ops->xero", "xero->ops",
    # the rules that decide a link or a field
    "merge", "only-ops-changed", "only-xero-changed", "xero-computed", "xero-computed:payments",
    "policy:ops", "policy:xero", "latest:ops-newer", "latest:xero-newer", "direction:pull",
    "direction:push", "first-sync:fill-blank", "first-sync:match-by-number",
    "first-sync:match-by-abn", "first-sync:match-by-email", "first-sync:match-by-name",
    "resolved", "resolved:alias", "resolved:match", "recovered:outbox",
)
_WORD_NUMBERS = {word: number for number, word in enumerate(WORDS, start=1)}


def word_in(value: str | None) -> int | str | None:
    """A word as stored: its number in :data:`WORDS`, or its text if it is not one of them."""
    return None if value is None else _WORD_NUMBERS.get(value, value)


def word_out(value: int | str | None) -> str | None:
    """A stored word as its text."""
    if isinstance(value, int):
        if 0 < value <= len(WORDS):
            return WORDS[value - 1]
        raise ValueError(f"the state database holds word number {value}, which this xsync does "
                         "not know: a newer xsync wrote it")
    return value


# -- outbox keys -----------------------------------------------------------------------------


def outbox_key_in(key: str, entity: str, ops_id: str | None, xero_id: str | None,
                  side: str) -> str | None:
    """An outbox row's key as stored: ``None`` where it is the usual one, which the row's own
    columns spell (entity:ops id:Xero id:side)."""
    return None if key == f"{entity}:{ops_id or ''}:{xero_id or ''}:{side}" else key


def outbox_key_out(stored: str | None, entity: str, ops_id: str | None, xero_id: str | None,
                   side: str) -> str:
    return f"{entity}:{ops_id or ''}:{xero_id or ''}:{side}" if stored is None else stored
