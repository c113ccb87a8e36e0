"""`xsync sandbox serve` and `xsync sandbox generate` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from xsync.cli.app import main
from xsync.sandbox.app import Sandbox
from xsync.sandbox.server import SandboxServer


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_serve_prints_url_credentials_and_tenants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def interrupted(self: SandboxServer) -> None:
        served.append(self.base_url)
        raise KeyboardInterrupt

    monkeypatch.setattr(SandboxServer, "serve_forever", interrupted)
    code, out = run(["sandbox", "serve", "--port", "0", "--data", str(tmp_path),
                     "--client-id", "my-app", "--client-secret", "s3cret",
                     "--minute-limit", "30"], capsys)
    assert code == 0, out
    assert served and served[0] in out
    assert "my-app" in out and "s3cret" in out
    assert f"xsync connect --sandbox {served[0]}" in out
    with Sandbox(tmp_path) as again:
        assert again.tenant_ids[0] in out
        assert "Demo Company (AU)" in out


def test_serve_refuses_a_bad_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["sandbox", "serve", "--seed", "huge"], capsys)
    assert code == 2
    assert "--seed" in out


def test_serve_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(seed="empty") as busy:
        port = busy.start().rsplit(":", 1)[1]
        code, out = run(["sandbox", "serve", "--port", port, "--seed", "empty"], capsys)
    assert code == 2
    assert "pick another --port" in out


def test_generate_adds_a_large_organisation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(["sandbox", "generate", "--data", str(tmp_path), "--invoices", "250",
                     "--name", "Bench Co"], capsys)
    assert code == 0, out
    assert "250 invoices" in out
    with Sandbox(tmp_path) as sandbox:
        orgs = {o["name"]: o["tenant_id"] for o in sandbox.organisations()}
        assert list(orgs) == ["Bench Co"]  # a fresh folder is not seeded first
        tenant = orgs["Bench Co"]
        assert tenant in out
        token = sandbox.client_credentials_token(tenant)
        with httpx.Client(transport=httpx.WSGITransport(app=sandbox.app),
                          base_url="http://sandbox.test",
                          headers={"Authorization": f"Bearer {token}"}) as http:
            page = http.get("/api.xro/2.0/Invoices", params={"page": 3, "pageSize": 100})
        assert page.status_code == 200
        assert len(page.json()["Invoices"]) == 50
