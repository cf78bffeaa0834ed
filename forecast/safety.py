"""Text that leaves the program safely: spreadsheet cells and Markdown.

One implementation for every CSV and XLSX writer in the project (table exports,
reports, the journal's ``history --format csv``): a text cell that a spreadsheet
would read as a formula is neutralised as OWASP's CSV-injection guidance says,
by prefixing a single quote; numbers, dates and booleans stay what they are.
Markdown output escapes HTML and table syntax, so model text stays text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: characters a spreadsheet may evaluate


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet may hold it: formula-like text gets a leading quote.

    Only text is changed; numbers (a negative number stays a number), dates,
    booleans and missing values pass through untouched.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` with every text cell and column name made safe for spreadsheets."""
    out = table.copy()
    for col in out.columns:
        if not (
            pd.api.types.is_numeric_dtype(out[col])
            or pd.api.types.is_datetime64_any_dtype(out[col])
        ):
            out[col] = out[col].astype(object).map(safe_cell)
    out.columns = [safe_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_row(values: list[Any]) -> list[Any]:
    """One row of cells for a CSV or XLSX writer that writes rows itself."""
    return [safe_cell(v) for v in values]


def md_text(value: Any) -> str:
    """Model text for Markdown: HTML and Markdown syntax (including `|`) escaped, one line.

    `<` and `>` become entities and an `&` that could start one becomes `&amp;`,
    so no tag or entity survives; the other specials are backslash-escaped, so
    links, images and tables cannot be formed.
    """
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = " ".join(str(value).split())
    text = re.sub(r"&(?=[A-Za-z#])", "&amp;", text)  # no entity survives; a lone '&' is harmless
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*\[\]|#!])", r"\\\1", text)
    # '_' inside a word (an id such as us_russia_detente) never starts emphasis; elsewhere it may
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def md_table(rows: list[list[Any]], headers: list[str]) -> str:
    """A Markdown table whose every cell is escaped with `md_text`."""
    lines = [
        "| " + " | ".join(md_text(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
