"""New organisations: the AU settings, and for ``seed="demo"`` a small GST-registered company.

The demo company is built through the same document rules the API uses (so its totals,
statuses and balances are exactly what the API would produce) from fixed data and a fixed
random seed, with document dates relative to the clock's today: about 20 contacts (one
archived), 50 invoices and bills in every status (some part-paid), payments, and credit notes
(one allocated, one not).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import date, timedelta
from typing import Any

from xsync.sandbox import allocations, contacts, documents, payments, settings, xjson
from xsync.sandbox.clock import Clock
from xsync.sandbox.context import Ctx
from xsync.sandbox.store import Store

_CONTACTS = (
    ("ABC Furniture", "Trish", "Rawlings", "Sydney", "NSW", "2000"),
    ("Bayside Club", "Bobby", "Ansell", "Brighton", "VIC", "3186"),
    ("Boom FM", "Jenny", "Hill", "Melbourne", "VIC", "3000"),
    ("City Agency", "Sam", "Kent", "Brisbane", "QLD", "4000"),
    ("Coco Cafe", "Lucy", "Mills", "Fremantle", "WA", "6160"),
    ("Gable Print", "Tony", "Gable", "Adelaide", "SA", "5000"),
    ("Hamilton Smith Ltd", "Ann", "Smith", "Hobart", "TAS", "7000"),
    ("Marine Systems", "Ross", "Kerr", "Darwin", "NT", "0800"),
    ("Petrie McLoud Watson & Associates", "Ian", "Petrie", "Canberra", "ACT", "2600"),
    ("Port & Philip Freight", "Mia", "Port", "Geelong", "VIC", "3220"),
    ("Young Bros Transport", "Ed", "Young", "Newcastle", "NSW", "2300"),
    ("Basket Case", "Nina", "Case", "Parramatta", "NSW", "2150"),
    ("Capital Cab Co", "Raj", "Patel", "Canberra", "ACT", "2601"),
    ("Central Copiers", "Joe", "Brown", "Sydney", "NSW", "2000"),
    ("Melrose Parking", "Kim", "Melrose", "Perth", "WA", "6000"),
    ("PC Complete", "Tom", "Nguyen", "Melbourne", "VIC", "3004"),
    ("SMART Agency", "Zoe", "Smart", "Gold Coast", "QLD", "4217"),
    ("Truxton Property Management", "Al", "Truxton", "Sydney", "NSW", "2010"),
    ("Office Supplies Direct", "Meg", "Lane", "Wollongong", "NSW", "2500"),
    ("Ridgeway University", "Dan", "Ridge", "Ballarat", "VIC", "3350"),
)
_CUSTOMERS = _CONTACTS[:12]
_SUPPLIERS = (*_CONTACTS[12:19], _CONTACTS[5])
_SALES_LINES = (
    ("Consulting services", "200", "OUTPUT", ("150.00", "180.00", "220.00")),
    ("Training workshop", "200", "OUTPUT", ("950.00", "1200.00")),
    ("Software licence", "200", "OUTPUT", ("49.95", "99.95")),
    ("Export services", "260", "EXEMPTEXPORT", ("500.00",)),
    ("Fresh produce", "200", "EXEMPTOUTPUT", ("12.50", "18.75")),
)
_BILL_LINES = (
    ("Office supplies", "453", "INPUT", ("35.40", "82.15")),
    ("Printing", "461", "INPUT", ("120.00", "310.50")),
    ("Advertising campaign", "400", "INPUT", ("650.00",)),
    ("Travel - flights", "493", "INPUT", ("389.00", "512.00")),
    ("Bank charges", "404", "EXEMPTEXPENSES", ("15.00",)),
    ("Laptop", "710", "CAPEXINPUT", ("1899.00",)),
    ("Goods for resale", "310", "INPUT", ("27.30", "44.10")),
)
# (type, final status, share paid) — 31 sales invoices and 19 bills.
_PLAN = (
    *[("ACCREC", "DRAFT", 0)] * 4,
    *[("ACCREC", "SUBMITTED", 0)] * 3,
    *[("ACCREC", "AUTHORISED", 0)] * 8,
    *[("ACCREC", "AUTHORISED", 0.5)] * 4,
    *[("ACCREC", "PAID", 1)] * 8,
    *[("ACCREC", "VOIDED", 0)] * 2,
    *[("ACCREC", "DELETED", 0)] * 2,
    *[("ACCPAY", "DRAFT", 0)] * 3,
    *[("ACCPAY", "SUBMITTED", 0)] * 2,
    *[("ACCPAY", "AUTHORISED", 0)] * 5,
    *[("ACCPAY", "AUTHORISED", 0.4)] * 2,
    *[("ACCPAY", "PAID", 1)] * 5,
    ("ACCPAY", "VOIDED", 0),
    ("ACCPAY", "DELETED", 0),
)


def abn(rng: random.Random) -> str:
    """A random 11-digit ABN that passes the ATO checksum (weights, first digit minus one)."""
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    while True:
        tail = [rng.randrange(10) for _ in range(9)]
        for head in range(10, 100):
            digits = [head // 10 - 1, head % 10, *tail]
            if sum(w * d for w, d in zip(weights, digits, strict=True)) % 89 == 0:
                return "".join(str(d) for d in [head // 10, head % 10, *tail])


def create(store: Store, name: str, *, seed: str, clock: Clock, **opts: Any) -> str:
    if seed not in ("demo", "empty"):
        raise ValueError(f"unknown seed {seed!r}: use 'demo' or 'empty'")
    tenant_id = str(opts.get("tenant_id") or uuid.uuid4())
    now = xjson.ms(clock.now())
    code = hashlib.sha256(tenant_id.encode()).hexdigest()[:5]
    short_code = str(opts.get("short_code") or f"!{code}")
    with store.transaction():
        doc = settings.organisation_doc(
            tenant_id, name, now, demo=seed == "demo", short_code=short_code
        )
        store.insert_organisation(tenant_id, name, doc)
        settings.install_settings(store, tenant_id, now)
        if seed == "demo":
            _demo(Ctx(store, clock, tenant_id))
        lock = opts.get("period_lock_date")
        if lock is not None:
            store.set_period_lock_date(tenant_id, lock)
    return tenant_id


def _demo(ctx: Ctx) -> None:
    rng = random.Random(20260101)
    today = ctx.today()
    ids: dict[str, str] = {}
    for index, (name, first, last, city, region, postcode) in enumerate(_CONTACTS):
        doc = contacts.save(
            ctx, _contact(rng, index, name, first, last, city, region, postcode), upsert=False
        )
        ids[name] = doc["ContactID"]
    invoices = [_invoice(ctx, rng, today, n, plan, ids) for n, plan in enumerate(_PLAN)]
    open_sale = next(i for i in invoices if i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED")
    note = _credit_note(
        ctx,
        "ACCRECCREDIT",
        open_sale["Contact"]["ContactID"],
        today,
        "Returned goods",
        "200",
        "OUTPUT",
    )
    allocations.allocate(
        ctx,
        note["CreditNoteID"],
        {
            "Amount": xjson.money(note["Total"] / 2),
            "Date": today.isoformat(),
            "Invoice": {"InvoiceID": open_sale["InvoiceID"]},
        },
    )
    _credit_note(
        ctx,
        "ACCPAYCREDIT",
        ids["PC Complete"],
        today,
        "Supplier refund for faulty part",
        "310",
        "INPUT",
    )
    contacts.save(
        ctx, {"ContactStatus": "ARCHIVED"}, upsert=False, contact_id=ids["Ridgeway University"]
    )


def _contact(
    rng: random.Random,
    index: int,
    name: str,
    first: str,
    last: str,
    city: str,
    region: str,
    postcode: str,
) -> dict[str, Any]:
    domain = "".join(c for c in name.lower() if c.isalnum())[:16] + ".com.au"
    road = rng.choice(("George", "King", "Queen", "Collins", "Hay"))
    street = f"{rng.randrange(1, 400)} {road} Street"
    return {
        "Name": name,
        "ContactNumber": f"C{index + 1:04d}",
        "FirstName": first,
        "LastName": last,
        "EmailAddress": f"{first.lower()}@{domain}",
        "TaxNumber": abn(rng),
        "Addresses": [
            {
                "AddressType": "STREET",
                "AddressLine1": street,
                "City": city,
                "Region": region,
                "PostalCode": postcode,
                "Country": "Australia",
            },
            {
                "AddressType": "POBOX",
                "AddressLine1": f"PO Box {rng.randrange(100, 9999)}",
                "City": city,
                "Region": region,
                "PostalCode": postcode,
                "Country": "Australia",
            },
        ],
        "Phones": [
            {
                "PhoneType": "DEFAULT",
                "PhoneNumber": f"{rng.randrange(9000, 9999)} {rng.randrange(1000, 9999)}",
                "PhoneAreaCode": "02",
            },
            {
                "PhoneType": "MOBILE",
                "PhoneNumber": f"04{rng.randrange(10, 99)} {rng.randrange(100, 999)} "
                f"{rng.randrange(100, 999)}",
            },
        ],
    }


def _invoice(
    ctx: Ctx,
    rng: random.Random,
    today: date,
    n: int,
    plan: tuple[str, str, float],
    ids: dict[str, str],
) -> dict[str, Any]:
    typ, status, share = plan
    sales = typ == "ACCREC"
    contact = rng.choice(_CUSTOMERS if sales else _SUPPLIERS)[0]
    day = today - timedelta(days=rng.randrange(5, 120))
    choices = _SALES_LINES if sales else _BILL_LINES
    items = []
    for _ in range(rng.randrange(1, 4)):
        desc, account, tax, prices = rng.choice(choices)
        items.append(
            {
                "Description": desc,
                "Quantity": rng.randrange(1, 6),
                "UnitAmount": xjson.Decimal(rng.choice(prices)),
                "AccountCode": account,
                "TaxType": tax,
            }
        )
    raw: dict[str, Any] = {
        "Type": typ,
        "Contact": {"ContactID": ids[contact]},
        "Date": day.isoformat(),
        "DueDate": (day + timedelta(days=30)).isoformat(),
        "LineItems": items,
        "LineAmountTypes": "Inclusive" if n % 17 == 5 else "Exclusive",
        "Reference": f"{'PO' if sales else 'SUP'}-{1000 + n}",
        "Status": "DRAFT"
        if status in ("DRAFT", "DELETED")
        else ("SUBMITTED" if status == "SUBMITTED" else "AUTHORISED"),
    }
    if not sales:
        raw["InvoiceNumber"] = f"BILL-{rng.randrange(10000, 99999)}"
    doc = documents.save(ctx, documents.INVOICE, raw, upsert=False)
    if status in ("VOIDED", "DELETED"):
        doc = documents.save(
            ctx, documents.INVOICE, {"Status": status}, upsert=False, doc_id=doc["InvoiceID"]
        )
    if share:
        amount = xjson.money(xjson.Decimal(doc["Total"]) * xjson.Decimal(str(share)))
        pay_day = min(day + timedelta(days=rng.randrange(1, 30)), today)
        payments.create(
            ctx,
            {
                "Invoice": {"InvoiceID": doc["InvoiceID"]},
                "Account": {"Code": "090"},
                "Amount": amount,
                "Date": pay_day.isoformat(),
                "Reference": f"Payment {n}",
            },
        )
        doc = ctx.store.get("invoices", ctx.tenant, doc["InvoiceID"]) or doc
    return doc


def _credit_note(
    ctx: Ctx, typ: str, contact_id: str, today: date, desc: str, account: str, tax: str
) -> dict[str, Any]:
    raw = {
        "Type": typ,
        "Contact": {"ContactID": contact_id},
        "Date": (today - timedelta(days=3)).isoformat(),
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": desc,
                "Quantity": 1,
                "UnitAmount": xjson.Decimal("80.00"),
                "AccountCode": account,
                "TaxType": tax,
            }
        ],
    }
    return documents.save(ctx, documents.CREDIT_NOTE, raw, upsert=False)
