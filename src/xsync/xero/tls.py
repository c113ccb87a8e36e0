"""One TLS context per process, shared by every HTTP client xsync opens.

Building a context loads the certificate store, which costs tens of milliseconds; a command
opens two or three clients (identity, API, the sandbox's accountant), and a long-running
``xsync watch`` opens one per step. The context honours ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
as httpx's own default does; it is read-only once built, so sharing it across threads is safe.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying context every client uses (built on first use)."""
    return httpx.create_ssl_context(trust_env=True)
