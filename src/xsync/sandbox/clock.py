"""The sandbox's clock: real time by default, movable by tests and the admin API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Aware-UTC time with an offset that tests can move forward or pin.

    ``frozen`` clocks do not tick on their own: every reading is the pinned instant plus any
    advance, so tests never depend on the real clock.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = start.astimezone(UTC) if start else None

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, instant: datetime) -> datetime:
        """Pin the clock at ``instant`` (aware); it then moves only when advanced."""
        with self._lock:
            self._frozen_at = instant.astimezone(UTC)
            self._offset = timedelta(0)
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None
