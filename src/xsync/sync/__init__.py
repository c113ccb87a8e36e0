"""The sync engine: detect -> plan -> apply, over two sides seen through one protocol."""

from xsync.sync.books import Books, ConflictNotFound, utc_now
from xsync.sync.engine import Engine
from xsync.sync.plan import (
    Action,
    AuditEntry,
    Conflict,
    FieldChange,
    Outcome,
    Plan,
    Rejection,
    RunResult,
    Step,
)
from xsync.sync.rules import EntityRules, Rules, default_rules

__all__ = [
    "Action", "AuditEntry", "Books", "Conflict", "ConflictNotFound", "Engine", "EntityRules",
    "FieldChange", "Outcome", "Plan", "Rejection", "Rules", "RunResult", "Step",
    "default_rules", "utc_now",
]
