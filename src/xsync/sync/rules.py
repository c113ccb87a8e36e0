"""The sync rules the engine obeys, as plain data.

The CLI fills :class:`Rules` from the workspace settings; the engine never reads configuration
itself. Policies decide a field changed differently on both sides since the last sync:
``xero`` or ``ops`` (that side wins), ``latest`` (the later change time wins; times closer than the
skew tolerance, or unknown, make a conflict) and ``flag`` (never written; a conflict is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from xsync.model.entities import ENTITY_ORDER, spec

Policy = Literal["xero", "ops", "latest", "flag"]
Direction = Literal["both", "pull", "push"]
POLICIES: tuple[str, ...] = ("xero", "ops", "latest", "flag")
# what becomes of the ops twin of a contact found to be another one (merged in Xero, or a
# possible duplicate settled as that Xero contact): "merge" archives it with ``merged_into``
# naming the survivor's twin and re-points its documents; "link" keeps it, active, as another
# ops name of the survivor's Xero contact (its documents are pushed against that contact)
MergedContacts = Literal["merge", "link"]
MERGED_CONTACTS: tuple[str, ...] = ("merge", "link")


@dataclass(frozen=True)
class EntityRules:
    enabled: bool = True
    direction: Direction = "both"
    # an ops document still in draft is not created in Xero
    push_only_when_approved: bool = True
    # an ops document whose total is below this is not created in Xero
    min_total: Decimal | None = None


def _default_policies() -> dict[str, Policy]:
    return {"tax_type": "xero", "account_code": "xero"}


@dataclass(frozen=True)
class Rules:
    default_policy: Policy = "latest"
    # "field" or "entity.field" -> policy; line fields use their own names (tax_type, ...)
    policies: dict[str, Policy] = field(default_factory=_default_policies)
    skew_tolerance_seconds: int = 120
    mass_delete_threshold: int = 20
    entities: dict[str, EntityRules] = field(default_factory=dict)
    merged_contacts: MergedContacts = "merge"

    def __post_init__(self) -> None:
        for key, policy in self.policies.items():
            if policy not in POLICIES:
                raise ValueError(f"policy for {key!r} must be one of {POLICIES}, got {policy!r}")
        if self.default_policy not in POLICIES:
            raise ValueError(f"default policy must be one of {POLICIES}")
        if self.merged_contacts not in MERGED_CONTACTS:
            raise ValueError(f"merged_contacts must be one of {MERGED_CONTACTS}")

    def entity(self, name: str) -> EntityRules:
        """The rules of one entity; its spec's direction when none were given."""
        found = self.entities.get(name)
        if found is not None:
            return found
        return EntityRules(direction=spec(name).direction)

    def policy(self, entity: str, field_name: str) -> Policy:
        """Most specific first: "entity.field", then "field", then the default."""
        bare = field_name.rsplit(".", 1)[-1]
        for key in (f"{entity}.{field_name}", f"{entity}.{bare}", field_name, bare):
            if key in self.policies:
                return self.policies[key]
        return self.default_policy

    def flows(self, entity: str, mode: str) -> tuple[bool, bool]:
        """(may write ops, may write Xero) for ``entity`` in a pull, push or sync run."""
        rules = self.entity(entity)
        if not rules.enabled:
            return False, False
        to_ops = rules.direction in ("both", "pull") and mode in ("pull", "sync")
        to_xero = rules.direction in ("both", "push") and mode in ("push", "sync")
        return to_ops, to_xero


def default_rules() -> Rules:
    """The rules a fresh workspace starts with (every entity at its spec's direction)."""
    return Rules(entities={name: EntityRules(direction=spec(name).direction)
                           for name in ENTITY_ORDER})
