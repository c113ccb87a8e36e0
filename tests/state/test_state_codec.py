"""Each compact form the state database stores gives back the very value it was given, and the
forms older xsyncs stored are still read."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsync.state import codec
from xsync.state.codec import (
    RECORD_WORDS,
    SNAPSHOT_WORDS,
    WORDS,
    digest_in,
    digest_out,
    moment_key,
    pack,
    stamp_in,
    stamp_out,
    unpack,
    word_in,
    word_out,
    xero_id_in,
    xero_id_out,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_a_packed_value_is_unpacked_as_it_was(value: object) -> None:
    assert unpack(pack(value)) == value


@pytest.mark.parametrize("value", [
    {"description": "cut inside a pair \ud83d"},  # as json reads a Xero text cut there
    {"quantity": 2**70}], ids=["half a pair", "big integer"])
def test_what_the_fast_encoder_refuses_is_packed_and_read_back(value: dict[str, object]) -> None:
    back = unpack(pack(value))
    assert json.dumps(back) == json.dumps(value)


def _line(n: int) -> dict[str, object]:
    return {"fields": {"account_code": "200", "description": "Labour", "discount_rate": None,
                       "job": None, "line_amount": "200.00", "position": str(n),
                       "quantity": "2.00", "site": None, "tax_amount": "20.00",
                       "tax_type": "OUTPUT", "unit_price": "100.00"},
            "ops": f"INV-0042-L{n}", "xero": str(uuid.uuid4())}


def test_an_invoice_base_packs_to_a_sixth_of_its_text() -> None:
    base = {"fields": {"amount_credited": "0.00", "amount_due": "660.00", "amount_paid": "0.00",
                       "amounts_are": "exclusive", "contact_id": "C-1", "currency": "AUD",
                       "date": "2026-03-01", "due_date": "2026-03-31", "number": "INV-0042",
                       "paid_on": None, "reference": "PO 7", "status": "approved",
                       "subtotal": "600.00", "total": "660.00", "total_tax": "60.00"},
            "lines": [_line(1), _line(2), _line(3)]}
    assert len(pack(base)) < len(json.dumps(base, separators=(",", ":"))) / 6


def test_what_older_xsyncs_stored_is_read() -> None:
    value = {"fields": {"name": "Acme"}, "lines": None}
    text = json.dumps(value, sort_keys=True)
    deflater = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY,
                                SNAPSHOT_WORDS)
    preset = b"\x01" + deflater.compress(text.encode()) + deflater.flush()
    # as xsync deflated records before zstd: compact, keys sorted, against whole records
    compact = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    deflater = zlib.compressobj(6, zlib.DEFLATED, -13, 3, zlib.Z_DEFAULT_STRATEGY, RECORD_WORDS)
    records = b"\x02" + deflater.compress(compact) + deflater.flush()
    for stored in (text, zlib.compress(text.encode()), preset, records):
        assert unpack(stored) == value


def test_a_record_stored_by_this_xsync_is_read_by_every_later_one() -> None:
    # these bytes are what pack() stored: the dictionary they need must never change
    stored = (b"\x03(\xb5/\xfd T\xed\x00\x00`Acme Pty Ltd\x04\xfc<\xaf\x01\xf4\x1a]m/\xd7"
              b"\xe0N\xfe\xc8\x01")
    assert unpack(stored) == {"fields": {"merged_into": None, "name": "Acme Pty Ltd",
                                         "status": "active"}, "lines": None}
    assert pack({"lines": None, "fields": {"name": "Acme"}})[:1] == b"\x03"


def test_a_dictionary_other_than_the_one_records_need_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "RECORDS_DICTIONARY_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="reinstall xsync"):
        codec.records_dictionary.__wrapped__()


def test_an_outbox_payload_packed_briefly_is_read_back() -> None:
    text = codec.packed_json({"action": "create", "fields": {"name": "Acme"}, "lines": None})
    assert unpack(codec.pack_text(text, brief=True)) == json.loads(text)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))
def test_a_utc_time_is_kept_as_a_number_and_given_back_as_written(moment: datetime) -> None:
    text = moment.isoformat()
    stored = stamp_in(text)
    assert isinstance(stored, int)
    assert stamp_out(stored) == text
    assert moment_key(text) == stored


@pytest.mark.parametrize("text", [
    "2026-03-02T09:00:00Z", "2026-03-02T09:00:00.000000+00:00", "2026-03-02T19:00:00+10:00",
    "2026-03-02T09:00:00", "2026-03-02", "yesterday", "", "20260302",
    "2026-W10-1T09:00:00+00:00", "2026-03-02 09:00:00+00:00", "2026-03-02T09:00:00.5+00:00"])
def test_any_other_time_is_kept_as_its_text(text: str) -> None:
    assert stamp_in(text) == text and stamp_out(text) == text


@given(st.text())
def test_any_text_in_a_time_column_comes_back_as_it_went_in(text: str) -> None:
    assert stamp_out(stamp_in(text)) == text


def test_times_compare_as_moments() -> None:
    times = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(microseconds=n * 999_999)
             for n in range(5)]
    keys = [stamp_in(t.isoformat()) for t in times]
    assert keys == sorted(keys)
    assert moment_key("2026-03-02T19:00:00+10:00") == stamp_in(times[0].isoformat())
    assert moment_key("2026-03-02") == moment_key("2026-03-02T00:00:00+00:00")
    assert moment_key(datetime(2026, 3, 2, tzinfo=timezone(timedelta(hours=-5))).isoformat()) \
        == stamp_in("2026-03-02T05:00:00+00:00")
    assert moment_key("not a time") is None


def test_a_xero_uuid_is_kept_as_16_bytes() -> None:
    xero_id = str(uuid.uuid4())
    stored = xero_id_in(xero_id)
    assert isinstance(stored, bytes) and len(stored) == 16
    assert xero_id_out(stored) == xero_id


@given(st.text())
def test_any_other_xero_id_is_kept_as_its_text(text: str) -> None:
    assert xero_id_out(xero_id_in(text)) == text


@pytest.mark.parametrize("text", [
    "OUTPUT", "8D7B4F0A-1C2E-4B3A-9D8C-7F6E5D4C3B2A", "8d7b4f0a1c2e4b3a9d8c7f6e5d4c3b2a",
    "8d7b4f0a-1c2e-4b3a-9d8c-7f6e5d4c3b2g", "8d7b4f0a-1c2e-4b3a-9d8c-7f6e5d4c 3b2"])
def test_ids_that_are_not_canonical_uuids_stay_text(text: str) -> None:
    assert xero_id_in(text) == text


def test_every_word_is_kept_as_its_number_and_any_other_as_text() -> None:
    for number, word in enumerate(WORDS, start=1):
        assert word_in(word) == number and word_out(number) == word
    assert len(set(WORDS)) == len(WORDS)
    assert word_in("first-sync:match-by-contact_id+number") == \
        "first-sync:match-by-contact_id+number"


def test_the_first_words_never_move() -> None:
    # stored rows hold these numbers: a word may be appended, never moved
    assert WORDS[:16] == ("accounts", "tax_rates", "contacts", "invoices", "bills",
                          "credit_notes", "credits", "payments", "allocations", "create",
                          "update", "delete", "void", "link", "ops->xero", "xero->ops")


def test_a_word_number_this_xsync_does_not_know_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=f"word number {len(WORDS) + 1}.*newer xsync"):
        word_out(len(WORDS) + 1)


@pytest.mark.parametrize("hexdigest", ["ab" * 16, "cd" * 32])
def test_a_hash_is_kept_as_its_bytes(hexdigest: str) -> None:
    stored = digest_in(hexdigest)
    assert isinstance(stored, bytes) and digest_out(stored) == hexdigest
    assert digest_in("an older hash") == "an older hash"


def test_a_text_packed_briefly_reads_back_as_it_was() -> None:
    from xsync.state.codec import pack_text, packed_json

    value = {"action": "create", "id": None, "fields": {"number": "INV-0042", "total": "660.00"},
             "lines": [_line(1), _line(2)]}
    brief = pack_text(packed_json(value), brief=True)
    assert unpack(brief) == value
    assert len(brief) < len(packed_json(value)) / 3


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=10)), None])))
def test_a_moment_is_stored_as_its_iso_text_would_be(moment: datetime) -> None:
    from xsync.state.codec import moment_in, stamp_in

    assert moment_in(moment) == stamp_in(moment.isoformat())
