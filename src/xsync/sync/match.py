"""First contact: pairing records that exist on both sides but are not linked yet.

Business keys are tried in order of trust (contacts: ABN, then email, then name; invoices:
number; bills, whose numbers Xero does not keep unique: supplier, number, date and total, then
supplier, number and date), normalised so that case and spacing do not hide a match. Exactly one
candidate on each side links the two; several candidates are an ambiguous match, reported as a
conflict and never guessed, and none of the records involved is created anywhere until it is
settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from xsync.model.entities import EntitySpec, MatchKey
from xsync.model.records import Fields, Record


def normalise(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = "".join(value.split()) if key == "abn" else " ".join(value.split()).casefold()
    return text or None


@dataclass
class Ambiguity:
    ops_ids: list[str]
    xero_ids: list[str]
    key: str
    value: str


@dataclass
class Matches:
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # ops id, xero id, rule
    ambiguous: list[Ambiguity] = field(default_factory=list)
    # records taken by a pair or an ambiguity: never created
    taken_ops: set[str] = field(default_factory=set)
    taken_xero: set[str] = field(default_factory=set)


def key_of(fields: Sequence[str], values: Fields) -> tuple[str | None, ...] | None:
    """The normalised values of ``fields``, or ``None`` when one of them is empty."""
    out = tuple(normalise(name, values.get(name)) for name in fields)
    return None if any(v is None for v in out) else out


def key_fields(key: MatchKey) -> tuple[str, ...]:
    """The fields a business key is made of."""
    return (key,) if isinstance(key, str) else key


def key_name(key: MatchKey) -> str:
    return key if isinstance(key, str) else "+".join(key)


def lookup_fields(spec: EntitySpec) -> list[str]:
    """The single fields a side is asked for, to find candidates for ``spec.match_keys``."""
    out: list[str] = []
    for key in spec.match_keys or ((spec.label,) if spec.label in spec.fields else ()):
        name = key if isinstance(key, str) else ("number" if "number" in key else key[0])
        if name not in out:
            out.append(name)
    return out


def _index(records: Iterable[Record], key: MatchKey, taken: set[str]) -> dict[str, list[str]]:
    names = key_fields(key)
    out: dict[str, list[str]] = {}
    for record in records:
        if record.id in taken:
            continue
        value = key_of(names, record.fields)
        if value:
            out.setdefault("\x1f".join(v or "" for v in value), []).append(record.id)
    return out


def match(spec: EntitySpec, ops: list[Record], xero: list[Record]) -> Matches:
    """Pair unlinked ``ops`` and ``xero`` records by ``spec.match_keys``."""
    found = Matches()
    for key in spec.match_keys:
        ops_index = _index(ops, key, found.taken_ops)
        xero_index = _index(xero, key, found.taken_xero)
        for value, ops_ids in ops_index.items():
            xero_ids = xero_index.get(value)
            if not xero_ids:
                continue
            if len(ops_ids) == 1 and len(xero_ids) == 1:
                found.pairs.append((ops_ids[0], xero_ids[0],
                                    f"first-sync:match-by-{key_name(key)}"))
            else:
                found.ambiguous.append(Ambiguity(ops_ids, xero_ids, key_name(key),
                                                 value.replace("\x1f", " / ")))
            found.taken_ops.update(ops_ids)
            found.taken_xero.update(xero_ids)
    return found
