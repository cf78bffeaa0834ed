"""One linear-time tokenizer for the brace-and-semicolon formats (BIF, Hugin NET, GeNIe DSL, Netica DNE).

Why our own: the model files come from users, so the scanner must not backtrack
(every alternative below consumes each character at most once) and must not
recurse (nesting is tracked by the parsers with counters).  One C-level
`findall` does the scanning; Python only walks the resulting list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import ModelError

# skipped (whitespace, commas: every format here uses them only as separators; comments) | kept: string | punctuation | word | any other single character.
# findall returns the group: '' for what is skipped.
_TOKEN = re.compile(
    r"""(?:[\s,]+|//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)
    |("(?:[^"\\]|\\[\s\S])*"
    |[{}()\[\];|]
    |(?:[^\s{}()\[\];,|"/]|/(?![/*]))(?:[^\s{}()\[\];,|/]|/(?![/*]))*
    |[\s\S])""",
    re.VERBOSE,
)
PUNCTUATION = frozenset("{}()[];|")


class Tokens:
    """A token list with a cursor; strings keep their quotes so the parser can tell them apart."""

    def __init__(self, text: str, where: str, hash_comments: bool = False) -> None:
        self.where = where
        if hash_comments:  # Hugin NET: '%' starts a comment outside strings
            text = _strip_percent_comments(text)
        toks = [t for t in _TOKEN.findall(text) if t]
        if '"' in toks:
            raise ModelError(f"{where}: a quoted name or text is not closed (missing '\"')")
        if "/" in toks:
            j = toks.index("/")
            if j + 1 < len(toks) and toks[j + 1].startswith("*"):
                raise ModelError(f"{where}: a '/*' comment is not closed")
        self.toks = toks
        self.i = 0

    def __len__(self) -> int:
        return len(self.toks)

    @property
    def done(self) -> bool:
        return self.i >= len(self.toks)

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else ""

    def next(self, what: str = "more input") -> str:
        if self.i >= len(self.toks):
            raise self.error(f"the file ends where {what} was expected (truncated?)")
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, value: str, context: str = "") -> None:
        t = self.next(f"'{value}'")
        if t != value:
            raise self.error(f"expected '{value}'{context} but found {show(t)}")

    def accept(self, value: str) -> bool:
        if self.i < len(self.toks) and self.toks[self.i] == value:
            self.i += 1
            return True
        return False

    def name(self, what: str) -> str:
        """A bare word or a quoted string (returned without quotes, as written inside them)."""
        t = self.next(what)
        if t in PUNCTUATION:
            raise self.error(f"expected {what} but found {show(t)}")
        return unquote(t)

    def until(self, stop: str) -> list[str]:
        """Tokens up to (not including) `stop`, which is consumed."""
        try:
            j = self.toks.index(stop, self.i)
        except ValueError:
            raise self.error(f"the file ends before a closing '{stop}' (truncated?)") from None
        out = self.toks[self.i : j]
        self.i = j + 1
        return out

    def skip_block(self, open_: str = "{", close: str = "}") -> None:
        """Skip a balanced block whose opening token was just consumed (a counter, no recursion)."""
        depth = 1
        toks, i, n = self.toks, self.i, len(self.toks)
        while i < n:
            t = toks[i]
            i += 1
            if t == open_:
                depth += 1
            elif t == close:
                depth -= 1
                if depth == 0:
                    self.i = i
                    return
        raise self.error(f"the file ends inside a block (a '{close}' is missing)")

    def error(self, message: str) -> ModelError:
        return ModelError(f"{self.where}: {message}")


def unquote(t: str) -> str:
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        body = t[1:-1]
        return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body
    return t


def show(t: str) -> str:
    if not t:
        return "the end of the file"
    return repr(t if len(t) <= 40 else t[:37] + "...")


def numbers(words: list[str], what: str, where: str) -> list[float]:
    """Words that must all be numbers, in double precision; the first bad one is named."""
    try:
        return [float(w) for w in words]
    except ValueError:
        for w in words:
            try:
                float(w)
            except ValueError:
                raise ModelError(
                    f"{where}: {what} has {show(w)} where a number should be"
                ) from None
        raise  # pragma: no cover


def _strip_percent_comments(text: str) -> str:
    if "%" not in text:
        return text
    return "".join(_percent_parts(text))


def _percent_parts(text: str) -> Iterator[str]:
    for line in text.split("\n"):
        if "%" in line:
            # cut at the first '%' that is outside a string
            inside = False
            for k, ch in enumerate(line):
                if ch == '"':
                    inside = not inside
                elif ch == "%" and not inside:
                    line = line[:k]
                    break
        yield line + "\n"
