"""Misbehaviour on demand: failures, lost responses, latency, held requests, injected 429s.

A fault spec is a JSON object; one POST may set several faults, and ``status`` and ``match`` in
it apply to each of them:

- ``fail_next: n`` (``status``, default 503): the next n matching calls fail before any effect.
- ``error_rate: p`` (``status`` default 500, ``seed`` default 0): each matching call fails with
  probability p, drawn from its own seeded RNG, so a run is repeatable.
- ``lose_response_next: n`` (``lose_as``: "504" default, "502" or "drop"): the call is carried out
  and committed, then its answer is replaced by a gateway error or the connection is dropped.
- ``latency_ms: ms``: every matching call waits that long first.
- ``rate_limit_next: {"problem": "minute"|"day"|..., "retry_after": s, "count": n}``.
- ``hold: true``: matching calls wait (inside their concurrency slot) until released.
- ``mix: {...}``: a seeded per-call mix for soak and torture runs. Each matching call draws, from
  the mix's own RNG, one fate: a 5xx before any effect (``server_error_rate``, ``status`` an
  integer or a list to draw from, default 503), a minute-limit 429 (``rate_limit_rate``, with
  ``Retry-After: retry_after``, default 1, and ``X-Rate-Limit-Problem: minute``), a reply lost
  after the call committed (``lost_rate``, ``lose_as`` as above), or none; and, independently, a
  wait (``latency_ms``: ms, or ``[low, high]`` drawn uniformly; ``latency_rate``, default 1, of
  the calls). ``seed`` (default 0) fixes the sequence: every matching call consumes the same
  draws whatever its fate, so the same seed and the same calls give the same faults. The rates
  add up to at most 1. ``GET /sandbox/faults`` shows what the mix has injected so far.

``match`` is ``"METHOD /Path"``, ``"/Path"`` or ``"METHOD"``; the path matches the endpoint key
(ids collapsed to ``{id}``) exactly or as a prefix ending at a ``/``. Without ``match`` a fault
applies to API calls only; with one it may also target identity calls such as
``POST /connect/token``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOSE_MODES = ("504", "502", "drop")
RATE_PROBLEMS = ("minute", "day", "concurrent", "appminute")


class FaultSpecError(ValueError):
    """A fault spec that cannot be applied; the message names the field."""


@dataclass(frozen=True)
class Call:
    """What a fault sees of a request: method, endpoint key (``"GET /Invoices/{id}"``) and area
    (``api`` or ``identity``)."""

    method: str
    endpoint: str
    area: str = "api"


@dataclass(frozen=True)
class Injected:
    """A reply that replaces the real one: status, and for 429s its problem and wait."""

    status: int
    problem: str | None = None
    retry_after: int | None = None
    # Set when the call is to be carried out and committed, and only its reply lost.
    lose_as: str | None = None


@dataclass
class _Fault:
    kind: str
    match: str | None
    remaining: int | None = None
    status: int = 503
    rate: float = 0.0
    rng: random.Random | None = None
    latency: float = 0.0
    problem: str = "minute"
    retry_after: int = 60
    lose_as: str = "504"
    spec: dict[str, Any] = field(default_factory=dict)
    mix: _Mix | None = None

    def matches(self, call: Call) -> bool:
        if self.match is None:
            return call.area == "api"
        method, _, path = self.match.strip().partition(" ")
        if method.startswith("/"):
            method, path = "*", method
        if method not in ("*", "", call.method.upper()):
            return False
        path = path.strip().rstrip("/")
        target = call.endpoint.partition(" ")[2]
        return not path or target == path or target.startswith(path + "/")


class Faults:
    """The active faults of one sandbox; thread-safe."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._held = 0
        self._released = threading.Event()
        self._released.set()
        self._changed = threading.Condition(self._lock)

    # configuration ---------------------------------------------------------------------------

    def configure(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Add the faults of ``spec``; ``release: true`` releases held calls. Returns the state."""
        faults = _parse(spec)
        with self._lock:
            self._faults.extend(faults)
            if any(f.kind == "hold" for f in faults):
                self._released.clear()
        if spec.get("release"):
            self.release()
        return self.state()

    def clear(self) -> None:
        """Remove every fault and release held calls."""
        with self._lock:
            self._faults.clear()
        self.release()

    def state(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**f.spec, "kind": f.kind, "match": f.match, "remaining": f.remaining,
                 **({"injected": dict(f.mix.injected)} if f.mix is not None else {})}
                for f in self._faults
            ]

    # holding ---------------------------------------------------------------------------------

    def release(self) -> None:
        """Let every held call go on, and stop holding new ones."""
        with self._lock:
            self._faults = [f for f in self._faults if f.kind != "hold"]
            self._released.set()

    def held(self) -> int:
        with self._lock:
            return self._held

    def wait_held(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` calls are held (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._held < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def _hold(self, timeout: float) -> None:
        with self._changed:
            self._held += 1
            self._changed.notify_all()
        try:
            self._released.wait(timeout)
        finally:
            with self._changed:
                self._held -= 1
                self._changed.notify_all()

    # the request path ------------------------------------------------------------------------

    def before(self, call: Call) -> Injected | None:
        """Run before the call takes effect: wait, hold, or answer in its place."""
        latency = 0.0
        hold = False
        injected: Injected | None = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(call):
                    continue
                if fault.kind == "latency":
                    latency = max(latency, fault.latency)
                elif fault.kind == "hold":
                    hold = True
                elif fault.kind == "mix":
                    assert fault.mix is not None
                    # The mix draws even when another fault answers, so its sequence depends
                    # only on the seed and the calls it sees.
                    fate, wait = fault.mix.draw()
                    latency = max(latency, wait)
                    if injected is None:
                        injected = fate
                elif injected is None:
                    injected = self._fire(fault)
        if latency:
            self._sleep(latency)
        if hold:
            self._hold(timeout=30.0)
        return injected

    def _fire(self, fault: _Fault) -> Injected | None:
        if fault.kind == "error_rate":
            assert fault.rng is not None
            return Injected(fault.status) if fault.rng.random() < fault.rate else None
        if fault.kind not in ("fail_next", "rate_limit_next"):
            return None
        self._spend(fault)
        if fault.kind == "fail_next":
            return Injected(fault.status)
        return Injected(429, fault.problem, fault.retry_after)

    def _spend(self, fault: _Fault) -> None:
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)

    def lose(self, call: Call) -> str | None:
        """After the call took effect: how its answer is lost ("504", "502", "drop"), if it is."""
        with self._lock:
            for fault in list(self._faults):
                if fault.kind == "lose_response" and fault.matches(call):
                    self._spend(fault)
                    return fault.lose_as
        return None


class _Mix:
    """The seeded fates of a ``mix`` fault; draws under the owning ``Faults`` lock."""

    def __init__(self, server_error: float, rate_limit: float, lost: float,
                 statuses: list[int], retry_after: int, lose_as: str,
                 latency: tuple[float, float], latency_rate: float, seed: int) -> None:
        self.server_error = server_error
        self.rate_limit = rate_limit
        self.lost = lost
        self.statuses = statuses
        self.retry_after = retry_after
        self.lose_as = lose_as
        self.latency = latency
        self.latency_rate = latency_rate
        self.rng = random.Random(seed)
        self.injected = {"server_error": 0, "rate_limit": 0, "lost": 0, "delayed": 0}

    def draw(self) -> tuple[Injected | None, float]:
        # Always four draws per call, so one call's fate never shifts the next call's.
        fate_u, status_u, delay_u, amount_u = (self.rng.random() for _ in range(4))
        fate: Injected | None = None
        if fate_u < self.server_error:
            self.injected["server_error"] += 1
            fate = Injected(self.statuses[int(status_u * len(self.statuses))])
        elif fate_u < self.server_error + self.rate_limit:
            self.injected["rate_limit"] += 1
            fate = Injected(429, "minute", self.retry_after)
        elif fate_u < self.server_error + self.rate_limit + self.lost:
            self.injected["lost"] += 1
            fate = Injected(200, lose_as=self.lose_as)
        wait = 0.0
        low, high = self.latency
        if high > 0 and delay_u < self.latency_rate:
            self.injected["delayed"] += 1
            wait = low + (high - low) * amount_u
        return fate, wait


def _int(spec: dict[str, Any], key: str, default: int | None = None, low: int = 0) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FaultSpecError(f"{key} must be an integer >= {low}")
    return value


def _parse(spec: dict[str, Any]) -> list[_Fault]:
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault spec is a JSON object")
    known = {
        "fail_next", "error_rate", "lose_response_next", "latency_ms", "rate_limit_next",
        "hold", "release", "status", "match", "seed", "lose_as", "mix",
    }
    unknown = sorted(set(spec) - known)
    if unknown:
        raise FaultSpecError(f"unknown fault field(s): {', '.join(unknown)}")
    match = spec.get("match")
    if match is not None and not isinstance(match, str):
        raise FaultSpecError("match must be a string like 'PUT /Invoices'")
    out: list[_Fault] = []
    if "fail_next" in spec:
        status = _int(spec, "status", 503, 400)
        out.append(_Fault("fail_next", match, _int(spec, "fail_next", low=1),
                          status=status, spec={"status": status}))
    if "error_rate" in spec:
        rate = spec["error_rate"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultSpecError("error_rate must be a number between 0 and 1")
        seed = _int(spec, "seed", 0)
        out.append(_Fault("error_rate", match, None, status=_int(spec, "status", 500, 400),
                          rate=float(rate), rng=random.Random(seed),
                          spec={"error_rate": rate, "seed": seed}))
    if "lose_response_next" in spec:
        lose_as = str(spec.get("lose_as", "504"))
        if lose_as not in LOSE_MODES:
            raise FaultSpecError(f"lose_as must be one of {', '.join(LOSE_MODES)}")
        out.append(_Fault("lose_response", match, _int(spec, "lose_response_next", low=1),
                          lose_as=lose_as, spec={"lose_as": lose_as}))
    if "latency_ms" in spec:
        ms = _int(spec, "latency_ms")
        out.append(_Fault("latency", match, None, latency=ms / 1000, spec={"latency_ms": ms}))
    if "rate_limit_next" in spec:
        out.append(_rate_limit(spec["rate_limit_next"], match))
    if spec.get("hold"):
        out.append(_Fault("hold", match, None))
    if "mix" in spec:
        out.append(_mix(spec["mix"], match))
    if not out and not spec.get("release"):
        raise FaultSpecError("no fault given")
    return out


def _rate_limit(value: Any, match: str | None) -> _Fault:
    if not isinstance(value, dict):
        raise FaultSpecError("rate_limit_next is an object {problem, retry_after, count}")
    problem = value.get("problem", "minute")
    if problem not in RATE_PROBLEMS:
        raise FaultSpecError(f"problem must be one of {', '.join(RATE_PROBLEMS)}")
    retry = _int(value, "retry_after", 60)
    count = _int(value, "count", 1, low=1)
    return _Fault("rate_limit_next", match, count, problem=problem, retry_after=retry,
                  spec={"problem": problem, "retry_after": retry})


MIX_FIELDS = ("server_error_rate", "rate_limit_rate", "lost_rate", "status", "retry_after",
              "lose_as", "latency_ms", "latency_rate", "seed")


def _rate(value: dict[str, Any], key: str, default: float = 0.0) -> float:
    rate = value.get(key, default)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise FaultSpecError(f"mix.{key} must be a number between 0 and 1")
    return float(rate)


def _mix(value: Any, match: str | None) -> _Fault:
    if not isinstance(value, dict):
        raise FaultSpecError("mix is an object {server_error_rate, rate_limit_rate, lost_rate, "
                             "latency_ms, seed, ...}")
    unknown = sorted(set(value) - set(MIX_FIELDS))
    if unknown:
        raise FaultSpecError(f"unknown mix field(s): {', '.join(unknown)}")
    server_error = _rate(value, "server_error_rate")
    rate_limit = _rate(value, "rate_limit_rate")
    lost = _rate(value, "lost_rate")
    if server_error + rate_limit + lost > 1 + 1e-9:
        raise FaultSpecError("mix rates (server_error_rate, rate_limit_rate, lost_rate) "
                             "add up to more than 1")
    raw_status = value.get("status", 503)
    statuses = raw_status if isinstance(raw_status, list) else [raw_status]
    if not statuses or any(isinstance(s, bool) or not isinstance(s, int) or not 500 <= s <= 599
                           for s in statuses):
        raise FaultSpecError("mix.status must be a 5xx status or a list of them")
    lose_as = str(value.get("lose_as", "504"))
    if lose_as not in LOSE_MODES:
        raise FaultSpecError(f"mix.lose_as must be one of {', '.join(LOSE_MODES)}")
    latency = value.get("latency_ms", 0)
    if isinstance(latency, list) and len(latency) == 2:
        low_ms, high_ms = latency
    else:
        low_ms = high_ms = latency
    if any(isinstance(v, bool) or not isinstance(v, int | float) or v < 0
           for v in (low_ms, high_ms)) or low_ms > high_ms:
        raise FaultSpecError("mix.latency_ms must be milliseconds or [low, high]")
    retry_after = _int(value, "retry_after", 1)
    seed = _int(value, "seed", 0)
    latency_rate = _rate(value, "latency_rate", 1.0)
    mix = _Mix(server_error, rate_limit, lost, list(statuses), retry_after, lose_as,
               (low_ms / 1000, high_ms / 1000), latency_rate, seed)
    shown = {"server_error_rate": server_error, "rate_limit_rate": rate_limit,
             "lost_rate": lost, "status": list(statuses), "retry_after": retry_after,
             "lose_as": lose_as, "latency_ms": [low_ms, high_ms], "latency_rate": latency_rate,
             "seed": seed}
    return _Fault("mix", match, None, spec=shown, mix=mix)
