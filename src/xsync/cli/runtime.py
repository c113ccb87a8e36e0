"""What every sync command needs: the workspace, its settings, both sides and the rules.

Kept apart from the commands so that `pull`, `push`, `sync`, `diff`, `resolve` and `status` build
the engine the same way, and a dry run sees exactly what a real run would.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from xsync.config import Settings, Workspace, find_workspace
from xsync.errors import ConfigError
from xsync.model.entities import ENTITY_ORDER
from xsync.sync.rules import EntityRules, Rules

OPS_STORE_GROUP = "xsync.ops_stores"


def rules_from_settings(settings: Settings) -> Rules:
    """Turn the validated `[sync]` settings into the engine's plain rules (mappings are the
    ops store's: see :func:`open_ops_store`)."""
    sync = settings.sync
    entities: dict[str, EntityRules] = {}
    for name in ENTITY_ORDER:
        rule = getattr(sync, name)
        entities[name] = EntityRules(
            enabled=rule.enabled,
            direction=rule.direction,
            push_only_when_approved=rule.push_only_when_approved,
            min_total=Decimal(rule.min_total) if rule.min_total is not None else None,
        )
    return Rules(
        default_policy=sync.default_policy,
        policies=dict(sync.policies),
        skew_tolerance_seconds=sync.skew_tolerance_seconds,
        mass_delete_threshold=sync.mass_delete_threshold,
        entities=entities,
        merged_contacts=sync.merged_contacts,
    )


def open_ops_store(workspace: Workspace, settings: Settings) -> Any:
    """The ops side named by `[ops] store`: the built-in SQLite store or a plugin's class."""
    name = settings.ops.store
    if name == "sqlite":
        from xsync.sides.ops_sqlite import SqliteOpsStore

        return SqliteOpsStore(workspace.ops_path(settings),
                              categories=settings.mappings.categories,
                              default_tax_types=settings.mappings.default_tax_types,
                              tracked=settings.mappings.tracking.mapped())
    found = [ep for ep in entry_points(group=OPS_STORE_GROUP) if ep.name == name]
    if not found:
        known = sorted({ep.name for ep in entry_points(group=OPS_STORE_GROUP)} | {"sqlite"})
        raise ConfigError(f"[ops] store = {name!r} is not installed; known: {', '.join(known)}")
    factory = found[0].load()
    return factory(path=str(workspace.ops_path(settings)), settings=settings)


@dataclass
class Runtime:
    workspace: Workspace
    settings: Settings
    rules: Rules


def load_runtime(workspace_dir: Path | None) -> Runtime:
    workspace = find_workspace(workspace_dir)
    settings = workspace.settings()
    return Runtime(workspace=workspace, settings=settings, rules=rules_from_settings(settings))


@contextlib.contextmanager
def open_engine(runtime: Runtime) -> Iterator[Any]:
    """An engine over both sides of the workspace; everything is closed on the way out."""
    from xsync.cli.session import open_client
    from xsync.sides.xero import XeroSide
    from xsync.sides.xero_map import Tracking
    from xsync.sync.books import Books
    from xsync.sync.engine import Engine
    from xsync.xero.organisation import lock_date

    # damage deep in state.db shows only when its pages are read, mid-run; the sides turn their
    # own file troubles into their own errors, so what reaches the books' guard is state.db's
    with Books.opened(runtime.workspace.state_path) as books:
        ops = open_ops_store(runtime.workspace, runtime.settings)
        try:
            client = open_client(runtime.workspace)
        except BaseException:
            _close(ops)
            raise
        try:
            tracking = runtime.settings.mappings.tracking
            xero = XeroSide(client, overlap_seconds=runtime.settings.sync.ims_overlap_seconds,
                            tracking=Tracking(tracking.mapped(), tracking.create_options))
            yield Engine(books.state, ops, xero, runtime.rules,
                         lock_date=functools.partial(lock_date, client))
        finally:
            client.close()
            _close(ops)


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


def record_failure(runtime: Runtime, mode: str, wanted: list[str] | None, exc: Any) -> None:
    """Keep a run that stopped before the engine could record it, for `xsync status`."""
    from datetime import UTC, datetime

    from xsync.sync.books import Books

    entities = [e for e in ENTITY_ORDER if wanted is None or e in wanted]
    # best effort: a state database too busy or broken to take the record must not hide the
    # error the run stopped for
    with contextlib.suppress(Exception), Books.opened(runtime.workspace.state_path) as books:
        books.record_failed_run(mode, entities, exc, datetime.now(UTC))
