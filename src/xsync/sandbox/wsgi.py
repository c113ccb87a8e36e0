"""The sandbox's plain HTTP vocabulary: a parsed request, a reply, and WSGI glue.

Header names in ``Request.headers`` are lower-case. Replies are whole byte strings (the API never
streams). ``ConnectionDropped`` raised by a handler asks the server to close the connection without
answering; under a plain WSGI host it propagates to the caller instead.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

JSON_TYPE = "application/json; charset=utf-8"
StartResponse = Callable[..., Any]


class ConnectionDropped(ConnectionError):
    """The reply is lost on purpose: the connection closes with nothing sent."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    remote_addr: str = ""
    host: str = ""
    scheme: str = "http"

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = headers.get("host") or "{}:{}".format(
            environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", "")
        )
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO") or "/",
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            remote_addr=environ.get("REMOTE_ADDR", ""),
            host=host,
            scheme=environ.get("wsgi.url_scheme", "http"),
        )

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def form(self) -> dict[str, str]:
        """The url-encoded body, last value of each field."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def json(self) -> Any:
        """The JSON body (an empty body is ``{}``); ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body)

    def basic_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` of an ``Authorization: Basic`` header, if there is one."""
        value = self.headers.get("authorization", "")
        if not value.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        user, _, password = decoded.partition(":")
        return user, password


@dataclass
class Reply:
    """A whole reply; ``tenant`` names the organisation an API call reached, when it did."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    tenant: str | None = None


def json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(value, separators=(",", ":")).encode()
    return Reply(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def send(reply: Reply, start_response: StartResponse) -> Iterable[bytes]:
    headers = [(k, v) for k, v in reply.headers.items() if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(reply.body))))
    start_response(status_line(reply.status), headers)
    return [reply.body]
