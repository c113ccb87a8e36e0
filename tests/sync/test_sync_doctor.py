"""The doctor's checks on made-up facts: the verdicts the live tests cannot reach cheaply."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from xsync.model.records import Line, Record
from xsync.state.ledger import Base, record_hash
from xsync.sync import doctor as d
from xsync.sync.rules import EntityRules, Rules, default_rules

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _doc(label: str, day: str | None, *lines: tuple[str | None, str | None]) -> d.Doc:
    return d.Doc("invoices", label, label, date.fromisoformat(day) if day else None,
                 tuple(d.DocLine(f"{label}-{i}", code, tax) for i, (code, tax) in
                       enumerate(lines)))


def test_the_end_of_year_lock_date_counts_when_it_is_the_later_one() -> None:
    docs = [_doc("INV-1", "2026-06-15"), _doc("INV-2", "2026-07-15")]
    check = d.check_lock_dates(date(2026, 5, 31), date(2026, 6, 30), docs)
    assert check.level == "warn"
    assert "end of year lock date 2026-06-30" in check.detail
    assert "INV-1" in check.detail and "INV-2" not in check.detail
    assert "end of year lock date back" in check.fix
    assert d.check_lock_dates(None, None, docs).level == "ok"


def test_a_document_dated_on_the_lock_date_itself_is_refused() -> None:
    check = d.check_lock_dates(date(2026, 10, 31), None, [_doc("INV-1", "2026-10-31")])
    assert check.level == "warn"
    assert d.check_lock_dates(date(2026, 10, 31), None,
                              [_doc("INV-1", "2026-11-01")]).level == "ok"


def test_legacy_and_granular_scopes_both_do() -> None:
    rules = default_rules()
    for granted in ("offline_access accounting.transactions accounting.contacts "
                    "accounting.settings.read",
                    "offline_access accounting.invoices accounting.payments "
                    "accounting.contacts accounting.settings.read accounting.banktransactions"):
        assert d.check_scopes(granted, rules, client_credentials=False, asked="").ok, granted


def test_no_bank_transactions_scope_warns_that_deposits_cannot_reach_xero() -> None:
    granted = ("offline_access accounting.invoices accounting.payments accounting.contacts "
               "accounting.settings.read accounting.banktransactions.read")
    check = d.check_scopes(granted, default_rules(), client_credentials=False, asked="x")
    assert check.level == "warn", check
    assert "accounting.banktransactions" in check.detail and "deposits" in check.detail
    without_credits = Rules(entities={"credits": EntityRules(enabled=False)})
    assert d.check_scopes(granted, without_credits, client_credentials=False, asked="x").ok
    # a scope missing that an entity needs is still a failure, naming both
    check = d.check_scopes(granted.replace(" accounting.payments", ""), default_rules(),
                           client_credentials=False, asked="x")
    assert check.level == "fail" and "(reading credits)" in check.detail
    assert "deposits" in check.detail


def test_a_read_scope_does_for_an_entity_only_pulled_not_for_one_pushed() -> None:
    granted = ("offline_access accounting.invoices accounting.payments.read "
               "accounting.contacts accounting.settings.read accounting.banktransactions")
    assert d.check_scopes(granted, default_rules(), client_credentials=False, asked="").ok
    pushed = Rules(entities={"payments": EntityRules(direction="both")})
    check = d.check_scopes(granted, pushed, client_credentials=False, asked="x")
    assert check.level == "fail" and "(writing payments)" in check.detail


def test_a_custom_connection_needs_no_offline_access_and_is_fixed_in_the_portal() -> None:
    granted = ("accounting.invoices accounting.payments accounting.contacts accounting.settings "
               "accounting.banktransactions")
    assert d.check_scopes(granted, default_rules(), client_credentials=True, asked="").ok
    check = d.check_scopes("accounting.settings", default_rules(), client_credentials=True,
                           asked="")
    assert check.level == "fail" and "developer portal" in check.fix
    check = d.check_scopes(granted, default_rules(), client_credentials=False, asked="")
    assert "offline_access" in check.detail


def test_a_disabled_entity_needs_no_scope() -> None:
    granted = "offline_access accounting.contacts accounting.settings.read"
    rules = Rules(entities={name: EntityRules(enabled=False) for name in
                            ("invoices", "bills", "payments", "credit_notes", "credits",
                             "allocations")})
    assert d.check_scopes(granted, rules, client_credentials=False, asked="").ok


_ACCOUNTS = {"200": {"Code": "200", "Name": "Sales", "Class": "REVENUE", "Status": "ACTIVE",
                     "TaxType": "OUTPUT"},
             "400": {"Code": "400", "Name": "Advertising", "Class": "EXPENSE",
                     "Status": "ACTIVE", "TaxType": "INPUT"}}
_RATES = {"OUTPUT": {"TaxType": "OUTPUT", "Status": "ACTIVE", "CanApplyToRevenue": True,
                     "CanApplyToExpenses": False},
          "INPUT": {"TaxType": "INPUT", "Status": "ACTIVE", "CanApplyToRevenue": False,
                    "CanApplyToExpenses": True},
          "OLDGST": {"TaxType": "OLDGST", "Status": "ARCHIVED", "CanApplyToRevenue": True}}


def test_a_tax_type_unknown_or_archived_fails() -> None:
    check = d.check_tax_types([_doc("INV-1", None, ("200", "TAX009"), ("200", "OLDGST"))],
                              _ACCOUNTS, _RATES)
    assert check.level == "fail"
    assert "TAX009 is not a tax rate of the organisation" in check.detail
    assert "OLDGST is archived" in check.detail


def test_a_line_without_tax_type_is_checked_with_its_account_default() -> None:
    assert d.check_tax_types([_doc("INV-1", None, ("200", None))], _ACCOUNTS, _RATES).ok
    expense_default_on_sales = {**_ACCOUNTS, "200": {**_ACCOUNTS["200"], "TaxType": "INPUT"}}
    check = d.check_tax_types([_doc("INV-1", None, ("200", None))], expense_default_on_sales,
                              _RATES)
    assert check.level == "fail" and "INPUT cannot be used with account 200" in check.detail


def test_clock_thresholds() -> None:
    assert d.check_clock(NOW + timedelta(seconds=120), NOW).level == "ok"
    assert d.check_clock(NOW - timedelta(seconds=121), NOW).level == "warn"
    assert d.check_clock(NOW + timedelta(seconds=600), NOW).level == "warn"
    assert d.check_clock(NOW + timedelta(seconds=601), NOW).level == "fail"
    assert d.check_clock(NOW, None).level == "fail"        # no Date header: never a pass


def test_a_lock_whose_owner_is_alive_here_and_beating_is_held_not_stale() -> None:
    lock = {"pid": 7, "host": "here", "acquired_at": NOW.isoformat(),
            "heartbeat_at": (NOW - timedelta(minutes=1)).isoformat()}
    held = d.check_run_lock(lock, now=NOW, host="here", alive=lambda pid: True)
    assert "holds the workspace now" in held.detail
    gone = d.check_run_lock(lock, now=NOW, host="here", alive=lambda pid: False)
    assert "process is gone" in gone.detail
    old = d.check_run_lock(lock, now=NOW + timedelta(minutes=16), host="here",
                           alive=lambda pid: True)
    assert "last heartbeat" in old.detail
    assert d.check_run_lock(None, now=NOW, host="here", alive=lambda pid: True).ok


def _record(rid: str, status: str = "approved", total: str | None = None) -> Record:
    return Record("invoices", rid, {"number": rid, "status": status, "date": "2026-11-20",
                                    "total": total},
                  [Line("L1", {"account_code": "200", "tax_type": "OUTPUT"})])


def test_waiting_documents_follow_the_push_rules() -> None:
    rules = Rules(entities={"invoices": EntityRules(min_total=Decimal("50"))})
    synced = _record("INV-3")
    changed = _record("INV-4")
    bases = {"INV-3": Base("INV-3", "x3", {}, record_hash(synced), None, None, None),
             "INV-4": Base("INV-4", "x4", {}, "an older hash", None, None, None)}
    records = [_record("INV-1"), _record("INV-2", "draft"), synced, changed,
               _record("INV-5", "void"), _record("INV-6", total="10.00"), _record("INV-7")]
    docs = d.waiting_docs("invoices", records, bases, ["INV-7"], rules)
    assert [doc.id for doc in docs] == ["INV-1", "INV-4"]
    assert docs[0].label == "invoice INV-1" and docs[0].date == date(2026, 11, 20)
    assert docs[0].lines == (d.DocLine("L1", "200", "OUTPUT"),)
    pulled = Rules(entities={"invoices": EntityRules(direction="pull")})
    assert d.waiting_docs("invoices", records, {}, [], pulled) == []


def test_a_document_hashed_by_an_earlier_xsync_is_not_waiting() -> None:
    """A base stored by an earlier xsync holds the hash of ``json``'s text of the record (with
    its spaces): the document it was taken of is in step, not waiting to be pushed."""
    synced = _record("INV-3")
    text = json.dumps({"fields": synced.fields, "lines": [
        {"id": ln.id, "fields": ln.fields} for ln in synced.lines or []]}, sort_keys=True)
    earlier = hashlib.sha256(text.encode()).hexdigest()[:32]
    assert earlier != record_hash(synced)
    bases = {"INV-3": Base("INV-3", "x3", {}, earlier, None, None, None)}
    assert d.waiting_docs("invoices", [synced], bases, [], default_rules()) == []
    edited = _record("INV-3", total="999.00")
    assert [doc.id for doc in d.waiting_docs("invoices", [edited], bases, [],
                                             default_rules())] == ["INV-3"]


def test_only_a_failing_check_makes_the_workspace_unhealthy() -> None:
    warn = d.Check("outbox", "warn", "x", "y")
    assert d.healthy([warn, d.passed("clock", "ok")]) and d.exit_code([warn]) == 0
    assert d.exit_code([warn, d.not_checked("clock", "why", "fix")]) == 2
    assert d.not_checked("clock", "why", "fix").as_dict() == {
        "name": "clock", "ok": False, "level": "fail", "detail": "not checked: why",
        "fix": "fix"}
