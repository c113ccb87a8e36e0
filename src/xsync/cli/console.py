"""The injected rich consoles: commands print through these so tests can capture output.

Width, the first that applies: `xsync --width N`, then `COLUMNS` (read when printing, not when
xsync started), then the terminal's width; output read by a program (a pipe, a file, cron's
mail) has no edge to fold at, and is printed at its full width.

Text for a person (a terminal, or `--width`) is wrapped at spaces. Tables are never folded
inside a word: when a table is wider than the width, its columns are
narrowed only down to their longest word (`first-sync:match-by-abn` stays whole), and when even
that does not fit, each row is printed as a block of `column: value` lines instead.
"""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console, ConsoleDimensions, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# At rich's default of 80 columns a piped table cell such as `first-sync:match-by-abn` came out
# split in two, and `grep` no longer found it. Tables take only the width their content needs,
# so this is a limit that is never reached in practice, not a width that is filled.
PIPE_WIDTH = 10_000
MIN_WIDTH = 20


class XsyncConsole(Console):
    """A console that folds at the chosen or the terminal's width, not at all into a pipe, and
    never inside a word of a table."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # rich reads COLUMNS once, here; xsync reads it when printing (see `size`)
        self._width = None
        self._height = None
        self.forced_width: int | None = None

    @property
    def size(self) -> ConsoleDimensions:
        height = super().size.height
        if self.forced_width:
            return ConsoleDimensions(self.forced_width, height)
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return ConsoleDimensions(int(columns), height)
        if not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, height)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width = width
        self._height = height

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if "soft_wrap" not in kwargs and (self.forced_width or self.is_terminal) \
                and not any(isinstance(o, Table) for o in objects):
            # a person reads it: text is wrapped at its spaces here, not cut by the terminal
            # (a table lays itself out, below)
            kwargs["soft_wrap"] = False
        width = kwargs.get("width") or self.size.width
        super().print(*(fit_table(self, o, width) if isinstance(o, Table) else o
                        for o in objects), **kwargs)


def set_width(width: int | None) -> None:
    """`xsync --width N`: print at N columns whatever the terminal (None: as usual)."""
    for each in (console, err_console):
        each.forced_width = width


def fit_table(target: Console, table: Table, width: int) -> RenderableType:
    """The table as it fits in ``width`` without folding a word: as it is when it fits; with
    each column at least as wide as its longest word when that fits; else row by row."""
    columns = table.columns
    if not columns or any(c.width is not None for c in columns):
        return table  # its widths were chosen by whoever made it
    options = target.options.update_width(PIPE_WIDTH)
    lows: list[int] = []
    highs: list[int] = []
    pads: list[int] = []
    for index, column in enumerate(columns):
        measured = [Measurement.get(target, options, cell)
                    for cell in (column.header, *column.cells)]
        lows.append(max((m.minimum for m in measured), default=1))
        highs.append(max((m.maximum for m in measured), default=1))
        pads.append(table._get_padding_width(index))
    frame = table._extra_width + sum(pads)
    if sum(highs) + frame <= width:
        return table
    if sum(lows) + frame > width:
        return _rows_as_blocks(target, table)
    widths = _share(lows, highs, width - frame - sum(lows))
    for column, chosen in zip(columns, widths, strict=True):
        column.width = chosen
    return table


def _share(lows: list[int], highs: list[int], spare: int) -> list[int]:
    """Column widths from their least (longest word) and full widths and the space to spare:
    a column that needs no more than an even share is made whole (an id, a date, a rule), and
    the longer texts share the rest in proportion to what each lacks, wrapped at their spaces."""
    widths = list(lows)
    pending = sorted(range(len(widths)), key=lambda i: highs[i] - lows[i])
    while pending and highs[pending[0]] - widths[pending[0]] <= spare // len(pending):
        index = pending.pop(0)
        spare -= highs[index] - widths[index]
        widths[index] = highs[index]
    lacking = sum(highs[i] - widths[i] for i in pending)
    if pending and lacking:
        given = {i: spare * (highs[i] - widths[i]) // lacking for i in pending}
        left = spare - sum(given.values())
        for i in sorted(pending, key=lambda i: highs[i] - widths[i], reverse=True)[:left]:
            given[i] += 1
        for i, extra in given.items():
            widths[i] = min(highs[i], widths[i] + extra)
    return widths


def _rows_as_blocks(target: Console, table: Table) -> RenderableType:
    """Each row as `column: value` lines, a blank line between rows, under the title."""
    def text(cell: Any) -> Text:
        if isinstance(cell, Text):
            return cell
        return target.render_str(str(cell)) if isinstance(cell, str) else Text(str(cell))

    parts: list[RenderableType] = []
    if table.title:
        parts.append(text(table.title))
    headers = [text(c.header).plain for c in table.columns]
    for row in zip(*(list(c.cells) for c in table.columns), strict=True):
        # wrapped at the width, at spaces, even on a console that leaves text to the terminal
        block = Text(no_wrap=False, overflow="fold")
        for header, cell in zip(headers, row, strict=True):
            value = text(cell)
            if not value.plain:
                continue
            if block:
                block.append("\n")
            block.append(f"{header}: ")
            block.append_text(value)
        parts.append(block)
        parts.append(Text(""))
    return Group(*parts)


# emoji off: a `:name:` inside a record's text is printed as written, not replaced by a symbol
console = XsyncConsole(highlight=False, soft_wrap=True, emoji=False)
err_console = XsyncConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
