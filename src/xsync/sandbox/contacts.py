"""Contacts: create, update, upsert, archive, lookups by id, number and name.

Rules: ``Name`` is required and unique (trimmed, case-insensitive) among ACTIVE contacts;
``ContactNumber`` is unique across all contacts. There is no delete, only ARCHIVED. A contact
always carries POBOX and STREET addresses and DEFAULT, DDI, MOBILE and FAX phones (blank when
unknown), as Xero returns them. ``IsCustomer``/``IsSupplier`` are derived from documents and do
not bump ``UpdatedDateUTC``. Renaming a contact updates the name shown on its documents.

Upsert (POST without ContactID): an existing contact with the same ContactNumber, else the
active contact with the same Name, is updated; otherwise a new contact is created.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from xsync.sandbox import xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.problems import Invalid
from xsync.sandbox.store import name_key

_WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "ContactPersons",
    "BankAccountDetails",
    "TaxNumber",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "DefaultCurrency",
    "PaymentTerms",
    "Website",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "XeroNetworkKey",
)
_ADDRESS_TYPES = ("POBOX", "STREET")
_PHONE_TYPES = ("DEFAULT", "DDI", "MOBILE", "FAX")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def get(ctx: Ctx, ref: str) -> dict[str, Any] | None:
    """A contact by ContactID, or by ContactNumber (``GET /Contacts/{ContactNumber}``)."""
    if is_uuid(ref):
        doc = ctx.store.get("contacts", ctx.tenant, ref.lower())
        if doc is not None:
            return doc
    found = ctx.store.find("contacts", ctx.tenant, "number = ?", (ref,))
    return found[0] if found else None


def active_by_name(ctx: Ctx, name: str) -> dict[str, Any] | None:
    found = ctx.store.find(
        "contacts", ctx.tenant, "name_key = ? AND status = 'ACTIVE'", (name_key(name),)
    )
    return found[0] if found else None


def save(
    ctx: Ctx, raw: dict[str, Any], *, upsert: bool, contact_id: str | None = None
) -> dict[str, Any]:
    """Create or update one contact from a request element; raises ``Invalid``."""
    target = contact_id or raw.get("ContactID")
    existing = None
    if target:
        existing = ctx.store.get("contacts", ctx.tenant, str(target).lower())
        if existing is None:
            raise Invalid(f"The contact with ContactID {target} could not be found.")
    elif upsert:
        if raw.get("ContactNumber"):
            found = ctx.store.find(
                "contacts", ctx.tenant, "number = ?", (str(raw["ContactNumber"]),)
            )
            existing = found[0] if found else None
        if existing is None and isinstance(raw.get("Name"), str) and raw["Name"].strip():
            existing = active_by_name(ctx, raw["Name"])
    return _write(ctx, raw, existing)


def _write(ctx: Ctx, raw: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    doc = dict(existing) if existing else blank_contact(str(uuid.uuid4()))
    errors: list[str] = []
    for key in _WRITABLE:
        if key in raw:
            doc[key] = raw[key]
    if "Addresses" in raw:
        doc["Addresses"] = _merge_typed(
            doc["Addresses"], raw["Addresses"], "AddressType", _ADDRESS_TYPES, errors
        )
    if "Phones" in raw:
        doc["Phones"] = _merge_typed(
            doc["Phones"], raw["Phones"], "PhoneType", (*_PHONE_TYPES, "OFFICE"), errors
        )
    name = doc.get("Name")
    if not isinstance(name, str) or not name.strip():
        errors.append("The contact name must be specified.")
    elif len(name) > 255:
        errors.append("The contact name must be 255 characters or fewer.")
    else:
        doc["Name"] = name.strip()
    status = doc.get("ContactStatus")
    if status not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
        errors.append(f"ContactStatus '{status}' is not valid.")
    email = doc.get("EmailAddress")
    if email and (not isinstance(email, str) or not _EMAIL.match(email)):
        errors.append("Email address must be valid.")
    number = doc.get("ContactNumber")
    if number is not None and (not isinstance(number, str) or len(number) > 50):
        errors.append("The ContactNumber must be a string of 50 characters or fewer.")
    if not errors:
        errors.extend(_uniqueness(ctx, doc))
    if errors:
        raise Invalid(*errors)
    now = ctx.now_ms()
    doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    ctx.store.put("contacts", ctx.tenant, doc, now)
    if existing is not None and existing.get("Name") != doc["Name"]:
        _propagate_name(ctx, doc)
    return doc


def blank_contact(contact_id: str) -> dict[str, Any]:
    """A new contact's fields before the request's values are applied."""
    return {
        "ContactID": contact_id,
        "ContactStatus": "ACTIVE",
        "Name": "",
        "EmailAddress": "",
        "BankAccountDetails": "",
        "Addresses": [{"AddressType": t} for t in _ADDRESS_TYPES],
        "Phones": [{"PhoneType": t} for t in _PHONE_TYPES],
        "UpdatedDateUTC": "",
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "HasValidationErrors": False,
    }


def _merge_typed(
    current: list[dict[str, Any]],
    sent: Any,
    type_key: str,
    allowed: tuple[str, ...],
    errors: list[str],
) -> list[dict[str, Any]]:
    if not isinstance(sent, list):
        errors.append(f"{type_key[:-4]}es must be a list")
        return current
    by_type = {entry.get(type_key): entry for entry in current}
    for entry in sent:
        kind = entry.get(type_key) if isinstance(entry, dict) else None
        if kind not in allowed:
            errors.append(f"{type_key} '{kind}' is not valid.")
            continue
        by_type[kind] = dict(entry)
    return list(by_type.values())


def _uniqueness(ctx: Ctx, doc: dict[str, Any]) -> list[str]:
    errors = []
    if doc["ContactStatus"] == "ACTIVE":
        same = active_by_name(ctx, doc["Name"])
        if same is not None and same["ContactID"] != doc["ContactID"]:
            errors.append(
                f"The contact name {doc['Name']} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
    number = doc.get("ContactNumber")
    if number:
        clash = ctx.store.find(
            "contacts", ctx.tenant, "number = ? AND id != ?", (number, doc["ContactID"])
        )
        if clash:
            errors.append(f"The contact number {number} is already assigned to another contact.")
    return errors


def _propagate_name(ctx: Ctx, contact: dict[str, Any]) -> None:
    """Documents show their contact's current name; this is not a change to the documents."""
    conn = ctx.store.conn
    for kind in ("invoices", "creditnotes", "banktransactions", "overpayments", "prepayments",
                 "payments"):
        rows = conn.execute(
            f"SELECT json, updated_ms FROM {kind} WHERE tenant_id = ? AND contact_id = ?",
            (ctx.tenant, contact["ContactID"]),
        ).fetchall()
        for text, updated in rows:
            doc = xjson.loads(text)
            holder = (
                (doc.get("Invoice") or doc.get("CreditNote") or doc) if kind == "payments" else doc
            )
            if isinstance(holder.get("Contact"), dict):
                holder["Contact"]["Name"] = contact["Name"]
            ctx.store.put(kind, ctx.tenant, doc, updated)


def mark_role(ctx: Ctx, contact_id: str, *, customer: bool) -> None:
    """Set IsCustomer/IsSupplier (derived, so UpdatedDateUTC is left alone)."""
    row = ctx.store.conn.execute(
        "SELECT json, updated_ms FROM contacts WHERE tenant_id = ? AND id = ?",
        (ctx.tenant, contact_id),
    ).fetchone()
    if row is None:
        return
    doc = xjson.loads(row[0])
    flag = "IsCustomer" if customer else "IsSupplier"
    if not doc.get(flag):
        doc[flag] = True
        ctx.store.put("contacts", ctx.tenant, doc, row[1])


def summary(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as embedded in documents."""
    out = {
        "ContactID": contact["ContactID"],
        "Name": contact["Name"],
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": False,
    }
    if contact.get("ContactNumber"):
        out["ContactNumber"] = contact["ContactNumber"]
    return out


def resolve_for_document(ctx: Ctx, ref: Any) -> dict[str, Any]:
    """The contact a document names, by ContactID (or ContactNumber), else by Name.

    Only the identifying fields are read: other contact fields sent inside a document never
    change the contact. An unknown Name creates a new contact with just that name.
    """
    if not isinstance(ref, dict):
        raise Invalid("A Contact must be specified for this type of transaction")
    contact = None
    if ref.get("ContactID"):
        contact = ctx.store.get("contacts", ctx.tenant, str(ref["ContactID"]).lower())
        if contact is None:
            raise Invalid(f"The contact with ContactID {ref['ContactID']} could not be found.")
    elif ref.get("ContactNumber"):
        contact = get(ctx, str(ref["ContactNumber"]))
    if contact is None and isinstance(ref.get("Name"), str) and ref["Name"].strip():
        contact = active_by_name(ctx, ref["Name"]) or _write(ctx, {"Name": ref["Name"]}, None)
    if contact is None:
        raise Invalid("A Contact must be specified for this type of transaction")
    if contact["ContactStatus"] != "ACTIVE":
        raise Invalid(
            f"The contact {contact['Name']} is archived and cannot be used on a new or updated "
            "document. Restore the contact or choose another."
        )
    return contact


def merge(ctx: Ctx, source_id: str, target_id: str) -> dict[str, Any]:
    """Merge one contact into another, as Xero's screens do (its API has no merge).

    The merged contact is archived with ``MergedToContactID`` naming the one kept, and its
    invoices, credit notes, bank transactions, overpayments and prepayments move to the kept
    contact (each a change, so ``UpdatedDateUTC`` moves); payments show the kept contact.
    Returns the merged contact. Raises ``Invalid``.
    """
    source = ctx.store.get("contacts", ctx.tenant, source_id.lower())
    if source is None:
        raise Invalid(f"The contact with ContactID {source_id} could not be found.")
    if not target_id:
        raise Invalid("MergedToContactID must name the contact to keep.")
    target = get(ctx, target_id)
    if target is None:
        raise Invalid(f"The contact with ContactID {target_id} could not be found.")
    if target["ContactID"] == source["ContactID"]:
        raise Invalid("A contact cannot be merged into itself.")
    for contact in (source, target):
        if contact["ContactStatus"] != "ACTIVE":
            raise Invalid(f"The contact {contact['Name']} is archived and cannot be merged.")
    now = ctx.now_ms()
    kept = summary(target)
    conn = ctx.store.conn
    for kind in ("invoices", "creditnotes", "banktransactions", "overpayments", "prepayments",
                 "payments"):
        rows = conn.execute(
            f"SELECT json, updated_ms FROM {kind} WHERE tenant_id = ? AND contact_id = ?",
            (ctx.tenant, source["ContactID"]),
        ).fetchall()
        for text, updated in rows:
            doc = xjson.loads(text)
            if kind == "payments":
                holder = doc.get("Invoice") or doc.get("CreditNote") or doc
                holder["Contact"] = dict(kept)
                ctx.store.put(kind, ctx.tenant, doc, updated)
                continue
            doc["Contact"] = dict(kept)
            doc["UpdatedDateUTC"] = xjson.ms_timestamp(now)
            if "UpdatedDateUTCString" in doc:
                doc["UpdatedDateUTCString"] = xjson.iso_timestamp(now)
            ctx.store.put(kind, ctx.tenant, doc, now)
    for flag in ("IsCustomer", "IsSupplier"):
        if source.get(flag):
            mark_role(ctx, target["ContactID"], customer=flag == "IsCustomer")
    merged = dict(source)
    merged["ContactStatus"] = "ARCHIVED"
    merged["MergedToContactID"] = target["ContactID"]
    merged["UpdatedDateUTC"] = xjson.ms_timestamp(now)
    ctx.store.put("contacts", ctx.tenant, merged, now)
    return merged
