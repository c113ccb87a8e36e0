"""The Xero Accounting API client: one organisation, sync httpx, a good citizen.

Every call carries the bearer token, `xero-tenant-id` (when a tenant is known), `Accept:
application/json` and `User-Agent: xsync/<version>`. Replies are parsed with Decimal money.

Invariants:
- at most ``max_in_flight`` (5) requests in flight and at most 60 a minute (see :mod:`.limits`);
- a request is retried only when it is safe to send twice (GET/DELETE, or a write carrying an
  `Idempotency-Key`), only for transient failures (5xx, timeouts, connection errors, minute-type
  429s and 429s naming no problem), and every retry reuses the same key; waits go through the
  injected ``sleep``, a 429's for its `Retry-After`;
- a day-limit 429 (or one naming a problem xsync does not know) raises
  :class:`~xsync.errors.DailyLimitReached` at once, never sleeping;
- a token endpoint that kept failing through its own retries is not retried again here;
- a 401 triggers exactly one token refresh and one resend;
- writes go in batches of at most 50 with `summarizeErrors=false`, one derived key per batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx
import tenacity

from xsync import __version__
from xsync.errors import (
    DailyLimitReached,
    RateLimited,
    XeroTransientError,
    XeroUnauthorized,
    XeroValidationError,
)
from xsync.xero import xjson
from xsync.xero.limits import LimitState, Pacer
from xsync.xero.replies import ElementResult, error_for, id_field, match_batch, summarised_errors
from xsync.xero.tls import tls_context

log = logging.getLogger("xsync.xero")

BATCH_SIZE = 50
ID_CHUNK = 50
MAX_PAGE_SIZE = 1000
MAX_KEY_LENGTH = 128
# Endpoints Xero pages with `page` and `pageSize`; LinkedTransactions and Quotes take `page` only.
PAGED = frozenset({
    "BankTransactions", "Contacts", "CreditNotes", "Invoices", "ManualJournals", "Overpayments",
    "Payments", "Prepayments", "PurchaseOrders",
})
PAGED_FIXED_SIZE = {"LinkedTransactions": 100, "Quotes": 100}


class TokenProvider(Protocol):
    """Where the client gets its bearer token. Implementations must be thread-safe."""

    def access_token(self) -> str:
        """A token valid for at least the next minute."""
        ...

    def refresh_after_rejection(self, rejected: str) -> str:
        """Xero refused ``rejected``: return a fresh token (refreshing unless already done)."""
        ...


class StaticTokens:
    """A fixed access token (e.g. `XSYNC_ACCESS_TOKEN`): never refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_rejection(self, rejected: str) -> str:
        return self._token


def derive_key(key: str, index: int | None = None) -> str:
    """An `Idempotency-Key` from the caller's key (and a batch index), at most 128 characters."""
    text = key if index is None else f"{key}:{index}"
    if len(text) <= MAX_KEY_LENGTH:
        return text
    return "xsync-" + hashlib.sha256(text.encode()).hexdigest()


def collection_of(endpoint: str) -> str:
    """`Invoices` → `Invoices`; `CreditNotes/{id}/Allocations` → `Allocations`."""
    return endpoint.strip("/").split("?", 1)[0].rsplit("/", 1)[-1]


class XeroClient:
    """A thread-safe client for one organisation's Accounting API."""

    def __init__(
        self,
        *,
        api_url: str,
        tenant_id: str | None,
        tokens: TokenProvider,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 5,
        max_in_flight: int = 5,
        per_minute: int = 60,
        timeout: float = 60.0,
        backoff: float = 1.0,
        on_limits: Callable[[LimitState], None] | None = None,
        on_close: Callable[[LimitState], None] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.tenant_id = tenant_id
        self._tokens = tokens
        self._sleep = sleep
        self._max_retries = max_retries
        self._backoff = backoff
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._pacer = Pacer(clock=clock, sleep=sleep, per_minute=per_minute)
        self._on_limits = on_limits
        self._on_close = on_close
        headers = {"Accept": "application/json", "User-Agent": f"xsync/{__version__}"}
        if tenant_id:
            headers["xero-tenant-id"] = tenant_id
        self._http = httpx.Client(
            base_url=self.api_url + "/", transport=transport, timeout=timeout, headers=headers,
            verify=tls_context(),
        )
        self.calls = 0  # requests sent, including retries
        # Xero's own clock, from the last envelope's DateTimeUTC (aware UTC), if any
        self.server_time: datetime | None = None

    # -- life cycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close(self._pacer.state)

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def limits(self) -> LimitState:
        """The last `X-MinLimit-Remaining` / `X-DayLimit-Remaining` / `X-AppMinLimit-Remaining`."""
        return self._pacer.state

    @property
    def waited(self) -> float:
        """Seconds spent pacing (not counting retry waits)."""
        return self._pacer.waited

    # -- reads -------------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
    ) -> dict[str, Any]:
        """GET one resource; returns Xero's whole envelope."""
        return self._request("GET", path, params=params, modified_since=modified_since)

    def iter_pages(
        self,
        endpoint: str,
        *,
        modified_since: datetime | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        key: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Lazily yield the elements of each page (unpaged endpoints give one page)."""
        return self._pages(endpoint, modified_since, params, page_size, key, id_list=False)

    def iter_all(self, endpoint: str, **kw: Any) -> Iterator[dict[str, Any]]:
        """Every element of :meth:`iter_pages`, one by one."""
        for page in self.iter_pages(endpoint, **kw):
            yield from page

    def get_by_ids(
        self,
        endpoint: str,
        ids: Sequence[str],
        *,
        param: str = "IDs",
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> list[dict[str, Any]]:
        """Fetch by a list (`IDs`, `InvoiceNumbers`, `ContactIDs`), at most 50 per request.

        A 404 on such a request means the URL was too long: :class:`~xsync.errors.XeroUrlTooLong`.
        """
        unique = list(dict.fromkeys(ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), ID_CHUNK):
            query = {**(params or {}), param: ",".join(unique[start : start + ID_CHUNK])}
            for page in self._pages(endpoint, None, query, MAX_PAGE_SIZE, key, id_list=True):
                found.extend(page)
        return found

    def _pages(
        self,
        endpoint: str,
        modified_since: datetime | None,
        params: Mapping[str, Any] | None,
        page_size: int,
        key: str | None,
        *,
        id_list: bool,
    ) -> Iterator[list[dict[str, Any]]]:
        name = key or collection_of(endpoint)
        base = collection_of(endpoint)
        paged = base in PAGED or base in PAGED_FIXED_SIZE
        if not paged:
            envelope = self._request(
                "GET", endpoint, params=params, modified_since=modified_since, id_list=id_list
            )
            yield list(envelope.get(name) or [])
            return
        size = PAGED_FIXED_SIZE.get(base, min(page_size, MAX_PAGE_SIZE))
        page = 1
        while True:
            query = {**(params or {}), "page": page}
            if base in PAGED:
                query["pageSize"] = size
            envelope = self._request(
                "GET", endpoint, params=query, modified_since=modified_since, id_list=id_list
            )
            items = list(envelope.get(name) or [])
            page_count = (envelope.get("pagination") or {}).get("pageCount")
            count = len(items)
            # the page is let go before the next is asked for: two decoded pages are never held
            # at once (the caller lets go of its own hold as its loop ends)
            del envelope
            if items:
                yield items
            del items
            if not count or count < size or (page_count is not None and page >= page_count):
                return
            page += 1

    # -- writes ------------------------------------------------------------------------------

    def write_batch(
        self,
        endpoint: str,
        method: Literal["PUT", "POST"],
        elements: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[str],
        idempotency_key: str,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> list[ElementResult]:
        """Create (PUT) or create-or-update (POST) elements in batches of at most 50.

        Returns one :class:`ElementResult` per element, in input order. A summarised 400 raises
        :class:`~xsync.errors.XeroValidationError` whose ``elements`` name the refused elements
        (by our key where Xero's echo allows) and whose ``data['results']`` holds the results of
        the batches already written.
        """
        if len(keys) != len(elements):
            raise ValueError("write_batch needs exactly one key per element")
        name = key or collection_of(endpoint)
        id_name = id_field(name)
        query = {**(params or {}), "summarizeErrors": "false"}
        results: list[ElementResult] = []
        for number, start in enumerate(range(0, len(elements), BATCH_SIZE)):
            chunk = list(elements[start : start + BATCH_SIZE])
            chunk_keys = list(keys[start : start + BATCH_SIZE])
            try:
                envelope = self._request(
                    method, endpoint, params=query, body={name: chunk},
                    idempotency_key=derive_key(idempotency_key, number),
                )
            except XeroValidationError as exc:
                if isinstance(exc.body, Mapping) and exc.body.get("Elements"):
                    exc.elements = summarised_errors(
                        exc.body, chunk, chunk_keys, offset=start, id_name=id_name
                    )
                exc.data.update(results=results, batch=number)
                raise
            returned = envelope.get(name) or []
            results.extend(match_batch(chunk, chunk_keys, returned, offset=start, id_name=id_name))
        return results

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str,
        method: Literal["POST", "PUT"] = "POST",
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A single-object write (e.g. `POST /Payments/{id}` `{"Status": "DELETED"}`)."""
        return self._request(
            method, path, params=params, body=body, idempotency_key=derive_key(idempotency_key)
        )

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """DELETE a sub-resource (e.g. an allocation); idempotent, so retried when transient."""
        return self._request("DELETE", path, params=params)

    # -- the wire ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        idempotency_key: str | None = None,
        id_list: bool = False,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = xjson.format_ims(modified_since)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = xjson.dumps(body).encode()
        safe = method in ("GET", "DELETE", "HEAD") or idempotency_key is not None
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._max_retries + 1 if safe else 1),
            retry=tenacity.retry_if_exception(_transient),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        request = f"{method} /{path.lstrip('/')}"
        for attempt in retrying:
            with attempt:
                return self._send(method, path, params, content, headers, request, id_list)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str],
        request: str,
        id_list: bool,
    ) -> dict[str, Any]:
        url = path.lstrip("/")
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        with self._slots:
            token = self._tokens.access_token()
            response = self._once(method, url, query, content, headers, token, request)
            if response.status_code == 401:
                token = self._tokens.refresh_after_rejection(token)
                response = self._once(method, url, query, content, headers, token, request)
        body, decoded = _parse(response)
        if response.is_success and not _envelope(method, response, body, decoded):
            # a reply cut short, or a proxy's page: never read as an empty list of records
            raise XeroTransientError(
                f"Xero answered {request} with HTTP {response.status_code} but no JSON "
                "envelope (a reply cut short, or something between xsync and Xero answering); "
                "nothing of it was read", status=response.status_code, request=request)
        if response.is_success and isinstance(body, dict) and body.get("DateTimeUTC"):
            with contextlib.suppress(ValueError):
                self.server_time = xjson.parse_datetime(str(body["DateTimeUTC"]))
        if response.is_success:
            return body if isinstance(body, dict) else {}
        error = error_for(response.status_code, response.headers, body, request, id_list=id_list)
        if response.status_code == 401:
            raise XeroUnauthorized(
                error.message, status=401, body=body, request=request
            ) from None
        if isinstance(error, XeroTransientError) and "retry-after" in response.headers:
            error.data["retry_after"] = _float(response.headers["retry-after"])
        raise error

    def _once(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        content: bytes | None,
        headers: dict[str, str],
        token: str,
        request: str,
    ) -> httpx.Response:
        self._pacer.before_call()
        self.calls += 1
        try:
            response = self._http.request(
                method, url, params=query, content=content,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
        except httpx.TimeoutException as exc:
            raise XeroTransientError("Xero did not answer in time", request=request) from exc
        except httpx.TransportError as exc:
            raise XeroTransientError(
                f"could not reach Xero ({type(exc).__name__})", request=request
            ) from exc
        # the reply is read whole and closed: its stream, which refers back to it, goes, so
        # that the reply (a page of JSON as bytes) is let go when xsync is done with it rather
        # than when the collector next passes (a run makes its passes rare)
        response.stream = httpx.ByteStream(b"")
        limits = self._pacer.after_reply(response.headers)
        log.debug("%s -> %s (min %s, day %s)", request, response.status_code,
                  limits.minute_remaining, limits.day_remaining)
        if self._on_limits is not None:
            self._on_limits(limits)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is None and exc is not None:
            retry_after = getattr(exc, "data", {}).get("retry_after")
        if retry_after is not None:
            return float(retry_after)
        return float(min(self._backoff * 2 ** (state.attempt_number - 1), 60.0))


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, DailyLimitReached):
        return False
    if isinstance(exc, XeroTransientError) and exc.data.get("retries_spent"):
        return False  # the token endpoint already spent its own attempts
    return isinstance(exc, XeroTransientError | RateLimited)


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("retrying after %s (attempt %d)", type(exc).__name__, state.attempt_number)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _float(text: str) -> float | None:
    try:
        return max(0.0, float(text))
    except ValueError:
        return None


def _envelope(method: str, response: httpx.Response, body: Any, decoded: bool) -> bool:
    """Whether a successful reply is one Xero sends: a JSON object, or no body at all where
    nothing was asked for (never for a GET)."""
    if not response.content:
        return method != "GET"
    return decoded and isinstance(body, dict)


def _parse(response: httpx.Response) -> tuple[Any, bool]:
    """The reply's body, and whether it was JSON (else its text, as Xero's error shape)."""
    if not response.content:
        return {}, False
    try:
        return xjson.loads(response.content), True
    except ValueError:
        return {"Message": response.text[:500]}, False
