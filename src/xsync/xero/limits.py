"""Pacing calls to one Xero organisation so a steady run never meets a 429.

Xero allows each organisation 60 calls a minute, 5 in flight and a daily budget, and reports what
is left in `X-MinLimit-Remaining`, `X-DayLimit-Remaining` and `X-AppMinLimit-Remaining` on every
reply. The :class:`Pacer` keeps its own log of the calls it let through in the last minute and the
last reading of those headers (other processes may share the organisation's budget), and makes the
caller wait, through the injected ``sleep``, until the window frees up.

Invariants: never more than ``per_minute`` calls in any 60 s span of the injected clock; when Xero
says the minute budget is spent, no call goes out until a full window has passed since that reading.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

WINDOW = 60.0
# Waits end a hair after the window turns, so clocks with coarser ticks agree it has turned.
SLACK = 0.01


@dataclass(frozen=True)
class LimitState:
    """The last rate-limit headers seen (None until a reply carried them)."""

    minute_remaining: int | None = None
    day_remaining: int | None = None
    app_minute_remaining: int | None = None
    observed_at: float | None = None  # injected clock reading when they were seen
    free_at: float | None = None  # when Xero said (Retry-After) the spent window frees up

    def updated(self, headers: Mapping[str, str], now: float) -> LimitState:
        """This state updated with any limit headers present in a reply.

        A `Retry-After` beside them says when the spent window frees up (``free_at``).
        """
        values = {
            "minute_remaining": _int(headers.get("x-minlimit-remaining")),
            "day_remaining": _int(headers.get("x-daylimit-remaining")),
            "app_minute_remaining": _int(headers.get("x-appminlimit-remaining")),
        }
        present: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        if not present:
            return self
        retry_after = _int(headers.get("retry-after"))
        present["free_at"] = now + retry_after if retry_after is not None else None
        return replace(self, observed_at=now, **present)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


class Pacer:
    """Minute-window pacing from a call log plus Xero's own remaining counts. Thread-safe."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        per_minute: int = 60,
        reserve: int = 0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._per_minute = per_minute
        self._reserve = reserve
        self._log: deque[float] = deque()
        self._lock = threading.Lock()
        self.state = LimitState()
        self._sent_since_reading = 0
        self.waited = 0.0  # total seconds spent waiting, for reports and tests

    def before_call(self) -> None:
        """Block until one more call fits in the minute budget, then count it."""
        with self._lock:
            while True:
                delay = self._delay(self._clock())
                if delay <= 0:
                    break
                self.waited += delay
                self._sleep(delay)
            self._log.append(self._clock())
            self._sent_since_reading += 1

    def _delay(self, now: float) -> float:
        while self._log and self._log[0] <= now - WINDOW:
            self._log.popleft()
        if len(self._log) >= self._per_minute - self._reserve:
            # Our own calls fill the window; once the oldest ages out Xero's window has turned too.
            self.state = replace(self.state, minute_remaining=None)
            return self._log[0] + WINDOW - now + SLACK
        remaining = self.state.minute_remaining
        observed = self.state.observed_at
        if remaining is not None and observed is not None:
            left = remaining - self._sent_since_reading
            frees = self.state.free_at if self.state.free_at is not None else observed + WINDOW
            if now >= frees:
                self.state = replace(self.state, minute_remaining=None)
            elif left <= self._reserve:
                return frees - now + SLACK
        return 0.0

    def after_reply(self, headers: Mapping[str, str]) -> LimitState:
        """Record the limit headers of a reply; returns the new state."""
        with self._lock:
            new = self.state.updated(headers, self._clock())
            if new is not self.state:
                self._sent_since_reading = 0
            self.state = new
            return new

    def calls_in_window(self) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._log if t > now - WINDOW)
