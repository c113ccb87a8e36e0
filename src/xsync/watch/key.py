"""The webhook key: ``XSYNC_WEBHOOK_KEY``, else the OS keyring (service ``xsync``, username
``<workspace path>#webhook``). The key is a secret: it is never printed, logged or written to the
state database, and errors name where it was looked for, never its value."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("xsync.watch")

SERVICE = "xsync"
ENV = "XSYNC_WEBHOOK_KEY"


def keyring_username(root: Path) -> str:
    return f"{Path(root).resolve()}#webhook"


def load_key(root: Path, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(the key or None, where it came from: ``env``, ``keyring`` or ``none``)."""
    env = os.environ if environ is None else environ
    if env.get(ENV):
        return env[ENV], "env"
    try:
        import keyring

        found = keyring.get_password(SERVICE, keyring_username(root))
    except Exception as exc:  # any backend failure means "no keyring here"
        log.debug("keyring unavailable: %s", type(exc).__name__)
        found = None
    return (found, "keyring") if found else (None, "none")


def save_key(root: Path, key: str) -> bool:
    """Keep ``key`` in the keyring; False when no keyring works here."""
    try:
        import keyring

        keyring.set_password(SERVICE, keyring_username(root), key)
    except Exception as exc:
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return False
    return True
