"""Chinese text in the command line's tables: wrapped the way Chinese is set, never cut.

rich breaks lines only at spaces, so a message such as “该行应得 10 分，总分将为 99.5（优秀）” in a
narrow column breaks at its few spaces (“…该行应得 10” / “分，总分将为” / “99.5（优秀）…”),
leaving half-empty lines, and a project name without spaces is cut with “…”. `Wrapped` breaks
between any two Chinese characters as Chinese typesetting does, keeps runs of Latin letters and
digits whole (“100.00%”、“remove-project”、“(7)”), never starts a line with closing punctuation
(，。、）”…) nor ends one with opening punctuation (（“…), and folds only a run longer than the
whole column.
"""
from __future__ import annotations

import re
from typing import Iterable

from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text

# Never at the start of a line (they close what came before) …
NO_START = set("，。、；：？！）》」』】〕〉”’…%‰·．,.;:?!)]}～—-/")
# … and never at the end of one (they open what comes after).
NO_END = set("（《「『【〔〈“‘([{")

_UNIT = re.compile(r"\s+|[!-~]+|.", re.S)  # a run of spaces, a run of printable ASCII, or one character
_NUMBER = re.compile(r"[-+]?[0-9][0-9.,]*%?")


def units(line: str) -> list[str]:
    """The pieces of line no line may break inside, in order; a piece ending in a space is followed by one.

    A break comes only between two pieces, and a space there is dropped."""
    pieces: list[str] = []
    space = False
    for m in _UNIT.finditer(line):
        text = m.group(0)
        if text.isspace():
            space = bool(pieces)
            continue
        previous = pieces[-1].rstrip(" ") if pieces else ""
        glued = previous and (
            (not space and (text[0] in NO_START or previous[-1] in NO_END))
            or (space and _NUMBER.fullmatch(previous.split(" ")[-1]) and not text.isascii()))  # 10 分 stays whole
        if glued:
            pieces[-1] = previous + (" " if space else "") + text
        else:
            if space:
                pieces[-1] += " "
            pieces.append(text)
        space = False
    if space:
        pieces[-1] += " "
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """text in lines of at most width cells (a line break in text is kept)."""
    width = max(width, 2)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for piece in units(paragraph):
            body = piece.rstrip(" ")
            if cell_len(line + body) <= width:
                line += piece
                continue
            if line.strip():
                lines.append(line.rstrip(" "))
            while cell_len(body) > width:  # longer than the whole column: folded, nothing cut
                head = chop_cells(body, width)[0]
                lines.append(head)
                body = body[len(head):]
            line = body + piece[len(piece.rstrip(" ")):]
        lines.append(line.rstrip(" "))
    return lines


class Wrapped:
    """A table cell's text (plain, or with one style) wrapped by `wrap` to the column's width."""

    def __init__(self, text: str, style: str | Style = ""):
        self.text = "" if text is None else str(text)
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        paragraphs = self.text.split("\n")
        widest_unit = max((cell_len(p.rstrip(" ")) for para in paragraphs for p in units(para)), default=0)
        widest_line = max((cell_len(para) for para in paragraphs), default=0)
        # A column narrower than the widest unit still folds it rather than cut it; ask for at most 12 cells.
        return Measurement(min(widest_unit, 12, widest_line), widest_line).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text("\n".join(wrap(self.text, options.max_width)), style=self.style, no_wrap=True, overflow="ignore")


def wrapped(values: Iterable) -> list:
    """Each plain string as `Wrapped`; anything else (a styled Text, a number) as it is."""
    return [Wrapped(v) if isinstance(v, str) else (Wrapped(v.plain, v.style) if isinstance(v, Text) and not v.spans
                                                      else v) for v in values]
