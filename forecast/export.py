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
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ForecastError
from .present import (
    BLUE,
    DARK,
    DOWN,
    GREY,
    INTERVAL,
    UP,
    Names,
    clip,
    humanise,
    percent,
    points,
    span,
    zoom,
)
from .yamlio import atomic_write

FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".md": "md",
    ".html": "html",
    ".htm": "html",
    ".xlsx": "xlsx",
}
PERCENT_COLUMNS = {"probability", "p05", "p50", "p95", "low", "high", "baseline"}
POINTS_COLUMNS = {"delta_probability"}  # changes of a probability: signed percentage points
SPAN_COLUMNS = {"swing"}  # widths of a range of probabilities: percentage points


def format_for(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ForecastError(
            f"{path}: unknown export format '{suffix}'; use one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def export(table: pd.DataFrame, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write `table` to `path`, the format chosen by suffix (.csv .xlsx .md .json .html)."""
    if not isinstance(table, pd.DataFrame):
        raise ForecastError(
            f"export needs a pandas DataFrame from the forecast API, not {type(table).__name__}"
        )
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
        return json.dumps(
            {"metadata": jsonable(table.attrs), "rows": jsonable_rows(table)},
            indent=2,
            ensure_ascii=False,
        )
    if fmt == "md":
        return to_markdown(table)
    if fmt == "html":
        return to_html(table)
    if fmt == "table":
        return to_terminal(table)
    raise ForecastError(f"unknown format '{fmt}'; use table, csv, json, md, html or xlsx")


def jsonable_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows as JSON-ready dicts (see jsonable)."""
    return [
        {str(k): jsonable(v) for k, v in row.items()} for row in table.to_dict(orient="records")
    ]


def jsonable(v: Any) -> Any:
    """A value JSON can hold: dates as ISO text, numpy scalars as Python, NaN/NaT/inf as null."""
    if v is pd.NaT or v is None:  # NaT passes for a date; it must become null, never "NaT"
        return None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, dt.date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Labels next to ids, percentages instead of fractions and changes in points (the terminal's view)."""
    out = table.copy()
    labels = table.attrs.get("labels", {})
    if "node" in out.columns and labels and "label" not in out.columns:
        out.insert(
            list(out.columns).index("node") + 1,
            "label",
            out["node"].map(lambda n: labels.get(n, n)),
        )
    percent_columns = PERCENT_COLUMNS | set(table.attrs.get("percent_columns", ()))
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            continue
        if col in POINTS_COLUMNS:
            out[col] = out[col].map(points)
        elif col in SPAN_COLUMNS:
            out[col] = out[col].map(span)
        elif col in percent_columns:
            out[col] = out[col].map(percent)
    for col, digits in table.attrs.get("decimals", {}).items():  # e.g. bits, log-odds
        if col in out.columns and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(lambda x, d=int(digits): f"{x:.{d}f}")
    for col in out.columns:  # an undated row shows a blank, not "None"
        if not pd.api.types.is_numeric_dtype(out[col]) and out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    return out


# ---------------------------------------------------------------- names and tables for people (reports, screens)

KIND_LABELS = {
    "hard": "Definite state",
    "likelihood": "Reported weights",
    "fixed": "Analyst's probabilities",
    "item": "Evidence item",
    "prior": "",
}
HEADERS = {
    "scenario": "Scenario",
    "node": "Node",
    "state": "State",
    "probability": "Probability",
    "words": "In words",
    "baseline": "Without evidence",
    "delta_probability": "Change from the model's belief",
    "low": "Lowest",
    "high": "Highest",
    "swing": "Swing",
    "low_state": "Lowest when it is",
    "high_state": "Highest when it is",
    "parent_states": "When",
    "value": "Entry now",
    "base": "Target now",
    "minus": "Target, entry lowered",
    "plus": "Target, entry raised",
    "mutual_information_bits": "Information (bits)",
    "entropy_share": "Share of the uncertainty",
    "state_probability": "Chance of this observation",
    "kind": "Kind",
    "date": "Date",
    "title": "Evidence",
    "delta_log_odds": "Change in log-odds",
    "probability_without": "Target without it",
    "cumulative_probability": "Target after it",
    "log_odds": "Log-odds",
    "step": "Step",
    "source": "Source",
    "item": "Item",
    "p05": "5%",
    "p50": "Median",
    "p95": "95%",
}
HEADERS_BY_KIND = {
    "sensitivity": {"baseline": "Target now"},
    "explain": {"delta_probability": "Contribution"},
    "explain_sequence": {"delta_probability": "Change"},
    "indicators": {"state": "If observed"},
}


def target_name(attrs: Mapping[Any, Any]) -> str:
    """An analysis target ('node=state', a node, or 'a, b') for people: 'Label: State'."""
    target = str(attrs.get("target") or "")
    names = Names.from_attrs(attrs)
    if "=" in target:
        node, _, state = target.partition("=")
        return names.pair(node.strip(), state.strip())
    return ", ".join(names.node(n.strip()) for n in target.split(",") if n.strip())


def readable_summary(attrs: Mapping[Any, Any]) -> str:
    """An analysis summary with node and state ids replaced by their names."""
    text = str(attrs.get("summary") or "")
    names = Names.from_attrs(attrs)
    labels = attrs.get("labels") or {}
    base = attrs.get("baseline")
    if (
        attrs.get("analysis_kind") == "indicators"
        and isinstance(base, dict)
        and attrs.get("target")
    ):
        node = str(attrs["target"])
        now = ", ".join(f"{names.state(node, s)} {percent(p)}" for s, p in base.items())
        rest = text.split(";", 1)[1].strip() if ";" in text else ""
        return f"{names.node(node)} now: {now}" + (f"; {rest}" if rest else "")

    def pair(m: re.Match[str]) -> str:
        node, state = m.group(1), m.group(2)
        return names.pair(node, state) if node in labels else m.group(0)

    return re.sub(r"\b([A-Za-z0-9][\w.-]*)=([A-Za-z0-9][\w.-]*)\b", pair, text)


def readable_settings(attrs: Mapping[Any, Any]) -> str:
    """An analysis's settings in words: 'Delta: 0.2; Node confidence: Kurdish question 10' (JSON keeps them exact)."""
    names = Names.from_attrs(attrs)

    def show(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{names.node(str(k))} {show(v)}" for k, v in value.items()) or "none"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    return "; ".join(
        f"{humanise(str(k))}: {show(v)}" for k, v in (attrs.get("settings") or {}).items()
    )


def _weights(node: str, detail: str, names: Names, as_percent: bool = False) -> str:
    """'muted: 0.5, acute: 1' -> 'Muted: 0.5, Acute: 1' (states named; probabilities as percentages)."""
    parts = []
    for part in str(detail).split(", "):
        state, sep, value = part.rpartition(": ")
        if not sep:
            return str(detail)
        try:
            shown = percent(float(value)) if as_percent else value
        except ValueError:
            shown = value
        parts.append(f"{names.state(node, state)}: {shown}")
    return ", ".join(parts)


def _evidence_detail(kind: str, node: str, detail: str, names: Names) -> str:
    if kind == "hard":
        return names.state(node, str(detail))
    if kind in ("likelihood", "fixed"):
        return _weights(node, detail, names, as_percent=kind == "fixed")
    m = re.match(r"^(.*) \(([^()]*)\)$", str(detail))  # an item: 'date title (weights)'
    return f"{m.group(1)} ({_weights(node, m.group(2), names)})" if m else str(detail)


def readable_evidence(attrs: Mapping[Any, Any]) -> pd.DataFrame:
    """The evidence used, for people: kind, what it bears on, detail and source, named not id'd."""
    names = Names.from_attrs(attrs)
    rows = []
    for r in evidence_rows(attrs):
        kind, node = str(r.get("kind", "")), str(r.get("node", ""))
        row = {"Scenario": r["scenario"]} if "scenario" in r else {}
        row.update(
            {
                "Kind": KIND_LABELS.get(kind, kind),
                "Bears on": names.node(node) if node else "",
                "Detail": _evidence_detail(kind, node, str(r.get("detail", "")), names),
                "Source": names.source(str(r.get("source") or "")),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _piece_title(
    kind: str, node: str, title: str, details: dict[tuple[str, str], str], attrs: Mapping[Any, Any]
) -> str:
    """An analysis row's piece of evidence named for people (hard, likelihood and fixed pieces carry ids)."""
    names = Names.from_attrs(attrs)
    if kind == "prior":
        return "The model without evidence"
    if kind not in ("hard", "likelihood", "fixed"):
        return title
    detail = details.get((kind, node), "")
    if kind == "hard":
        state = detail or title.rpartition(" = ")[2]
        return names.pair(node, state)
    what = "reported weights" if kind == "likelihood" else "analyst's probabilities"
    shown = _weights(node, detail, names, as_percent=kind == "fixed") if detail else ""
    return f"{names.node(node)}, {what}" + (f" ({shown})" if shown else "")


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """Any API table for people: names instead of ids, percentages, points and readable headers.

    What reports (Markdown, HTML, the XLSX report sheet) and the app's screens show;
    the CSV and JSON exports and the XLSX data sheet keep the ids for machines.
    """
    attrs = table.attrs
    kind = str(attrs.get("analysis_kind") or "")
    names = Names.from_attrs(attrs)
    out = display_table(table)
    if "label" in out.columns and "label" not in table.columns:
        out = out.drop(columns=["label"])
    nodes = [str(n) for n in table["node"]] if "node" in table.columns else None
    if nodes is not None:
        for col in ("state", "low_state", "high_state"):
            if col in out.columns:
                out[col] = [
                    names.state(n, s) if isinstance(s, str) and s else ""
                    for n, s in zip(nodes, table[col], strict=True)
                ]
    if "parent_states" in out.columns:
        out["parent_states"] = [
            ", ".join(names.pair(p, s) for p, s in parent_pairs(text))
            for text in table["parent_states"]
        ]
    if {"kind", "title", "node"} <= set(table.columns):
        details = {
            (str(r.get("kind")), str(r.get("node"))): str(r.get("detail", ""))
            for r in evidence_rows(attrs)
        }
        out["title"] = [
            _piece_title(str(k), str(n), str(t), details, attrs)
            for k, n, t in zip(table["kind"], table["node"], table["title"], strict=True)
        ]
        out["kind"] = [KIND_LABELS.get(str(k), str(k)) for k in table["kind"]]
        out = out.drop(columns=["item"], errors="ignore")  # ids; the title names the piece
    if "source" in out.columns:
        out["source"] = [names.source(s) if isinstance(s, str) else "" for s in table["source"]]
    if nodes is not None:
        out["node"] = [names.node(n) if n else "" for n in nodes]
    headers = {**HEADERS, **HEADERS_BY_KIND.get(kind, {})}
    shown_as = {}
    for col in out.columns:
        if kind == "indicators" and isinstance(col, str) and "=" in col:
            node, _, state = col.partition("=")
            shown_as[col] = names.pair(node, state)
        else:
            shown_as[col] = headers.get(str(col), humanise(str(col)))
    return out.rename(columns=shown_as)


def header_lines(attrs: Mapping[Any, Any]) -> list[tuple[str, str]]:
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
        if key == "target" and value:
            value = target_name(attrs)
        elif key == "summary" and value:
            value = readable_summary(attrs)
        elif key == "settings" and isinstance(value, dict) and value:
            value = readable_settings(attrs)
        if value:
            rows.append((label, value if isinstance(value, str) else json.dumps(jsonable(value))))
    rows.append(("Generated", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")))
    return rows


def evidence_rows(attrs: Mapping[Any, Any]) -> list[dict[str, str]]:
    ev = attrs.get("evidence")
    if isinstance(ev, list):
        return ev
    if isinstance(ev, dict):  # per scenario
        return [{"scenario": name, **row} for name, rows in ev.items() for row in rows]
    return []


def resolution_rows(attrs: Mapping[Any, Any]) -> list[tuple[str, str, str]]:
    return [
        (node, state, text)
        for node, crit in attrs.get("resolution", {}).items()
        for state, text in crit.items()
    ]


def parent_pairs(text: str) -> list[tuple[str, str]]:
    """A parameter row's parent states, 'a=x, b=y' (see analysis.parameter_sensitivity), as [(a, x), (b, y)]."""
    return (
        [(p, st) for p, _, st in (pair.partition("=") for pair in str(text).split(", "))]
        if text
        else []
    )


def readable_resolution(attrs: Mapping[Any, Any]) -> list[tuple[str, str, str]]:
    """The resolution criteria as (outcome name, state name, criterion)."""
    names = Names.from_attrs(attrs)
    return [(names.node(n), names.state(n, s), t) for n, s, t in resolution_rows(attrs)]


def to_markdown(table: pd.DataFrame) -> str:
    attrs = table.attrs
    lines = [f"# {attrs.get('model_title', 'Forecast')}", ""]
    lines += [f"- **{k}:** {v}" for k, v in header_lines(attrs)]
    res = readable_resolution(attrs)
    if res:
        lines += ["", "## Resolution criteria", ""]
        lines += [f"- **{n}: {s}**: {t}" for n, s, t in res]
    ev = readable_evidence(attrs)
    lines += ["", "## Evidence used", ""]
    lines += [ev.to_markdown(index=False)] if not ev.empty else ["None (the model's own beliefs)."]
    lines += ["", "## Results", "", readable_table(table).to_markdown(index=False), ""]
    return "\n".join(lines)


def to_terminal(table: pd.DataFrame) -> str:
    from tabulate import tabulate

    shown = display_table(table).drop(columns=["label"], errors="ignore")
    return tabulate(
        shown.to_dict(orient="list"), headers="keys", tablefmt="simple", disable_numparse=True
    )


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
    res = readable_resolution(attrs)
    if res:
        parts.append("<h2>Resolution criteria</h2><ul>")
        parts += [f"<li><strong>{esc(n)}: {esc(s)}</strong>: {esc(t)}</li>" for n, s, t in res]
        parts.append("</ul>")
    ev = readable_evidence(attrs)
    parts.append("<h2>Evidence used</h2>")
    parts.append(
        ev.to_html(index=False, escape=True, border=0)
        if not ev.empty
        else "<p>None (the model's own beliefs).</p>"
    )
    parts.append("<h2>Results</h2>")
    parts.append(_html_results(table))
    for title, body in analysis_sections(table, include_table=False) + list(extra_sections or []):
        parts.append(f"<h2>{esc(title)}</h2>{body}")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_results(table: pd.DataFrame) -> str:
    shown = readable_table(table)
    column = HEADERS["probability"]
    if "probability" in table.columns and column in shown.columns:
        bars = [
            f"<span class='bar'><span style='width:{max(0.0, min(1.0, float(p))) * 100:.1f}%'></span></span>{html.escape(percent(p))}"
            for p in table["probability"]
        ]
        shown = shown.copy()
        shown[column] = bars
        return shown.to_html(
            index=False,
            escape=False,
            border=0,
            formatters={c: _html_cell for c in shown.columns if c != column},
        )
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
        shown = readable_table(table)
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
        pd.DataFrame(evidence_rows(attrs) or [{"kind": "none"}]).to_excel(
            writer, sheet_name="Evidence", index=False
        )
        res = readable_resolution(attrs)
        if res:
            pd.DataFrame(res, columns=["Outcome", "State", "Criterion"]).to_excel(
                writer, sheet_name="Resolution", index=False
            )


# ---------------------------------------------------------------- analysis charts (inline SVG, no scripts)

REPORT_ROWS = 25  # rows of an analysis table shown in an HTML report (exports hold them all)


_Bar = tuple[str, float, float, str, str, list[float]]  # label, start, end, text, colour, ticks


def _svg_bars(
    rows: list[_Bar],
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
        short = clip(label, 52)
        out.append(
            f"<text x='{label_w - 8}' y='{y + 14}' text-anchor='end'><title>{esc(label)}</title>{esc(short)}</text>"
        )
        x0, x1 = sorted((x(a), x(b)))
        out.append(
            f"<rect x='{x0:.1f}' y='{y + 2}' width='{max(x1 - x0, 1.5):.1f}' height='{row_h - 8}' fill='{colour}'/>"
        )
        for t in ticks:
            out.append(
                f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{y}' y2='{y + row_h - 4}' stroke='{DARK}' stroke-width='2'/>"
            )
        out.append(f"<text x='{label_w + bar_w + 8}' y='{y + 14}'>{esc(text)}</text>")
    bottom = row_h * len(rows) + 4
    for value, name in marks or []:
        out.append(
            f"<line x1='{x(value):.1f}' x2='{x(value):.1f}' y1='0' y2='{bottom}' stroke='{DARK}' stroke-dasharray='4 3'/>"
            f"<text x='{x(value):.1f}' y='{bottom + 20}' text-anchor='middle'>{esc(name)}</text>"
        )
    out.append(
        f"<line x1='{label_w}' x2='{label_w + bar_w}' y1='{bottom}' y2='{bottom}' stroke='{GREY}'/>"
    )
    for value in (lo, hi):
        anchor = "start" if value == lo else "end"
        out.append(
            f"<text x='{x(value):.1f}' y='{bottom + 12}' text-anchor='{anchor}' fill='#5a6472'>{esc(_axis(value, caption))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _axis(value: float, caption: str) -> str:
    return f"{value:.3g} bits" if "bits" in caption else percent(value)


def _records(frame: pd.DataFrame) -> Iterator[Any]:
    """A table's rows as named tuples (pandas types their fields as any scalar)."""
    return frame.itertuples()


def _chart(table: pd.DataFrame) -> str:
    """The chart of one analysis table (by attrs['analysis_kind']); '' for other tables."""
    kind = table.attrs.get("analysis_kind")
    names = Names.from_attrs(table.attrs)
    name, state_name = names.node, names.state
    if table.empty:
        return ""
    if kind == "sensitivity":
        top = table.head(20)
        base = float(table.attrs.get("baseline", top["baseline"].iloc[0]))
        rows: list[_Bar] = [
            (name(r.node), r.low, r.high, f"{percent(r.low)} – {percent(r.high)}", BLUE, [])
            for r in _records(top)
        ]
        lo, hi = zoom([*top["low"], *top["high"], base])
        return _svg_bars(rows, lo, hi, [(base, f"now {percent(base)}")], "tornado")
    if kind == "parameter_sensitivity":
        top = table.head(20)
        base = float(top["base"].iloc[0])
        rows = [
            (
                f"{clip(name(r.node), 24)} [{', '.join(state_name(p, s) for p, s in parent_pairs(r.parent_states))}]: "
                f"{state_name(r.node, r.state)}"
                if r.parent_states
                else f"{clip(name(r.node), 30)}: {state_name(r.node, r.state)}",
                min(r.minus, r.plus),
                max(r.minus, r.plus),
                f"{percent(r.minus)} / {percent(r.plus)}",
                BLUE,
                [],
            )
            for r in _records(top)
        ]
        lo, hi = zoom([*top["minus"], *top["plus"], base])
        return _svg_bars(rows, lo, hi, [(base, f"now {percent(base)}")], "parameter tornado")
    if kind == "indicators":
        top = table.drop_duplicates("node").head(20)
        rows = [
            (
                name(r.node),
                0.0,
                r.mutual_information_bits,
                f"{r.mutual_information_bits:.3f} bits",
                BLUE,
                [],
            )
            for r in _records(top)
        ]
        return _svg_bars(
            rows, 0.0, float(top["mutual_information_bits"].max()) or 1.0, None, "bits"
        )
    if kind == "explain":
        top = table.head(30)
        m = float(top["delta_probability"].abs().max()) or 0.01
        titles = readable_table(top)[HEADERS["title"]]
        rows = [
            (
                title,
                0.0,
                r.delta_probability,
                points(r.delta_probability),
                UP if r.delta_probability >= 0 else DOWN,
                [],
            )
            for title, r in zip(titles, _records(top), strict=True)
        ]
        return _svg_bars(rows, -m * 1.1, m * 1.1, [(0.0, "")], "evidence impact")
    if kind == "explain_sequence":
        cum = [float(c) for c in table["cumulative_probability"]]
        steps = list(readable_table(table)[HEADERS["title"]])
        rows = [("Without evidence", 0.0, cum[0], percent(cum[0]), GREY, [])]
        for i in range(1, len(cum)):
            d = cum[i] - cum[i - 1]
            rows.append(
                (
                    f"{i}. {steps[i]}",
                    cum[i - 1],
                    cum[i],
                    f"{percent(cum[i])} ({points(d)})",
                    UP if d >= 0 else DOWN,
                    [],
                )
            )
        rows.append(("With all the evidence", 0.0, cum[-1], percent(cum[-1]), DARK, []))
        return _svg_bars(rows, *zoom(cum), None, "waterfall")
    if kind == "uncertainty":
        rows = [
            (
                f"{clip(name(r.node), 30)}: {state_name(r.node, r.state)}",
                r.p05,
                r.p95,
                f"{percent(r.probability)} ({percent(r.p05)}–{percent(r.p95)})",
                INTERVAL,
                [r.p50],
            )
            for r in _records(table)
        ]
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
    title = str(attrs.get("analysis", "Analysis")) + (
        f": {target_name(attrs)}" if attrs.get("target") else ""
    )
    body = []
    if include_table:
        meta = [(k, v) for k, v in header_lines(attrs) if k in ("Summary", "Settings", "Scenario")]
        body.append(
            "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta) + "</dl>"
        )
    chart = _chart(table)
    if chart:
        body.append(f"<figure style='margin:1rem 0'>{chart}</figure>")
    if include_table:
        shown = readable_table(table.head(REPORT_ROWS))
        body.append(
            f"<div style='overflow-x:auto'>{shown.to_html(index=False, escape=True, border=0)}</div>"
        )
        if len(table) > REPORT_ROWS:
            body.append(
                f"<p>First {REPORT_ROWS} of {len(table)} rows; the CSV or XLSX export holds them all.</p>"
            )
    return [(title, "".join(body))] if body else []
