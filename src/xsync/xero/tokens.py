"""Where a workspace's token set lives, and how it is kept fresh.

The token set (JSON) lives in exactly one place: the OS keyring (service ``xsync``, username
``<workspace path>#<client id>``), or, when no keyring backend works, ``tokens.json`` in the
workspace (mode 0600, with a warning the first time that file is created). Saving to the keyring
removes a leftover file, so two copies never drift apart. A stored set that cannot be read (junk,
a truncated write) raises :class:`~xsync.errors.AuthError` (exit 6) naming the file or keyring
entry and `xsync connect` as the way out; its content is never quoted, as it may hold a token.

Environment variables override the store for one process:
- ``XSYNC_ACCESS_TOKEN``: use this bearer token as is; never refreshed, never stored;
- ``XSYNC_REFRESH_TOKEN``: start from this refresh token; the rotated tokens it yields are stored
  with its fingerprint, so later runs with the same variable continue from the stored set;
- ``XSYNC_CLIENT_ID`` / ``XSYNC_CLIENT_SECRET`` / ``XSYNC_TENANT_ID``: see :mod:`.session`.

Refresh invariants (:class:`TokenManager`): refresh 60 s ahead of expiry; refreshes are serialised
across processes by ``fcntl.flock`` on ``tokens.lock`` in the workspace; inside the lock the stored
set is re-read and refreshed only if still needed; the rotated refresh token is persisted before
the new access token is used; a token endpoint that cannot be reached leaves the stored set as it
was (see :mod:`.oauth` for its retries).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from xsync.errors import AuthError, InvalidGrant, NotConnected
from xsync.xero.oauth import OAuthClient, TokenSet

log = logging.getLogger("xsync.xero.tokens")

SERVICE = "xsync"
FILE_NAME = "tokens.json"
LOCK_NAME = "tokens.lock"
REFRESH_AHEAD = 60.0


@dataclass(frozen=True)
class EnvOverrides:
    """The `XSYNC_*` variables that override stored credentials (all optional)."""

    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    tenant_id: str | None = None

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> EnvOverrides:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            client_id=get("XSYNC_CLIENT_ID"),
            client_secret=get("XSYNC_CLIENT_SECRET"),
            access_token=get("XSYNC_ACCESS_TOKEN"),
            refresh_token=get("XSYNC_REFRESH_TOKEN"),
            tenant_id=get("XSYNC_TENANT_ID"),
        )


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


class TokenStore:
    """The token set of one workspace and app: keyring first, a 0600 file otherwise."""

    def __init__(
        self, root: Path, client_id: str, *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.root = Path(root)
        self.client_id = client_id
        self.username = f"{self.root.resolve()}#{client_id}"
        self.file = self.root / FILE_NAME
        self._warn = warn or log.warning

    def load(self) -> TokenSet | None:
        """The stored set, None when nothing is stored; an unreadable one raises AuthError."""
        text = self._keyring_get()
        where = f"the OS keyring entry {SERVICE!r} / {self.username!r}"
        if text is None and self.file.exists():
            where = str(self.file)
            try:
                text = self.file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise _unreadable(where, type(exc).__name__) from None
        if not text:
            return None
        try:
            return TokenSet.from_json(text)
        except ValueError as exc:
            # the reason names only the structure, never the text: it may hold a token
            raise _unreadable(where, str(exc)) from None

    def save(self, tokens: TokenSet) -> str:
        """Persist ``tokens``; returns where: ``"keyring"`` or ``"file"``."""
        text = tokens.to_json()
        if self._keyring_set(text):
            with contextlib.suppress(FileNotFoundError):
                self.file.unlink()
            return "keyring"
        first = not self.file.exists()
        _write_private(self.file, text)
        if first:
            self._warn(
                f"No usable OS keyring: xsync keeps this workspace's Xero tokens in {self.file} "
                "(readable by you only). Keep that file out of backups and version control."
            )
        return "file"

    def forget(self) -> None:
        with contextlib.suppress(Exception):
            import keyring

            keyring.delete_password(SERVICE, self.username)
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()

    def _keyring_get(self) -> str | None:
        try:
            import keyring

            return keyring.get_password(SERVICE, self.username)
        except Exception as exc:  # any backend failure means "no keyring here"
            log.debug("keyring unavailable: %s", type(exc).__name__)
            return None

    def _keyring_set(self, text: str) -> bool:
        try:
            import keyring

            keyring.set_password(SERVICE, self.username, text)
            return True
        except Exception as exc:
            log.debug("keyring unavailable: %s", type(exc).__name__)
            return False


def _unreadable(where: str, reason: str) -> AuthError:
    error = AuthError(
        f"the stored Xero tokens in {where} cannot be read ({reason})", path=where
    )
    error.hint = "Run `xsync connect` again: it replaces them with new tokens."
    return error


def _write_private(path: Path, text: str) -> None:
    """Write atomically to a file only its owner can read."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process using the workspace."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class TokenManager:
    """A thread- and process-safe :class:`~xsync.xero.client.TokenProvider` over a store."""

    def __init__(
        self,
        store: TokenStore,
        oauth: OAuthClient,
        *,
        client_credentials: bool = False,
        scopes: str | None = None,
        env_refresh_token: str | None = None,
        clock: Callable[[], float] = time.time,
        ahead: float = REFRESH_AHEAD,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.client_credentials = client_credentials
        self.scopes = scopes
        self._env_refresh = env_refresh_token
        self._clock = clock
        self._ahead = ahead
        self._lock = threading.Lock()
        self._current: TokenSet | None = None
        self.lock_path = store.root / LOCK_NAME
        self.refreshes = 0  # token-endpoint calls made by this manager

    def current(self) -> TokenSet | None:
        """The token set as this process knows it (loaded if needed), without refreshing."""
        with self._lock:
            if self._current is None:
                self._current = self._load()
            return self._current

    def access_token(self) -> str:
        with self._lock:
            if self._current is None:
                self._current = self._load()
            tokens = self._current
            if tokens is not None and not tokens.expires_within(self._ahead, self._clock()):
                return tokens.access_token
            return self._renew(rejected=None).access_token

    def refresh_after_rejection(self, rejected: str) -> str:
        with self._lock:
            return self._renew(rejected=rejected).access_token

    def _renew(self, rejected: str | None) -> TokenSet:
        with file_lock(self.lock_path):
            tokens = self._load()
            fresh = tokens is not None and not tokens.expires_within(self._ahead, self._clock())
            if tokens is not None and fresh and tokens.access_token != rejected:
                self._current = tokens
                return tokens
            new = self._fetch(tokens)
            self.store.save(new)
            self._current = new
            return new

    def _fetch(self, tokens: TokenSet | None) -> TokenSet:
        self.refreshes += 1
        secret = tokens.client_secret if tokens else None
        if self.client_credentials:
            new = self.oauth.client_credentials(self.scopes)
            return replace(new, client_secret=secret or self.oauth.client_secret)
        if tokens is None or not tokens.refresh_token:
            raise NotConnected("this workspace holds no Xero refresh token")
        try:
            new = self.oauth.refresh(tokens.refresh_token)
        except InvalidGrant:
            # Another machine or process may have rotated it outside our lock: try what is stored.
            stored = self.store.load()
            if stored is None or not stored.refresh_token or (
                stored.refresh_token == tokens.refresh_token
            ):
                raise
            new = self.oauth.refresh(stored.refresh_token)
        if not new.refresh_token:
            new = replace(new, refresh_token=tokens.refresh_token)
        return replace(new, client_secret=secret, seed=tokens.seed)

    def _load(self) -> TokenSet | None:
        stored = self.store.load()
        if not self._env_refresh:
            return stored
        seed = fingerprint(self._env_refresh)
        if stored is not None and stored.seed == seed:
            return stored
        return TokenSet(
            access_token="", expires_at=0.0, refresh_token=self._env_refresh, seed=seed,
            client_secret=stored.client_secret if stored else None,
        )
