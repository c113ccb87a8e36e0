"""Admin endpoints under ``/sandbox/``: counters, faults, clock, limits, organisations, tokens,
webhooks (``/sandbox/webhooks``, ``/sandbox/webhooks/{id}[/verify]``, ``/sandbox/webhooks/faults``).

They need no Xero token but answer loopback callers only. Each maps onto a ``Sandbox`` method so
that tests can do in-process what scripts do over HTTP. Bodies are JSON; errors are
``{"error": message}`` with 400, 403, 404 or 405.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from xsync.sandbox.faults import FaultSpecError
from xsync.sandbox.wsgi import Reply, Request, json_reply

if TYPE_CHECKING:
    from xsync.sandbox.app import Sandbox

PREFIX = "/sandbox"


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def is_loopback(addr: str) -> bool:
    return addr in ("", "::1", "localhost") or addr.startswith("127.") or addr == "::ffff:127.0.0.1"


def parse_instant(text: Any) -> datetime:
    """An ISO 8601 instant; naive means UTC."""
    if not isinstance(text, str):
        raise AdminError(400, "set must be an ISO 8601 time such as 2026-11-24T10:00:00Z")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise AdminError(400, f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Admin:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def route(self, request: Request) -> Reply:
        if not is_loopback(request.remote_addr):
            return json_reply(403, {"error": "admin endpoints answer loopback callers only"})
        parts = [p for p in request.path[len(PREFIX):].split("/") if p]
        try:
            handler = self._handler(parts, request.method)
            body = request.json() if request.method in ("POST", "PUT") else {}
            if not isinstance(body, dict):
                raise AdminError(400, "the body must be a JSON object")
            status, value = handler(parts, body, request)
        except AdminError as exc:
            return json_reply(exc.status, {"error": exc.message})
        except (FaultSpecError, ValueError, TypeError) as exc:
            return json_reply(400, {"error": str(exc)})
        return json_reply(status, value)

    def _handler(self, parts: list[str], method: str) -> _Handler:
        table: dict[tuple[str, str], _Handler] = {
            ("info", "GET"): self._info,
            ("counters", "GET"): lambda *_: (200, self.sandbox.get_counters()),
            ("counters", "DELETE"): self._reset_counters,
            ("faults", "GET"): lambda *_: (200, self._faults_state()),
            ("faults", "POST"): self._set_faults,
            ("faults", "DELETE"): self._clear_faults,
            ("clock", "GET"): lambda *_: (200, self.sandbox.clock_state()),
            ("clock", "POST"): self._clock,
            ("limits", "GET"): lambda *_: (200, self.sandbox.limits()),
            ("limits", "POST"): lambda _p, body, _r: (200, self.sandbox.set_limits(**body)),
            ("organisations", "GET"): lambda *_: (
                200, {"organisations": self.sandbox.organisations()}
            ),
            ("organisations", "POST"): self._add_organisation,
            ("settings", "POST"): self._settings,
            ("tokens", "POST"): self._tokens,
            ("webhooks", "GET"): lambda *_: (200, {"webhooks": self.sandbox.webhooks()}),
            ("webhooks", "POST"): self._add_webhook,
            ("webhooks", "DELETE"): self._clear_webhooks,
            ("webhooks/id", "DELETE"): self._remove_webhook,
            ("webhooks/id", "GET"): self._one_webhook,
            ("webhooks/verify", "POST"): self._verify_webhook,
            ("webhooks/faults", "GET"): lambda *_: (200, self.sandbox.webhooks_out.faults()),
            ("webhooks/faults", "POST"): self._set_webhook_faults,
            ("webhooks/faults", "DELETE"): lambda *_: (
                200, self.sandbox.webhooks_out.clear_faults()
            ),
        }
        if not parts:
            raise AdminError(404, "not found")
        name = parts[0]
        if name == "organisations" and len(parts) == 3 and parts[2] == "settings":
            name = "settings"
        elif name == "webhooks" and len(parts) > 1:
            name = _webhook_route(parts)
        elif (name == "tokens" and parts[1:] != ["expire"]) or (
            name not in ("organisations", "tokens") and len(parts) > 1
        ):
            raise AdminError(404, "not found")
        if not any(key[0] == name for key in table):
            raise AdminError(404, "not found")
        handler = table.get((name, method))
        if handler is None:
            raise AdminError(405, f"{method} is not allowed here")
        return handler

    def _info(self, _parts: list[str], _body: dict[str, Any], request: Request) -> Result:
        return 200, self.sandbox.info(base_url=request.base_url)

    def _reset_counters(self, *_: Any) -> Result:
        self.sandbox.reset_counters()
        return 200, self.sandbox.get_counters()

    def _faults_state(self) -> dict[str, Any]:
        return {"faults": self.sandbox.faults.state(), "held": self.sandbox.faults.held()}

    def _set_faults(self, _parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        self.sandbox.set_faults(body)
        return 200, self._faults_state()

    def _clear_faults(self, *_: Any) -> Result:
        self.sandbox.clear_faults()
        return 200, self._faults_state()

    def _clock(self, _parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        if "advance" in body:
            seconds = body["advance"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise AdminError(400, "advance must be a number of seconds")
            self.sandbox.advance_clock(seconds)
        elif "set" in body:
            self.sandbox.set_clock(parse_instant(body["set"]))
        else:
            raise AdminError(400, "give advance (seconds) or set (ISO time)")
        return 200, self.sandbox.clock_state()

    def _add_organisation(self, _parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AdminError(400, "name is required")
        seed = body.get("seed", "empty")
        if seed not in ("demo", "empty"):
            raise AdminError(400, "seed must be demo or empty")
        tenant = self.sandbox.add_organisation(
            name.strip(), seed=seed, connect=bool(body.get("connect", True))
        )
        return 201, {"tenant_id": tenant, "name": name.strip()}

    def _settings(self, parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        tenant = parts[1]
        if tenant not in self.sandbox.tenant_ids:
            raise AdminError(404, f"no organisation {tenant}")
        fields = ("PeriodLockDate", "EndOfYearLockDate")
        unknown = sorted(set(body) - set(fields))
        if unknown:
            raise AdminError(400, f"unsupported setting(s): {', '.join(unknown)}")
        for field in fields:
            if field not in body:
                continue
            raw = body[field]
            try:
                day = None if raw is None else date.fromisoformat(str(raw)[:10])
            except ValueError:
                raise AdminError(400, f"{field} must be YYYY-MM-DD or null") from None
            self.sandbox.set_period_lock_date(tenant, day, field)
        return 200, {"tenant_id": tenant, "settings": body}

    def _tokens(self, *_: Any) -> Result:
        return 200, {"expired": self.sandbox.expire_tokens()}

    def _add_webhook(self, _parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        """Register a URL for one organisation's events (default: the first one); the intent to
        receive runs before this answers, and ``status`` says how it went."""
        url, key = body.get("url"), body.get("key")
        if not isinstance(url, str) or not isinstance(key, str) or not url or not key:
            raise AdminError(400, "url and key are required")
        tenants = self.sandbox.tenant_ids
        tenant = body.get("tenant_id", tenants[0] if tenants else None)
        if tenant not in tenants:
            raise AdminError(404, f"no organisation {tenant}")
        webhooks = self.sandbox.webhooks_out
        webhook_id = webhooks.add(url, key, tenant,
                                  retry_intent=bool(body.get("retry_intent", False)))
        return 201, self._webhook(webhook_id)

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        found = [w for w in self.sandbox.webhooks() if w["webhook_id"] == webhook_id]
        if not found:
            raise AdminError(404, f"no webhook {webhook_id}")
        return found[0]

    def _one_webhook(self, parts: list[str], *_: Any) -> Result:
        return 200, self._webhook(parts[1])

    def _verify_webhook(self, parts: list[str], *_: Any) -> Result:
        self._webhook(parts[1])
        return 200, self.sandbox.webhooks_out.verify(parts[1])

    def _remove_webhook(self, parts: list[str], *_: Any) -> Result:
        self._webhook(parts[1])
        self.sandbox.webhooks_out.remove(parts[1])
        return 200, {"webhooks": self.sandbox.webhooks()}

    def _set_webhook_faults(self, _parts: list[str], body: dict[str, Any], _r: Request) -> Result:
        return 200, self.sandbox.webhooks_out.set_faults(**body)

    def _clear_webhooks(self, *_: Any) -> Result:
        self.sandbox.clear_webhooks()
        return 200, {"webhooks": []}


def _webhook_route(parts: list[str]) -> str:
    """The table name of a path under ``/sandbox/webhooks/``."""
    if parts[1:] == ["faults"]:
        return "webhooks/faults"
    if len(parts) == 2:
        return "webhooks/id"
    if len(parts) == 3 and parts[2] == "verify":
        return "webhooks/verify"
    raise AdminError(404, "not found")


Result = tuple[int, Any]
_Handler = Callable[[list[str], dict[str, Any], Request], Result]
