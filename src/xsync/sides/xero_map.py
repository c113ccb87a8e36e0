"""Xero JSON <-> canonical records, field by field, without losing information.

Reading: every Xero element becomes a :class:`Record` in the canonical vocabulary (money text,
`YYYY-MM-DD` dates from the UTC calendar date, statuses in the ops words). Writing: a change
becomes the smallest Xero element that carries it: documents reference their contact by
``ContactID`` only (never by name, which would rename it), lines always carry their
``LineItemID`` so Xero keeps them, and Xero-computed fields (totals, balances) are never sent.

Reading is the sync's hot path (a first pull maps every invoice and line of the organisation):
the money, quantities and dates of Xero's JSON (Decimals, ints and `/Date(ms)/` text) take a
short way to the same canonical text as :func:`~xsync.model.money.money`,
:func:`~xsync.model.money.quantity` and :func:`~xsync.xero.xjson.parse_date`; anything else
takes theirs, so every value reads, and every bad value is refused, as those words say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from xsync.model.entities import spec
from xsync.model.money import CENT, TEN_THOUSANDTH, money, quantity
from xsync.model.records import Fields, Line, Record
from xsync.model.side import Change
from xsync.xero.xjson import date_text, parse_datetime

DOC_STATUS_IN = {
    "DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "approved", "PAID": "paid",
    "VOIDED": "void", "DELETED": "deleted",
}
DOC_STATUS_OUT = {"draft": "DRAFT", "approved": "AUTHORISED", "void": "VOIDED",
                  "deleted": "DELETED"}
AMOUNTS_IN = {"Exclusive": "exclusive", "Inclusive": "inclusive", "NoTax": "no_tax"}
AMOUNTS_OUT = {v: k for k, v in AMOUNTS_IN.items()}
CONTACT_STATUS_IN = {"ACTIVE": "active", "ARCHIVED": "archived", "GDPRREQUEST": "archived"}
GENERIC_STATUS_IN = {"ACTIVE": "active", "ARCHIVED": "archived", "DELETED": "deleted",
                     "PENDING": "pending", "AUTHORISED": "authorised"}
# a payment deleted in Xero (a bounced transfer, a mistake undone) is reversed in ops: its
# document's balance is back as before it
PAYMENT_STATUS_IN = {"AUTHORISED": "authorised", "DELETED": "reversed"}
# the payments of sales invoices and of bills, and the cash refunds of sales credit notes and
# of customers' overpayments and prepayments
PAYMENT_TYPES = frozenset({"ACCRECPAYMENT", "ACCPAYPAYMENT", "ARCREDITPAYMENT",
                           "AROVERPAYMENTPAYMENT", "ARPREPAYMENTPAYMENT"})
# a customer's overpayments and prepayments (the credits entity): endpoint -> (id field, kind,
# the Type of those received from customers)
CREDIT_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "Overpayments": ("OverpaymentID", "overpayment", "RECEIVE-OVERPAYMENT"),
    "Prepayments": ("PrepaymentID", "prepayment", "RECEIVE-PREPAYMENT"),
}

# entity -> (endpoint, id field, Xero Type filter)
ENDPOINTS: dict[str, tuple[str, str, str | None]] = {
    "contacts": ("Contacts", "ContactID", None),
    "invoices": ("Invoices", "InvoiceID", "ACCREC"),
    "bills": ("Invoices", "InvoiceID", "ACCPAY"),
    "payments": ("Payments", "PaymentID", None),
    "credit_notes": ("CreditNotes", "CreditNoteID", "ACCRECCREDIT"),
    # read from Overpayments and Prepayments both (CREDIT_ENDPOINTS)
    "credits": ("Overpayments", "OverpaymentID", "RECEIVE-OVERPAYMENT"),
    # read from the Allocations[] of sales credit notes and of credits (allocation_elements)
    "allocations": ("CreditNotes", "AllocationID", None),
    "accounts": ("Accounts", "AccountID", None),
    "tax_rates": ("TaxRates", "TaxType", None),
}


@dataclass(frozen=True)
class Tracking:
    """Which of Xero's tracking categories each ops tracking column (``job``, ``site``) is,
    by the category's name; a column not named here is not synced."""

    categories: dict[str, str] = field(default_factory=dict)
    # options missing in Xero are created there (else the document is refused, saying why)
    create_options: bool = False

    def option(self, item: dict[str, Any], name: str) -> str | None:
        """The option a Xero line item has in the category mapped to column ``name``."""
        category = self.categories.get(name)
        if category is None:
            return None
        wanted = category.casefold()
        for entry in item.get("Tracking") or []:
            if str(entry.get("Name") or "").strip().casefold() == wanted:
                return _text(entry.get("Option"))
        return None


NO_TRACKING = Tracking()


def _text(value: Any) -> str | None:
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    return str(value).strip() or None


class Unmappable(ValueError):
    """A Xero value xsync cannot turn into the canonical form; the message names it."""


def _date(value: Any) -> str | None:
    return date_text(value) if value else None


def _money(value: Any) -> str | None:
    """:func:`money`, the short way for a Decimal or int: rounded to the cent, zero unsigned.
    (A Decimal rounded to a fixed exponent prints without an exponent.)"""
    if type(value) is Decimal:
        rounded = value.quantize(CENT, ROUND_HALF_UP)
    elif type(value) is int:
        rounded = Decimal(value).quantize(CENT, ROUND_HALF_UP)
    else:
        return money(value)
    if not rounded:
        return "0.00"
    # NaN: refused as money refuses it (Infinity cannot be rounded at all)
    return str(rounded) if rounded.is_finite() else money(value)


def _quantity(value: Any) -> str | None:
    """:func:`quantity`, the short way for a Decimal or int: 4 places, then 2 to 4 shown.
    Quantities and unit prices repeat (a few dozen in a page), so each text is kept by value."""
    kind = type(value)
    if kind is not Decimal and kind is not int:
        return quantity(value)
    known = _QUANTITIES.get(value)
    if known is not None:
        return known
    exact = (value if kind is Decimal else Decimal(value)).quantize(TEN_THOUSANDTH,
                                                                     ROUND_HALF_UP)
    if not exact.is_finite():
        return quantity(value)
    if not exact:
        text = "0.00"
    else:
        text = str(exact)
        if text[-1] == "0":
            text = text[:-1]
            if text[-1] == "0":
                text = text[:-1]
    if len(_QUANTITIES) < _QUANTITIES_KEPT:
        # equal numbers, whatever their exponent, are one quantity ("5", "5.0", "5.0000")
        _QUANTITIES[value] = text
    return text


_QUANTITIES: dict[Decimal | int, str] = {}
_QUANTITIES_KEPT = 4096


# what a converter raises on a value it cannot read (:func:`_read` names the field and value)
_READ_ERRORS = (ValueError, ArithmeticError, TypeError)
_NONE: dict[str, Any] = {}
_NO_LINES: list[dict[str, Any]] = []


def _read(el: dict[str, Any], name: str, convert: Any) -> Any:
    """``convert(el[name])``, or :class:`Unmappable` naming the field and its value."""
    value = el.get(name)
    try:
        return convert(value)
    except _READ_ERRORS:
        raise Unmappable(f"{name} {value!r} is not a value xsync can read") from None


def _enum(el: dict[str, Any], name: str, known: dict[str, str], default: str) -> str:
    """A Xero enum in the ops words; a value xsync does not know is named, never guessed."""
    value = el.get(name) or default
    if value not in known:
        raise Unmappable(f"{name} {value!r} is not one of {', '.join(sorted(known))}")
    return known[value]


def record_from_xero(entity: str, element: dict[str, Any],
                     tracking: Tracking = NO_TRACKING) -> Record:
    """One Xero element as a canonical record. Raises :class:`Unmappable` (a ValueError) with
    a sentence naming the record, the field and the value, on data it cannot read."""
    reader = _READERS[entity]
    id_field = ENDPOINTS[entity][1]
    if entity == "credits" and "PrepaymentID" in element:
        id_field = "PrepaymentID"
    try:
        lines: list[Line] | None
        if entity in ("invoices", "bills"):
            fields, lines = _document(element, tracking)
        else:
            fields, lines = reader(element)
        updated = _read(element, "UpdatedDateUTC", parse_datetime)
        record_id = str(element[id_field])
    except (Unmappable, KeyError) as exc:
        noun = entity.rstrip("s").replace("_", " ")
        known = element.get("InvoiceNumber") or element.get("CreditNoteNumber") \
            or element.get("Name") or element.get("Code") or element.get(id_field) or "?"
        detail = str(exc) if isinstance(exc, Unmappable) else f"{exc.args[0]} is missing"
        raise Unmappable(f"Xero {noun} {known}: {detail}") from None
    return Record(entity=entity, id=record_id, fields=fields, lines=lines, updated_at=updated)


def _contact(el: dict[str, Any]) -> tuple[Fields, None]:
    phones = {p.get("PhoneType"): p for p in el.get("Phones") or []}
    phone = phones.get("DEFAULT") or {}
    phone_text = " ".join(
        part for part in (phone.get("PhoneAreaCode"), phone.get("PhoneNumber")) if part
    )
    addresses = {a.get("AddressType"): a for a in el.get("Addresses") or []}
    street = addresses.get("STREET") or {}
    if not any(street.get(k) for k in ("AddressLine1", "City", "PostalCode")):
        street = addresses.get("POBOX") or street
    return {
        "name": _text(el.get("Name")),
        "email": _text(el.get("EmailAddress")),
        "phone": phone_text or None,
        "abn": _text(el.get("TaxNumber")),
        "address_line1": _text(street.get("AddressLine1")),
        "city": _text(street.get("City")),
        "region": _text(street.get("Region")),
        "postal_code": _text(street.get("PostalCode")),
        "country": _text(street.get("Country")),
        "status": _enum(el, "ContactStatus", CONTACT_STATUS_IN, "ACTIVE"),
        "merged_into": _guid(el.get("MergedToContactID")),
    }, None


NO_GUID = "00000000-0000-0000-0000-000000000000"


def _guid(value: Any) -> str | None:
    """An id Xero may give as the empty GUID for none."""
    text = _text(value)
    return None if text is None or text == NO_GUID else text


def _document(el: dict[str, Any], tracking: Tracking = NO_TRACKING
              ) -> tuple[Fields, list[Line]]:
    get = el.get
    try:
        # the short way: each value converted as it is; the first that cannot be read sends
        # the whole element the careful way, which names it
        fields: Fields = {
            "number": _text(get("InvoiceNumber")),
            "contact_id": _text((get("Contact") or _NONE).get("ContactID")),
            "date": _date(get("Date")),
            "due_date": _date(get("DueDate")),
            "reference": _text(get("Reference")),
            "currency": _text(get("CurrencyCode")),
            "amounts_are": _enum(el, "LineAmountTypes", AMOUNTS_IN, "Exclusive"),
            "status": _enum(el, "Status", DOC_STATUS_IN, "DRAFT"),
            "subtotal": _money(get("SubTotal")),
            "total_tax": _money(get("TotalTax")),
            "total": _money(get("Total")),
            "amount_paid": _money(get("AmountPaid")),
            "amount_credited": _money(get("AmountCredited")),
            "amount_due": _money(get("AmountDue")),
            "paid_on": _date(get("FullyPaidOnDate")),
        }
    except _READ_ERRORS:
        fields = _document_fields(el)
    lines = [_line(index, item, tracking)
             for index, item in enumerate(get("LineItems") or _NO_LINES, start=1)]
    return fields, lines


def _document_fields(el: dict[str, Any]) -> Fields:
    """A document's fields the careful way: a value it cannot read is named."""
    return {
        "number": _text(el.get("InvoiceNumber")),
        "contact_id": _text((el.get("Contact") or {}).get("ContactID")),
        "date": _read(el, "Date", _date),
        "due_date": _read(el, "DueDate", _date),
        "reference": _text(el.get("Reference")),
        "currency": _text(el.get("CurrencyCode")),
        "amounts_are": _enum(el, "LineAmountTypes", AMOUNTS_IN, "Exclusive"),
        "status": _enum(el, "Status", DOC_STATUS_IN, "DRAFT"),
        "subtotal": _read(el, "SubTotal", _money),
        "total_tax": _read(el, "TotalTax", _money),
        "total": _read(el, "Total", _money),
        "amount_paid": _read(el, "AmountPaid", _money),
        "amount_credited": _read(el, "AmountCredited", _money),
        "amount_due": _read(el, "AmountDue", _money),
        "paid_on": _read(el, "FullyPaidOnDate", _date),
    }


def _line(index: int, item: dict[str, Any], tracking: Tracking = NO_TRACKING) -> Line:
    get = item.get
    line_id = _text(get("LineItemID"))
    tracked = bool(tracking.categories)
    try:
        # the short way, as for the document
        fields: Fields = {
            "position": str(index),
            "description": _text(get("Description")),
            "quantity": _quantity(get("Quantity")),
            "unit_price": _quantity(get("UnitAmount")),
            "account_code": _text(get("AccountCode")),
            "tax_type": _text(get("TaxType")),
            "tax_amount": _money(get("TaxAmount")),
            "line_amount": _money(get("LineAmount")),
            "discount_rate": _money(get("DiscountRate")),
            "job": tracking.option(item, "job") if tracked else None,
            "site": tracking.option(item, "site") if tracked else None,
        }
    except _READ_ERRORS:
        fields = _line_fields(index, item, tracking)
    return Line(id=line_id, fields=fields)


def _line_fields(index: int, item: dict[str, Any], tracking: Tracking) -> Fields:
    """A line's fields the careful way: a value it cannot read is named, with the line."""
    try:
        return {
            "position": str(index),
            "description": _text(item.get("Description")),
            "quantity": _read(item, "Quantity", _quantity),
            "unit_price": _read(item, "UnitAmount", _quantity),
            "account_code": _text(item.get("AccountCode")),
            "tax_type": _text(item.get("TaxType")),
            "tax_amount": _read(item, "TaxAmount", _money),
            "line_amount": _read(item, "LineAmount", _money),
            "discount_rate": _read(item, "DiscountRate", _money),
            "job": tracking.option(item, "job"),
            "site": tracking.option(item, "site"),
        }
    except Unmappable as exc:
        raise Unmappable(f"line {index}: {exc}") from None


def _payment(el: dict[str, Any]) -> tuple[Fields, None]:
    document = el.get("Invoice") or {}
    on_bill = document.get("Type") == "ACCPAY" or el.get("PaymentType") == "ACCPAYPAYMENT"
    document_id = _text(document.get("InvoiceID"))
    return {
        "invoice_id": None if on_bill else document_id,
        "bill_id": document_id if on_bill else None,
        "credit_note_id": _text((el.get("CreditNote") or {}).get("CreditNoteID")),
        "credit_id": _text((el.get("Overpayment") or {}).get("OverpaymentID")
                           or (el.get("Prepayment") or {}).get("PrepaymentID")),
        "date": _read(el, "Date", _date),
        "amount": _read(el, "Amount", _money),
        "reference": _text(el.get("Reference")),
        "status": _enum(el, "Status", PAYMENT_STATUS_IN, "AUTHORISED"),
    }, None


def _credit_note(el: dict[str, Any]) -> tuple[Fields, None]:
    allocations = [a for a in el.get("Allocations") or [] if not a.get("IsDeleted")]
    invoice = (allocations[0].get("Invoice") or {}) if allocations else {}
    return {
        "number": _text(el.get("CreditNoteNumber")),
        "contact_id": _text((el.get("Contact") or {}).get("ContactID")),
        "invoice_id": _text(invoice.get("InvoiceID")),
        "date": _read(el, "Date", _date),
        "total": _read(el, "Total", _money),
        "remaining": _read(el, "RemainingCredit", _money),
        "status": _enum(el, "Status", DOC_STATUS_IN, "DRAFT"),
    }, None


def credit_kind(el: dict[str, Any]) -> str:
    """overpayment or prepayment, by the id the element carries."""
    return "prepayment" if "PrepaymentID" in el else "overpayment"


def _credit(el: dict[str, Any]) -> tuple[Fields, None]:
    return {
        "kind": credit_kind(el),
        "contact_id": _text((el.get("Contact") or {}).get("ContactID")),
        "date": _read(el, "Date", _date),
        "reference": _text(el.get("Reference")),
        "total": _read(el, "Total", _money),
        "remaining": _read(el, "RemainingCredit", _money),
        "status": _enum(el, "Status", DOC_STATUS_IN, "AUTHORISED"),
    }, None


# where allocations are listed: endpoint -> (parent id field, the kind of credit, its Type)
ALLOCATION_SOURCES: dict[str, tuple[str, str, str]] = {
    "CreditNotes": ("CreditNoteID", "credit_note", "ACCRECCREDIT"),
    **CREDIT_ENDPOINTS,
}


def allocation_elements(endpoint: str, parent: dict[str, Any]) -> list[dict[str, Any]]:
    """The allocations a credit note, overpayment or prepayment lists, each as an element of
    its own naming its parent; stamped with the parent's UpdatedDateUTC."""
    id_field, kind, _ = ALLOCATION_SOURCES[endpoint]
    out = []
    for allocation in parent.get("Allocations") or []:
        if allocation.get("IsDeleted"):
            continue
        out.append({**allocation, "Kind": kind, id_field: parent.get(id_field),
                    "UpdatedDateUTC": parent.get("UpdatedDateUTC")})
    return out


def _allocation(el: dict[str, Any]) -> tuple[Fields, None]:
    kind = str(el.get("Kind") or "")
    if kind not in ("credit_note", "overpayment", "prepayment"):
        raise Unmappable(f"Kind {kind!r} is not one of credit_note, overpayment, prepayment")
    return {
        "kind": kind,
        "credit_note_id": _text(el.get("CreditNoteID")) if kind == "credit_note" else None,
        "credit_id": _text(el.get("OverpaymentID") or el.get("PrepaymentID"))
        if kind != "credit_note" else None,
        "invoice_id": _text((el.get("Invoice") or {}).get("InvoiceID")),
        "amount": _read(el, "Amount", _money),
        "date": _read(el, "Date", _date),
        "status": "applied",
    }, None


def _account(el: dict[str, Any]) -> tuple[Fields, None]:
    return {
        "code": _text(el.get("Code")),
        "name": _text(el.get("Name")),
        "type": _text(el.get("Type")),
        "tax_type": _text(el.get("TaxType")),
        "status": GENERIC_STATUS_IN.get(el.get("Status") or "ACTIVE", "active"),
    }, None


def _tax_rate(el: dict[str, Any]) -> tuple[Fields, None]:
    rate = el.get("EffectiveRate", el.get("DisplayTaxRate"))
    return {
        "tax_type": _text(el.get("TaxType")),
        "name": _text(el.get("Name")),
        "rate": quantity(rate) if rate is not None else None,
        "status": GENERIC_STATUS_IN.get(el.get("Status") or "ACTIVE", "active"),
    }, None


_READERS: dict[str, Callable[[dict[str, Any]], tuple[Fields, list[Line] | None]]] = {
    "contacts": _contact,
    "invoices": _document,
    "bills": _document,
    "payments": _payment,
    "credit_notes": _credit_note,
    "credits": _credit,
    "allocations": _allocation,
    "accounts": _account,
    "tax_rates": _tax_rate,
}


# -- writing ------------------------------------------------------------------------------------


def element_for_change(entity: str, change: Change,
                       tracking: Tracking = NO_TRACKING) -> dict[str, Any]:
    """The Xero element that carries ``change``; ids in ``change`` are already Xero's."""
    id_field = ENDPOINTS[entity][1]
    element: dict[str, Any] = {}
    if change.id:
        element[id_field] = change.id
    if entity == "contacts":
        if change.action == "delete":
            return {**element, "ContactStatus": "ARCHIVED"}
        return {**element, **_contact_out(change.fields)}
    if entity in ("invoices", "bills"):
        if change.action in ("delete", "void"):
            return {**element, "Status": "DELETED" if change.action == "delete" else "VOIDED"}
        element.update(_document_out(entity, change, tracking))
        return element
    if entity == "credits" and change.action == "create":
        return deposit_out(change.fields)
    if entity == "allocations" and change.action == "create":
        return allocation_out(change.fields)
    raise ValueError(f"xsync does not write {entity} to Xero")


# the endpoint that holds a customer's credit of each kind (its allocations are made there)
CREDIT_ENDPOINT_OF = {kind: endpoint for endpoint, (_, kind, _) in CREDIT_ENDPOINTS.items()}
DEPOSIT_DESCRIPTION = "Deposit"


def deposit_out(fields: Fields) -> dict[str, Any]:
    """A deposit as Xero creates a prepayment: receive money (``RECEIVE-PREPAYMENT``) into the
    bank account, one line of the whole amount on the deposit's account, tax included."""
    line: dict[str, Any] = {
        "Description": fields.get("reference") or DEPOSIT_DESCRIPTION,
        "Quantity": Decimal(1),
        "UnitAmount": Decimal(_required(fields, "total")),
        "AccountCode": _required(fields, "account_code"),
    }
    if fields.get("tax_type"):
        line["TaxType"] = fields["tax_type"]
    out: dict[str, Any] = {
        "Type": CREDIT_ENDPOINTS["Prepayments"][2],
        "Contact": {"ContactID": _required(fields, "contact_id")},
        "BankAccount": {"Code": _required(fields, "bank_account")},
        "Date": _required(fields, "date"),
        "LineAmountTypes": "Inclusive",
        "LineItems": [line],
    }
    if fields.get("reference"):
        out["Reference"] = fields["reference"]
    return out


def allocation_out(fields: Fields) -> dict[str, Any]:
    """One allocation of a credit to an invoice; the credit is named by the URL it is PUT to."""
    return {"Invoice": {"InvoiceID": _required(fields, "invoice_id")},
            "Amount": Decimal(_required(fields, "amount")), "Date": _required(fields, "date")}


def allocation_reply(kind: str, credit_id: str, element: dict[str, Any]) -> dict[str, Any]:
    """An allocation Xero answered a PUT with, shaped as the allocations a credit lists."""
    id_field = next(f for f, k, _ in CREDIT_ENDPOINTS.values() if k == kind)
    return {**element, "Kind": kind, id_field: credit_id}


def _required(fields: Fields, name: str) -> str:
    value = fields.get(name)
    if not value:
        raise ValueError(f"{name} is empty")
    return value


def _contact_out(fields: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    simple = {"name": "Name", "email": "EmailAddress", "abn": "TaxNumber"}
    for name, xero_name in simple.items():
        if name in fields:
            out[xero_name] = fields[name] or ""
    if "status" in fields:
        out["ContactStatus"] = "ARCHIVED" if fields["status"] == "archived" else "ACTIVE"
    if "phone" in fields:
        out["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": fields["phone"] or "",
                          "PhoneAreaCode": ""}]
    address_keys = {"address_line1": "AddressLine1", "city": "City", "region": "Region",
                    "postal_code": "PostalCode", "country": "Country"}
    if any(k in fields for k in address_keys):
        address = {"AddressType": "STREET"}
        address.update({x: fields.get(k) or "" for k, x in address_keys.items()})
        out["Addresses"] = [address]
    return out


def _document_out(entity: str, change: Change, tracking: Tracking) -> dict[str, Any]:
    entity_spec = spec(entity)
    fields = {k: v for k, v in change.fields.items() if k not in entity_spec.xero_computed}
    out: dict[str, Any] = {}
    if change.action == "create":
        out["Type"] = ENDPOINTS[entity][2]
    mapping = {"number": "InvoiceNumber", "date": "Date", "due_date": "DueDate",
               "currency": "CurrencyCode"}
    if entity == "invoices":
        mapping["reference"] = "Reference"
    for name, xero_name in mapping.items():
        if name in fields and fields[name] is not None:
            out[xero_name] = fields[name]
    if fields.get("contact_id"):
        out["Contact"] = {"ContactID": fields["contact_id"]}
    if fields.get("amounts_are"):
        out["LineAmountTypes"] = AMOUNTS_OUT[fields["amounts_are"] or "exclusive"]
    status = fields.get("status")
    if status in DOC_STATUS_OUT:
        out["Status"] = DOC_STATUS_OUT[status or "draft"]
    if change.lines is not None:
        out["LineItems"] = [_line_out(entity, line, tracking) for line in change.lines]
    return out


def _line_out(entity: str, line: Line, tracking: Tracking = NO_TRACKING) -> dict[str, Any]:
    f = line.fields
    item: dict[str, Any] = {}
    if line.id:
        item["LineItemID"] = line.id
    for name, xero_name in (("description", "Description"), ("account_code", "AccountCode"),
                            ("tax_type", "TaxType")):
        if f.get(name) is not None:
            item[xero_name] = f[name]
    # numbers go out as JSON numbers with their exact digits
    for name, xero_name in (("quantity", "Quantity"), ("unit_price", "UnitAmount")):
        if f.get(name) is not None:
            item[xero_name] = Decimal(f[name] or "0")
    # Xero takes a discount rate on sales documents only
    if entity == "invoices" and f.get("discount_rate") not in (None, "0.00"):
        item["DiscountRate"] = Decimal(f["discount_rate"] or "0")
    if tracking.categories:
        # the mapped categories, as the line has them (none: the line's tracking is cleared)
        item["Tracking"] = [{"Name": category, "Option": f[name]}
                            for name, category in tracking.categories.items() if f.get(name)]
    return item
