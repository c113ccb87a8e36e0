"""Bad rows of ops.db, one kind each: the corpus the store tests and the sync tests share.

``seed`` makes an ops.db of good rows; ``add_bad_row`` adds one case's bad row beside them.
Each :class:`Bad` names the field its reason must name and the text showing the value."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsync.sides.ops_sqlite import create_ops_db

STAMP = "2026-11-05T00:00:00Z"
TEMPLATES: dict[str, dict[str, Any]] = {
    "contacts": {"name": "New Co", "email": "new@co.test", "status": "active",
                 "updated_at": STAMP},
    "invoices": {"number": "INV-X", "contact_id": "C1", "date": "2026-11-02",
                 "due_date": "2026-12-02", "currency": "AUD", "amounts_are": "exclusive",
                 "status": "approved", "total": "110.00", "updated_at": STAMP},
    "bills": {"number": "SUP-X", "contact_id": "C1", "date": "2026-11-02",
              "due_date": "2026-12-02", "currency": "AUD", "amounts_are": "exclusive",
              "status": "approved", "total": "11.00", "updated_at": STAMP},
    "invoice_lines": {"position": 1, "description": "Labour", "quantity": "1",
                      "unit_price": "10", "account_code": "200", "tax_type": "OUTPUT"},
    "bill_lines": {"position": 1, "description": "Timber", "quantity": "1",
                   "unit_price": "10", "account_code": "300", "tax_type": "INPUT"},
    "payments": {"invoice_id": "I1", "date": "2026-11-09", "amount": "10.00",
                 "reference": "EFT", "status": "authorised", "updated_at": STAMP},
    "credit_notes": {"number": "CN-X", "contact_id": "C1", "invoice_id": "I1",
                     "date": "2026-11-09", "total": "10.00", "remaining": "10.00",
                     "status": "approved", "updated_at": STAMP},
}
LINE_OF = {"invoice_lines": ("invoices", "invoice_id"), "bill_lines": ("bills", "bill_id")}
ENTITY_OF = {"invoice_lines": "invoices", "bill_lines": "bills"}
# the good rows of each entity, which every case must leave readable
GOOD = {"contacts": {"C1", "C2"}, "invoices": {"I1", "I2"}, "bills": {"B1"},
        "payments": {"P1"}, "credit_notes": {"CN1"}}
PYTHON_TEXT = ("invalid literal", "Traceback", "sqlite3", "Error", "InvalidOperation",
               "<class", "KeyError", "No item with that key", "constraint failed",
               "could not convert", "decimal.")


def seed(path: Path) -> None:
    create_ops_db(path)
    conn = sqlite3.connect(path)
    conn.executescript(
        f"""
        INSERT INTO accounts VALUES ('200', 'Sales', 'REVENUE', 'OUTPUT', 'active'),
                                    ('300', 'Purchases', 'EXPENSE', 'INPUT', 'active');
        INSERT INTO contacts (id, name, email, status, updated_at) VALUES
            ('C1', 'Acme Pty Ltd', 'ap@acme.test', 'active', '{STAMP}'),
            ('C2', 'Bolt & Co', NULL, 'archived', '{STAMP}');
        INSERT INTO invoices (id, number, contact_id, date, due_date, status, total, updated_at)
            VALUES ('I1', 'INV-1', 'C1', '2026-11-02', '2026-12-02', 'approved', '110',
                    '{STAMP}'),
                   ('I2', 'INV-2', 'C2', '2026-11-03', NULL, 'draft', '5.5', '{STAMP}');
        INSERT INTO invoice_lines (id, invoice_id, position, quantity, unit_price,
                                   account_code, tax_type)
            VALUES ('L1', 'I1', 1, '2', '50', '200', 'OUTPUT'),
                   ('L2', 'I2', 1, '1', '5.5', '200', 'OUTPUT');
        INSERT INTO bills (id, number, contact_id, date, status, total, updated_at)
            VALUES ('B1', 'SUP-1', 'C1', '2026-11-03', 'approved', '11', '{STAMP}');
        INSERT INTO bill_lines (id, bill_id, position, quantity, unit_price, account_code)
            VALUES ('BL1', 'B1', 1, '1', '10', '300');
        INSERT INTO payments (id, invoice_id, date, amount, status, updated_at)
            VALUES ('P1', 'I1', '2026-11-09', '50.00', 'authorised', '{STAMP}');
        INSERT INTO credit_notes (id, number, contact_id, invoice_id, date, total, remaining,
                                  status, updated_at)
            VALUES ('CN1', 'CN-1', 'C1', 'I1', '2026-11-09', '5.00', '0.00', 'paid', '{STAMP}');
        """
    )
    conn.commit()
    conn.close()


@dataclass(frozen=True)
class Bad:
    """One bad row: ``table`` gets a row with ``values`` over its template; the reason must
    name ``who``, ``field`` and ``shown``."""

    kind: str
    table: str
    values: dict[str, Any]
    field: str
    shown: str
    # for a line: the document it names, when not the good one the test makes for it
    owner: str | None = None


def _inv(kind: str, name: str, value: Any, shown: str | None = None, **extra: Any) -> Bad:
    return Bad(kind, "invoices", {name: value, **extra}, name,
               str(value) if shown is None else shown)


CASES = [
    # contacts
    Bad("contact without a name", "contacts", {"name": ""}, "name", "empty"),
    Bad("contact status outside the contract", "contacts", {"status": "deleted"}, "status",
        "'deleted'"),
    Bad("contact with an empty status", "contacts", {"status": ""}, "status", "empty"),
    Bad("contact email without @", "contacts", {"email": "ap at acme"}, "email", "ap at acme"),
    Bad("contact stamped in words", "contacts", {"updated_at": "yesterday"}, "updated_at",
        "yesterday"),
    Bad("contact without a stamp", "contacts", {"updated_at": ""}, "updated_at", "empty"),
    Bad("contact phone stored as binary", "contacts", {"phone": b"\x00\x01"}, "phone",
        "binary"),
    # invoices: money text
    _inv("amount with commas", "total", "1,2,3.4"),
    _inv("amount with underscores", "total", "1_000"),
    _inv("amount with an exponent", "total", "1e3"),
    _inv("amount with a huge exponent", "total", "1e30"),
    _inv("amount NaN", "total", "NaN"),
    _inv("amount Infinity", "total", "Infinity"),
    _inv("amount with a leading space", "total", " 12.00"),
    _inv("amount with a trailing space", "total", "12.00 "),
    _inv("amount with a plus sign", "total", "+12.00"),
    _inv("amount with two points", "total", "12.3.4"),
    _inv("amount without whole part", "total", ".5"),
    _inv("amount ending in a point", "total", "5."),
    _inv("amount that is only a sign", "subtotal", "-"),
    _inv("amount in words", "subtotal", "ten"),
    _inv("amount in hexadecimal", "total_tax", "0x10"),
    _inv("amount in non-ASCII digits", "amount_due", "\u0967\u0968"),
    _inv("amount with a currency sign", "total", "$12.00"),
    _inv("amount with three decimals", "total", "12.345", "3 decimal places"),
    # invoices: dates
    _inv("date without leading zero", "date", "2026-11-2",
         "date '2026-11-2' is not a date in the form YYYY-MM-DD", due_date=None),
    _inv("date in day/month/year", "date", "02/11/2026",
         "date '02/11/2026' is not a date in the form YYYY-MM-DD", due_date=None),
    _inv("date without dashes", "date", "20261102",
         "date '20261102' is not a date in the form YYYY-MM-DD", due_date=None),
    _inv("date that does not exist", "date", "2026-02-30",
         "date '2026-02-30' is not a date of the calendar", due_date=None),
    _inv("date before 1900", "date", "1899-12-31",
         "date '1899-12-31' is outside the years 1900 to 2100", due_date=None),
    _inv("date after 2100", "date", "2101-01-01",
         "date '2101-01-01' is outside the years 1900 to 2100", due_date=None),
    _inv("due date before the date", "due_date", "2026-10-01",
         "due_date '2026-10-01' is before the date '2026-11-02'"),
    _inv("paid_on in words", "paid_on", "soon"),
    # invoices: enums, references, stamps
    _inv("document status outside the contract", "status", "sent", "'sent'"),
    _inv("amounts_are outside the contract", "amounts_are", "gross", "'gross'"),
    _inv("currency in lower case", "currency", "aud"),
    _inv("contact that does not exist", "contact_id", "NOPE"),
    _inv("document without a contact", "contact_id", None, "empty"),
    _inv("document stamped in words", "updated_at", "yesterday"),
    _inv("document stamped in month 13", "updated_at", "2026-13-01T00:00:00Z"),
    # invoice lines
    Bad("unit price with a huge exponent", "invoice_lines", {"unit_price": "1e30"},
        "unit_price", "1e30"),
    Bad("unit price with five decimals", "invoice_lines", {"unit_price": "1.23456"},
        "unit_price", "5 decimal places"),
    Bad("quantity with a comma", "invoice_lines", {"quantity": "1,5"}, "quantity", "1,5"),
    Bad("quantity in words", "invoice_lines", {"quantity": "two"}, "quantity", "two"),
    Bad("line amount with three decimals", "invoice_lines", {"line_amount": "12.345"},
        "line_amount", "12.345"),
    Bad("discount rate with a percent sign", "invoice_lines", {"discount_rate": "10%"},
        "discount_rate", "10%"),
    Bad("tax amount NaN", "invoice_lines", {"tax_amount": "NaN"}, "tax_amount", "NaN"),
    Bad("account code not in the chart", "invoice_lines", {"account_code": "999"},
        "account_code", "999"),
    Bad("category without a mapping", "invoice_lines",
        {"account_code": None, "category": "travel"}, "category", "travel"),
    Bad("position in words", "invoice_lines", {"position": "first"}, "position", "first"),
    Bad("line whose invoice does not exist", "invoice_lines", {}, "invoice_id", "I-404",
        owner="I-404"),
    # bills and bill lines
    Bad("bill status outside the contract", "bills", {"status": "sent"}, "status", "'sent'"),
    Bad("bill total with an exponent", "bills", {"total": "1e3"}, "total", "1e3"),
    Bad("bill due before its date", "bills", {"due_date": "2026-11-01"}, "due_date",
        "2026-11-01"),
    Bad("bill date with a time", "bills", {"date": "2026-11-02T10:00:00"}, "date",
        "2026-11-02T10:00:00"),
    Bad("bill line unit price with a negative exponent", "bill_lines",
        {"unit_price": "-1e-2"}, "unit_price", "-1e-2"),
    Bad("bill line quantity with five decimals", "bill_lines", {"quantity": "0.00001"},
        "quantity", "0.00001"),
    Bad("bill line whose bill does not exist", "bill_lines", {}, "bill_id", "B-404",
        owner="B-404"),
    # payments
    Bad("payment amount in words", "payments", {"amount": "ten"}, "amount", "ten"),
    Bad("payment amount with three decimals", "payments", {"amount": "10.001"}, "amount",
        "10.001"),
    Bad("payment date in words", "payments", {"date": "yesterday"}, "date", "yesterday"),
    Bad("payment status outside the contract", "payments", {"status": "sent"}, "status",
        "'sent'"),
    Bad("payment stamped in words", "payments", {"updated_at": "last week"}, "updated_at",
        "last week"),
    # credit notes
    Bad("credit note total with an exponent", "credit_notes", {"total": "1e3"}, "total",
        "1e3"),
    Bad("credit note remaining NaN", "credit_notes", {"remaining": "NaN"}, "remaining", "NaN"),
    Bad("credit note status outside the contract", "credit_notes", {"status": "sent"},
        "status", "'sent'"),
    Bad("credit note date with slashes", "credit_notes", {"date": "2026/11/09"}, "date",
        "2026/11/09"),
]


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))


def add_bad_row(path: Path, case: Bad) -> tuple[str, str, str]:
    """Insert the case's row; return (entity, the id it is rejected under, who the reason
    names)."""
    conn = sqlite3.connect(path)
    # a platform's ops.db need not carry xsync's CHECK rules, so values outside them must be
    # caught by the store itself
    conn.execute("PRAGMA ignore_check_constraints = ON")
    if case.table in LINE_OF:
        doc_table, owner_col = LINE_OF[case.table]
        owner = case.owner
        if owner is None:
            owner = "X-DOC"
            insert(conn, doc_table, {"id": owner, **TEMPLATES[doc_table]})
        insert(conn, case.table, {"id": "X-LINE", owner_col: owner,
                                   **{**TEMPLATES[case.table], **case.values}})
        entity, rejected_id, who = ENTITY_OF[case.table], owner, "line X-LINE"
    else:
        insert(conn, case.table, {"id": "X-1", **{**TEMPLATES[case.table], **case.values}})
        noun = {"credit_notes": "credit note"}.get(case.table, case.table.rstrip("s"))
        entity, rejected_id, who = case.table, "X-1", f"{noun} X-1"
    conn.commit()
    conn.close()
    return entity, rejected_id, who
