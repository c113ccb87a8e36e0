"""The script a user would write instead of xsync: Xero's official SDK paging into SQLite.

It reads every sales invoice (``Type=="ACCREC"``) and every contact, 1,000 to a page, and stores
them in the same tables and columns as xsync's ops store (contacts, invoices, invoice_lines),
one transaction with ``executemany`` per page. It keeps no state: every run reads everything.

    python benchmarks/sdk_baseline.py --base-url http://127.0.0.1:PORT --tenant ID --db out.db
        < tokens.json

``tokens.json``: ``{"tokens": <a token set as /connect/token returns it>, "client_id": ...,
"client_secret": ...}`` (read from stdin, so no token shows in a process listing). The last
line printed is JSON: rows stored, and the work's CPU seconds, peak RSS and disk bytes written.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from measure import measured, report
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi

PAGE_SIZE = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT, abn TEXT,
    address_line1 TEXT, city TEXT, region TEXT, postal_code TEXT, country TEXT,
    status TEXT NOT NULL DEFAULT 'active', updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY, number TEXT, contact_id TEXT, date TEXT, due_date TEXT,
    reference TEXT, currency TEXT NOT NULL DEFAULT 'AUD',
    amounts_are TEXT NOT NULL DEFAULT 'exclusive', status TEXT NOT NULL DEFAULT 'draft',
    subtotal TEXT, total_tax TEXT, total TEXT, amount_paid TEXT, amount_credited TEXT,
    amount_due TEXT, paid_on TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoice_lines (
    id TEXT PRIMARY KEY, invoice_id TEXT NOT NULL REFERENCES invoices(id), position INTEGER,
    description TEXT, quantity TEXT, unit_price TEXT, account_code TEXT, category TEXT,
    tax_type TEXT, tax_amount TEXT, line_amount TEXT, discount_rate TEXT
);
CREATE INDEX IF NOT EXISTS invoice_lines_owner ON invoice_lines(invoice_id);
"""

STATUS = {"DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "approved", "PAID": "paid",
          "VOIDED": "void", "DELETED": "deleted"}
AMOUNTS = {"Exclusive": "exclusive", "Inclusive": "inclusive", "NoTax": "no_tax"}


def connect(base_url: str, tokens: dict[str, Any], client_id: str,
            client_secret: str) -> AccountingApi:
    """The SDK's accounting API at ``base_url`` (Xero's hosts by default)."""
    for attr in ("refresh_token_url", "client_credentials_token_url"):
        setattr(TokenApi, attr, base_url + "/connect/token")
    saved = {"token": tokens}
    config = Configuration(oauth2_token=OAuth2Token(client_id=client_id,
                                                    client_secret=client_secret))
    client = ApiClient(config, oauth2_token_getter=lambda: saved["token"],
                       oauth2_token_saver=lambda token: saved.update(token=token))
    client.set_oauth2_token(tokens)
    return AccountingApi(client, base_url=base_url + "/api.xro/2.0")


def value(enum: Any) -> str | None:
    return None if enum is None else str(getattr(enum, "value", enum))


def money(amount: float | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def number(amount: float | None) -> str | None:
    """A quantity or unit price with 2 to 4 decimals."""
    if amount is None:
        return None
    text = f"{amount:.4f}"
    return text[:-2] + text[-2:].rstrip("0")


def day(when: date | None) -> str | None:
    return None if when is None else when.isoformat()


def stamp(when: datetime | None) -> str:
    when = when or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def contact_row(c: Any) -> tuple[Any, ...]:
    phone = next((p for p in c.phones or [] if value(p.phone_type) == "DEFAULT"), None)
    phone_text = " ".join(x for x in (phone.phone_area_code, phone.phone_number) if x) \
        if phone else ""
    street = next((a for a in c.addresses or [] if value(a.address_type) == "STREET"), None)
    street_values = (street.address_line1, street.city, street.region, street.postal_code,
                     street.country) if street else (None,) * 5
    status = "archived" if value(c.contact_status) in ("ARCHIVED", "GDPRREQUEST") else "active"
    return (c.contact_id, c.name, c.email_address or None, phone_text or None,
            c.tax_number or None, *(v or None for v in street_values), status,
            stamp(c.updated_date_utc))


def invoice_row(i: Any) -> tuple[Any, ...]:
    return (i.invoice_id, i.invoice_number, i.contact.contact_id if i.contact else None,
            day(i.date), day(i.due_date), i.reference or None, value(i.currency_code),
            AMOUNTS.get(value(i.line_amount_types) or "Exclusive", "exclusive"),
            STATUS.get(value(i.status) or "DRAFT", "draft"), money(i.sub_total),
            money(i.total_tax), money(i.total), money(i.amount_paid), money(i.amount_credited),
            money(i.amount_due), day(i.fully_paid_on_date), stamp(i.updated_date_utc))


def line_rows(i: Any) -> list[tuple[Any, ...]]:
    return [(ln.line_item_id, i.invoice_id, position, ln.description, number(ln.quantity),
             number(ln.unit_amount), ln.account_code, None, ln.tax_type, money(ln.tax_amount),
             money(ln.line_amount), money(ln.discount_rate))
            for position, ln in enumerate(i.line_items or [], start=1)]


def pull(api: AccountingApi, tenant: str, db: sqlite3.Connection) -> dict[str, int]:
    """Every contact and sales invoice into ``db``; returns the rows stored per table."""
    db.executescript(SCHEMA)
    counts = {"contacts": 0, "invoices": 0, "invoice_lines": 0}
    page = 1
    while True:
        contacts = api.get_contacts(tenant, page=page, page_size=PAGE_SIZE).contacts or []
        with db:
            db.executemany("INSERT OR REPLACE INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           [contact_row(c) for c in contacts])
        counts["contacts"] += len(contacts)
        if len(contacts) < PAGE_SIZE:
            break
        page += 1
    page = 1
    while True:
        invoices = api.get_invoices(tenant, where='Type=="ACCREC"', page=page,
                                    page_size=PAGE_SIZE).invoices or []
        lines = [row for i in invoices for row in line_rows(i)]
        with db:
            db.executemany("INSERT OR REPLACE INTO invoices VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           [invoice_row(i) for i in invoices])
            db.executemany("INSERT OR REPLACE INTO invoice_lines VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           lines)
        counts["invoices"] += len(invoices)
        counts["invoice_lines"] += len(lines)
        if len(invoices) < PAGE_SIZE:
            break
        page += 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--db", required=True, type=Path)
    args = parser.parse_args(argv)
    secrets = json.loads(sys.stdin.read())
    figures: dict[str, Any] = {}
    with measured(figures):
        api = connect(args.base_url, secrets["tokens"], secrets["client_id"],
                      secrets["client_secret"])
        db = sqlite3.connect(str(args.db))
        figures["rows"] = pull(api, args.tenant, db)
        db.close()
    report(figures)


if __name__ == "__main__":
    main()
