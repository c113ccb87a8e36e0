"""`xsync sandbox xero ...`: the accountant's changes, made through a live sandbox's API."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import Sandbox
from xsync.sandbox.clock import Clock


@pytest.fixture
def live(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    for name in ("XSYNC_SANDBOX_URL", "XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    with Sandbox(seed="demo", clock=clock) as sb:
        sb.start("127.0.0.1", 0)
        yield sb


class Books:
    """What the sandbox's Xero holds, read over its API."""

    def __init__(self, sandbox: Sandbox) -> None:
        token = sandbox.client_credentials_token()
        self.http = httpx.Client(base_url=f"{sandbox.base_url}/api.xro/2.0", headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json"})

    def get(self, path: str, **params: str) -> Any:
        reply = self.http.get(path, params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def invoice(self, number: str) -> dict[str, Any]:
        [found] = self.get(f"/Invoices/{number}")["Invoices"]
        return dict(found)

    def contact(self, name: str) -> dict[str, Any]:
        [found] = [c for c in self.get("/Contacts", includeArchived="true")["Contacts"]
                   if c["Name"] == name]
        return dict(found)


@pytest.fixture
def books(live: Sandbox) -> Iterator[Books]:
    b = Books(live)
    yield b
    b.http.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def xero(live: Sandbox, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    assert live.base_url
    return run(capsys, "sandbox", "xero", *argv, "--url", live.base_url)


def test_pay_records_a_payment_and_prints_one_line(live, books, capsys) -> None:
    before = books.invoice("INV-0011")
    code, out, err = xero(live, capsys, "pay", "INV-0011", "100", "--date", "2026-11-23")
    assert code == 0, err
    assert out.strip().count("\n") == 0
    due = Decimal(str(before["AmountDue"])) - 100
    assert out.strip() == (f"Paid 100.00 on INV-0011 (2026-11-23, account 090); INV-0011 owes "
                           f"{due:.2f} (AUTHORISED).")
    after = books.invoice("INV-0011")
    assert Decimal(str(after["AmountDue"])) == due
    [payment] = after["Payments"]
    assert Decimal(str(payment["Amount"])) == 100
    by_id = xero(live, capsys, "pay", after["InvoiceID"], str(due))
    assert by_id[0] == 0 and "(PAID)" in by_id[1]


def test_unknown_invoice_exits_2_naming_it(live, capsys) -> None:
    code, out, err = xero(live, capsys, "pay", "INV-9999", "10")
    assert code == 2 and out == ""
    assert "no invoice INV-9999" in err


def test_bad_amount_and_date_exit_2(live, capsys) -> None:
    code, _, err = xero(live, capsys, "pay", "INV-0011", "1,000")
    assert code == 2 and "'1,000'" in err
    code, _, err = xero(live, capsys, "pay", "INV-0011", "10", "--date", "24/11/2026")
    assert code == 2 and "24/11/2026" in err


def test_credit_raises_and_allocates_a_credit_note(live, books, capsys) -> None:
    before = books.invoice("INV-0012")
    code, out, err = xero(live, capsys, "credit", "INV-0012", "110")
    assert code == 0, err
    after = books.invoice("INV-0012")
    assert Decimal(str(after["AmountCredited"])) == 110
    assert Decimal(str(after["AmountDue"])) == Decimal(str(before["AmountDue"])) - 110
    [note] = after["CreditNotes"]
    assert f"with {note['CreditNoteNumber']}" in out and out.startswith("Credited 110.00 to ")


def test_credit_beyond_the_balance_is_refused_and_names_the_note(live, books, capsys) -> None:
    code, _, err = xero(live, capsys, "credit", "INV-0012", "999999")
    assert code == 4
    assert "Xero refused to allocate credit note" in err and "left unallocated" in err


def test_edit_changes_the_tax_type_of_one_line(live, books, capsys) -> None:
    was = books.invoice("INV-0013")["LineItems"][0]["TaxType"]
    assert was != "EXEMPTOUTPUT"
    code, out, err = xero(live, capsys, "edit", "INV-0013", "--line", "1",
                          "--tax-type", "EXEMPTOUTPUT")
    assert code == 0, err
    assert out.strip() == f"Edited INV-0013 line 1: tax type {was} -> EXEMPTOUTPUT."
    lines = books.invoice("INV-0013")["LineItems"]
    assert lines[0]["TaxType"] == "EXEMPTOUTPUT"
    code, out, _ = xero(live, capsys, "edit", "INV-0013", "--tax-type", "EXEMPTOUTPUT")
    assert code == 0 and "nothing changed" in out
    code, _, err = xero(live, capsys, "edit", "INV-0013", "--line", "9", "--tax-type", "INPUT")
    assert code == 2 and "no line 9" in err
    code, _, err = xero(live, capsys, "edit", "INV-0020", "--tax-type", "EXEMPTOUTPUT")
    assert code == 4 and "payment or credit note allocated" in err


def test_edit_contact_void_and_merge(live, books, capsys) -> None:
    code, out, err = xero(live, capsys, "edit-contact", "coco cafe", "--phone", "02 9555 0199",
                          "--email", "accounts@coco.example")
    assert code == 0, err
    assert out.strip() == ("Edited contact Coco Cafe: phone 02 9555 0199, "
                           "email accounts@coco.example.")
    coco = books.contact("Coco Cafe")
    assert coco["EmailAddress"] == "accounts@coco.example"
    assert any(p.get("PhoneNumber") == "02 9555 0199" for p in coco["Phones"])

    code, out, err = xero(live, capsys, "void", "INV-0014")
    assert code == 0 and out.startswith("Voided INV-0014"), err
    assert books.invoice("INV-0014")["Status"] == "VOIDED"

    code, out, err = xero(live, capsys, "merge-contacts", "Bayside Club", "Coco Cafe")
    assert code == 0, err
    bayside = books.contact("Bayside Club")
    assert bayside["ContactStatus"] == "ARCHIVED"
    assert bayside["MergedToContactID"] == coco["ContactID"]
    assert books.invoice("INV-0014")["Contact"]["ContactID"] == coco["ContactID"]
    code, _, err = xero(live, capsys, "merge-contacts", "Bayside Club", "Coco Cafe")
    assert code == 2 and "archived" in err
    code, _, err = xero(live, capsys, "edit-contact", "Nobody Pty", "--phone", "1")
    assert code == 2 and "no contact 'Nobody Pty'" in err


def test_lock_period_is_enforced_then_lifted(live, books, capsys) -> None:
    code, out, err = xero(live, capsys, "lock-period", "2026-10-31")
    assert code == 0, err
    assert "Locked Demo Company (AU) up to and including 2026-10-31" in out
    assert books.get("/Organisation")["Organisations"][0]["PeriodLockDate"]
    code, _, err = xero(live, capsys, "pay", "INV-0011", "10", "--date", "2026-10-30")
    assert code == 4 and "period lock date (2026-10-31)" in err
    code, out, _ = xero(live, capsys, "lock-period", "none")
    assert code == 0 and out.startswith("Unlocked")
    assert "PeriodLockDate" not in books.get("/Organisation")["Organisations"][0]


def test_url_from_the_environment_then_the_workspace(live, tmp_path, capsys,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert live.base_url
    monkeypatch.setenv("XSYNC_SANDBOX_URL", live.base_url)
    code, out, _ = run(capsys, "sandbox", "xero", "void", "INV-0015")
    assert code == 0 and out.startswith("Voided INV-0015"), out
    monkeypatch.delenv("XSYNC_SANDBOX_URL")
    root = tmp_path / "books"
    assert run(capsys, "init", str(root))[0] == 0
    assert run(capsys, "connect", "--workspace", str(root), "--sandbox", live.base_url)[0] == 0
    monkeypatch.chdir(root)
    code, _, err = run(capsys, "sandbox", "xero", "void", "INV-0016")
    assert code == 4 and "INV-0016" in err  # part-paid: reached the sandbox, which refused
    code, _, err = run(capsys, "sandbox", "xero", "void", "INV-0013", "--workspace", str(root))
    assert code == 0, err


def test_unreachable_sandbox_and_wrong_secret(live, capsys) -> None:
    code, _, err = run(capsys, "sandbox", "xero", "void", "INV-0013", "--url",
                       "http://127.0.0.1:9")
    assert code == 8 and "cannot be reached" in err and "xsync sandbox serve" in err
    code, _, err = xero(live, capsys, "void", "INV-0013", "--client-secret", "wrong")
    assert code == 2 and "refused the client id and secret" in err
    assert "wrong" not in err
