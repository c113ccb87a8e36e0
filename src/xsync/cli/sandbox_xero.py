"""`xsync sandbox xero ...`: play the accountant in a running sandbox's Xero.

Each command makes one change the way the accountant's own Xero would, through the sandbox's
Accounting API over HTTP (with a custom-connection token from its token endpoint), and prints
what it did in one line. The sandbox is found by `--url`, then `XSYNC_SANDBOX_URL`, then the
workspace's connection when it was made with `xsync connect --sandbox URL`, then the address
`xsync sandbox serve` listens on by default. Xero's screens do two things its API cannot:
merging contacts (the sandbox's `POST /Contacts/{id}/Merge`) and locking a period (the admin
`POST /sandbox/organisations/{id}/settings`).

Exit codes: 2 for an unknown invoice, line or contact, or a bad amount or date (naming it);
4 when Xero refuses the change (its messages are printed); 8 when the sandbox cannot be reached.
"""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from xsync.cli.console import console
from xsync.errors import (
    RateLimited,
    UsageError,
    XeroError,
    XeroTransientError,
    XeroValidationError,
)

DEFAULT_URL = "http://127.0.0.1:8765"
URL_ENV = "XSYNC_SANDBOX_URL"
API_PATH = "/api.xro/2.0"
if TYPE_CHECKING:
    import httpx

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

xero_app = typer.Typer(
    name="xero",
    help="Play the accountant: change the sandbox's Xero as the accountant's Xero would.",
    no_args_is_help=True,
)

URL_OPTION = typer.Option(
    None, "--url",
    help=f"The sandbox (default: ${URL_ENV}, then the workspace's sandbox connection, "
         f"then {DEFAULT_URL}).")
WORKSPACE_OPTION = typer.Option(
    None, "--workspace", help="Workspace whose sandbox connection gives the URL.")
CLIENT_ID_OPTION = typer.Option(
    None, "--client-id", help="The sandbox's client id (default: its default).")
CLIENT_SECRET_OPTION = typer.Option(
    None, "--client-secret", help="The sandbox's client secret (default: its default).")


# --- finding and calling the sandbox --------------------------------------------------------


def sandbox_url(flag: str | None, workspace: Path | None) -> str:
    """Where the sandbox is (see the module docstring)."""
    if flag:
        return flag.rstrip("/")
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV].rstrip("/")
    from_workspace = _workspace_sandbox(workspace)
    return from_workspace or DEFAULT_URL


def _workspace_sandbox(explicit: Path | None) -> str | None:
    from xsync.cli import session
    from xsync.config import find_workspace
    from xsync.errors import WorkspaceNotFound

    try:
        ws = find_workspace(explicit)
    except WorkspaceNotFound:
        if explicit is not None:
            raise
        return None
    connection = session.load_connection(ws)
    if connection is None or not session.is_sandbox_layout(connection.endpoints):
        return None
    return connection.api_url.rstrip("/")[: -len(API_PATH)]


class SandboxXero:
    """The accountant's side of a sandbox: a custom-connection token and its organisation."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        from xsync.xero.tls import tls_context

        self.base = base_url.rstrip("/")
        self.http = httpx.Client(transport=transport, timeout=30.0, verify=tls_context(),
                                 headers={"Accept": "application/json"})
        try:
            token = self._token(client_id, client_secret)
            self.http.headers["Authorization"] = f"Bearer {token}"
            self.tenant = self._tenant()
        except BaseException:
            self.http.close()
            raise
        self.http.headers["xero-tenant-id"] = self.tenant

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SandboxXero:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        import httpx


        try:
            return self.http.request(method, url, **kw)
        except httpx.TransportError as exc:
            error = XeroTransientError(
                f"the sandbox at {self.base} cannot be reached ({type(exc).__name__})",
                request=f"{method} {httpx.URL(url).path}")
            error.hint = (f"Start it with `xsync sandbox serve`, or give its address with --url "
                          f"URL (or ${URL_ENV}).")
            raise error from None

    def _token(self, client_id: str, client_secret: str) -> str:
        reply = self._send("POST", f"{self.base}/connect/token",
                           data={"grant_type": "client_credentials"},
                           auth=(client_id, client_secret))
        if reply.status_code in (400, 401):
            error = UsageError(f"the sandbox at {self.base} refused the client id and secret")
            error.hint = ("Pass the --client-id and --client-secret that `xsync sandbox serve` "
                          "printed.")
            raise error
        _raise_for(reply, "POST /connect/token", self.base)
        body = reply.json()
        if not isinstance(body, dict) or not body.get("access_token"):
            raise XeroError(f"the sandbox at {self.base} gave no token")
        return str(body["access_token"])

    def _tenant(self) -> str:
        reply = self._send("GET", f"{self.base}/connections")
        _raise_for(reply, "GET /connections", self.base)
        rows = reply.json()
        if not isinstance(rows, list) or not rows or not rows[0].get("tenantId"):
            raise UsageError(f"the sandbox at {self.base} has no organisation")
        return str(rows[0]["tenantId"])

    def api(self, method: str, path: str, body: Any = None, *, what: str,
            params: dict[str, str] | None = None, missing: str | None = None) -> Any:
        """Call the Accounting API; ``missing`` is the error for a 404 (else XeroError)."""
        from xsync.xero import xjson

        content = xjson.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        reply = self._send(method, f"{self.base}{API_PATH}{path}", content=content,
                           headers=headers, params=params)
        if reply.status_code == 404 and missing is not None:
            raise UsageError(missing)
        if reply.status_code == 400:
            raise XeroValidationError(f"Xero refused to {what}: {_messages(reply)}",
                                      status=400, request=f"{method} {path}")
        _raise_for(reply, f"{method} {path}", self.base)
        return xjson.loads(reply.content)

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        reply = self._send("POST", f"{self.base}/sandbox{path}", json=body)
        if reply.status_code == 400:
            raise UsageError(f"the sandbox refused: {reply.json().get('error')}")
        _raise_for(reply, f"POST /sandbox{path}", self.base)
        return reply.json()

    # lookups -----------------------------------------------------------------------------

    def invoice(self, ref: str) -> dict[str, Any]:
        """An invoice (or bill) by number or InvoiceID; exit 2 naming it when there is none."""
        error = f"no invoice {ref} in the sandbox's Xero at {self.base}"
        found = self.api("GET", f"/Invoices/{ref}", what=f"read invoice {ref}", missing=error,
                         params={"unitdp": "4"})["Invoices"]
        if not found:
            raise UsageError(error)
        return dict(found[0])

    def contact(self, ref: str) -> dict[str, Any]:
        """An active contact by name (any case and spacing) or ContactID."""
        error = f"no contact {ref!r} in the sandbox's Xero at {self.base}"
        if _UUID.match(ref):
            found = self.api("GET", f"/Contacts/{ref}", what=f"read contact {ref}",
                             missing=error)["Contacts"]
            if found:
                return dict(found[0])
            raise UsageError(error)
        key = _name_key(ref)
        matches: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.api("GET", "/Contacts", what="list contacts", params={
                "page": str(page), "pageSize": "1000", "includeArchived": "true"})["Contacts"]
            matches += [c for c in batch if _name_key(str(c.get("Name") or "")) == key]
            if len(batch) < 1000:
                break
            page += 1
        active = [c for c in matches if c.get("ContactStatus") == "ACTIVE"]
        if len(active) == 1:
            return active[0]
        if matches:
            raise UsageError(f"the contact {ref!r} is archived in the sandbox's Xero")
        raise UsageError(error)

    def organisation_name(self) -> str:
        orgs = self.api("GET", "/Organisation", what="read the organisation")["Organisations"]
        return str(orgs[0]["Name"]) if orgs else self.tenant


def _raise_for(reply: httpx.Response, request: str, base: str) -> None:
    status = reply.status_code
    if status < 400:
        return
    if status == 429:
        error: XeroError = RateLimited(
            f"the sandbox at {base} is over its call limit ({request})", status=429,
            request=request)
        error.hint = "Wait a minute and run it again (or raise `--minute-limit`)."
        raise error
    if status >= 500:
        raise XeroTransientError(f"the sandbox at {base} failed ({status} on {request})",
                                 status=status, request=request)
    raise XeroError(f"the sandbox at {base} answered {status} to {request}: {reply.text[:300]}",
                    status=status, request=request)


def _messages(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:300]
    found = [m.get("Message") for el in body.get("Elements") or []
             for m in el.get("ValidationErrors") or []]
    return "; ".join(str(m) for m in found if m) or str(body.get("Message") or body)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _amount(text: str) -> Decimal:
    if not _AMOUNT.match(text.strip()) or Decimal(text) <= 0:
        raise UsageError(f"the amount {text!r} is not a positive amount such as 50 or 49.95")
    return Decimal(text.strip()).quantize(Decimal("0.01"))


def _day(text: str | None, option: str = "--date") -> date | None:
    if text is None:
        return None
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date such as 2026-11-24") from None


def _xero(url: str | None, workspace: Path | None, client_id: str | None,
          client_secret: str | None) -> SandboxXero:
    from xsync.xero.login import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

    return SandboxXero(sandbox_url(url, workspace), client_id or SANDBOX_CLIENT_ID,
                       client_secret or SANDBOX_CLIENT_SECRET)


def _say(text: str) -> None:
    console.print(text, markup=False)


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def _balance(inv: dict[str, Any]) -> str:
    return f"{inv['InvoiceNumber'] or inv['InvoiceID']} owes {_money(inv['AmountDue'])} " \
           f"({inv['Status']})"


# --- the commands ---------------------------------------------------------------------------


@xero_app.command("pay")
def pay(
    invoice: str = typer.Argument(..., help="Invoice number (INV-0001) or InvoiceID."),
    amount: str = typer.Argument(..., help="Amount paid, e.g. 50 or 49.95."),
    day: str | None = typer.Option(None, "--date", help="Payment date (default: Xero's today)."),
    account: str = typer.Option("090", "--account", help="Bank account code paid into."),
    reference: str = typer.Option("EFT", "--reference", help="The payment's reference."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Record a payment against an invoice, as the accountant does on a bank deposit."""
    paid, when = _amount(amount), _day(day)
    with _xero(url, workspace, client_id, client_secret) as xero:
        inv = xero.invoice(invoice)
        payment: dict[str, Any] = {"Invoice": {"InvoiceID": inv["InvoiceID"]},
                                   "Account": {"Code": account}, "Amount": paid,
                                   "Reference": reference}
        if when is not None:
            payment["Date"] = when
        made = xero.api("PUT", "/Payments", {"Payments": [payment]},
                        what=f"record a payment of {paid} on {invoice}")["Payments"][0]
        after = xero.invoice(inv["InvoiceID"])
    on = str(made.get("Date") or "")
    stamp = _doc_date(on) or (when.isoformat() if when else "today")
    _say(f"Paid {paid} on {after['InvoiceNumber']} ({stamp}, account {account}); "
         f"{_balance(after)}.")


@xero_app.command("credit")
def credit(
    invoice: str = typer.Argument(..., help="Invoice number (INV-0001) or InvoiceID."),
    amount: str = typer.Argument(..., help="Amount credited, tax included, e.g. 22."),
    day: str | None = typer.Option(None, "--date", help="Credit note date (default: today)."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Raise a credit note for AMOUNT (tax inclusive) and allocate it to the invoice."""
    credited, when = _amount(amount), _day(day)
    with _xero(url, workspace, client_id, client_secret) as xero:
        inv = xero.invoice(invoice)
        lines = inv.get("LineItems") or [{}]
        first = lines[0]
        line: dict[str, Any] = {"Description": f"Credit against {inv['InvoiceNumber']}",
                                "Quantity": 1, "UnitAmount": credited}
        for key in ("AccountCode", "TaxType"):
            if first.get(key):
                line[key] = first[key]
        note_body: dict[str, Any] = {
            "Type": "ACCPAYCREDIT" if inv["Type"] == "ACCPAY" else "ACCRECCREDIT",
            "Contact": {"ContactID": inv["Contact"]["ContactID"]}, "Status": "AUTHORISED",
            "LineAmountTypes": "Inclusive", "LineItems": [line],
            "Reference": f"Credit for {inv['InvoiceNumber']}"}
        if when is not None:
            note_body["Date"] = when
        note = xero.api("PUT", "/CreditNotes", {"CreditNotes": [note_body]},
                        what=f"raise a credit note of {credited} for {invoice}")["CreditNotes"][0]
        number = note.get("CreditNoteNumber") or note["CreditNoteID"]
        allocation: dict[str, Any] = {"Invoice": {"InvoiceID": inv["InvoiceID"]},
                                      "Amount": credited}
        if when is not None:
            allocation["Date"] = when
        try:
            xero.api("PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations",
                     {"Allocations": [allocation]},
                     what=f"allocate credit note {number} to {invoice}")
        except XeroValidationError as exc:
            exc.message += f" (credit note {number} was raised and is left unallocated)"
            exc.hint = f"Void {number} in the sandbox, or allocate it once the invoice allows."
            raise
        after = xero.invoice(inv["InvoiceID"])
    _say(f"Credited {credited} to {after['InvoiceNumber']} with {number}; {_balance(after)}.")


@xero_app.command("edit")
def edit(
    invoice: str = typer.Argument(..., help="Invoice number (INV-0001) or InvoiceID."),
    line: int = typer.Option(1, "--line", help="Which line, counting from 1."),
    tax_type: str | None = typer.Option(
        None, "--tax-type", help="New tax type, e.g. EXEMPTOUTPUT."),
    account_code: str | None = typer.Option(None, "--account", help="New account code."),
    description: str | None = typer.Option(None, "--description", help="New description."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Correct one line of an invoice: its tax type, account code or description."""
    changes = {"TaxType": tax_type, "AccountCode": account_code, "Description": description}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise UsageError("nothing to change: give --tax-type, --account or --description")
    with _xero(url, workspace, client_id, client_secret) as xero:
        inv = xero.invoice(invoice)
        lines = inv.get("LineItems") or []
        if not 1 <= line <= len(lines):
            raise UsageError(f"{inv['InvoiceNumber']} has {len(lines)} line(s); there is no "
                             f"line {line}")
        before = lines[line - 1]
        if all(before.get(k) == v for k, v in changes.items()):
            said = ", ".join(f"{_LABELS[k]} {v}" for k, v in changes.items())
            _say(f"{inv['InvoiceNumber']} line {line} already has {said}; nothing changed.")
            return
        sent = [{"LineItemID": ln["LineItemID"]} for ln in lines]
        sent[line - 1].update(changes)
        if "AccountCode" in changes and "TaxType" not in changes:
            sent[line - 1]["TaxType"] = before.get("TaxType")
        body = {"Invoices": [{"InvoiceID": inv["InvoiceID"], "LineItems": sent}]}
        xero.api("POST", f"/Invoices/{inv['InvoiceID']}", body,
                 what=f"edit line {line} of {invoice}")
    said = ", ".join(f"{_LABELS[k]} {before.get(k) or '(none)'} -> {v}"
                     for k, v in changes.items() if before.get(k) != v)
    _say(f"Edited {inv['InvoiceNumber']} line {line}: {said}.")


_LABELS = {"TaxType": "tax type", "AccountCode": "account", "Description": "description"}


@xero_app.command("edit-contact")
def edit_contact(
    name: str = typer.Argument(..., help="The contact's name (any case) or ContactID."),
    phone: str | None = typer.Option(None, "--phone", help="New phone number."),
    email: str | None = typer.Option(None, "--email", help="New email address."),
    new_name: str | None = typer.Option(None, "--name", help="New name."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Change a contact's phone, email or name."""
    if phone is None and email is None and new_name is None:
        raise UsageError("nothing to change: give --phone, --email or --name")
    with _xero(url, workspace, client_id, client_secret) as xero:
        contact = xero.contact(name)
        body: dict[str, Any] = {"ContactID": contact["ContactID"]}
        said = []
        if phone is not None:
            body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": phone}]
            said.append(f"phone {phone}")
        if email is not None:
            body["EmailAddress"] = email
            said.append(f"email {email}")
        if new_name is not None:
            body["Name"] = new_name
            said.append(f"name {new_name}")
        xero.api("POST", f"/Contacts/{contact['ContactID']}", {"Contacts": [body]},
                 what=f"edit contact {contact['Name']}")
    _say(f"Edited contact {contact['Name']}: {', '.join(said)}.")


@xero_app.command("void")
def void(
    invoice: str = typer.Argument(..., help="Invoice number (INV-0001) or InvoiceID."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Void an approved invoice (a draft one is deleted, as Xero allows only that)."""
    with _xero(url, workspace, client_id, client_secret) as xero:
        inv = xero.invoice(invoice)
        status = "DELETED" if inv["Status"] in ("DRAFT", "SUBMITTED") else "VOIDED"
        body = {"Invoices": [{"InvoiceID": inv["InvoiceID"], "Status": status}]}
        xero.api("POST", f"/Invoices/{inv['InvoiceID']}", body,
                 what=f"{'delete' if status == 'DELETED' else 'void'} {invoice}")
    done = "Deleted draft" if status == "DELETED" else "Voided"
    _say(f"{done} {inv['InvoiceNumber']} ({_money(inv['Total'])}, {inv['Contact']['Name']}).")


@xero_app.command("merge-contacts")
def merge_contacts(
    merged: str = typer.Argument(..., help="The contact merged away (name or ContactID)."),
    kept: str = typer.Argument(..., help="The contact kept (name or ContactID)."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Merge contact A into contact B: A is archived, its documents move to B."""
    with _xero(url, workspace, client_id, client_secret) as xero:
        source, target = xero.contact(merged), xero.contact(kept)
        xero.api("POST", f"/Contacts/{source['ContactID']}/Merge",
                 {"MergedToContactID": target["ContactID"]},
                 what=f"merge {source['Name']} into {target['Name']}")
    _say(f"Merged contact {source['Name']} into {target['Name']}: {source['Name']} is archived "
         f"and its documents now belong to {target['Name']}.")


def _receive(kind: str, contact: str, amount: str, day: str | None, reference: str | None,
             account: str, code: str, url: str | None, workspace: Path | None,
             client_id: str | None, client_secret: str | None) -> None:
    """Money received from a customer as an overpayment or a prepayment (a receive money
    transaction of Type RECEIVE-OVERPAYMENT or RECEIVE-PREPAYMENT)."""
    received, when = _amount(amount), _day(day)
    noun = kind.lower()
    with _xero(url, workspace, client_id, client_secret) as xero:
        who = xero.contact(contact)
        body: dict[str, Any] = {
            "Type": f"RECEIVE-{kind}", "Contact": {"ContactID": who["ContactID"]},
            "BankAccount": {"Code": account}, "LineAmountTypes": "NoTax",
            "Reference": reference or noun.capitalize(),
            "LineItems": [{"Description": reference or noun.capitalize(), "Quantity": 1,
                           "UnitAmount": received, "AccountCode": code}]}
        if when is not None:
            body["Date"] = when
        made = xero.api("PUT", "/BankTransactions", {"BankTransactions": [body]},
                        what=f"record an {noun} of {received} from {who['Name']}"
                        if kind == "OVERPAYMENT" else
                        f"record a {noun} of {received} from {who['Name']}")
        bank = made["BankTransactions"][0]
    credit_id = bank.get(f"{kind.capitalize()}ID")
    _say(f"Received {received} from {who['Name']} as {noun} {credit_id} (account {account}); "
         f"allocate it with `xsync sandbox xero allocate {credit_id} INVOICE AMOUNT`.")


RECEIVE_ACCOUNT = typer.Option("090", "--account", help="Bank account code received into.")
LINE_ACCOUNT = typer.Option("200", "--account-code", help="Account code of its line.")


@xero_app.command("overpay")
def overpay(
    contact: str = typer.Argument(..., help="The customer (name or ContactID)."),
    amount: str = typer.Argument(..., help="Amount received, e.g. 250."),
    day: str | None = typer.Option(None, "--date", help="Date received (default: today)."),
    reference: str | None = typer.Option(None, "--reference", help="Its reference."),
    account: str = RECEIVE_ACCOUNT, code: str = LINE_ACCOUNT,
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Record money a customer paid beyond what they owe: an overpayment, credit to allocate."""
    _receive("OVERPAYMENT", contact, amount, day, reference, account, code, url, workspace,
             client_id, client_secret)


@xero_app.command("prepay")
def prepay(
    contact: str = typer.Argument(..., help="The customer (name or ContactID)."),
    amount: str = typer.Argument(..., help="Amount received, e.g. 400."),
    day: str | None = typer.Option(None, "--date", help="Date received (default: today)."),
    reference: str | None = typer.Option(None, "--reference", help="Its reference."),
    account: str = RECEIVE_ACCOUNT, code: str = LINE_ACCOUNT,
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Record a deposit a customer paid before the job is invoiced: a prepayment."""
    _receive("PREPAYMENT", contact, amount, day, reference, account, code, url, workspace,
             client_id, client_secret)


@xero_app.command("allocate")
def allocate(
    credit_id: str = typer.Argument(..., help="The OverpaymentID or PrepaymentID."),
    invoice: str = typer.Argument(..., help="Invoice number (INV-0001) or InvoiceID."),
    amount: str = typer.Argument(..., help="Amount to apply, e.g. 100."),
    day: str | None = typer.Option(None, "--date", help="Allocation date (default: today)."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Apply an overpayment's or prepayment's credit to an invoice of the same customer."""
    applied, when = _amount(amount), _day(day)
    if not _UUID.match(credit_id):
        raise UsageError(f"{credit_id!r} is not an OverpaymentID or PrepaymentID (the id "
                         "`xsync sandbox xero overpay` or `prepay` printed)")
    with _xero(url, workspace, client_id, client_secret) as xero:
        inv = xero.invoice(invoice)
        endpoint = None
        unknown = f"no overpayment or prepayment {credit_id} in the sandbox's Xero at {xero.base}"
        for key in ("Overpayments", "Prepayments"):
            try:
                xero.api("GET", f"/{key}/{credit_id}", what=f"read {credit_id}", missing=unknown)
            except UsageError:
                continue
            endpoint = key
            break
        if endpoint is None:
            raise UsageError(unknown)
        allocation: dict[str, Any] = {"Invoice": {"InvoiceID": inv["InvoiceID"]},
                                      "Amount": applied}
        if when is not None:
            allocation["Date"] = when
        noun = endpoint[:-1].lower()
        xero.api("PUT", f"/{endpoint}/{credit_id}/Allocations", {"Allocations": [allocation]},
                 what=f"allocate {applied} of {noun} {credit_id} to {invoice}")
        after = xero.invoice(inv["InvoiceID"])
    _say(f"Allocated {applied} of {noun} {credit_id} to {after['InvoiceNumber']}; "
         f"{_balance(after)}.")


@xero_app.command("lock-period")
def lock_period(
    day: str = typer.Argument(..., metavar="DATE",
                              help="Lock date (YYYY-MM-DD), or `none` to unlock."),
    url: str | None = URL_OPTION, workspace: Path | None = WORKSPACE_OPTION,
    client_id: str | None = CLIENT_ID_OPTION, client_secret: str | None = CLIENT_SECRET_OPTION,
) -> None:
    """Set the organisation's period lock date: nothing on or before it can be posted or edited."""
    lock = None if day.strip().lower() == "none" else _day(day, "DATE")
    with _xero(url, workspace, client_id, client_secret) as xero:
        xero.admin(f"/organisations/{xero.tenant}/settings",
                   {"PeriodLockDate": lock.isoformat() if lock else None})
        name = xero.organisation_name()
    if lock is None:
        _say(f"Unlocked every period of {name}.")
    else:
        _say(f"Locked {name} up to and including {lock.isoformat()}: nothing dated on or "
             "before it can be posted or edited.")


def _doc_date(value: str) -> str | None:
    from xsync.xero import xjson

    try:
        parsed = xjson.parse_date(value)
    except ValueError:
        return None
    return parsed.isoformat() if parsed else None


def register(parent: typer.Typer) -> None:
    parent.add_typer(xero_app, name="xero")
