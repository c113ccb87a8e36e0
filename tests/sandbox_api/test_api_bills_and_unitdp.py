"""Bills are invoices too (InvoiceNumbers, Statuses), and `unitdp=4` keeps 4-decimal unit prices
on writes and reads of Invoices and CreditNotes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from api_helpers import Client


def line(unit: str, quantity: str = "3", account: str = "200") -> dict[str, Any]:
    return {"Description": "Fine work", "Quantity": quantity, "UnitAmount": unit,
            "AccountCode": account}


def numbers(client: Client, **query: str) -> list[tuple[str, str]]:
    res = client.get("/Invoices", **query)
    assert res.status == 200, res.raw
    return sorted((i["Type"], i["InvoiceNumber"]) for i in res.json["Invoices"])


@pytest.fixture
def mixed(client: Client) -> Client:
    cid = client.contact()["ContactID"]
    client.invoice(cid, InvoiceNumber="INV-0100")
    client.invoice(cid, InvoiceNumber="INV-0101", status="DRAFT")
    client.invoice(cid, typ="ACCPAY", InvoiceNumber="SUP-77")
    client.invoice(cid, typ="ACCPAY", InvoiceNumber="SUP-78", status="DRAFT")
    # A supplier's number may equal one of ours: Xero keeps both.
    client.invoice(cid, typ="ACCPAY", InvoiceNumber="INV-0100", status="SUBMITTED")
    return client


def test_invoice_numbers_find_bills_and_invoices(mixed: Client) -> None:
    assert numbers(mixed, InvoiceNumbers="SUP-77,INV-0101") == [
        ("ACCPAY", "SUP-77"), ("ACCREC", "INV-0101")]
    assert numbers(mixed, InvoiceNumbers="INV-0100") == [
        ("ACCPAY", "INV-0100"), ("ACCREC", "INV-0100")]
    assert numbers(mixed, InvoiceNumbers="SUP-78", page="1") == [("ACCPAY", "SUP-78")]


def test_statuses_find_bills_and_invoices(mixed: Client) -> None:
    assert numbers(mixed, Statuses="DRAFT") == [("ACCPAY", "SUP-78"), ("ACCREC", "INV-0101")]
    assert numbers(mixed, Statuses="DRAFT,SUBMITTED", page="1") == [
        ("ACCPAY", "INV-0100"), ("ACCPAY", "SUP-78"), ("ACCREC", "INV-0101")]
    assert numbers(mixed, Statuses="AUTHORISED", where='Type=="ACCPAY"') == [
        ("ACCPAY", "SUP-77")]


def units(doc: dict[str, Any]) -> list[Decimal]:
    return [Decimal(str(li["UnitAmount"])) for li in doc["LineItems"]]


@pytest.mark.parametrize("typ,account", [("ACCREC", "200"), ("ACCPAY", "429")])
def test_unitdp4_keeps_four_decimals_on_invoices_and_bills(
    client: Client, typ: str, account: str
) -> None:
    cid = client.contact()["ContactID"]
    body = {"Type": typ, "Contact": {"ContactID": cid}, "Status": "DRAFT", "Date": "2026-03-01",
            "DueDate": "2026-03-31", "LineItems": [line("12.3456", account=account)]}
    put = client.put("/Invoices", {"Invoices": [body]}, unitdp="4")
    assert put.status == 200, put.raw
    [doc] = put.json["Invoices"]
    assert units(doc) == [Decimal("12.3456")]
    assert Decimal(str(doc["LineItems"][0]["LineAmount"])) == Decimal("37.04")
    inv = doc["InvoiceID"]
    assert units(client.get(f"/Invoices/{inv}", unitdp="4").json["Invoices"][0]) == [
        Decimal("12.3456")]
    [listed] = [i for i in client.get("/Invoices", unitdp="4", page="1").json["Invoices"]
                if i["InvoiceID"] == inv]
    assert units(listed) == [Decimal("12.3456")]
    # Without unitdp=4 the reader sees Xero's 2 decimals; the stored value is unchanged.
    assert units(client.get(f"/Invoices/{inv}").json["Invoices"][0]) == [Decimal("12.35")]

    edit = {"InvoiceID": inv, "LineItems": [line("7.8912", "1.2345", account)]}
    post = client.post(f"/Invoices/{inv}", {"Invoices": [edit]}, unitdp="4")
    assert post.status == 200, post.raw
    [after] = post.json["Invoices"]
    assert units(after) == [Decimal("7.8912")]
    assert Decimal(str(after["LineItems"][0]["Quantity"])) == Decimal("1.2345")
    assert units(client.get(f"/Invoices/{inv}", unitdp="4").json["Invoices"][0]) == [
        Decimal("7.8912")]


def test_without_unitdp_a_write_rounds_to_two_decimals(client: Client) -> None:
    cid = client.contact()["ContactID"]
    doc = client.invoice(cid, status="DRAFT", lines=[line("12.3456")])
    again = client.get(f"/Invoices/{doc['InvoiceID']}", unitdp="4").json["Invoices"][0]
    assert units(doc) == units(again) == [Decimal("12.35")]


def test_unitdp4_keeps_four_decimals_on_credit_notes(client: Client) -> None:
    cid = client.contact()["ContactID"]
    body = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": cid}, "Status": "DRAFT",
            "Date": "2026-03-01", "LineItems": [line("0.3333")]}
    put = client.put("/CreditNotes", {"CreditNotes": [body]}, unitdp="4")
    assert put.status == 200, put.raw
    [doc] = put.json["CreditNotes"]
    assert units(doc) == [Decimal("0.3333")]
    note = doc["CreditNoteID"]
    assert units(client.get(f"/CreditNotes/{note}", unitdp="4").json["CreditNotes"][0]) == [
        Decimal("0.3333")]
    [listed] = [c for c in client.get("/CreditNotes", unitdp="4", page="1").json["CreditNotes"]
                if c["CreditNoteID"] == note]
    assert units(listed) == [Decimal("0.3333")]
    assert units(client.get(f"/CreditNotes/{note}").json["CreditNotes"][0]) == [
        Decimal("0.33")]
    edit = {"CreditNoteID": note, "LineItems": [line("1.0001")]}
    post = client.post(f"/CreditNotes/{note}", {"CreditNotes": [edit]}, unitdp="4")
    assert post.status == 200, post.raw
    assert units(post.json["CreditNotes"][0]) == [Decimal("1.0001")]
