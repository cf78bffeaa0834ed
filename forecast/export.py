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
    if v is pd.NaT or v is None:  # NaT passes for a date; it must become null, never "NaT"
        return None
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
    percent_columns = PERCENT_COLUMNS | set(table.attrs.get("percent_columns", ()))
    for col in out.columns:
        if col in percent_columns and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(percent)
    for col, digits in table.attrs.get("decimals", {}).items():  # e.g. bits, log-odds
        if col in out.columns and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(lambda x, d=int(digits): f"{x:.{d}f}")
    for col in out.columns:  # an undated row shows a blank, not "None"
        if not pd.api.types.is_numeric_dtype(out[col]) and out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), "")
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
        ("summary", "Summary"),
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
    for title, body in analysis_sections(table, include_table=False) + list(extra_sections or []):
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
        return shown.to_html(index=False, escape=False, border=0, formatters={c: _html_cell for c in shown.columns if c != "probability"})
    return shown.to_html(index=False, escape=True, border=0)


def _html_cell(value: Any) -> str:
    """Escaped cell text for any value (dates, numbers); missing values are blank."""
    if value is None or value is pd.NaT or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value))


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


# ---------------------------------------------------------------- analysis charts (inline SVG, no scripts)

_BLUE, _UP, _DOWN, _GREY, _DARK = "#3567b5", "#2e8b57", "#c0392b", "#9aa5b1", "#1d2430"
REPORT_ROWS = 25  # rows of an analysis table shown in an HTML report (exports hold them all)


def _svg_bars(
    rows: list[tuple[str, float, float, str, str, list[float]]],
    lo: float,
    hi: float,
    marks: list[tuple[float, str]] | None = None,
    caption: str = "",
) -> str:
    """Horizontal range bars: rows of (label, start, end, text, colour, ticks) on the scale [lo, hi]."""
    esc = html.escape
    label_w, bar_w, text_w, row_h = 360, 380, 170, 22
    width, height = label_w + bar_w + text_w, row_h * len(rows) + 30
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_w + (min(max(float(v), lo), hi) - lo) / span * bar_w

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{esc(caption)}' font-family='system-ui,sans-serif' font-size='12'>"
    ]
    for i, (label, a, b, text, colour, ticks) in enumerate(rows):
        y = i * row_h + 4
        short = _clip(label, 52)
        out.append(f"<text x='{label_w - 8}' y='{y + 14}' text-anchor='end'><title>{esc(label)}</title>{esc(short)}</text>")
        x0, x1 = sorted((x(a), x(b)))
        out.append(f"<rect x='{x0:.1f}' y='{y + 2}' width='{max(x1 - x0, 1.5):.1f}' height='{row_h - 8}' fill='{colour}'/>")
        for t in ticks:
            out.append(f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{y}' y2='{y + row_h - 4}' stroke='{_DARK}' stroke-width='2'/>")
        out.append(f"<text x='{label_w + bar_w + 8}' y='{y + 14}'>{esc(text)}</text>")
    bottom = row_h * len(rows) + 4
    for value, name in marks or []:
        out.append(
            f"<line x1='{x(value):.1f}' x2='{x(value):.1f}' y1='0' y2='{bottom}' stroke='{_DARK}' stroke-dasharray='4 3'/>"
            f"<text x='{x(value):.1f}' y='{bottom + 20}' text-anchor='middle'>{esc(name)}</text>"
        )
    out.append(f"<line x1='{label_w}' x2='{label_w + bar_w}' y1='{bottom}' y2='{bottom}' stroke='{_GREY}'/>")
    for value in (lo, hi):
        anchor = "start" if value == lo else "end"
        out.append(f"<text x='{x(value):.1f}' y='{bottom + 12}' text-anchor='{anchor}' fill='#5a6472'>{esc(_axis(value, caption))}</text>")
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _axis(value: float, caption: str) -> str:
    return f"{value:.3g} bits" if "bits" in caption else percent(value)


def _zoom(values: list[float], pad: float = 0.02) -> tuple[float, float]:
    lo, hi = max(0.0, min(values) - pad), min(1.0, max(values) + pad)
    return (lo, hi) if hi > lo else (0.0, 1.0)


def _chart(table: pd.DataFrame) -> str:
    """The chart of one analysis table (by attrs['analysis_kind']); '' for other tables."""
    kind = table.attrs.get("analysis_kind")
    labels = table.attrs.get("labels", {})
    name = lambda n: labels.get(n, n)  # noqa: E731
    if table.empty:
        return ""
    if kind == "sensitivity":
        top = table.head(20)
        base = float(table.attrs.get("baseline", top["baseline"].iloc[0]))
        rows = [(name(r.node), r.low, r.high, f"{percent(r.low)} – {percent(r.high)}", _BLUE, []) for r in top.itertuples()]
        lo, hi = _zoom([*top["low"], *top["high"], base])
        return _svg_bars(rows, lo, hi, [(base, f"now {percent(base)}")], "tornado")
    if kind == "parameter_sensitivity":
        top = table.head(20)
        base = float(top["base"].iloc[0])
        rows = [
            (f"{_clip(name(r.node), 24)} [{', '.join(x.split('=', 1)[-1] for x in r.parent_states.split(', '))}]: {r.state}"
             if r.parent_states else f"{_clip(name(r.node), 30)}: {r.state}",
             min(r.minus, r.plus), max(r.minus, r.plus), f"{percent(r.minus)} / {percent(r.plus)}", _BLUE, [])
            for r in top.itertuples()
        ]
        lo, hi = _zoom([*top["minus"], *top["plus"], base])
        return _svg_bars(rows, lo, hi, [(base, f"now {percent(base)}")], "parameter tornado")
    if kind == "indicators":
        top = table.drop_duplicates("node").head(20)
        rows = [(name(r.node), 0.0, r.mutual_information_bits, f"{r.mutual_information_bits:.3f} bits", _BLUE, [])
                for r in top.itertuples()]
        return _svg_bars(rows, 0.0, float(top["mutual_information_bits"].max()) or 1.0, None, "bits")
    if kind == "explain":
        top = table.head(30)
        m = float(top["delta_probability"].abs().max()) or 0.01
        rows = [(f"{r.item}: {r.title}", 0.0, r.delta_probability, f"{100 * r.delta_probability:+.1f} pts",
                 _UP if r.delta_probability >= 0 else _DOWN, []) for r in top.itertuples()]
        return _svg_bars(rows, -m * 1.1, m * 1.1, [(0.0, "")], "evidence impact")
    if kind == "explain_sequence":
        cum = [float(c) for c in table["cumulative_probability"]]
        rows = [(f"{table['item'].iloc[0]}", 0.0, cum[0], percent(cum[0]), _GREY, [])]
        for i in range(1, len(cum)):
            d = cum[i] - cum[i - 1]
            rows.append((f"{table['item'].iloc[i]}: {table['title'].iloc[i]}", cum[i - 1], cum[i],
                         f"{percent(cum[i])} ({100 * d:+.1f} pts)", _UP if d >= 0 else _DOWN, []))
        rows.append(("all evidence", 0.0, cum[-1], percent(cum[-1]), _DARK, []))
        pad = max(0.02, 0.15 * (max(cum) - min(cum)))  # zoomed, so small moves show; the axis says where
        return _svg_bars(rows, max(0.0, min(cum) - pad), min(1.0, max(cum) + pad), None, "waterfall")
    if kind == "uncertainty":
        rows = [(f"{_clip(name(r.node), 30)}: {r.state}", r.p05, r.p95, f"{percent(r.probability)} ({percent(r.p05)}–{percent(r.p95)})",
                 "#b8c9e8", [r.p50]) for r in table.itertuples()]
        return _svg_bars(rows, 0.0, 1.0, None, "90% intervals; tick: median")
    return ""


def analysis_sections(table: pd.DataFrame, include_table: bool = True) -> list[tuple[str, str]]:
    """(title, html) sections presenting an analysis table: summary, settings, chart, and the table.

    For `to_html(..., extra_sections=...)`: a report on the posteriors can carry
    every analysis run on them.  Tables that are not analyses give no section.
    """
    attrs = table.attrs
    if not attrs.get("analysis_kind"):
        return []
    esc = html.escape
    title = str(attrs.get("analysis", "Analysis")) + (f": {attrs['target']}" if attrs.get("target") else "")
    body = []
    if include_table:
        meta = [(k, v) for k, v in header_lines(attrs) if k in ("Summary", "Settings", "Scenario")]
        body.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta) + "</dl>")
    chart = _chart(table)
    if chart:
        body.append(f"<figure style='margin:1rem 0'>{chart}</figure>")
    if include_table:
        shown = display_table(table.head(REPORT_ROWS))
        body.append(f"<div style='overflow-x:auto'>{shown.to_html(index=False, escape=True, border=0)}</div>")
        if len(table) > REPORT_ROWS:
            body.append(f"<p>First {REPORT_ROWS} of {len(table)} rows; the CSV or XLSX export holds them all.</p>")
    return [(title, "".join(body))] if body else []
