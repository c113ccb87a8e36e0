"""Tracking categories and their options, and tracking on line items, as Xero keeps them.

An organisation has at most two ACTIVE tracking categories (``Name`` unique, at most 100
characters), each with options (``Name`` unique within the category). ``GET /TrackingCategories``
lists the active ones with their options (``includeArchived=true`` adds the archived ones);
``PUT /TrackingCategories`` creates one; ``PUT /TrackingCategories/{id}/Options`` adds options;
``GET /TrackingCategories/{id}`` reads one.

A line's ``Tracking`` names at most two categories, each at most once, by ``Name`` (or
``TrackingCategoryID``) and ``Option`` (or ``TrackingOptionID``); both must exist and be ACTIVE.
The stored line carries ``TrackingCategoryID``, ``TrackingOptionID``, ``Name`` and ``Option``.
"""

from __future__ import annotations

import uuid
from typing import Any

from xsync.sandbox import batch, xjson
from xsync.sandbox.context import Ctx
from xsync.sandbox.listing import Reply, ok
from xsync.sandbox.problems import ApiError, Invalid, not_found

KIND = "trackingcategories"
KEY = "TrackingCategories"
MOST_ACTIVE = 2
LONGEST_NAME = 100


def categories(ctx: Ctx) -> list[dict[str, Any]]:
    """Every tracking category of the organisation, in creation order."""
    rows = ctx.store.conn.execute(
        f"SELECT json FROM {KIND} WHERE tenant_id = ? ORDER BY rowid", (ctx.tenant,)
    ).fetchall()
    return [xjson.loads(r[0]) for r in rows]


def _save(ctx: Ctx, category: dict[str, Any]) -> dict[str, Any]:
    ctx.store.put(KIND, ctx.tenant, category, ctx.now_ms())
    return category


def _name(raw: Any, noun: str) -> str:
    name = raw.get("Name") if isinstance(raw, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise Invalid(f"The {noun} name must be specified.")
    name = name.strip()
    if len(name) > LONGEST_NAME:
        raise Invalid(f"The {noun} name must be {LONGEST_NAME} characters or fewer.")
    return name


def create_category(ctx: Ctx, raw: Any) -> dict[str, Any]:
    name = _name(raw, "tracking category")
    existing = categories(ctx)
    if any(c["Name"].casefold() == name.casefold() for c in existing):
        raise Invalid(f"The tracking category name {name} is already in use.")
    if sum(1 for c in existing if c["Status"] == "ACTIVE") >= MOST_ACTIVE:
        raise Invalid("You can only have 2 active tracking categories.")
    category = {"TrackingCategoryID": str(uuid.uuid4()), "Name": name, "Status": "ACTIVE",
                "Options": []}
    return _save(ctx, category)


def create_option(ctx: Ctx, category: dict[str, Any], raw: Any) -> dict[str, Any]:
    name = _name(raw, "tracking option")
    if any(o["Name"].casefold() == name.casefold() for o in category["Options"]):
        raise Invalid(f"The tracking option name {name} is already in use in "
                      f"{category['Name']}.")
    option = {"TrackingOptionID": str(uuid.uuid4()), "Name": name, "Status": "ACTIVE",
              "HasValidationErrors": False, "IsDeleted": False, "IsArchived": False,
              "IsActive": True}
    category["Options"].append(option)
    _save(ctx, category)
    return option


def line_tracking(ctx: Ctx, sent: Any, errors: list[str]) -> list[dict[str, Any]]:
    """A line's ``Tracking`` checked against the organisation's categories, ids filled in."""
    if sent in (None, []):
        return []
    if not isinstance(sent, list):
        errors.append("Tracking must be a list")
        return []
    known = categories(ctx)
    out: list[dict[str, Any]] = []
    for item in sent:
        if not isinstance(item, dict):
            errors.append("Each tracking item must be an object")
            continue
        category = _find(known, item, "TrackingCategoryID", "Name")
        if category is None or category["Status"] != "ACTIVE":
            named = item.get("Name") or item.get("TrackingCategoryID")
            errors.append(f"Tracking category '{named}' does not exist or is not active.")
            continue
        option = _find(category["Options"], item, "TrackingOptionID", "Option")
        if option is None or option["Status"] != "ACTIVE":
            named = item.get("Option") or item.get("TrackingOptionID")
            errors.append(f"Tracking option '{named}' does not exist or is not active in the "
                          f"tracking category '{category['Name']}'.")
            continue
        if any(t["TrackingCategoryID"] == category["TrackingCategoryID"] for t in out):
            errors.append(f"A line can be tracked once per category ('{category['Name']}').")
            continue
        out.append({"Name": category["Name"], "Option": option["Name"],
                    "TrackingCategoryID": category["TrackingCategoryID"],
                    "TrackingOptionID": option["TrackingOptionID"]})
    if len(out) > MOST_ACTIVE:
        errors.append("A line can have at most 2 tracking categories.")
    return out


def _find(items: list[dict[str, Any]], ref: dict[str, Any], id_field: str,
          name_field: str) -> dict[str, Any] | None:
    if ref.get(id_field):
        wanted = str(ref[id_field]).lower()
        return next((i for i in items if i[id_field].lower() == wanted), None)
    name = ref.get(name_field)
    if not isinstance(name, str):
        return None
    return next((i for i in items if i["Name"].casefold() == name.strip().casefold()), None)


def _method_not_allowed() -> ApiError:
    return ApiError(405, {"Title": "Method Not Allowed", "Status": 405,
                          "Detail": "The method is not allowed for this resource"})


def route(ctx: Ctx, method: str, rest: list[str], body: bytes) -> Reply:
    if not rest:
        if method == "GET":
            shown = [c for c in categories(ctx)
                     if c["Status"] == "ACTIVE" or ctx.flag("includeArchived")]
            return ok(ctx, KEY, shown)
        if method == "PUT":
            items = batch.elements(batch.parse_body(body), KEY)
            return batch.run(ctx, KEY, "HasValidationErrors", items,
                             lambda raw: create_category(ctx, raw))
        raise _method_not_allowed()
    category = next((c for c in categories(ctx)
                     if c["TrackingCategoryID"].lower() == rest[0].lower()), None)
    if category is None:
        raise not_found()
    if len(rest) == 1:
        if method != "GET":
            raise _method_not_allowed()
        return ok(ctx, KEY, [category])
    if len(rest) == 2 and rest[1].lower() == "options":
        if method != "PUT":
            raise _method_not_allowed()
        items = batch.elements(batch.parse_body(body), "Options")
        return batch.run(ctx, "Options", "HasValidationErrors", items,
                         lambda raw: create_option(ctx, category, raw))
    raise not_found()
