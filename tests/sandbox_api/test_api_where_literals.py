r"""`where` string literals as Xero parses them: `""` is a quote, a backslash is just a character.

A client finds a contact named `O"Brien & Co` with `Name=="O""Brien & Co"`, and one named
`C:\books\` with `Name=="C:\books\"`; `\"` escapes nothing and leaves a syntax error.
"""

from __future__ import annotations

import pytest
from api_helpers import Client

from xsync.sandbox.query import QuerySyntaxError, where_predicate

QUOTED = 'O"Brien & Co'
BACKSLASHED = "Back\\Slash Pty"
TRAILING = "C:\\books\\"


def names(client: Client, where: str) -> list[str]:
    res = client.get("/Contacts", where=where)
    assert res.status == 200, res.raw
    return sorted(c["Name"] for c in res.json["Contacts"])


@pytest.fixture
def named(client: Client) -> Client:
    for name in (QUOTED, BACKSLASHED, TRAILING, 'He said "hi"', "OBrien & Co", "Plain Pty"):
        client.contact(name)
    return client


def test_a_doubled_quote_is_one_quote_in_equality(named: Client) -> None:
    assert names(named, 'Name=="O""Brien & Co"') == [QUOTED]
    assert names(named, 'Name=="He said ""hi"""') == ['He said "hi"']


def test_a_doubled_quote_in_contains_and_starts_with(named: Client) -> None:
    assert names(named, 'Name.Contains("""")') == sorted(['He said "hi"', QUOTED])
    assert names(named, 'Name.StartsWith("O""")') == [QUOTED]


def test_a_backslash_is_an_ordinary_character(named: Client) -> None:
    assert names(named, 'Name=="Back\\Slash Pty"') == [BACKSLASHED]
    assert names(named, 'Name.Contains("\\")') == sorted([BACKSLASHED, TRAILING])


def test_a_backslash_before_the_closing_quote_does_not_escape_it(named: Client) -> None:
    assert names(named, 'Name=="C:\\books\\"') == [TRAILING]
    assert names(named, 'Name=="C:\\books\\" OR Name=="Plain Pty"') == sorted(
        [TRAILING, "Plain Pty"])


def test_several_quoted_literals_in_one_clause(named: Client) -> None:
    clause = 'Name=="O""Brien & Co" OR Name=="Back\\Slash Pty" OR Name==""'
    assert names(named, clause) == sorted([QUOTED, BACKSLASHED])


@pytest.mark.parametrize("where", [
    'Name=="O\\"Brien & Co"',  # a backslash does not escape: the literal ends at the quote
    'Name=="O"Brien & Co"',
    'Name=="unterminated',
    'Name=="O""Brien & Co',
])
def test_what_xero_cannot_parse_is_a_query_parse_error(named: Client, where: str) -> None:
    res = named.get("/Contacts", where=where)
    assert res.status == 400
    assert res.json["Type"] == "QueryParseException"
    assert res.json["ErrorNumber"] == 16


def test_the_quoted_contact_is_found_through_the_indexed_path(named: Client) -> None:
    # Equality on Name may be answered from the index; both paths read the literal alike.
    assert names(named, 'Name=="O""Brien & Co" AND ContactStatus=="ACTIVE"') == [QUOTED]
    assert names(named, 'Name!="O""Brien & Co" AND Name.Contains("Brien")') == ["OBrien & Co"]


def test_the_predicate_alone() -> None:
    assert where_predicate('Name=="a""b"')({"Name": 'a"b'})
    assert not where_predicate('Name=="a""b"')({"Name": 'a""b'})
    assert where_predicate('Name=="a\\\\b"')({"Name": "a\\\\b"})  # two backslashes stay two
    assert where_predicate('Name==""""')({"Name": '"'})
    with pytest.raises(QuerySyntaxError):
        where_predicate('Name=="a\\"b"')
