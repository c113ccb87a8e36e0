"""The chart of accounts: create (``PUT /Accounts``), update and archive (``POST /Accounts/{id}``).

Rules, as Xero keeps them:
- ``Code`` (at most 10 letters, digits, ``-`` or ``_``) and ``Name`` (at most 150 characters) are
  required and unique across the chart, archived accounts included (codes compare
  case-insensitively, names trimmed and case-insensitively).
- ``Type`` is one of Xero's account types; ``Class`` follows from it and is read-only, as are
  ``SystemAccount``, ``HasAttachments`` and ``UpdatedDateUTC``.
- ``TaxType`` names an active tax rate that may be used on the account's class; when omitted it
  defaults by class (income ``OUTPUT``, expenses ``INPUT``, else ``BASEXCLUDED``).
- A BANK account needs a ``BankAccountNumber``; an account cannot become or stop being BANK.
- ``Status`` is ACTIVE or ARCHIVED (ACTIVE -> ARCHIVED archives, ARCHIVED -> ACTIVE restores);
  a system account cannot be archived nor change type. An archived account cannot be used on a
  new or edited document (see ``lines``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from xsync.sandbox import xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.problems import Invalid, bad_request
from xsync.sandbox.settings import _CLASS_BY_TYPE as CLASS_BY_TYPE

_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,10}$")
_STATUSES = ("ACTIVE", "ARCHIVED")
_BANK_ACCOUNT_TYPES = ("BANK", "CREDITCARD", "PAYPAL", "NONE", "")
# The class of an account -> the CanApplyTo flag of a tax rate that allows it.
_APPLIES = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}
_DEFAULT_TAX = {"REVENUE": "OUTPUT", "EXPENSE": "INPUT"}
_TEXT_FIELDS = ("Description", "ReportingCode", "BankAccountNumber", "CurrencyCode")
_FLAG_FIELDS = ("EnablePaymentsToAccount", "ShowInExpenseClaims", "AddToWatchlist")


def one_element(items: list[Any]) -> Any:
    """The single account of a write: Xero takes one account per request."""
    if len(items) != 1:
        raise bad_request(
            f"Accounts are written one per request; this one holds {len(items)}."
        )
    return items[0]


def create(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """A new account from a request element; raises ``Invalid`` with every problem found."""
    doc: dict[str, Any] = {
        "AccountID": str(uuid.uuid4()),
        "Code": "",
        "Name": "",
        "Status": "ACTIVE",
        "Type": None,
        "TaxType": None,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": "",
        "HasAttachments": False,
        "AddToWatchlist": False,
    }
    if raw.get("Status") not in (None, "ACTIVE"):
        raise Invalid("A new account must be ACTIVE.")
    return _write(ctx, raw, doc, existing=None)


def update(ctx: Ctx, account_id: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Change, archive or restore one account; raises ``Invalid``."""
    existing = ctx.store.get("accounts", ctx.tenant, account_id.lower())
    if existing is None:
        raise Invalid(f"The account with AccountID {account_id} could not be found.")
    sent_id = raw.get("AccountID")
    if sent_id and str(sent_id).lower() != existing["AccountID"]:
        raise Invalid("The AccountID in the body does not match the one in the URL.")
    return _write(ctx, raw, dict(existing), existing=existing)


def _write(
    ctx: Ctx, raw: dict[str, Any], doc: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    errors: list[str] = []
    for key in ("Code", "Name", "Type", "Status", "TaxType", *_TEXT_FIELDS):
        if key in raw:
            value = raw[key]
            if value is not None and not isinstance(value, str):
                errors.append(f"{key} must be text.")
                continue
            doc[key] = value.strip() if isinstance(value, str) else value
    for key in _FLAG_FIELDS:
        if key in raw:
            if not isinstance(raw[key], bool):
                errors.append(f"{key} must be true or false.")
                continue
            doc[key] = raw[key]
    if "BankAccountType" in raw:
        if raw["BankAccountType"] not in _BANK_ACCOUNT_TYPES:
            errors.append(f"BankAccountType '{raw['BankAccountType']}' is not valid.")
        else:
            doc["BankAccountType"] = raw["BankAccountType"]
    if errors:
        raise Invalid(*errors)
    errors += _check_fields(doc, existing)
    if not errors:
        errors += _check_tax_type(ctx, doc, explicit="TaxType" in raw)
        errors += _uniqueness(ctx, doc)
    if errors:
        raise Invalid(*errors)
    doc["Class"] = CLASS_BY_TYPE[doc["Type"]]
    if doc["Type"] == "BANK":
        doc.setdefault("BankAccountType", "BANK")
        doc.setdefault("CurrencyCode", "AUD")
        doc.pop("Description", None)
    now = ctx.now_ms()
    doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    ctx.store.put("accounts", ctx.tenant, doc, now)
    return doc


def _check_fields(doc: dict[str, Any], existing: dict[str, Any] | None) -> list[str]:
    errors = []
    code, name, typ = doc.get("Code") or "", doc.get("Name") or "", doc.get("Type")
    if not code:
        errors.append("Please enter a Code.")
    elif not _CODE.match(code):
        errors.append(
            "The Code must be at most 10 letters, digits, hyphens or underscores."
        )
    if not name:
        errors.append("Please enter a Name.")
    elif len(name) > 150:
        errors.append("The Name must be 150 characters or fewer.")
    if typ not in CLASS_BY_TYPE:
        errors.append(
            "Please select an account Type." if not typ else f"Account Type '{typ}' is not valid."
        )
    if len(doc.get("Description") or "") > 4000:
        errors.append("The Description must be 4000 characters or fewer.")
    if doc.get("Status") not in _STATUSES:
        errors.append(
            f"Account Status '{doc.get('Status')}' is not valid: use ACTIVE or ARCHIVED."
        )
    if typ == "BANK" and not doc.get("BankAccountNumber"):
        errors.append("Please enter a Bank Account Number for a bank account.")
    if existing is not None:
        was = existing.get("Type")
        if typ != was and "BANK" in (typ, was):
            errors.append("The type of a bank account cannot be changed, nor an account made one.")
        if existing.get("SystemAccount"):
            if typ != was:
                errors.append(f"{existing['Name']} is a system account: its Type cannot change.")
            if doc.get("Status") == "ARCHIVED":
                errors.append(f"{existing['Name']} is a system account and cannot be archived.")
    return errors


def _check_tax_type(ctx: Ctx, doc: dict[str, Any], *, explicit: bool) -> list[str]:
    klass = CLASS_BY_TYPE[doc["Type"]]
    if not doc.get("TaxType"):
        if explicit and doc.get("TaxType") is not None:
            return ["Please select a Tax Type."]
        doc["TaxType"] = _DEFAULT_TAX.get(klass, "BASEXCLUDED")
    rate = ctx.tax_rates.get(doc["TaxType"])
    if rate is None or rate.get("Status") != "ACTIVE":
        return [f"The TaxType code '{doc['TaxType']}' does not exist or is not active."]
    if not rate.get(_APPLIES[klass], False):
        return [
            f"The TaxType code '{doc['TaxType']}' cannot be used with an account of class "
            f"{klass}."
        ]
    return []


def _uniqueness(ctx: Ctx, doc: dict[str, Any]) -> list[str]:
    errors = []
    code = doc["Code"].casefold()
    name = " ".join(doc["Name"].split()).casefold()
    for other in ctx.store.find("accounts", ctx.tenant, "id != ?", (doc["AccountID"],)):
        if str(other.get("Code") or "").casefold() == code:
            errors.append(
                f"Please enter a unique Code: {doc['Code']} is already used by {other['Name']}."
            )
        if " ".join(str(other.get("Name") or "").split()).casefold() == name:
            errors.append("Please enter a unique Name.")
    return errors
