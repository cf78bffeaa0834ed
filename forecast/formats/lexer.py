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
# the same, with '=' as punctuation (Hugin NET, GeNIe DSL, Netica DNE: never part of a name there)
_TOKEN_EQ = re.compile(
    r"""(?:[\s,]+|//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)
    |("(?:[^"\\]|\\[\s\S])*"
    |[{}()\[\];|=]
    |(?:[^\s{}()\[\];,|="/]|/(?![/*]))(?:[^\s{}()\[\];,|=/]|/(?![/*]))*
    |[\s\S])""",
    re.VERBOSE,
)
PUNCTUATION = frozenset("{}()[];|=")


class Tokens:
    """A token list with a cursor; strings keep their quotes so the parser can tell them apart."""

    def __init__(
        self, text: str, where: str, hash_comments: bool = False, equals: bool = False
    ) -> None:
        self.where = where
        if hash_comments:  # Hugin NET: '%' starts a comment outside strings
            text = _strip_percent_comments(text)
        toks = [t for t in (_TOKEN_EQ if equals else _TOKEN).findall(text) if t]
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


# ---------------------------------------------------------------- generic blocks

Value = str | list[str] | list["Entry"]
Entry = tuple[str, str | list[str] | None, Value]


def entries(t: Tokens, inside: bool = False) -> list[Entry]:
    """`KEY = value ;`, `KEY NAME { ... }`, `KEY { ... }`, `KEY ( header ) { ... }` up to the end
    (or, when `inside`, up to the '}' closing the block just opened).

    A value is a word or string, a parenthesised list (flattened: nested parentheses
    are only grouping in these formats), a block, or `WORD { ... }` (Netica's fonts).
    Iterative, with an explicit stack: nesting depth costs no recursion.
    """
    root: list[Entry] = []
    stack: list[list[Entry]] = [root]
    while True:
        if t.done:
            if len(stack) == 1 and not inside:
                return root
            raise t.error("the file ends inside a block (a '}' is missing; truncated?)")
        tok = t.next()
        if tok == "}":
            if len(stack) == 1:
                if inside:
                    return root
                raise t.error("a '}' closes no block")
            stack.pop()
            t.accept(";")
            continue
        if tok == ";":
            continue
        if tok in PUNCTUATION:
            raise t.error(f"unexpected {show(tok)}")
        key = unquote(tok)
        nxt = t.peek()
        here = stack[-1]
        if nxt == "=":
            t.next()
            v = t.next(f"a value for '{key}'")
            if v == "(":
                here.append((key, None, flat(t)))
                t.accept(";")
            elif v == "{":
                block: list[Entry] = []
                here.append((key, None, block))
                stack.append(block)
            elif v in PUNCTUATION:
                raise t.error(f"'{key} =' is followed by {show(v)}")
            elif t.peek() == "{":
                t.next()
                block = []
                here.append((key, v, block))
                stack.append(block)
            else:
                here.append((key, None, v))
                t.accept(";")
        elif nxt == "{":
            t.next()
            block = []
            here.append((key, None, block))
            stack.append(block)
        elif nxt == "(":
            t.next()
            header = flat(t)
            t.expect("{", f" after '{key} (...)'")
            block = []
            here.append((key, header, block))
            stack.append(block)
        else:
            name = t.name(f"a name after '{key}'")
            if name in ("node", "decision", "utility", "function") and t.peek() not in ("{", "="):
                key, name = f"{key} {name}", t.name(f"a name after '{key} {name}'")
            t.expect("{", f" after '{key} {name}'")
            block = []
            here.append((key, name, block))
            stack.append(block)


def flat(t: Tokens) -> list[str]:
    """The tokens up to the ')' matching one just consumed, without the inner parentheses."""
    out: list[str] = []
    depth = 1
    toks, i, n = t.toks, t.i, len(t.toks)
    while i < n:
        tok = toks[i]
        i += 1
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                t.i = i
                return out
        else:
            out.append(tok)
    raise t.error("the file ends inside a '(' list (a ')' is missing; truncated?)")


def get(block: list[Entry], key: str, default: Value | None = None) -> Value | None:
    """The last value given for `key` (case-insensitive), or `default`."""
    k = key.lower()
    for e in reversed(block):
        if e[0].lower() == k:
            return e[2]
    return default


def text_of(value: Value | None) -> str:
    if isinstance(value, str):
        return unquote(value)
    return ""


def words_of(value: Value | None) -> list[str]:
    if isinstance(value, list):
        return [unquote(w) for w in value if isinstance(w, str)]
    if isinstance(value, str):
        return [unquote(value)]
    return []


def block_of(value: Value | None) -> list[Entry]:
    if isinstance(value, list) and all(isinstance(e, tuple) for e in value):
        return value  # type: ignore[return-value]
    return []


def top_block(text: str, where: str, keyword: str, fmt: str) -> tuple[str, list[Entry]]:
    """The name and body of the one ``keyword NAME { ... }`` block a file of `fmt` consists of.

    GeNIe's DSL (``net``) and Netica's DNE (``bnet``) share this outer shape; a
    file with none or several such blocks is not of that format.
    """
    nets = [e for e in entries(Tokens(text, where, equals=True)) if e[0].lower() == keyword]
    if len(nets) != 1 or not isinstance(nets[0][1], str):
        raise ModelError(f"{where}: not a {fmt} file (no '{keyword} NAME {{ ... }}')")
    _, name, body = nets[0]
    return str(name), block_of(body)
