"""The injected rich consoles: commands print through these so tests can capture output."""

from __future__ import annotations

from rich.console import Console, ConsoleDimensions

# Output read by a program (a pipe, a file, cron's mail) has no edge to fold at: at rich's
# default of 80 columns a table cell such as `first-sync:match-by-abn` came out split in two,
# and `grep` no longer found it. Tables take only the width their content needs, so this is a
# limit that is never reached in practice, not a width that is filled.
PIPE_WIDTH = 10_000


class XsyncConsole(Console):
    """A console that folds at the terminal's width, and not at all when it writes to a pipe
    (unless COLUMNS asks for a width)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal \
                and not self._environ.get("COLUMNS", "").isdigit():
            return ConsoleDimensions(PIPE_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width = width
        self._height = height


# emoji off: a `:name:` inside a record's text is printed as written, not replaced by a symbol
console = XsyncConsole(highlight=False, soft_wrap=True, emoji=False)
err_console = XsyncConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
