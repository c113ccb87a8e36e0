"""`--json` writes a plan or a run's outcomes one element at a time: the same bytes as the whole
text at once, without ever holding it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from xsync.cli.render import print_json

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


def _written(data: Any) -> str:
    out = io.StringIO()
    print_json(Console(file=out), data)
    return out.getvalue()


def _whole(data: dict[str, Any]) -> str:
    read = {k: list(v) if isinstance(v, Iterator) else v for k, v in data.items()}
    return json.dumps(read, indent=2, ensure_ascii=False, default=str) + "\n"


@given(st.dictionaries(st.text(), st.tuples(VALUES, st.booleans()), max_size=5))
def test_an_object_with_streamed_lists_is_written_as_json_writes_it(
        parts: dict[str, tuple[Any, bool]]) -> None:
    # a value given as an iterator (of a list's elements) is streamed; the rest as they are
    def data() -> dict[str, Any]:
        return {k: iter(v) if lazy and isinstance(v, list) else v
                for k, (v, lazy) in parts.items()}

    written = _written(data())
    assert written == _whole(data())
    assert json.loads(written) == {k: v for k, (v, _) in parts.items()}


def test_a_plan_is_read_element_by_element_as_it_is_written() -> None:
    made: list[int] = []
    out = io.StringIO()

    def steps() -> Iterator[dict[str, Any]]:
        for n in range(3):
            # each element is made only once the one before it is written
            assert out.getvalue().count('"n"') == n
            made.append(n)
            yield {"n": n, "label": "INV-ü"}

    print_json(Console(file=out), {"mode": "pull", "steps": steps(), "none": iter([]),
                                   "exit_code": 0})
    assert made == [0, 1, 2]
    assert json.loads(out.getvalue()) == {"mode": "pull", "none": [], "exit_code": 0,
                                          "steps": [{"n": n, "label": "INV-ü"}
                                                    for n in range(3)]}


def test_the_elements_a_plan_and_a_run_write_most_often_read_as_their_fields() -> None:
    """A field change, a write and a record's outcome, as ``--json`` writes them, hold every
    field of theirs in order (what ``dataclasses.asdict`` gives), without sharing a value
    that the caller could change."""
    from dataclasses import asdict

    from xsync.sync.plan import FieldChange, Outcome, Write

    change = FieldChange("lines.l1.tax_type", "OUTPUT", "EXEMPTOUTPUT", "xero-authority")
    write = Write("ops", "create", {"number": "INV-1", "total": "110.00"},
                  [{"i": 0, "account_code": "200"}, {"i": None, "account_code": "400"}], 7)
    kept = Write("xero", "update", {"reference": None})
    outcome = Outcome("invoices", "J-1", "x1", "INV-1", "create", "xero->ops", "new record")
    for element in (change, write, kept, outcome):
        assert element.to_json() == asdict(element)
        assert list(element.to_json()) == list(asdict(element))
    written = write.to_json()
    written["fields"]["total"] = "0.00"
    written["lines"][0]["account_code"] = "999"
    assert write.fields["total"] == "110.00" and write.lines[0]["account_code"] == "200"
