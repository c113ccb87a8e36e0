"""Workspaces and their `xsync.toml`.

A workspace is a folder holding `xsync.toml` (the user's settings, annotated), `state.db` (xsync's
own state: links, snapshots, conflicts, outbox, audit; mode 0600) and, by default, `ops.db` (the
operations store). Commands find it through `--workspace DIR`, then `XSYNC_WORKSPACE`, then the
current directory. The settings are validated hard here, at the edge, with pydantic.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xsync.errors import ConfigError, WorkspaceNotFound

CONFIG_NAME = "xsync.toml"
STATE_NAME = "state.db"

Policy = Literal["xero", "ops", "latest", "flag"]

GRANULAR_SCOPES = (
    "offline_access accounting.invoices accounting.payments accounting.contacts "
    "accounting.settings.read accounting.banktransactions accounting.manualjournals.read"
)
LEGACY_SCOPES = (
    "offline_access accounting.transactions accounting.contacts accounting.settings.read"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class XeroSettings(_Strict):
    """`[xero]`. The URLs are read on every run (see :func:`xsync.cli.session.endpoints_for`)."""

    api_url: str = "https://api.xero.com/api.xro/2.0"
    authorize_url: str = "https://login.xero.com/identity/connect/authorize"
    token_url: str = "https://identity.xero.com/connect/token"
    revocation_url: str = "https://identity.xero.com/connect/revocation"
    connections_url: str = "https://api.xero.com/connections"
    scopes: str = GRANULAR_SCOPES
    redirect_port: int = 8749
    daily_call_budget: int = Field(default=5000, ge=1)

    @field_validator("api_url", "authorize_url", "token_url", "revocation_url", "connections_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # caught here, a typo is a configuration error rather than an unreachable Xero
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.strip()


class OpsSettings(_Strict):
    store: str = "sqlite"
    path: str = "ops.db"


class EntityRule(_Strict):
    enabled: bool = True
    direction: Literal["both", "pull", "push"] = "both"
    push_only_when_approved: bool = True
    min_total: str | None = None  # decimal text; invoices below it are not pushed

    @field_validator("min_total")
    @classmethod
    def _decimal(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from decimal import Decimal, InvalidOperation

        try:
            Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"min_total must be decimal text, got {value!r}") from exc
        return value


def _default_policies() -> dict[str, Policy]:
    return {"tax_type": "xero", "account_code": "xero"}


class SyncSettings(_Strict):
    default_policy: Policy = "latest"
    policies: dict[str, Policy] = Field(default_factory=_default_policies)
    skew_tolerance_seconds: int = Field(default=120, ge=0)
    ims_overlap_seconds: int = Field(default=5, ge=0)
    mass_delete_threshold: int = Field(default=20, ge=1)
    merged_contacts: Literal["merge", "link"] = "merge"
    invoices: EntityRule = Field(default_factory=EntityRule)
    contacts: EntityRule = Field(default_factory=EntityRule)
    bills: EntityRule = Field(default_factory=lambda: EntityRule(direction="push"))
    payments: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))
    credit_notes: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))
    credits: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))
    allocations: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))
    accounts: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))
    tax_rates: EntityRule = Field(default_factory=lambda: EntityRule(direction="pull"))


class TrackingSettings(_Strict):
    """`[mappings.tracking]`: the Xero tracking category each ops line column is (by name)."""

    job: str | None = None
    site: str | None = None
    # options missing in Xero are created there; else the document is refused, saying why
    create_options: bool = False

    @field_validator("job", "site")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip() or len(value.strip()) > 100:
            raise ValueError("must name a Xero tracking category (1 to 100 characters)")
        return value.strip()

    def mapped(self) -> dict[str, str]:
        """Ops column -> Xero tracking category name, for the columns mapped."""
        named = {"job": self.job, "site": self.site}
        out = {column: name for column, name in named.items() if name}
        if len({name.casefold() for name in out.values()}) < len(out):
            raise ConfigError("[mappings.tracking] maps job and site to the same Xero "
                              "tracking category; give each its own", path=CONFIG_NAME)
        return out


class MappingSettings(_Strict):
    # ops category -> Xero account code
    categories: dict[str, str] = Field(default_factory=dict)
    # Xero account code -> default tax type when a line has none
    default_tax_types: dict[str, str] = Field(default_factory=dict)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)


class Settings(_Strict):
    xero: XeroSettings = Field(default_factory=XeroSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    mappings: MappingSettings = Field(default_factory=MappingSettings)


DEFAULT_TOML = f"""\
# xsync workspace settings. Every key is optional; the values shown are the defaults.

[xero]
# Where Xero lives, read on every run. `xsync connect --sandbox URL` points a workspace at a local
# sandbox instead; a URL set here to anything but Xero's own (a proxy, a mock) wins over both.
api_url = "https://api.xero.com/api.xro/2.0"
authorize_url = "https://login.xero.com/identity/connect/authorize"
token_url = "https://identity.xero.com/connect/token"
revocation_url = "https://identity.xero.com/connect/revocation"
connections_url = "https://api.xero.com/connections"
# Granular scopes (apps created from 2 March 2026); `xsync connect --legacy-scopes` for older apps.
scopes = "{GRANULAR_SCOPES}"
# Loopback port for the OAuth2 redirect (http://localhost:PORT/callback).
redirect_port = 8749
# Calls a day Xero allows this organisation (5000; 1000 on the Starter tier).
daily_call_budget = 5000

[ops]
# The operations store: "sqlite" (ops.db, schema in the README) or a plugin's name.
store = "sqlite"
path = "ops.db"

[sync]
# Per-field conflict policy when both sides changed a field: xero | ops | latest | flag.
default_policy = "latest"
# Two change times closer than this are too close to call: the field becomes a conflict.
skew_tolerance_seconds = 120
# If-Modified-Since looks back this far past the cursor; records already seen are recognised.
ims_overlap_seconds = 5
# A plan deleting or voiding more than this many records stops (exit 5) unless allowed.
mass_delete_threshold = 20
# A contact merged into another in Xero, or a new one settled as a linked contact's Xero
# contact: "merge" archives it in ops (merged_into names the other) and moves its documents;
# "link" keeps it active as another ops name of that Xero contact.
merged_contacts = "merge"

[sync.policies]
# Xero is the authority for tax types and account codes.
tax_type = "xero"
account_code = "xero"
# description = "flag"   # decide by hand with `xsync resolve`

[sync.invoices]
direction = "both"
push_only_when_approved = true
# min_total = "100.00"   # invoices below this total are not pushed

[sync.contacts]
direction = "both"

[sync.bills]
direction = "push"
push_only_when_approved = true

[sync.payments]
direction = "pull"

[sync.credit_notes]
direction = "pull"

[sync.accounts]
direction = "pull"

[sync.tax_rates]
direction = "pull"

[mappings.categories]
# ops category = Xero account code, e.g.
# materials = "310"

[mappings.default_tax_types]
# Xero account code = tax type used when an ops line has none, e.g.
# "200" = "OUTPUT"

[mappings.tracking]
# The Xero tracking category (by name) each ops line column holds options of: job and site
# costing. A column left unmapped is not synced. Options missing in Xero are created there only
# when create_options is true; otherwise the document is refused, naming the option.
# job = "Job"
# site = "Site"
create_options = false
"""


def parse_settings(text: str, source: str = CONFIG_NAME) -> Settings:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}", path=source) from exc
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}", path=source) from exc


class Workspace:
    """A folder with `xsync.toml` and `state.db`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_path(self) -> Path:
        return self.root / STATE_NAME

    def settings(self) -> Settings:
        return parse_settings(self.config_path.read_text(), str(self.config_path))

    def ops_path(self, settings: Settings | None = None) -> Path:
        settings = settings or self.settings()
        path = Path(settings.ops.path)
        return path if path.is_absolute() else self.root / path

    def exists(self) -> bool:
        return self.config_path.is_file()


def find_workspace(explicit: str | os.PathLike[str] | None = None) -> Workspace:
    """Locate the workspace: explicit flag, then XSYNC_WORKSPACE, then the current directory."""
    candidate = explicit or os.environ.get("XSYNC_WORKSPACE") or os.getcwd()
    workspace = Workspace(Path(candidate))
    if not workspace.exists():
        raise WorkspaceNotFound(
            f"no xsync workspace at {workspace.root} (no {CONFIG_NAME})", path=str(workspace.root)
        )
    return workspace
