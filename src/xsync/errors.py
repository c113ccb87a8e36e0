"""The one exception tree of xsync.

Every error xsync raises on purpose derives from :class:`XsyncError`. Exceptions carry data
(record ids, tenant, retry-after, Xero's messages), not pre-rendered text; the CLI's single error
boundary renders them and maps each to a documented exit code.

    XsyncError                          exit 1 unless a subclass says otherwise
    ├── UsageError                      2  bad flags, bad config, missing workspace
    │   ├── ConfigError                 2
    │   ├── WorkspaceNotFound           2
    │   └── TenantChoiceNeeded          2  several organisations and no way to ask
    ├── AuthError                       6  re-connect needed
    │   ├── NotConnected                6
    │   ├── InvalidGrant                6  the refresh token was refused
    │   └── OAuthError                  6  the authorisation server refused a request
    ├── XeroError                       1  Xero answered with an error
    │   ├── XeroValidationError         4  ValidationException (400), per element
    │   ├── XeroNotFound                1
    │   ├── XeroUrlTooLong              1  a 404 on a long id-list GET
    │   ├── XeroForbidden               6  wrong tenant or missing scope
    │   ├── XeroUnauthorized            6
    │   ├── XeroTransientError          8  5xx, timeouts, no answer: still failing after retries
    │   ├── XeroResponseMismatch        1  a batch reply that cannot be matched to its input
    │   └── RateLimited                 8  429 per minute/concurrency: still refused after waits
    │       └── DailyLimitReached       7  429 per day: stop, resume later
    ├── SafetyGuard                     5  a guard refused to apply a plan
    │   ├── MassDeleteGuard             5
    │   ├── EmptySideGuard              5
    │   └── StalePlanGuard              5
    ├── SideUnreachable                 8  a side cannot be reached or read (after retries)
    │   ├── OpsStoreBusy                8  ops.db stayed locked past its busy timeout
    │   └── OpsStoreUnreadable          8  ops.db is not a readable SQLite database
    ├── OpsSchemaError                  2  ops.db lacks a table or column of the contract
    ├── StateCorrupt                    2  state.db is not a readable SQLite database
    ├── RunLocked                       8  another run holds the workspace lock
    └── ConflictError                   3  a record waits for `xsync resolve`

When several things went wrong in one run, the exit code is the most urgent of them, in the order
of :data:`EXIT_PRIORITY` (re-connect first, then unreachable, daily limit, guards, rejections,
conflicts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ExitCode:
    """The documented exit codes of every xsync command."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CONFLICTS = 3
    REJECTED = 4
    SAFETY_GUARD = 5
    RECONNECT = 6
    DAILY_LIMIT = 7
    UNREACHABLE = 8


# the most urgent first: a run that hit several of these exits with the first one that applies
EXIT_PRIORITY = (
    ExitCode.UNEXPECTED,
    ExitCode.RECONNECT,
    ExitCode.USAGE,
    ExitCode.UNREACHABLE,
    ExitCode.DAILY_LIMIT,
    ExitCode.SAFETY_GUARD,
    ExitCode.REJECTED,
    ExitCode.CONFLICTS,
)


def most_urgent(codes: Sequence[int]) -> int:
    """The exit code of a run that met every code in ``codes`` (0 when there are none)."""
    present = {c for c in codes if c}
    for code in EXIT_PRIORITY:
        if code in present:
            return code
    return max(present, default=ExitCode.OK)


class XsyncError(Exception):
    """Base of every error xsync raises on purpose."""

    exit_code: int = ExitCode.UNEXPECTED
    hint: str | None = None

    def __init__(self, message: str = "", **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message or type(self).__name__


class UsageError(XsyncError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    pass


class WorkspaceNotFound(UsageError):
    hint = "Run `xsync init` to create a workspace, or pass --workspace DIR."


class TenantChoiceNeeded(UsageError):
    """Several organisations are connected and none was chosen. ``tenants``: (name, id) pairs."""

    hint = "Pick one with `xsync connect --tenant NAME|ID`."

    def __init__(self, message: str = "", *, tenants: Sequence[tuple[str, str]] = (), **data: Any):
        super().__init__(message, **data)
        self.tenants = list(tenants)


class AuthError(XsyncError):
    exit_code = ExitCode.RECONNECT
    hint = "Run `xsync connect` again."


class NotConnected(AuthError):
    hint = "Run `xsync connect` first."


class InvalidGrant(AuthError):
    pass


class OAuthError(AuthError):
    """The authorisation server refused: ``error`` is its OAuth2 error code (never a token)."""

    def __init__(self, message: str = "", *, error: str | None = None,
                 status: int | None = None, **data: Any) -> None:
        super().__init__(message, **data)
        self.error = error
        self.status = status


class XeroError(XsyncError):
    """Xero answered with an error. ``status`` is the HTTP status; ``body`` the parsed body."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        body: Any = None,
        request: str | None = None,
        **data: Any,
    ) -> None:
        super().__init__(message, **data)
        self.status = status
        self.body = body
        self.request = request


class ElementError:
    """One element Xero refused: its position in the batch, our record id, Xero's id, messages."""

    __slots__ = ("index", "messages", "record_id", "xero_id")

    def __init__(
        self,
        index: int,
        messages: Sequence[str],
        record_id: str | None = None,
        xero_id: str | None = None,
    ) -> None:
        self.index = index
        self.messages = list(messages)
        self.record_id = record_id
        self.xero_id = xero_id

    def __repr__(self) -> str:
        return f"ElementError({self.index}, {self.messages!r}, record_id={self.record_id!r})"


class XeroValidationError(XeroError):
    exit_code = ExitCode.REJECTED

    def __init__(self, message: str = "", *, elements: Sequence[ElementError] = (), **kw: Any):
        super().__init__(message, **kw)
        self.elements = list(elements)


class XeroNotFound(XeroError):
    pass


class XeroUrlTooLong(XeroError):
    hint = "The id list was too long for one request; xsync sends at most 50 ids per call."


class XeroForbidden(XeroError):
    exit_code = ExitCode.RECONNECT
    hint = "Check the organisation with `xsync connect --status`, or run `xsync connect` again."


class XeroUnauthorized(XeroError):
    exit_code = ExitCode.RECONNECT
    hint = "Run `xsync connect` again."


class XeroTransientError(XeroError):
    """Xero did not answer, or answered 5xx; raised once the retries are spent."""

    exit_code = ExitCode.UNREACHABLE
    hint = "Xero could not be reached; nothing of the unread data was changed. Run it again later."


class XeroResponseMismatch(XeroError):
    """A batch reply whose elements cannot be matched to the elements sent."""


class RateLimited(XeroError):
    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str = "", *, retry_after: float | None = None,
                 problem: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.problem = problem


class DailyLimitReached(RateLimited):
    """``resume_at`` (aware UTC datetime or None) is when Xero said the day's budget returns."""

    exit_code = ExitCode.DAILY_LIMIT
    hint = "Xero's daily call limit for this organisation is used up; run the same command later."

    def __init__(self, message: str = "", *, resume_at: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resume_at = resume_at


class SafetyGuard(XsyncError):
    exit_code = ExitCode.SAFETY_GUARD


class MassDeleteGuard(SafetyGuard):
    hint = "If the deletes are intended, run again with --allow-mass-delete."


class EmptySideGuard(SafetyGuard):
    hint = "If a side really is empty, run again with --allow-empty-side."


class StalePlanGuard(SafetyGuard):
    hint = "Records changed while the plan was made; run the command again."


class SideUnreachable(XsyncError):
    """A side could not be reached or read. ``side``: "ops" or "xero"."""

    exit_code = ExitCode.UNREACHABLE
    hint = "Nothing of what could not be read was changed; run the same command again later."


class OpsStoreBusy(SideUnreachable):
    """ops.db stayed locked (another program writing) past its busy timeout. ``path``."""

    hint = ("Another program holds ops.db locked; run again once it is done (nothing was "
            "changed).")


class OpsStoreUnreadable(SideUnreachable):
    """ops.db is not a SQLite database xsync can read (corrupt, truncated). ``path``."""

    hint = "Restore ops.db from a backup, or point `[ops] path` in xsync.toml at the right file."


class OpsSchemaError(ConfigError):
    """ops.db lacks a table or column of the public contract. ``table``, ``column``."""

    hint = "Add the column to ops.db (see the README's ops store schema); nothing was pushed."


class StateCorrupt(UsageError):
    """state.db cannot be read. ``path``."""

    hint = ("Move it aside and rebuild it from both sides: `mv state.db state.db.broken && "
            "xsync connect && xsync sync` (the first sync links records again by business keys; "
            "nothing is created twice).")


class RunLocked(XsyncError):
    """Another run holds the workspace. ``pid``, ``host``, ``since`` (ISO UTC)."""

    exit_code = ExitCode.UNREACHABLE
    hint = "Wait for it to finish, or run with --wait SECONDS to wait for it."


class ConflictError(XsyncError):
    exit_code = ExitCode.CONFLICTS
    hint = "Review with `xsync diff` and settle with `xsync resolve`."
