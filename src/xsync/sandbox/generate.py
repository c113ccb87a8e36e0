"""Bulk generation of large organisations for benchmarks.

Documents are written as pre-built Xero JSON text with ``executemany`` in one transaction, not
through the validation path, so 100,000 invoices take seconds. The generated data obeys the same
invariants the API maintains (line tax half-up per line at 10%, totals as sums of lines,
AmountDue = Total, unique ACCREC numbers, counters advanced), so the API can keep working on it.
Statuses: about 10% DRAFT, 5% SUBMITTED, the rest AUTHORISED; 80% sales invoices, 20% bills.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from typing import Any

from xsync.sandbox import contacts as contact_rules
from xsync.sandbox import settings, xjson
from xsync.sandbox.clock import Clock
from xsync.sandbox.store import Store, name_key

_PRICES = (995, 1250, 4500, 9999, 15000, 22000, 49500, 120000)
_DESCRIPTIONS = ("Consulting services", "Support hours", "Licence fee", "Hardware", "Freight")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def generate_organisation(
    store: Store,
    name: str,
    *,
    invoices: int,
    lines_per_invoice: int = 3,
    contacts: int = 0,
    clock: Clock | None = None,
    seed: int = 1,
    tenant_id: str | None = None,
    bank_transactions: int = 0,
    manual_journals: int = 0,
) -> str:
    """Create an organisation with ``invoices`` invoices of ``lines_per_invoice`` lines each
    across ``contacts`` contacts (default: one per 20 invoices, at least 10), and, for a
    realistic BAS quarter, ``bank_transactions`` spend and receive money transactions and
    ``manual_journals`` posted journals with GST lines. Returns its tenant id."""
    clock = clock or Clock()
    rng = random.Random(seed)
    opts = {"tenant_id": tenant_id} if tenant_id else {}
    tenant = store.create_organisation(name, seed="empty", clock=clock, **opts)
    now = xjson.ms(clock.now())
    today = clock.now().date()
    count = contacts or max(10, invoices // 20)
    with store.transaction():
        people = _contacts(store, tenant, rng, count, now - invoices * 1000 - 1000)
        accounts = settings.accounts_by_code(store, tenant)
        rows = _invoice_rows(tenant, rng, invoices, lines_per_invoice, people, accounts, now, today)
        store.put_many("invoices", rows)
        store.set_counter(tenant, "invoices", rows.sales_count)
        if bank_transactions:
            store.put_many(
                "banktransactions",
                _bank_rows(tenant, rng, bank_transactions, people, accounts, now, today),
            )
        if manual_journals:
            store.put_many(
                "manualjournals", _journal_rows(tenant, rng, manual_journals, accounts, now, today)
            )
    return tenant


def _bank_rows(
    tenant: str,
    rng: random.Random,
    count: int,
    people: list[tuple[str, str]],
    accounts: dict[str, dict[str, Any]],
    now: int,
    today: Any,
) -> list[tuple[Any, ...]]:
    """Spend money at GST on expenses and receive money at GST on income, one line each."""
    bank = accounts["090"]
    rows = []
    for index in range(count):
        spend = rng.random() < 0.7
        code = "429" if spend else "260"
        tax_type = "INPUT" if spend else "OUTPUT"
        amount = _PRICES[rng.randrange(len(_PRICES))]
        tax = (amount + 5) // 10
        contact_id, contact_name = people[rng.randrange(len(people))]
        day = today - timedelta(days=rng.randrange(0, 720))
        updated = now - (count - index) * 1000
        doc = {
            "BankTransactionID": _uuid(rng),
            "Type": "SPEND" if spend else "RECEIVE",
            "Contact": {"ContactID": contact_id, "Name": contact_name},
            "BankAccount": {"AccountID": bank["AccountID"], "Code": "090", "Name": bank["Name"]},
            "IsReconciled": False,
            "Date": xjson.ms_date(day),
            "DateString": xjson.iso_date(day),
            "Reference": f"BANK-{index + 1:06d}",
            "CurrencyCode": "AUD",
            "CurrencyRate": xjson.Decimal("1.000000"),
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "LineItems": [
                {
                    "LineItemID": _uuid(rng),
                    "Description": "Card purchase" if spend else "Cash sale",
                    "Quantity": xjson.Decimal("1.0000"),
                    "UnitAmount": xjson.Decimal(_cents(amount)),
                    "AccountCode": code,
                    "AccountID": accounts[code]["AccountID"],
                    "TaxType": tax_type,
                    "TaxAmount": xjson.Decimal(_cents(tax)),
                    "LineAmount": xjson.Decimal(_cents(amount)),
                    "Tracking": [],
                }
            ],
            "SubTotal": xjson.Decimal(_cents(amount)),
            "TotalTax": xjson.Decimal(_cents(tax)),
            "Total": xjson.Decimal(_cents(amount + tax)),
            "HasAttachments": False,
            "UpdatedDateUTC": xjson.ms_timestamp(updated),
        }
        rows.append(
            (tenant, doc["BankTransactionID"], updated, None, None, "AUTHORISED", doc["Type"],
             contact_id, 0, xjson.dumps(doc))
        )
    return rows


def _journal_rows(
    tenant: str,
    rng: random.Random,
    count: int,
    accounts: dict[str, dict[str, Any]],
    now: int,
    today: Any,
) -> list[tuple[Any, ...]]:
    """Posted journals accruing sales: a credit at GST on income, its debit BAS excluded."""
    rows = []
    for index in range(count):
        amount = _PRICES[rng.randrange(len(_PRICES))]
        tax = (amount + 5) // 10
        day = today - timedelta(days=rng.randrange(0, 720))
        updated = now - (count - index) * 1000
        lines = [
            ("200", -amount, -tax, "OUTPUT"),
            ("610", amount + tax, 0, "BASEXCLUDED"),
        ]
        doc = {
            "ManualJournalID": _uuid(rng),
            "Narration": f"Accrued sales {index + 1}",
            "Date": xjson.ms_date(day),
            "Status": "POSTED",
            "LineAmountTypes": "Exclusive",
            "ShowOnCashBasisReports": True,
            "HasAttachments": False,
            "JournalLines": [
                {
                    "LineAmount": xjson.Decimal(_cents(line)),
                    "AccountCode": code,
                    "AccountID": accounts[code]["AccountID"],
                    "TaxType": tax_type,
                    "TaxAmount": xjson.Decimal(_cents(gst)),
                    "Description": "",
                    "Tracking": [],
                    "IsBlank": False,
                }
                for code, line, gst, tax_type in lines
            ],
            "UpdatedDateUTC": xjson.ms_timestamp(updated),
        }
        rows.append(
            (tenant, doc["ManualJournalID"], updated, None, None, "POSTED", None, None, 0,
             xjson.dumps(doc))
        )
    return rows


def _contacts(
    store: Store, tenant: str, rng: random.Random, count: int, updated: int
) -> list[tuple[str, str]]:
    """``count`` customers, changed a second apart (as an organisation's contacts are, over
    time), the last at ``updated``."""
    out = []
    rows = []
    for index in range(count):
        changed = updated - (count - 1 - index) * 1000
        stamp = xjson.ms_timestamp(changed)
        contact_id = _uuid(rng)
        label = f"Customer {index + 1:06d}"
        doc = contact_rules.blank_contact(contact_id)
        doc.update(
            {
                "Name": label,
                "ContactNumber": f"G{index + 1:06d}",
                "EmailAddress": f"accounts{index + 1}@example.com.au",
                "UpdatedDateUTC": stamp,
                "IsCustomer": True,
            }
        )
        number = doc["ContactNumber"]
        cols = (tenant, contact_id, changed, number, name_key(label), "ACTIVE", None, None, 0)
        rows.append((*cols, xjson.dumps(doc)))
        out.append((contact_id, label))
    store.put_many("contacts", rows)
    return out


class _Rows(list[tuple[Any, ...]]):
    sales_count = 0


def _invoice_rows(
    tenant: str,
    rng: random.Random,
    count: int,
    per: int,
    people: list[tuple[str, str]],
    accounts: dict[str, dict[str, Any]],
    now: int,
    today: Any,
) -> _Rows:
    rows = _Rows()
    sales_account = accounts["200"]["AccountID"]
    bill_account = accounts["429"]["AccountID"]
    for index in range(count):
        sales = rng.random() < 0.8
        roll = rng.random()
        status = "DRAFT" if roll < 0.10 else ("SUBMITTED" if roll < 0.15 else "AUTHORISED")
        contact_id, contact_name = people[rng.randrange(len(people))]
        day = today - timedelta(days=rng.randrange(0, 720))
        due = day + timedelta(days=30)
        updated = now - (count - index) * 1000
        line_texts = []
        sub = tax_total = 0
        for _ in range(per):
            qty = rng.randrange(1, 6)
            unit = _PRICES[rng.randrange(len(_PRICES))]
            amount = qty * unit
            tax = (amount + 5) // 10
            sub += amount
            tax_total += tax
            code, account_id, tax_type = (
                ("200", sales_account, "OUTPUT") if sales else ("429", bill_account, "INPUT")
            )
            desc = _DESCRIPTIONS[rng.randrange(len(_DESCRIPTIONS))]
            line_texts.append(
                f'{{"LineItemID":"{_uuid(rng)}","Description":"{desc}","Quantity":{qty}.0000,'
                f'"UnitAmount":{_cents(unit)},"AccountCode":"{code}","AccountID":"{account_id}",'
                f'"TaxType":"{tax_type}","TaxAmount":{_cents(tax)},"LineAmount":{_cents(amount)},'
                '"Tracking":[]}'
            )
        invoice_id = _uuid(rng)
        if sales:
            rows.sales_count += 1
            number = f"INV-{rows.sales_count:06d}"
        else:
            number = f"BILL-{index + 1:06d}"
        total = _cents(sub + tax_total)
        contact = json.dumps(
            {
                "ContactID": contact_id,
                "Name": contact_name,
                "Addresses": [],
                "Phones": [],
                "ContactGroups": [],
                "ContactPersons": [],
                "HasValidationErrors": False,
            },
            separators=(",", ":"),
        )
        typ = "ACCREC" if sales else "ACCPAY"
        text = (
            f'{{"InvoiceID":"{invoice_id}","Type":"{typ}","InvoiceNumber":"{number}",'
            f'"Reference":"REF-{index + 1}","Status":"{status}","Contact":{contact},'
            f'"Date":"{xjson.ms_date(day)}","DateString":"{xjson.iso_date(day)}",'
            f'"DueDate":"{xjson.ms_date(due)}","DueDateString":"{xjson.iso_date(due)}",'
            f'"LineAmountTypes":"Exclusive","LineItems":[{",".join(line_texts)}],'
            f'"SubTotal":{_cents(sub)},"TotalTax":{_cents(tax_total)},"Total":{total},'
            f'"AmountDue":{total},"AmountPaid":0.00,"AmountCredited":0.00,"IsDiscounted":false,'
            '"Payments":[],"CreditNotes":[],"Prepayments":[],"Overpayments":[],'
            '"CurrencyCode":"AUD","CurrencyRate":1.000000,"HasAttachments":false,'
            f'"HasErrors":false,"UpdatedDateUTC":"{xjson.ms_timestamp(updated)}",'
            f'"UpdatedDateUTCString":"{xjson.iso_timestamp(updated)}"}}'
        )
        rows.append((tenant, invoice_id, updated, number, None, status, typ, contact_id, 0, text))
    return rows
