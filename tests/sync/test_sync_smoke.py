from syncworld import World


def test_contact_and_invoice_flow_both_ways(world: World) -> None:
    c_ops = world.contact("ops", "Acme Pty Ltd", email="a@acme.test")
    world.invoice("ops", "INV-1", c_ops)
    c_x = world.contact("xero", "Beta Co")
    world.invoice("xero", "INV-2", c_x)
    result = world.sync()
    assert result.rejected == [], result.rejected
    assert result.exit_code == 0
    assert len(world.xero.all("contacts")) == 2
    assert len(world.ops.all("contacts")) == 2
    assert len(world.xero.all("invoices")) == 2
    assert len(world.ops.all("invoices")) == 2
    again = world.engine().plan("sync")
    assert again.actions == [], [a.to_json() for a in again.actions]
