"""Optional: a side that can say cheaply whether anything changed since it was last asked.

`xsync watch` asks the ops side this every few seconds, instead of planning a push, so that an
idle store costs nothing. ``token`` is opaque text the side returned last time (``None`` at
first); the answer is the new token and what changed: ``[]`` nothing, a list of entity names,
or ``None`` when something changed but the side cannot tell which (every entity is pushed).
A side must never answer ``[]`` when it does not know: a missed change waits for the next poll.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SupportsChangedSince(Protocol):
    def changed_since(self, token: str | None) -> tuple[str, list[str] | None]: ...
