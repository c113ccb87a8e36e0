"""A full bidirectional sync against the embedded Xero sandbox, unattended, in under a minute.

It starts the sandbox (an Australian demo company), makes a workspace with the example ops.db,
connects, runs the first sync, then makes the accountant's changes in Xero (through the
sandbox's API, as Xero's own screens would) and the team's changes in ops.db, syncs again,
shows `xsync diff`, one conflict and its resolution, and ends in sync.

Every step runs the real `xsync` command in a subprocess, exactly as a user would type it.

    python examples/demo.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from xsync.sandbox.app import Sandbox


def say(text: str) -> None:
    print(f"\n\033[1;36m== {text}\033[0m", flush=True)


def xsync(workspace: Path, *args: str, expect: tuple[int, ...] = (0,)) -> str:
    """Run `xsync ARGS` in the workspace as a user would, echoing the command and its output."""
    print(f"\033[1m$ xsync {' '.join(args)}\033[0m", flush=True)
    env = {**os.environ, "XSYNC_WORKSPACE": str(workspace), "COLUMNS": "140"}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "xsync", *args], env=env, capture_output=True, text=True,
        check=False,
    )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    print(f"\033[2m(exit {done.returncode}, {time.monotonic() - began:.1f} s)\033[0m", flush=True)
    if done.returncode not in expect:
        raise SystemExit(f"demo: `xsync {' '.join(args)}` exited {done.returncode}")
    return done.stdout


class Accountant:
    """The accountant's changes, made in Xero through its API."""

    def __init__(self, sandbox: Sandbox, base_url: str) -> None:
        tenant = sandbox.tenant_ids[0]
        token = sandbox.client_credentials_token(tenant)
        self.http = httpx.Client(
            base_url=base_url + "/api.xro/2.0",
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant,
                     "Accept": "application/json"},
        )

    def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        reply = self.http.request(method, path, json=body, params=params or None)
        if reply.status_code >= 400:
            raise SystemExit(f"demo: Xero refused {method} {path}: {reply.text}")
        return reply.json()

    def invoice(self, number: str) -> dict[str, Any]:
        # a paged request, so that Xero includes the line items
        return self.call("GET", "/Invoices", InvoiceNumbers=number, page="1")["Invoices"][0]

    def edit_first_line(self, invoice: dict[str, Any], **line: Any) -> None:
        """Change the first line, sending every line's id so that Xero keeps the others."""
        lines: list[dict[str, Any]] = [{"LineItemID": ln["LineItemID"]}
                                       for ln in invoice["LineItems"]]
        lines[0].update(line)
        self.call("POST", f"/Invoices/{invoice['InvoiceID']}",
                  {"Invoices": [{"InvoiceID": invoice["InvoiceID"], "LineItems": lines}]})

    def contact(self, name: str) -> dict[str, Any]:
        found = self.call("GET", "/Contacts", where=f'Name=="{name}"')["Contacts"]
        return found[0]


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def team_changes(ops_db: Path) -> None:
    conn = sqlite3.connect(ops_db)
    stamp = now_text()
    with conn:
        conn.execute("UPDATE contacts SET phone = '02 8000 9999', updated_at = ? "
                     "WHERE id = 'C-103'", [stamp])
        conn.execute("UPDATE invoices SET status = 'approved', updated_at = ? WHERE id = 'J-1003'",
                     [stamp])
        row = conn.execute(
            "SELECT l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
            "WHERE i.number = 'INV-0013' ORDER BY l.position LIMIT 1").fetchone()
        conn.execute("UPDATE invoice_lines SET description = 'Consulting - November (ops)' "
                     "WHERE id = ?", [row[0]])
        conn.execute("UPDATE invoices SET updated_at = ? WHERE number = 'INV-0013'", [stamp])
    conn.close()
    print("ops: phone of Harbourside Builders changed; JOB-1003 approved; "
          "INV-0013 line 1 description edited")


def accountant_changes(xero: Accountant) -> None:
    today = datetime.now(UTC).date().isoformat()
    job = xero.invoice("JOB-1001")
    xero.call("PUT", "/Payments", {"Payments": [{
        "Invoice": {"InvoiceID": job["InvoiceID"]}, "Account": {"Code": "090"},
        "Date": today, "Amount": job["AmountDue"], "Reference": "EFT 88231"}]})
    print(f"Xero: payment of {job['AmountDue']:.2f} recorded on JOB-1001")

    target = xero.invoice("INV-0011")
    note = xero.call("PUT", "/CreditNotes", {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": target["Contact"]["ContactID"]},
        "Date": today, "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
        "LineItems": [{"Description": "Goodwill discount", "Quantity": 1, "UnitAmount": 100,
                       "AccountCode": "200", "TaxType": "OUTPUT"}]}]})["CreditNotes"][0]
    xero.call("PUT", f"/CreditNotes/{note['CreditNoteID']}/Allocations", {"Allocations": [{
        "Invoice": {"InvoiceID": target["InvoiceID"]}, "Amount": note["Total"], "Date": today}]})
    print(f"Xero: credit note {note['CreditNoteNumber']} of {note['Total']:.2f} applied to "
          "INV-0011")

    xero.edit_first_line(xero.invoice("INV-0012"), TaxType="EXEMPTOUTPUT")
    print("Xero: GST code of INV-0012 line 1 corrected to EXEMPTOUTPUT (GST free)")

    builder = xero.contact("Harbourside Builders")
    xero.call("POST", f"/Contacts/{builder['ContactID']}", {"Contacts": [{
        "ContactID": builder["ContactID"], "Addresses": [{
            "AddressType": "STREET", "AddressLine1": "40 Darling Street", "City": "Balmain",
            "Region": "NSW", "PostalCode": "2041", "Country": "Australia"}]}]})
    print("Xero: street address of Harbourside Builders changed")

    xero.edit_first_line(xero.invoice("INV-0013"),
                         Description="Consulting - November (accountant)")
    print("Xero: INV-0013 line 1 description edited too (a conflict under `flag`)")


def run(workspace: Path) -> None:
    started = time.monotonic()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with Sandbox(seed="demo") as sandbox:
        base_url = sandbox.start()
        say(f"Xero sandbox running at {base_url} (Demo Company (AU))")

        say("A workspace, with the example's operations store and the settings that fit it")
        xsync(workspace, "init", "--example", str(workspace))

        say("Connect (OAuth2 with PKCE, completed without a browser against the sandbox)")
        xsync(workspace, "connect", "--sandbox", base_url)
        xsync(workspace, "connect", "--status")

        say("First sync: accounts and tax rates imported, contacts matched, invoices both ways")
        xsync(workspace, "diff")
        xsync(workspace, "sync")

        # The story moves on: a few minutes pass in the sandbox (whose clock the demo owns), so
        # Xero's 60-calls-a-minute window is fresh again, as it would be in real life.
        sandbox.advance_clock(180)
        say("The accountant works in Xero")
        accountant_changes(Accountant(sandbox, base_url))
        say("The team works in the operations platform")
        team_changes(workspace / "ops.db")

        say("What a sync would do now")
        xsync(workspace, "diff", expect=(3,))
        say("Sync: everything merges except the one field both sides changed")
        xsync(workspace, "sync", expect=(3,))
        listing = json.loads(xsync(workspace, "resolve", "--json"))
        conflict = next(c for c in listing if c["field"].endswith("description"))
        sandbox.advance_clock(120)
        say("Resolve the conflict: keep the team's wording")
        xsync(workspace, "resolve", str(conflict["id"]), "--take", "ops")
        xsync(workspace, "sync")
        say("In sync")
        xsync(workspace, "diff")
        xsync(workspace, "status")
        xsync(workspace, "log", "--entity", "contacts")
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s; workspace: {workspace}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="make the workspace here and keep it")
    args = parser.parse_args()
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        run(args.keep.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="xsync-demo-") as tmp:
        run(Path(tmp) / "books")


if __name__ == "__main__":
    main()
