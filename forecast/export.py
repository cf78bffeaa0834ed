"""Exports for reports (.xlsx, .md, .html) and for machines (.csv, .json).

Any table the API returns can be exported; what it carries in ``DataFrame.attrs``
(model id, as-of date, question, evidence used, analysis settings) goes into
the report's header so the report can be cited.  Files are written atomically.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ForecastError
from .yamlio import atomic_write

FORMATS = {".csv": "csv", ".json": "json", ".md": "md", ".html": "html", ".htm": "html", ".xlsx": "xlsx"}
PERCENT_COLUMNS = {"probability", "p05", "p50", "p95", "low", "high", "swing", "delta_probability", "baseline"}


def format_for(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ForecastError(f"{path}: unknown export format '{suffix}'; use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def export(table: pd.DataFrame, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write `table` to `path`, the format chosen by suffix (.csv .xlsx .md .json .html)."""
    if not isinstance(table, pd.DataFrame):
        raise ForecastError(f"export needs a pandas DataFrame from the forecast API, not {type(table).__name__}")
    fmt = fmt or format_for(path)
    if fmt == "xlsx":
        return atomic_write(path, lambda p: write_xlsx(table, p))
    text = render(table, fmt)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def render(table: pd.DataFrame, fmt: str) -> str:
    """The export as text (csv, json, md, html, or a terminal table)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps({"metadata": _jsonable(table.attrs), "rows": _records(table)}, indent=2, ensure_ascii=False)
    if fmt == "md":
        return to_markdown(table)
    if fmt == "html":
        return to_html(table)
    if fmt == "table":
        return to_terminal(table)
    raise ForecastError(f"unknown format '{fmt}'; use table, csv, json, md, html or xlsx")


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dt.date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is pd.NaT:
        return None
    return v


def percent(p: float) -> str:
    if p is None or (isinstance(p, float) and np.isnan(p)):
        return ""
    pct = 100 * float(p)
    if 0 < abs(pct) < 0.1:
        return f"{pct:.2f}%"
    return f"{pct:.1f}%"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Labels instead of ids and percentages instead of fractions, for people."""
    out = table.copy()
    labels = table.attrs.get("labels", {})
    if "node" in out.columns and labels and "label" not in out.columns:
        out.insert(out.columns.get_loc("node") + 1, "label", out["node"].map(lambda n: labels.get(n, n)))
    for col in out.columns:
        if col in PERCENT_COLUMNS and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(percent)
    return out


def header_lines(attrs: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, value) pairs describing where a table came from."""
    rows: list[tuple[str, str]] = []
    for key, label in (
        ("model_title", "Model"),
        ("model_id", "Model id"),
        ("as_of", "As of"),
        ("question", "Question"),
        ("horizon", "Horizon"),
        ("analysis", "Analysis"),
        ("target", "Target"),
        ("settings", "Settings"),
        ("scenario", "Scenario"),
        ("model_hash", "Model file SHA-256"),
    ):
        value = attrs.get(key)
        if value:
            rows.append((label, value if isinstance(value, str) else json.dumps(_jsonable(value))))
    rows.append(("Generated", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")))
    return rows


def evidence_rows(attrs: dict[str, Any]) -> list[dict[str, str]]:
    ev = attrs.get("evidence")
    if isinstance(ev, list):
        return ev
    if isinstance(ev, dict):  # per scenario
        return [{"scenario": name, **row} for name, rows in ev.items() for row in rows]
    return []


def resolution_rows(attrs: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(node, state, text) for node, crit in attrs.get("resolution", {}).items() for state, text in crit.items()]


def to_markdown(table: pd.DataFrame) -> str:
    attrs = table.attrs
    lines = [f"# {attrs.get('model_title', 'Forecast')}", ""]
    lines += [f"- **{k}:** {v}" for k, v in header_lines(attrs)]
    res = resolution_rows(attrs)
    if res:
        lines += ["", "## Resolution criteria", ""]
        lines += [f"- `{n}` = `{s}`: {t}" for n, s, t in res]
    ev = evidence_rows(attrs)
    lines += ["", "## Evidence used", ""]
    lines += [pd.DataFrame(ev).to_markdown(index=False)] if ev else ["None (the model's own beliefs)."]
    lines += ["", "## Results", "", display_table(table).to_markdown(index=False), ""]
    return "\n".join(lines)


def to_terminal(table: pd.DataFrame) -> str:
    from tabulate import tabulate

    shown = display_table(table).drop(columns=["label"], errors="ignore")
    return tabulate(shown.to_dict(orient="list"), headers="keys", tablefmt="simple", disable_numparse=True)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde2ea;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #eef1f5;text-align:left}
th{background:#f5f7fa}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
.bar{background:#e8edf5;height:.8rem;width:160px;display:inline-block;vertical-align:middle;margin-right:.4rem}
.bar span{display:block;height:100%;background:#3567b5}
"""


def to_html(table: pd.DataFrame, extra_sections: list[tuple[str, str]] | None = None) -> str:
    """A self-contained HTML report (no scripts, no external resources)."""
    attrs = table.attrs
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(str(attrs.get('model_title', 'Forecast report')))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(str(attrs.get('model_title', 'Forecast report')))}</h1><dl>",
    ]
    parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in header_lines(attrs)]
    parts.append("</dl>")
    res = resolution_rows(attrs)
    if res:
        parts.append("<h2>Resolution criteria</h2><ul>")
        parts += [f"<li><code>{esc(n)}</code> = <code>{esc(s)}</code>: {esc(t)}</li>" for n, s, t in res]
        parts.append("</ul>")
    ev = evidence_rows(attrs)
    parts.append("<h2>Evidence used</h2>")
    parts.append(pd.DataFrame(ev).to_html(index=False, escape=True, border=0) if ev else "<p>None (the model's own beliefs).</p>")
    parts.append("<h2>Results</h2>")
    parts.append(_html_results(table))
    for title, body in extra_sections or []:
        parts.append(f"<h2>{esc(title)}</h2>{body}")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_results(table: pd.DataFrame) -> str:
    shown = display_table(table)
    if "probability" in table.columns:
        bars = [
            f"<span class='bar'><span style='width:{max(0.0, min(1.0, float(p))) * 100:.1f}%'></span></span>{html.escape(percent(p))}"
            for p in table["probability"]
        ]
        shown = shown.copy()
        shown["probability"] = bars
        return shown.to_html(index=False, escape=False, border=0, formatters={c: html.escape for c in shown.columns if c != "probability"})
    return shown.to_html(index=False, escape=True, border=0)


def write_xlsx(table: pd.DataFrame, path: Path) -> None:
    """A readable sheet (header, labels, percentages, words), the raw data, and the evidence."""
    from openpyxl.styles import Alignment, Font

    attrs = table.attrs
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        header = pd.DataFrame(header_lines(attrs), columns=["Field", "Value"])
        header.to_excel(writer, sheet_name="Report", index=False, startrow=0)
        start = len(header) + 2
        shown = display_table(table)
        shown.to_excel(writer, sheet_name="Report", index=False, startrow=start)
        sheet = writer.sheets["Report"]
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 60
        for col in "CDEFGH":
            sheet.column_dimensions[col].width = 22
        for cell in sheet[start + 1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=1, max_row=len(header) + 1):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        table.to_excel(writer, sheet_name="Data", index=False)
        pd.DataFrame(evidence_rows(attrs) or [{"kind": "none"}]).to_excel(writer, sheet_name="Evidence", index=False)
        res = resolution_rows(attrs)
        if res:
            pd.DataFrame(res, columns=["node", "state", "criterion"]).to_excel(writer, sheet_name="Resolution", index=False)
