"""`xsync resolve`: a value of one's own, all at once, and applied at once."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import World

FLAG = '[sync.policies]\ntax_type = "xero"\naccount_code = "xero"\ndescription = "flag"\n' \
       'reference = "flag"\n'


def _conflicting_edits(world: World, number: str) -> str:
    invoice = world.xero.invoice(number)
    world.xero.edit_first_line(invoice, Description="Xero wording", other={"Reference": "Xero ref"})
    row = world.ops.one("SELECT * FROM invoices WHERE number = ?", [number])
    line = world.ops.rows("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
                          [row["id"]])[0]
    world.ops.execute("UPDATE invoice_lines SET description = 'Ops wording' WHERE id = ?",
                      [line["id"]])
    world.ops.execute("UPDATE invoices SET reference = 'Ops ref', updated_at = "
                      "'2026-11-24T10:30:00Z' WHERE id = ?", [row["id"]])
    return str(line["id"])


def test_resolve_with_values_of_ones_own_applied_at_once(world: World) -> None:
    world.configure(FLAG)
    assert world.run("sync").code == 0
    line_id = _conflicting_edits(world, "INV-0010")
    assert world.run("sync").code == 3
    listing = json.loads(world.run("resolve", "--json").out)
    assert sorted(c["field"].rsplit(".", 1)[-1] for c in listing) == ["description", "reference"]
    result = world.run("resolve", str(listing[0]["id"]), "--field", "description=Agreed wording",
                       "--field", "reference=xero", "--apply")
    assert result.code == 0, result.out + result.err
    xero = world.xero.invoice("INV-0010")
    assert (xero["LineItems"][0]["Description"], xero["Reference"]) == ("Agreed wording",
                                                                       "Xero ref")
    line = world.ops.one("SELECT * FROM invoice_lines WHERE id = ?", [line_id])
    assert line["description"] == "Agreed wording"
    assert world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0010'")["reference"] == \
        "Xero ref"
    assert json.loads(world.run("resolve", "--json").out) == []


def test_resolve_all_take_xero(world: World) -> None:
    world.configure(FLAG)
    assert world.run("sync").code == 0
    _conflicting_edits(world, "INV-0010")
    assert world.run("sync").code == 3
    assert world.run("resolve", "--all", "--take", "xero").code == 0
    assert world.run("sync").code == 0
    row = world.ops.one("SELECT * FROM invoices WHERE number = 'INV-0010'")
    assert row["reference"] == "Xero ref"
    final = json.loads(world.run("diff", "--json").out)
    assert final["actions"] == [] and final["conflicts"] == []


def test_resolve_names_an_unknown_conflict(world: World) -> None:
    assert world.run("sync").code == 0
    result = world.run("resolve", "999", "--take", "ops")
    assert result.code == 2
    assert "999" in result.err and "xsync resolve" in result.err


def test_resolve_in_a_terminal_asks_for_each_conflict(world: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    import xsync.cli.resolve as resolve_cli

    world.configure(FLAG)
    assert world.run("sync").code == 0
    _conflicting_edits(world, "INV-0010")
    assert world.run("sync").code == 3
    order = [c["field"].rsplit(".", 1)[-1] for c in json.loads(world.run("resolve", "--json").out)]
    assert sorted(order) == ["description", "reference"]
    answers = iter(["v", "Typed at the prompt", "x"])  # first: own value; second: Xero's
    screen = io.StringIO()
    monkeypatch.setattr(resolve_cli.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(resolve_cli, "console", Console(file=screen, force_terminal=True,
                                                        width=200))
    monkeypatch.setattr(resolve_cli.typer, "prompt", lambda *a, **k: next(answers))
    assert world.run("resolve").code == 0
    assert "Typed at the prompt" in screen.getvalue()
    assert world.run("sync").code == 0
    xero = world.xero.invoice("INV-0010")
    got = {"description": xero["LineItems"][0]["Description"], "reference": xero["Reference"]}
    assert got[order[0]] == "Typed at the prompt"
    assert got[order[1]] == {"description": "Xero wording", "reference": "Xero ref"}[order[1]]
