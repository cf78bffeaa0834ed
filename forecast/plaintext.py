"""Untrusted text shown as text: escaping for Markdown surfaces (the app's st.markdown, captions, labels).

Why: labels, descriptions, rationales, questions and scenario descriptions come
from files anyone can send.  Rendered as Markdown, ``![x](http://host/b.png)``
makes every reader's browser fetch that URL (a beacon), ``<img src=...>`` and
links do the same or worse, and Streamlit's own extensions (``:red[...]``,
``:material/icon:``, ``$math$``) change what is shown.  Escaping every ASCII
punctuation character with a backslash (CommonMark allows it for all of them)
leaves nothing for the renderer to interpret, and the reader sees the text as
written.
"""

from __future__ import annotations

import re
from typing import Any

# What Markdown (CommonMark + GFM + Streamlit's extensions) would interpret: emphasis, code,
# links and images, raw HTML, headings, tables, strike-through, math; a colon before a letter
# (":red[...]", ":material/icon:"), an ampersand that starts an entity; other punctuation is
# left alone so that ordinary sentences ("Will it happen by 2020?") read the same.
_SPECIAL = re.compile(
    r"([\\`*\[\]<>!#|~$^]|:(?=[A-Za-z])|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_]))"
)  # an underscore inside a word (my_view) cannot make emphasis, so it is left alone
_MARKER = re.compile(r"^([-+])(?=\s|$)|^([-=])(?=[-=\s]*$)")  # a list item; a rule or underline
_NUMBERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")  # an ordered list item ("56.2%" is not)
_SPACE = re.compile(r"\s+")


def _escape_line(line: str) -> str:
    line = _SPECIAL.sub(r"\\\1", line.strip())
    line = _MARKER.sub(lambda m: "\\" + m.group(0), line)
    return _NUMBERED.sub(r"\1\\\2", line)


def md(text: Any) -> str:
    """`text` escaped for a Markdown block: shown literally, paragraphs kept."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    # stripping each line: leading spaces would make a code block
    return "\n".join(_escape_line(line) for line in s.split("\n"))


def md_inline(text: Any) -> str:
    """`text` escaped for one line of Markdown (a label, a caption, a list item): whitespace collapsed."""
    s = "" if text is None else str(text)
    return _escape_line(_SPACE.sub(" ", s))


# HTML's and Markdown's punctuation (and line breaks, whose blank lines would end an HTML
# block) as character references, in one pass: the browser shows the characters, Markdown
# reads them as text.
_HTML_MARKDOWN = {ord(c): f"&#{ord(c)};" for c in "'\\`*_[]()!#|~$^:{}\n\r"} | {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
}


def html_text(text: Any) -> str:
    """`text` escaped for HTML that a Markdown renderer with raw HTML (React Flow's nodes) reads."""
    s = "" if text is None else str(text)
    return s.translate(_HTML_MARKDOWN)


def md_frame(table: Any) -> Any:
    """A copy of a DataFrame for ``st.table``, which renders every text cell, label and header as Markdown."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith(("str", "string")):
            out[column] = [md_inline(v) if isinstance(v, str) else v for v in out[column]]
    out.index = [md_inline(v) if isinstance(v, str) else v for v in out.index]
    out.index.name = md_inline(table.index.name) if isinstance(table.index.name, str) else None
    out.columns = [md_inline(c) if isinstance(c, str) else c for c in out.columns]
    return out
