"""Account writes: create (PUT /Accounts), update and archive (POST /Accounts/{id})."""

from __future__ import annotations

from typing import Any

from api_helpers import Client

from xsync.sandbox.clock import Clock


def _account(client: Client, code: str) -> dict[str, Any]:
    found = [a for a in client.get("/Accounts").json["Accounts"] if a["Code"] == code]
    assert len(found) == 1, code
    return found[0]


def _line(code: str, tax_type: str | None = None) -> list[dict[str, Any]]:
    line: dict[str, Any] = {"Description": "Work", "Quantity": 1, "UnitAmount": "100.00",
                            "AccountCode": code}
    if tax_type:
        line["TaxType"] = tax_type
    return [line]


def test_create_an_account_and_use_it(client: Client) -> None:
    res = client.put("/Accounts", {"Code": "215", "Name": "Installations", "Type": "REVENUE",
                                   "Description": "Fitting work"})
    assert res.status == 200, res.raw
    [made] = res.json["Accounts"]
    assert made["Class"] == "REVENUE" and made["Status"] == "ACTIVE"
    assert made["TaxType"] == "OUTPUT"  # the class's default
    assert _account(client, "215")["AccountID"] == made["AccountID"]
    assert client.get(f"/Accounts/{made['AccountID']}").json["Accounts"][0]["Name"] == (
        "Installations")
    contact = client.contact("Acme")
    invoice = client.invoice(contact["ContactID"], lines=_line("215"))
    assert invoice["LineItems"][0]["AccountCode"] == "215"


def test_create_accepts_the_accounts_envelope_and_bare_object(client: Client) -> None:
    res = client.put("/Accounts", {"Accounts": [{"Code": "EXP-1", "Name": "Tools",
                                                 "Type": "EXPENSE"}]})
    assert res.status == 200 and res.json["Accounts"][0]["TaxType"] == "INPUT"
    two = [{"Code": "A1", "Name": "One", "Type": "EXPENSE"},
           {"Code": "A2", "Name": "Two", "Type": "EXPENSE"}]
    res = client.put("/Accounts", {"Accounts": two})
    assert res.status == 400 and "one per request" in res.json["Message"]
    assert [a for a in client.get("/Accounts").json["Accounts"] if a["Code"] in ("A1", "A2")] == []


def test_code_and_name_are_unique_archived_accounts_included(client: Client) -> None:
    res = client.put("/Accounts", {"Code": "200", "Name": "More Sales", "Type": "REVENUE"})
    assert res.status == 400 and res.json["Type"] == "ValidationException"
    assert res.error_messages() == ["Please enter a unique Code: 200 is already used by Sales."]
    res = client.put("/Accounts", {"Code": "201", "Name": " sales ", "Type": "REVENUE"})
    assert res.error_messages() == ["Please enter a unique Name."]
    advertising = _account(client, "400")
    assert client.post(f"/Accounts/{advertising['AccountID']}",
                       {"Status": "ARCHIVED"}).status == 200
    res = client.put("/Accounts", {"Code": "400", "Name": "Promotion", "Type": "EXPENSE"})
    assert res.status == 400 and "unique Code" in res.error_messages()[0]


def test_required_fields_type_and_tax_type_are_checked(client: Client) -> None:
    res = client.put("/Accounts", {"Name": "No code"})
    assert res.error_messages() == ["Please enter a Code.", "Please select an account Type."]
    res = client.put("/Accounts", {"Code": "TOO-LONG-CODE", "Name": "X", "Type": "EXPENSES"})
    assert res.error_messages() == [
        "The Code must be at most 10 letters, digits, hyphens or underscores.",
        "Account Type 'EXPENSES' is not valid.",
    ]
    res = client.put("/Accounts", {"Code": "500", "Name": "X", "Type": "EXPENSE",
                                   "TaxType": "OUTPUT"})
    assert res.error_messages() == [
        "The TaxType code 'OUTPUT' cannot be used with an account of class EXPENSE."]
    res = client.put("/Accounts", {"Code": "500", "Name": "X", "Type": "EXPENSE",
                                   "TaxType": "NOSUCH"})
    assert res.error_messages() == ["The TaxType code 'NOSUCH' does not exist or is not active."]
    res = client.put("/Accounts", {"Code": "092", "Name": "Cheque", "Type": "BANK"})
    assert res.error_messages() == ["Please enter a Bank Account Number for a bank account."]
    res = client.put("/Accounts", {"Code": "092", "Name": "Cheque", "Type": "BANK",
                                   "BankAccountNumber": "062000 12345678"})
    assert res.status == 200 and res.json["Accounts"][0]["BankAccountType"] == "BANK"
    assert [a["Code"] for a in client.get("/Accounts").json["Accounts"]].count("500") == 0


def test_update_changes_fields_and_updated_date(client: Client, clock: Clock) -> None:
    sales = _account(client, "200")
    clock.advance(5)
    res = client.post(f"/Accounts/{sales['AccountID']}", {"Accounts": [{
        "AccountID": sales["AccountID"], "Name": "Sales - Services",
        "TaxType": "EXEMPTOUTPUT"}]})
    assert res.status == 200, res.raw
    [changed] = res.json["Accounts"]
    assert changed["Name"] == "Sales - Services" and changed["TaxType"] == "EXEMPTOUTPUT"
    assert changed["Code"] == "200" and changed["UpdatedDateUTC"] != sales["UpdatedDateUTC"]
    seen = client.get("/Accounts", headers={"If-Modified-Since": "2026-03-15T01:00:03"})
    assert [a["Code"] for a in seen.json["Accounts"]] == ["200"]
    res = client.post(f"/Accounts/{sales['AccountID']}", {"Code": "260"})
    assert res.status == 400 and "unique Code" in res.error_messages()[0]
    assert _account(client, "200")["Name"] == "Sales - Services"


def test_archive_then_restore(client: Client) -> None:
    account = _account(client, "260")
    res = client.post(f"/Accounts/{account['AccountID']}", {"Status": "ARCHIVED"})
    assert res.status == 200 and res.json["Accounts"][0]["Status"] == "ARCHIVED"
    contact = client.contact("Acme")
    refused = client.put("/Invoices", {"Type": "ACCREC", "Contact": {"ContactID":
                         contact["ContactID"]}, "LineItems": _line("260")})
    assert refused.status == 400
    assert "Account code '260' is not a valid code" in refused.error_messages()[0]
    res = client.post(f"/Accounts/{account['AccountID']}", {"Status": "ACTIVE"})
    assert res.status == 200 and res.json["Accounts"][0]["Status"] == "ACTIVE"
    client.invoice(contact["ContactID"], lines=_line("260"))


def test_system_and_bank_accounts_keep_their_nature(client: Client) -> None:
    receivable = _account(client, "610")
    res = client.post(f"/Accounts/{receivable['AccountID']}", {"Status": "ARCHIVED"})
    assert res.error_messages() == ["Accounts Receivable is a system account and cannot be "
                                    "archived."]
    res = client.post(f"/Accounts/{receivable['AccountID']}", {"Type": "FIXED"})
    assert res.error_messages() == ["Accounts Receivable is a system account: its Type cannot "
                                    "change."]
    bank = _account(client, "090")
    res = client.post(f"/Accounts/{bank['AccountID']}", {"Type": "CURRENT"})
    assert "bank account cannot be changed" in res.error_messages()[0]
    res = client.post(f"/Accounts/{bank['AccountID']}", {"Status": "DELETED"})
    assert res.error_messages() == ["Account Status 'DELETED' is not valid: use ACTIVE or "
                                    "ARCHIVED."]
    assert _account(client, "090")["Status"] == "ACTIVE"


def test_unknown_account_and_other_methods(client: Client) -> None:
    missing = "00000000-0000-0000-0000-000000000001"
    assert client.post(f"/Accounts/{missing}", {"Name": "X"}).status == 404
    assert client.post("/Accounts", {"Code": "1", "Name": "X", "Type": "EXPENSE"}).status == 405
    assert client.delete("/Accounts").status == 405


def test_an_idempotent_create_is_made_once(client: Client) -> None:
    body = {"Code": "216", "Name": "Call-outs", "Type": "REVENUE"}
    first = client.put("/Accounts", body, headers={"Idempotency-Key": "acct-216"})
    again = client.put("/Accounts", body, headers={"Idempotency-Key": "acct-216"})
    assert first.status == again.status == 200
    assert first.json["Accounts"][0]["AccountID"] == again.json["Accounts"][0]["AccountID"]
