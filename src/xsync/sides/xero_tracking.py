"""Tracking options a batch of documents needs, made sure of in Xero before the batch is sent.

Invariants:
- the organisation's tracking categories are read once per batch (archived ones included, so an
  archived option is told apart from a missing one);
- a category xsync is mapped to but Xero lacks, or has archived, refuses every document using it:
  xsync creates options, never categories (two at most, and the accountant's to shape);
- an option Xero lacks is created when ``create_options`` allows it, once however many lines use
  it, with an idempotency key derived from the category and the option; otherwise, or when Xero
  refuses to create it, or when it is archived, the documents using it are refused, each with a
  sentence naming the line, the column, the value and what to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from xsync.errors import XeroValidationError
from xsync.model.side import Change
from xsync.sides.xero_map import Tracking
from xsync.xero.client import XeroClient

SETTING = "[mappings.tracking] create_options = true"


class TrackingOptions:
    def __init__(self, client: XeroClient, tracking: Tracking) -> None:
        self.client = client
        self.tracking = tracking
        # category name (case-blind) -> the category as Xero has it
        self.categories: dict[str, dict[str, Any]] = {}
        # (category id, option name case-blind) -> why it cannot be used ("" when it can)
        self.verdicts: dict[tuple[str, str], str] = {}

    def prepare(self, changes: Sequence[Change]) -> dict[str, str]:
        """Change key -> why it cannot be sent, for each change whose tracking Xero cannot
        take; options missing are created first where allowed."""
        wanted = [(c, line, name, value) for c in changes for line in c.lines or []
                  for name in self.tracking.categories if (value := line.fields.get(name))]
        if not wanted:
            return {}
        envelope = self.client.get("TrackingCategories", params={"includeArchived": "true"})
        for category in envelope.get("TrackingCategories") or []:
            self.categories[str(category.get("Name") or "").strip().casefold()] = category
        refused: dict[str, str] = {}
        for change, line, name, value in wanted:
            if change.key in refused:
                continue
            reason = self._why_not(name, value)
            if reason:
                refused[change.key] = f"line {line.id or line.fields.get('position')}: {reason}"
        return refused

    def _why_not(self, name: str, value: str) -> str:
        category_name = self.tracking.categories[name]
        category = self.categories.get(category_name.casefold())
        if category is None or category.get("Status") != "ACTIVE":
            state = "is archived" if category is not None else "does not exist"
            return (f"{name} {value!r} goes to Xero's tracking category {category_name!r}, "
                    f"which {state} in Xero: add it there (Settings, Tracking categories), or "
                    f"map {name} to another category in [mappings.tracking]")
        key = (str(category["TrackingCategoryID"]), value.strip().casefold())
        if key not in self.verdicts:
            self.verdicts[key] = self._option(category, name, value)
        return self.verdicts[key]

    def _option(self, category: dict[str, Any], name: str, value: str) -> str:
        options = {str(o.get("Name") or "").strip().casefold(): o
                   for o in category.get("Options") or []}
        found = options.get(value.strip().casefold())
        label = f"{name} {value!r} (Xero's tracking category {category['Name']!r})"
        if found is not None:
            if found.get("Status", "ACTIVE") == "ACTIVE":
                return ""
            return f"{label} is archived in Xero: restore it there, or use another option"
        if not self.tracking.create_options:
            return (f"{label} is not an option in Xero: add it there, or let xsync add "
                    f"missing options with {SETTING}")
        endpoint = f"TrackingCategories/{category['TrackingCategoryID']}/Options"
        digest = hashlib.sha256(f"{category['TrackingCategoryID']}\n{value}".encode())
        try:
            [result] = self.client.write_batch(
                endpoint, "PUT", [{"Name": value.strip()}], keys=[value],
                idempotency_key=f"xsync-option-{digest.hexdigest()[:40]}")
        except XeroValidationError as exc:
            return f"{label}: Xero refused to add it as an option ({exc})"
        if not result.ok:
            said = "; ".join(result.messages) or "without saying why"
            return f"{label}: Xero refused to add it as an option ({said})"
        category.setdefault("Options", []).append({"Name": value.strip(), "Status": "ACTIVE"})
        return ""
