"""The checks of `xsync doctor`: each one turns facts already gathered into a verdict and a fix.

The checks are pure: the command reads the workspace, the ops store and Xero, and hands each check
what it needs as plain data, so every verdict can be tried on made-up facts.

A check is ``ok``, ``warn`` (worth knowing; the next run copes with it or it may be intended) or
``fail`` (the next sync would fail or refuse records because of it). A workspace is healthy when
no check fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from xsync.errors import ExitCode
from xsync.model.entities import spec
from xsync.model.records import Record
from xsync.state.ledger import Base, hashes_as
from xsync.state.lock import STALE_AFTER
from xsync.sync.rules import Rules

Level = Literal["ok", "warn", "fail"]

# checks in the order they are shown
NAMES = ("connection", "scopes", "lock_dates", "ops_schema", "categories", "accounts",
         "tax_types", "clock", "state_db", "outbox", "run_lock")

CLOCK_WARN_SECONDS = 120
CLOCK_FAIL_SECONDS = 600
# a run lock whose heartbeat is older than this is taken over (xsync.state.lock.RunLock)
# records named in one check's detail; the rest are counted
SHOWN = 5


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.level == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "level": self.level, "detail": self.detail,
                "fix": self.fix}


def passed(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def not_checked(name: str, why: str, fix: str) -> Check:
    """A check that could not be made: never a pass."""
    return Check(name, "fail", f"not checked: {why}", fix)


def healthy(checks: Iterable[Check]) -> bool:
    return all(c.level != "fail" for c in checks)


def exit_code(checks: Iterable[Check]) -> int:
    return ExitCode.OK if healthy(checks) else ExitCode.USAGE


@dataclass(frozen=True)
class DocLine:
    id: str | None
    account_code: str | None
    tax_type: str | None


@dataclass(frozen=True)
class Doc:
    """An ops document the next sync would send to Xero (new, or changed since its last sync)."""

    entity: str
    id: str
    label: str
    date: date | None
    lines: tuple[DocLine, ...] = ()


@dataclass(frozen=True)
class CategoryUse:
    """An ops category on document lines: how many lines, and the first documents using it."""

    category: str
    lines: int
    documents: tuple[str, ...] = field(default=())


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    more = len(items) - SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# -- connection and scopes -------------------------------------------------------------------------


def check_connection(*, organisation: str | None, tenant_id: str | None,
                     expires_at: datetime | None, refreshed: bool, static_token: bool,
                     problem: str | None = None, fix: str = "") -> Check:
    """The stored connection and its tokens. ``problem``: why it cannot be used (from the token
    store, the token endpoint or Xero), with ``fix``."""
    if problem is not None:
        return Check("connection", "fail", problem, fix or "run `xsync connect`")
    org = organisation or tenant_id or "the custom connection's organisation"
    if static_token:
        return passed("connection", f"{org}, with the access token of XSYNC_ACCESS_TOKEN "
                                    "(never refreshed)")
    until = f"; access token valid until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    how = " (refreshed just now)" if refreshed else ""
    return passed("connection", f"{org}{until}{how}")


# what each entity needs of Xero: the scopes that allow it (granular first, then the broad one)
_SCOPE_FAMILY: dict[str, tuple[str, ...]] = {
    "contacts": ("accounting.contacts",),
    "invoices": ("accounting.invoices", "accounting.transactions"),
    "bills": ("accounting.invoices", "accounting.transactions"),
    "credit_notes": ("accounting.invoices", "accounting.transactions"),
    "payments": ("accounting.payments", "accounting.transactions"),
    "credits": ("accounting.payments", "accounting.transactions"),
    "allocations": ("accounting.payments", "accounting.transactions"),
    "accounts": ("accounting.settings",),
    "tax_rates": ("accounting.settings",),
}
# a deposit recorded in ops is created in Xero as receive money (a bank transaction): needed only
# by workspaces that record deposits, so its absence is a warning, not a failure
_DEPOSITS = ("creating deposits recorded in ops, as prepayments",
             ("accounting.banktransactions", "accounting.transactions"))


def needed_scopes(rules: Rules, *, client_credentials: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(what for, the scopes any one of which allows it), for the enabled entities."""
    needs: list[tuple[str, tuple[str, ...]]] = []
    if not client_credentials:
        needs.append(("staying connected (a refresh token)", ("offline_access",)))
    needs.append(("the organisation's settings", ("accounting.settings",
                                                  "accounting.settings.read")))
    for entity, family in _SCOPE_FAMILY.items():
        rule = rules.entity(entity)
        if not rule.enabled:
            continue
        if rule.direction in ("both", "push"):
            needs.append((f"writing {entity.replace('_', ' ')}", family))
        else:
            needs.append((f"reading {entity.replace('_', ' ')}",
                          family + tuple(f"{s}.read" for s in family)))
    return needs


def check_scopes(granted: str | None, rules: Rules, *, client_credentials: bool,
                 asked: str) -> Check:
    """The scopes the connection holds against those the enabled entities need."""
    if granted is None:
        return not_checked("scopes", "no connection records its scopes", "run `xsync connect`")
    have = set(granted.split())
    missing = [(why, options) for why, options in needed_scopes(
        rules, client_credentials=client_credentials) if not have & set(options)]
    deposits = rules.entity("credits").enabled and not have & set(_DEPOSITS[1])
    if not missing and not deposits:
        return passed("scopes", f"granted: {granted}")
    level: Level = "fail" if missing else "warn"
    if deposits:
        missing.append(_DEPOSITS)
    wanted = ", ".join(f"{' or '.join(options)} ({why})" for why, options in missing)
    if client_credentials:
        fix = ("add the missing scopes to the custom connection in Xero's developer portal, "
               "then run `xsync connect --client-credentials`")
    else:
        fix = (f"set [xero] scopes in xsync.toml to include them (now: {asked!r}), then run "
               "`xsync connect` and approve them")
    return Check("scopes", level, f"missing {wanted}; granted: {granted or 'none'}", fix)


# -- Xero's settings: lock dates, accounts, tax types ----------------------------------------------


def check_lock_dates(period_lock: date | None, end_of_year_lock: date | None,
                     docs: Sequence[Doc]) -> Check:
    """Documents the next sync would send that are dated on or before a lock date: Xero refuses
    every one of them."""
    locks = [(d, what) for d, what in ((period_lock, "period lock date"),
                                      (end_of_year_lock, "end of year lock date")) if d]
    if not locks:
        return passed("lock_dates", "no lock date is set in Xero")
    lock, what = max(locks)
    stated = "; ".join(f"{name} {day.isoformat()}" for day, name in locks)
    refused = [d for d in docs if d.date is not None and d.date <= lock]
    if not refused:
        return passed("lock_dates", f"{stated}; nothing waiting to sync is dated on or before it")
    names = _some([f"{d.label} ({d.date})" for d in refused])
    return Check(
        "lock_dates", "warn",
        f"{stated}: Xero will refuse {_plural(len(refused), 'document')} waiting to sync, dated "
        f"on or before {lock.isoformat()}: {names}",
        f"ask the accountant to move the {what} back, or date those documents after "
        f"{lock.isoformat()} in ops")


def check_categories(in_use: Sequence[CategoryUse], mapped: Mapping[str, str]) -> Check:
    """Every ops category on a line is mapped to an account code in `[mappings.categories]`."""
    missing = [c for c in in_use if c.category not in mapped]
    if not in_use:
        return passed("categories", "no ops line names a category")
    if not missing:
        return passed("categories", f"{_plural(len(in_use), 'category')} in use, all mapped")
    parts = [f"{c.category!r} ({_plural(c.lines, 'line')}, e.g. {_some(list(c.documents))})"
             for c in missing]
    example = missing[0].category
    return Check(
        "categories", "fail",
        f"{_plural(len(missing), 'category')} with no account mapping: {'; '.join(parts)}; "
        "documents with those lines are refused by every sync",
        f"add them under [mappings.categories] in xsync.toml as category = \"account code\", "
        f"e.g. {example} = \"<code>\" (`xsync pull` brings the chart into ops' accounts table)")


def _codes_in_use(docs: Sequence[Doc]) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for doc in docs:
        for line in doc.lines:
            if line.account_code:
                labels = used.setdefault(line.account_code, [])
                if doc.label not in labels:
                    labels.append(doc.label)
    return used


def check_accounts(docs: Sequence[Doc], mapped: Mapping[str, str], categories_in_use: set[str],
                   accounts: Mapping[str, Mapping[str, Any]]) -> Check:
    """Every account code the waiting documents use, and every account a category in use is
    mapped to, is in Xero's chart and ACTIVE. ``accounts``: Xero's accounts by code."""
    used = _codes_in_use(docs)
    for category in sorted(categories_in_use):
        code = mapped.get(category)
        if code:
            used.setdefault(code, []).append(f"[mappings.categories] {category}")
    problems = []
    for code, where in sorted(used.items()):
        account = accounts.get(code)
        if account is None:
            problems.append(f"{code!r} is not in Xero's chart of accounts (used by "
                            f"{_some(where)})")
        elif account.get("Status") != "ACTIVE":
            problems.append(f"{code} {account.get('Name') or ''} is "
                            f"{str(account.get('Status') or 'not active').lower()} in Xero "
                            f"(used by {_some(where)})")
    if not used:
        return passed("accounts", "no document waiting to sync names an account code")
    if not problems:
        return passed("accounts", f"{_plural(len(used), 'account code')} in use, all active "
                                  "in Xero")
    return Check("accounts", "fail", "; ".join(problems),
                 "restore the account in Xero, or change the lines (or [mappings.categories]) "
                 "to an active account code")


# Account.Class -> the TaxRate field saying whether the rate may be used on such an account
_APPLIES_TO = {"ASSET": "CanApplyToAssets", "EQUITY": "CanApplyToEquity",
               "EXPENSE": "CanApplyToExpenses", "LIABILITY": "CanApplyToLiabilities",
               "REVENUE": "CanApplyToRevenue"}


def check_tax_types(docs: Sequence[Doc], accounts: Mapping[str, Mapping[str, Any]],
                    tax_rates: Mapping[str, Mapping[str, Any]]) -> Check:
    """Every tax type on a waiting line (else its account's default) exists, is ACTIVE, and may
    be used with the line's account (the rate's ``CanApplyTo<Class>``). ``tax_rates``: by type."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        for line in doc.lines:
            account = accounts.get(line.account_code or "")
            tax_type = line.tax_type or (account or {}).get("TaxType")
            if not tax_type or not line.account_code:
                continue
            labels = pairs.setdefault((line.account_code, str(tax_type)), [])
            if doc.label not in labels:
                labels.append(doc.label)
    problems, first_fix = [], ""
    for (code, tax_type), where in sorted(pairs.items()):
        rate = tax_rates.get(tax_type)
        account = accounts.get(code)
        if rate is None or rate.get("Status") != "ACTIVE":
            state = "is not a tax rate of the organisation" if rate is None else \
                f"is {str(rate.get('Status')).lower()}"
            problems.append(f"tax type {tax_type} {state} (account {code}; {_some(where)})")
            continue
        if account is None:
            continue  # the accounts check names it
        klass = str(account.get("Class") or "")
        allowed_field = _APPLIES_TO.get(klass)
        if allowed_field is None or rate.get(allowed_field) is not False:
            continue
        allowed = sorted(t for t, r in tax_rates.items()
                         if r.get("Status") == "ACTIVE" and r.get(allowed_field) is True)
        own = account.get("TaxType")
        if own in allowed:  # the account's own default first: the likely intent
            allowed.remove(own)
            allowed.insert(0, str(own))
        suggested = allowed[0] if allowed else "TYPE"
        problems.append(f"tax type {tax_type} cannot be used with account {code} "
                        f"({klass.lower()}; {_some(where)})")
        if not first_fix:
            first_fix = (f"give those lines a tax type allowed on account {code}, such as "
                         f"{', '.join(allowed[:3])}, or set [mappings.default_tax_types] "
                         f"\"{code}\" = \"{suggested}\" for lines with none")
    if not pairs:
        return passed("tax_types", "no document waiting to sync has a tax type to check")
    if not problems:
        return passed("tax_types", f"{_plural(len(pairs), 'account and tax type pair')} in use, "
                                   "all allowed by Xero")
    return Check("tax_types", "fail", "; ".join(problems),
                 first_fix or "use a tax type of the organisation's active tax rates")


# -- the clock ------------------------------------------------------------------------------------


def check_clock(local: datetime, xero: datetime | None) -> Check:
    """This machine's clock against Xero's (its `Date` reply header)."""
    if xero is None:
        return not_checked("clock", "Xero's reply carried no Date header",
                           "run `xsync doctor` again once Xero answers")
    skew = (local - xero).total_seconds()
    ahead = "ahead of" if skew > 0 else "behind"
    size = abs(skew)
    said = (f"this machine is {size:.0f} s {ahead} Xero's clock" if size >= 1 else
            "this machine's clock agrees with Xero's to the second")
    if size <= CLOCK_WARN_SECONDS:
        return passed("clock", said)
    level: Level = "fail" if size > CLOCK_FAIL_SECONDS else "warn"
    return Check("clock", level,
                 f"{said}: change times compared with Xero's (the `latest` policy) may pick the "
                 "wrong side",
                 "set the machine's clock from the network (e.g. `timedatectl set-ntp true`)")


# -- the workspace: state database, outbox, run lock ----------------------------------------------


def check_state_db(*, path: str, exists: bool, unreadable: str | None, problems: Sequence[str],
                   pending: Sequence[str], unknown: Sequence[str]) -> Check:
    """The state database: SQLite's integrity check, and its migrations against this xsync's."""
    rebuild = (f"move it aside and rebuild it from both sides: `mv {path} {path}.broken && "
               "xsync connect && xsync sync`")
    if not exists:
        return Check("state_db", "fail", f"{path} does not exist",
                     "run `xsync init` in the workspace folder")
    if unreadable is not None:
        return Check("state_db", "fail", f"{path} cannot be read (SQLite: {unreadable})",
                     rebuild)
    if problems:
        return Check("state_db", "fail",
                     f"{path} is damaged: {'; '.join(list(problems)[:3])}", rebuild)
    if unknown:
        return Check("state_db", "fail",
                     f"{path} was written by a newer xsync (migrations {', '.join(unknown)})",
                     "upgrade xsync to the version that wrote it")
    if pending:
        return Check("state_db", "warn",
                     f"{path} is whole; {_plural(len(pending), 'migration')} not applied yet "
                     f"({', '.join(pending)})",
                     "none needed: the next xsync command applies them")
    return passed("state_db", f"{path} is whole and its migrations are current")


def check_outbox(unfinished: Sequence[Mapping[str, Any]], total: int) -> Check:
    """Writes an earlier run recorded and sent (or was about to) but never saw answered."""
    if total == 0:
        return passed("outbox", "no write is waiting for an answer")
    named = [f"{r['action']} {r['entity']} {r.get('ops_id') or r.get('xero_id') or ''} "
             f"in {'Xero' if r['side'] == 'xero' else 'ops'} (run {r['run_id']})"
             for r in unfinished]
    return Check("outbox", "warn",
                 f"{_plural(total, 'write')} of a run that stopped before its answer: "
                 f"{_some(named)}",
                 "`xsync sync` settles them: each is found where it went (and linked) or sent "
                 "again under its own idempotency key, never twice")


def check_run_lock(lock: Mapping[str, Any] | None, *, now: datetime, host: str,
                   alive: Callable[[int], bool]) -> Check:
    """The run lock: free, held by a run now, or left by a run that is gone."""
    if lock is None:
        return passed("run_lock", "no run holds the workspace")
    pid, where = int(lock["pid"]), str(lock["host"])
    heartbeat = datetime.fromisoformat(str(lock["heartbeat_at"]))
    since = datetime.fromisoformat(str(lock["acquired_at"]))
    owner = f"pid {pid}" + ("" if where == host else f" on {where}")
    gone = where == host and not alive(pid)
    stale = now - heartbeat >= STALE_AFTER
    if gone or stale:
        why = "that process is gone" if gone else \
            f"its last heartbeat was at {heartbeat:%Y-%m-%d %H:%M} UTC"
        return Check("run_lock", "warn",
                     f"a run lock left by {owner} since {since:%Y-%m-%d %H:%M} UTC: {why}",
                     "none needed: the next run takes the stale lock over")
    return Check("run_lock", "warn",
                 f"a run holds the workspace now ({owner}, since {since:%H:%M} UTC); other "
                 "runs exit 8 until it ends",
                 "wait for it, or give the next run --wait SECONDS")


# -- which ops documents the next sync would send -------------------------------------------------

_NOUN = {"invoices": "invoice", "bills": "bill", "payments": "payment",
         "credit_notes": "credit note"}
_TERMINAL = ("void", "deleted")


def _below(total: str | None, minimum: Decimal | None) -> bool:
    if total is None or minimum is None:
        return False
    try:
        return Decimal(total) < minimum
    except InvalidOperation:
        return False


def waiting_docs(entity: str, records: Iterable[Record], bases: Mapping[str, Base],
                 aliases: Iterable[str], rules: Rules) -> list[Doc]:
    """The ops records of ``entity`` the next sync would write to Xero: new ones the rules let
    through (not void or deleted, not a held-back draft, not below `min_total`), and linked ones
    whose content changed since their last sync."""
    rule = rules.entity(entity)
    if not rule.enabled or rule.direction not in ("both", "push"):
        return []
    skip = set(aliases)
    entity_spec = spec(entity)
    docs: list[Doc] = []
    for record in records:
        if record.id in skip:
            continue
        base = bases.get(record.id)
        status = record.fields.get("status")
        if base is None:
            if status in _TERMINAL or (rule.push_only_when_approved and status == "draft"):
                continue
            if _below(record.fields.get("total"), rule.min_total):
                continue
        elif hashes_as(record, base.ops_hash):
            continue
        when = record.fields.get("date")
        try:
            day = date.fromisoformat(when) if when else None
        except ValueError:
            day = None
        name = record.fields.get(entity_spec.label) or record.id
        lines = tuple(DocLine(line.id, line.fields.get("account_code"),
                              line.fields.get("tax_type")) for line in record.lines or [])
        docs.append(Doc(entity, record.id, f"{_NOUN.get(entity, entity)} {name}", day, lines))
    return docs
