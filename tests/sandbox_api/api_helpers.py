"""Drives the sandbox AccountingApi directly: JSON in, (status, headers, parsed JSON) out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xsync.sandbox.api import AccountingApi

START = datetime(2026, 3, 15, 1, 0, 0, tzinfo=UTC)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw, parse_float=Decimal) if self.raw else None

    def error_messages(self) -> list[str]:
        return [m["Message"] for e in self.json["Elements"] for m in e["ValidationErrors"]]


class Client:
    def __init__(self, api: AccountingApi, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Result:
        raw = b"" if body is None else json.dumps(body, default=_encode).encode()
        q = {k: [str(v)] for k, v in query.items()}
        resp = self.api.handle(self.tenant, method, path, q, headers or {}, raw)
        return Result(resp.status, resp.headers, resp.body)

    def get(self, path: str, headers: dict[str, str] | None = None, **query: Any) -> Result:
        return self.call("GET", path, None, headers, **query)

    def put(
        self, path: str, body: Any, headers: dict[str, str] | None = None, **query: Any
    ) -> Result:
        return self.call("PUT", path, body, headers, **query)

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None, **query: Any
    ) -> Result:
        return self.call("POST", path, body, headers, **query)

    def delete(self, path: str) -> Result:
        return self.call("DELETE", path)

    # conveniences -------------------------------------------------------------------------

    def contact(self, name: str = "Acme Pty Ltd", **fields: Any) -> dict[str, Any]:
        res = self.put("/Contacts", {"Contacts": [{"Name": name, **fields}]})
        assert res.status == 200, res.raw
        return res.json["Contacts"][0]

    def invoice(
        self,
        contact_id: str,
        *,
        status: str = "AUTHORISED",
        typ: str = "ACCREC",
        lines: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        body = {
            "Type": typ,
            "Contact": {"ContactID": contact_id},
            "Status": status,
            "Date": "2026-03-01",
            "DueDate": "2026-03-31",
            "LineItems": lines
            or [
                {
                    "Description": "Work",
                    "Quantity": 2,
                    "UnitAmount": "50.00",
                    "AccountCode": "200" if typ == "ACCREC" else "429",
                }
            ],
            **fields,
        }
        res = self.put("/Invoices", body)
        assert res.status == 200, res.raw
        return res.json["Invoices"][0]
