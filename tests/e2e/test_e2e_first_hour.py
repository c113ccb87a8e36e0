"""The README's "Using it", typed as written: from `xsync init --example` to a finished sync
against the sandbox, the commands read from the README itself.

The one liberty taken: the sandbox is asked for a free port (`--port 0`) rather than 8765, and
the URL it prints stands for `http://127.0.0.1:8765` in the commands after it."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from xsync.cli.app import main

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8765"


def using_it() -> list[list[str]]:
    """The commands of the first code block under "## Using it", as a shell splits them."""
    section = README.read_text().split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    return [words for line in block.splitlines() if (words := shlex.split(line, comments=True))]


class Shell:
    """Runs the README's lines: `cd`, `xsync ... &` as a process, `xsync ...` in-process."""

    def __init__(self, cwd: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.cwd = cwd
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.url: str | None = None
        self.tenant: str | None = None
        self.background: list[subprocess.Popen[str]] = []
        self.ran: list[tuple[str, int, str]] = []

    def line(self, words: list[str]) -> None:
        if words[0] == "cd":
            self.cwd = self.cwd / words[1]
            return
        assert words[0] == "xsync", f"the README's 'Using it' runs {words[0]!r}"
        args = [self.url if w == README_URL and self.url else w for w in words[1:]]
        if args[-1] == "&":
            self.serve(args[:-1])
            return
        self.monkeypatch.chdir(self.cwd)
        self.capsys.readouterr()
        code = 0
        try:
            main(args)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = self.capsys.readouterr()
        self.ran.append((shlex.join(words), code, out.out + out.err))

    def serve(self, args: list[str]) -> None:
        assert args[:2] == ["sandbox", "serve"], args
        proc = subprocess.Popen(
            [sys.executable, "-m", "xsync", *args, "--port", "0"], cwd=self.cwd, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.background.append(proc)
        assert proc.stdout is not None
        banner: list[str] = []
        for text in proc.stdout:  # the banner ends with the line to connect with
            banner.append(text)
            if "organisation" in text and "tenant" in text and self.tenant is None:
                self.tenant = text.split("tenant", 1)[1].strip()
            if text.startswith("Connect with: xsync connect --sandbox "):
                self.url = text.rsplit(" ", 1)[1].strip()
                return
        raise AssertionError("the sandbox stopped before printing its URL:\n" + "".join(banner))

    def close(self) -> None:
        for proc in self.background:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[Shell]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("XSYNC_WORKSPACE", "XSYNC_CLIENT_ID", "XSYNC_CLIENT_SECRET",
                 "XSYNC_ACCESS_TOKEN", "XSYNC_REFRESH_TOKEN", "XSYNC_TENANT_ID", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    ran = Shell(tmp_path, monkeypatch, capsys)
    yield ran
    ran.close()


def xero_invoices(url: str, tenant: str) -> dict[str, dict[str, object]]:
    """The organisation's invoices and bills by number, read as a custom connection would."""
    from xsync.sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    with httpx.Client(base_url=url, timeout=30) as http:
        token = http.post("/connect/token", data={"grant_type": "client_credentials"},
                          auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).json()["access_token"]
        reply = http.get("/api.xro/2.0/Invoices", params={"page": "1"},
                         headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant,
                                  "Accept": "application/json"})
        assert reply.status_code == 200, reply.text
        return {i["InvoiceNumber"]: i for i in reply.json()["Invoices"]}


def test_the_readme_goes_from_init_example_to_a_finished_sync(shell: Shell) -> None:
    commands = using_it()
    assert commands[0][:3] == ["xsync", "init", "--example"]
    assert ["xsync", "sync"] in commands

    for words in commands:
        shell.line(words)

    for command, code, out in shell.ran:
        assert code == 0, f"`{command}` exited {code}:\n{out}"
    synced = next(out for command, _, out in shell.ran if command == "xsync sync")
    assert "bills" in synced and "contacts" in synced

    ops = sqlite3.connect(shell.cwd / "ops.db")
    try:
        # Xero's books reached ops: the demo company's invoices, its chart of accounts
        assert ops.execute("SELECT count(*) FROM invoices WHERE number LIKE 'INV-%'"
                           ).fetchone()[0] >= 10
        assert ops.execute("SELECT count(*) FROM accounts WHERE code = '310'").fetchone()[0] == 1
        # the three contacts Xero had under other spellings were linked, not duplicated
        assert ops.execute("SELECT id FROM contacts WHERE abn = '96401060281'"
                           ).fetchall() == [("C-100",)]
    finally:
        ops.close()

    assert shell.url and shell.tenant
    xero = xero_invoices(shell.url, shell.tenant)
    # the approved job and the bill were pushed, coded; the job below min_total and the draft
    # stayed in ops
    assert xero["JOB-1001"]["Status"] == "AUTHORISED"
    assert xero["NP-7781"]["Type"] == "ACCPAY"
    assert "JOB-1002" not in xero and "JOB-1003" not in xero

    # and nothing is left to do
    shell.line(["xsync", "diff"])
    command, code, out = shell.ran[-1]
    assert code == 0 and "nothing to do" in out, out


def test_init_example_fills_ops_db_and_writes_settings_that_fit(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    from xsync.config import Workspace

    root = tmp_path / "books"
    assert _run(["init", "--example", str(root)]) == 0
    settings = Workspace(root).settings()
    assert settings.mappings.categories == {"materials": "310"}
    assert settings.sync.invoices.min_total == "50.00"
    ops = sqlite3.connect(root / "ops.db")
    try:
        assert ops.execute("SELECT count(*) FROM contacts").fetchone()[0] == 5
        assert ops.execute("SELECT count(*) FROM invoices").fetchone()[0] == 3
        assert ops.execute("SELECT category FROM bill_lines").fetchall() == [("materials",)]
    finally:
        ops.close()
    capsys.readouterr()

    # a second --example over the filled ops.db is refused, naming it; nothing is added
    assert _run(["init", "--example", str(root)]) == 2
    err = capsys.readouterr().err
    assert "ops.db already holds" in err and "--example DIR" in err
    ops = sqlite3.connect(root / "ops.db")
    try:
        assert ops.execute("SELECT count(*) FROM contacts").fetchone()[0] == 5
    finally:
        ops.close()


def _run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
