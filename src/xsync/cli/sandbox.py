"""`xsync sandbox`: run the local Xero sandbox, or fill it with a large organisation."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from xsync.cli.console import console

sandbox_app = typer.Typer(
    name="sandbox",
    help="The local Xero sandbox: an emulator of Xero's API, identity and limits.",
    no_args_is_help=True,
)


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0 picks a free one)."),
    data: Path | None = typer.Option(
        None, "--data", help="Folder for sandbox.db (kept across restarts); in memory if omitted."
    ),
    seed: str = typer.Option("demo", "--seed", help="First organisation: demo or empty."),
    client_id: str | None = typer.Option(None, "--client-id", help="OAuth2 client id."),
    client_secret: str | None = typer.Option(
        None, "--client-secret", help="OAuth2 client secret."
    ),
    minute_limit: int = typer.Option(60, "--minute-limit", help="Calls per minute per org."),
    day_limit: int = typer.Option(5000, "--day-limit", help="Calls per day per org."),
    webhook_url: str | None = typer.Option(
        None, "--webhook-url", metavar="URL",
        help="Deliver the first organisation's webhooks to URL (key: $XSYNC_WEBHOOK_KEY, else "
             "one is made and printed); the intent to receive is retried until it passes.",
    ),
) -> None:
    """Run the Xero sandbox until Ctrl-C; prints its base URL, organisations and credentials."""
    from xsync.errors import UsageError
    from xsync.sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
    from xsync.sandbox.server import SandboxServer

    if seed not in ("demo", "empty"):
        raise UsageError(f"--seed must be demo or empty, not {seed!r}", option="--seed")
    if minute_limit < 1 or day_limit < 1:
        raise UsageError("limits must be at least 1")
    sandbox = Sandbox(
        data, seed=seed, client_id=client_id or DEFAULT_CLIENT_ID,
        client_secret=client_secret or DEFAULT_CLIENT_SECRET,
        minute_limit=minute_limit, day_limit=day_limit,
    )
    try:
        server = SandboxServer(sandbox.app, host, port)
    except OSError as exc:
        sandbox.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port",
            host=host, port=port,
        ) from None
    sandbox.base_url = server.base_url
    _print_banner(sandbox, client_secret or DEFAULT_CLIENT_SECRET)
    if webhook_url:
        _register_webhook(sandbox, webhook_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        server.stop()
        sandbox.close()


def _print_banner(sandbox: object, secret: str) -> None:
    from xsync.sandbox.app import Sandbox

    assert isinstance(sandbox, Sandbox)
    info = sandbox.info()
    console.print(f"Xero sandbox at [bold]{escape(info['base_url'])}[/]")
    console.print(f"  API            {info['api_url']}", markup=False)
    console.print(f"  authorize      {info['authorize_url']}", markup=False)
    console.print(f"  token          {info['token_url']}", markup=False)
    console.print(f"  client id      {info['client_id']}", markup=False)
    console.print(f"  client secret  {secret}", markup=False)
    for org in info["organisations"]:
        console.print(f"  organisation   {org['name']}  tenant {org['tenant_id']}", markup=False)
    where = str(sandbox.data_dir / "sandbox.db") if sandbox.data_dir else "memory (lost on exit)"
    console.print(f"  state          {where}", markup=False)
    console.print(f"Connect with: xsync connect --sandbox {info['base_url']}", markup=False)
    console.print("Admin: GET /sandbox/info, /sandbox/counters, /sandbox/faults; Ctrl-C stops.")


def _register_webhook(sandbox: object, url: str) -> None:
    import os
    import secrets

    from xsync.errors import UsageError
    from xsync.sandbox.app import Sandbox

    assert isinstance(sandbox, Sandbox)
    key = os.environ.get("XSYNC_WEBHOOK_KEY") or secrets.token_urlsafe(48)
    try:
        webhook_id = sandbox.webhooks_out.add(url, key, sandbox.tenant_ids[0], retry_intent=True)
    except ValueError as exc:
        sandbox.close()
        raise UsageError(f"--webhook-url {url}: {exc}", option="--webhook-url") from None
    (hook,) = [w for w in sandbox.webhooks() if w["webhook_id"] == webhook_id]
    console.print(f"  webhook        {url}  {hook['status']}", markup=False)
    if hook["status"] != "OK":
        console.print(f"                 ({hook['reason']}; tried again before each delivery)",
                      markup=False)
    if not os.environ.get("XSYNC_WEBHOOK_KEY"):
        console.print(f"  webhook key    {key}  (give it to xsync watch as XSYNC_WEBHOOK_KEY)",
                      markup=False)


@sandbox_app.command("generate")
def generate(
    data: Path = typer.Option(..., "--data", help="Sandbox folder (sandbox.db made if needed)."),
    invoices: int = typer.Option(100_000, "--invoices", help="How many invoices to make."),
    name: str = typer.Option("Large Company (AU)", "--name", help="Organisation name."),
    lines: int = typer.Option(3, "--lines", help="Lines per invoice."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same organisation)."),
) -> None:
    """Add a large generated organisation to a sandbox folder (for benchmarks)."""
    from xsync.errors import UsageError
    from xsync.sandbox.app import open_store
    from xsync.sandbox.generate import generate_organisation

    if invoices < 0 or lines < 1:
        raise UsageError("--invoices must be >= 0 and --lines >= 1")
    started = time.perf_counter()
    store = open_store(data)
    try:
        tenant = generate_organisation(
            store, name, invoices=invoices, lines_per_invoice=lines, seed=seed
        )
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    console.print(f"Made {name}: {invoices:,} invoices x {lines} lines in {elapsed:.1f} s")
    console.print(f"  tenant  {tenant}")
    console.print(f"  store   {Path(data) / 'sandbox.db'}")


def register(app: typer.Typer) -> None:
    from xsync.cli import sandbox_xero

    sandbox_xero.register(sandbox_app)
    app.add_typer(sandbox_app, name="sandbox")
