"""`xsync doctor`: check a workspace before a sync, and say how to fix what would fail.

The command gathers the facts (the state database read-only first, then the ops store, then three
reads of Xero: Organisation, Accounts, TaxRates) and hands them to the pure checks of
:mod:`xsync.sync.doctor`. A check that cannot be made (Xero unreachable, state.db damaged) fails:
it is never reported as passed.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from xsync.cli.console import console
from xsync.cli.render import plain, print_json
from xsync.cli.runner import WORKSPACE_HELP

_XERO_RETRIES = 1
_MARK = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


def local_now() -> datetime:
    """This machine's clock (the one the clock check holds against Xero's)."""
    return datetime.now(UTC)


def doctor(
    workspace: Path | None = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Check the workspace before a sync: the connection and its scopes, Xero's lock dates,
    the ops store's schema, mappings, account codes and tax types in use, the clock, the state
    database, unanswered writes and the run lock. Prints a fix for each check that does not
    pass; exits 0 when nothing fails (warnings included), 2 otherwise."""
    from xsync.cli.runtime import load_runtime
    from xsync.sync.doctor import exit_code, healthy

    runtime = load_runtime(workspace)
    checks = gather(runtime)
    if as_json:
        print_json(console, {"checks": [c.as_dict() for c in checks],
                             "healthy": healthy(checks)})
    else:
        _show(checks)
    code = exit_code(checks)
    if code:
        raise typer.Exit(code)


def _show(checks: list[Any]) -> None:
    from xsync.sync.doctor import healthy

    table = Table(title="xsync doctor", title_justify="left")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(plain(check.name), Text.from_markup(_MARK[check.level]),
                      plain(check.detail), plain(check.fix))
    console.print(table)
    failed = sum(c.level == "fail" for c in checks)
    warned = sum(c.level == "warn" for c in checks)
    if healthy(checks):
        tail = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
        console.print(f"Healthy{tail}: ready to sync.")
    else:
        console.print(f"{failed} check{'s' if failed != 1 else ''} failed: fix "
                      f"{'it' if failed == 1 else 'them'} before the next sync.")


# -- gathering ------------------------------------------------------------------------------------


@dataclass
class _Ops:
    """What the ops store told: its schema check, categories on lines, documents waiting."""

    schema: Any = None
    categories: Any = None
    categories_in_use: set[str] = field(default_factory=set)
    docs: list[Any] | None = None
    why_not: str = ""


@dataclass
class _Xero:
    connection: Any = None
    scopes: Any = None
    organisation: dict[str, Any] | None = None
    accounts: dict[str, dict[str, Any]] | None = None
    tax_rates: dict[str, dict[str, Any]] | None = None
    date: datetime | None = None
    received: datetime | None = None
    why_not: str = ""
    fix: str = ""


def gather(runtime: Any) -> list[Any]:
    """Every check of the workspace, in :data:`xsync.sync.doctor.NAMES` order."""
    from xsync.errors import StateCorrupt
    from xsync.sync import doctor as d
    from xsync.sync.books import Books

    ws = runtime.workspace
    health = Books.health(ws.state_path)
    state_check = d.check_state_db(path=str(ws.state_path), exists=health.exists,
                                   unreadable=health.unreadable, problems=health.problems,
                                   pending=health.pending, unknown=health.unknown)
    state_ok = state_check.level != "fail"
    ledger_checks: dict[str, Any] = {}
    bases: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    if state_ok:
        try:
            with Books.opened(ws.state_path) as books:
                ledger_checks["outbox"] = d.check_outbox(books.unfinished_writes(),
                                                         books.pending_writes())
                ledger_checks["run_lock"] = _lock_check(books.run_lock())
                for entity in ("invoices", "bills", "payments", "credit_notes"):
                    bases[entity] = books.bases(entity)
                    aliases[entity] = books.aliases(entity)
        except (StateCorrupt, sqlite3.Error) as exc:
            state_ok = False
            state_check = d.Check("state_db", "fail", f"{ws.state_path} cannot be read: {exc}",
                                  "move it aside and rebuild it: `mv state.db state.db.broken "
                                  "&& xsync connect && xsync sync`")
    ops = _gather_ops(runtime, bases, aliases, state_ok)
    xero = _gather_xero(runtime, state_ok)

    checks: dict[str, Any] = {"state_db": state_check, "connection": xero.connection,
                              "scopes": xero.scopes, "ops_schema": ops.schema}
    for name in ("outbox", "run_lock"):
        checks[name] = ledger_checks.get(name) or d.not_checked(
            name, "the state database cannot be read", state_check.fix)
    checks["categories"] = ops.categories or d.not_checked(
        "categories", ops.why_not, "fix the ops store first (see ops_schema)")
    if xero.organisation is None:
        for name in ("lock_dates", "accounts", "tax_types", "clock"):
            checks[name] = d.not_checked(name, xero.why_not, xero.fix)
    else:
        checks["clock"] = d.check_clock(xero.received or local_now(), xero.date)
    if xero.organisation is not None and ops.docs is None:
        for name in ("lock_dates", "accounts", "tax_types"):
            checks[name] = d.not_checked(name, ops.why_not,
                                         "fix the ops store or the state database first")
    elif xero.organisation is not None and ops.docs is not None:
        org = xero.organisation
        checks["lock_dates"] = d.check_lock_dates(_date(org.get("PeriodLockDate")),
                                                  _date(org.get("EndOfYearLockDate")), ops.docs)
        checks["accounts"] = d.check_accounts(ops.docs, runtime.settings.mappings.categories,
                                              ops.categories_in_use, xero.accounts or {})
        checks["tax_types"] = d.check_tax_types(ops.docs, xero.accounts or {},
                                                xero.tax_rates or {})
    return [checks[name] for name in d.NAMES]


def _lock_check(lock: dict[str, Any] | None) -> Any:
    from xsync.sync.books import Books
    from xsync.sync.doctor import check_run_lock

    return check_run_lock(lock, now=local_now(), host=socket.gethostname(), alive=Books.alive)


def _date(value: Any) -> date | None:
    from xsync.xero.xjson import parse_date

    try:
        return parse_date(value) if isinstance(value, str) else None
    except ValueError:
        return None


# -- the ops store --------------------------------------------------------------------------------


def _gather_ops(runtime: Any, bases: dict[str, Any], aliases: dict[str, Any],
                state_ok: bool) -> _Ops:
    from xsync.cli.runtime import open_ops_store
    from xsync.errors import XsyncError
    from xsync.sync import doctor as d

    settings = runtime.settings
    ops = _Ops()
    sqlite = settings.ops.store == "sqlite"
    path = runtime.workspace.ops_path(settings)
    if sqlite and not path.exists():
        ops.schema = d.Check("ops_schema", "fail", f"{path} does not exist",
                             "run `xsync init` to create it, or point [ops] path in xsync.toml "
                             "at the operations database")
        ops.why_not = "the ops store cannot be read"
        return ops
    try:
        if sqlite:
            _check_sqlite_schema(path)
        store = open_ops_store(runtime.workspace, settings)
    except XsyncError as exc:
        ops.schema = d.Check("ops_schema", "fail", str(exc), exc.hint or "")
        ops.why_not = "the ops store cannot be read"
        return ops
    try:
        ops.schema = d.passed("ops_schema", f"{path} holds every table and column of the "
                                            "contract" if sqlite else
                              f"the ops store {settings.ops.store!r} opened")
        if sqlite:
            uses = _category_uses(store)
            ops.categories = d.check_categories(uses, settings.mappings.categories)
            ops.categories_in_use = {u.category for u in uses}
        else:
            ops.categories = d.Check(
                "categories", "warn",
                f"not checked: the ops store {settings.ops.store!r} maps categories itself",
                "check its own settings")
        if not state_ok:
            ops.why_not = "the state database cannot be read, so what waits to sync is unknown"
            return ops
        docs: list[Any] = []
        for entity in bases:
            if not runtime.rules.flows(entity, "sync")[1]:
                continue
            scanned = store.scan(entity, None)
            docs += d.waiting_docs(entity, scanned.records, bases[entity], aliases[entity],
                                   runtime.rules)
        ops.docs = docs
    except XsyncError as exc:
        ops.schema = d.Check("ops_schema", "fail", str(exc), exc.hint or "")
        ops.categories = None
        ops.why_not = "the ops store cannot be read"
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
    return ops


def _check_sqlite_schema(path: Path) -> None:
    """The schema contract of ops.db, checked without creating anything in it."""
    from xsync.sides.ops_schema import (
        BUSY_TIMEOUT,
        check_schema,
        connect,
        sqlite_errors,
        table_columns,
    )

    conn = connect(path, BUSY_TIMEOUT)
    try:
        with sqlite_errors(conn, path, "checking its schema", BUSY_TIMEOUT):
            check_schema(path, table_columns(conn))
    finally:
        conn.close()


def _category_uses(store: Any) -> list[Any]:
    """Categories that decide a line's account (the line names no account code), with how many
    lines and the first documents using each."""
    from xsync.sides.ops_facts import category_uses
    from xsync.sync.doctor import CategoryUse

    found = category_uses(store.conn)
    return [CategoryUse(c, n, tuple(docs)) for c, (n, docs) in sorted(found.items())]


# -- Xero -----------------------------------------------------------------------------------------


def _date_watch() -> Any:
    """A transport for the doctor's Xero calls that keeps the last reply's `Date` header, and
    this machine's time when it came (httpx is imported here, not when `xsync --help` runs)."""
    import httpx

    class DateWatch(httpx.HTTPTransport):
        date: datetime | None = None
        received: datetime | None = None

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            header = response.headers.get("date")
            if header:
                with contextlib.suppress(TypeError, ValueError):
                    self.date = parsedate_to_datetime(header).astimezone(UTC)
                    self.received = local_now()
            return response

    return DateWatch()


def _gather_xero(runtime: Any, state_ok: bool) -> _Xero:
    from xsync.cli import session
    from xsync.errors import (
        AuthError,
        RateLimited,
        SideUnreachable,
        XeroForbidden,
        XeroTransientError,
        XeroUnauthorized,
        XsyncError,
    )
    from xsync.sync import doctor as d
    from xsync.xero.tokens import EnvOverrides

    ws = runtime.workspace
    out = _Xero()
    env = EnvOverrides.read()
    connection = None
    if state_ok:
        connection = session.load_connection(ws)
    elif not (env.access_token and env.tenant_id):
        out.connection = d.not_checked("connection", "the state database cannot be read",
                                       "fix the state database first (see state_db)")
        out.scopes = d.not_checked("scopes", "the state database cannot be read",
                                   "fix the state database first (see state_db)")
        out.why_not, out.fix = "no connection to Xero could be read", "fix state_db first"
        return out
    if connection is None and not (env.access_token and env.tenant_id):
        out.connection = d.Check("connection", "fail", "this workspace is not connected to Xero",
                                 "run `xsync connect` (or `xsync connect --sandbox URL`)")
        out.scopes = d.not_checked("scopes", "not connected", "run `xsync connect`")
        out.why_not, out.fix = "not connected to Xero", "run `xsync connect`"
        return out
    watch = _date_watch()
    client_credentials = connection is not None and connection.auth_mode == \
        session.CLIENT_CREDENTIALS
    granted = connection.scopes if connection is not None else None
    expires_at, refreshed = None, False
    manager = None
    try:
        manager = _tokens(ws, connection, env, watch)
        before = manager.store.load() if manager else None
        with session.open_client(ws, transport=watch, max_retries=_XERO_RETRIES) as client:
            orgs = client.get("Organisation").get("Organisations") or [{}]
            accounts = list(client.iter_all("Accounts"))
            rates = list(client.iter_all("TaxRates"))
        # the client refreshes on a 401 too (a token Xero ended early): what is stored now says
        after = manager.store.load() if manager else None
        if after is not None:
            granted = after.scope or granted
            expires_at = datetime.fromtimestamp(after.expires_at, UTC)
            refreshed = manager.refreshes > 0 or before is None or \
                before.access_token != after.access_token
    except (XeroTransientError, RateLimited, SideUnreachable) as exc:
        out.connection = d.Check("connection", "fail", f"Xero could not be reached: {exc}",
                                 "check the network and [xero] api_url, then run `xsync "
                                 "doctor` again")
        out.why_not, out.fix = "Xero could not be reached", "run `xsync doctor` again later"
    except (AuthError, XeroForbidden, XeroUnauthorized) as exc:
        out.connection = d.Check("connection", "fail", f"Xero refused the connection: {exc}",
                                 exc.hint or "run `xsync connect` again")
        out.why_not, out.fix = "Xero refused the connection", "run `xsync connect` again"
    except XsyncError as exc:
        out.connection = d.Check("connection", "fail", f"Xero answered with an error: {exc}",
                                 exc.hint or "run `xsync doctor` again")
        out.why_not, out.fix = "Xero answered with an error", "run `xsync doctor` again"
    else:
        org = orgs[0]
        out.connection = d.check_connection(
            organisation=(connection.tenant_name if connection else None) or org.get("Name"),
            tenant_id=connection.tenant_id if connection else env.tenant_id,
            expires_at=expires_at, refreshed=refreshed, static_token=bool(env.access_token))
        out.organisation = org
        out.accounts = {str(a.get("Code")): a for a in accounts if a.get("Code")}
        out.tax_rates = {str(t.get("TaxType")): t for t in rates if t.get("TaxType")}
        out.date, out.received = watch.date, watch.received
    finally:
        if manager is not None:
            manager.oauth.close()
    out.scopes = d.check_scopes(granted, runtime.rules, client_credentials=client_credentials,
                                asked=runtime.settings.xero.scopes)
    return out


def _tokens(ws: Any, connection: Any, env: Any, transport: Any) -> Any:
    """The token manager, once it holds a token good for the next minute (refreshed if it was
    not); None when the access token comes from XSYNC_ACCESS_TOKEN."""
    from xsync.cli import session
    from xsync.errors import NotConnected

    if env.access_token or connection is None:
        return None
    manager = session.token_manager(ws, connection, env=env, transport=transport)
    if manager.current() is None and not manager.client_credentials:
        raise NotConnected("no Xero tokens are stored for this workspace",
                           path=str(ws.root))
    manager.access_token()
    return manager


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
