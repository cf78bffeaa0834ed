"""Exports for reports (.xlsx, .md, .html) and for machines (.csv, .json).

Any table the API returns can be exported; its structured metadata (declared in
`forecast.results`, put into words by `forecast.naming.Naming`) goes into the
report's header so the report can be cited.  Text cells pass through
`forecast.safety` (no live formulas in CSV or XLSX, no live HTML or table
syntax in Markdown); numbers are rounded to DATA_DECIMALS so no float noise
(0.9999999999999999) reaches a file.  Files are written atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ForecastError
from .naming import KIND_LABELS, Naming, generated
from .present import (
    BLUE,
    DARK,
    DOWN,
    GREY,
    INTERVAL,
    UP,
    clip,
    humanise,
    percent,
    points,
    span,
    zoom,
)
from .results import evidence_list
from .safety import md_table, md_text, safe_cell, safe_frame
from .yamlio import _new_file_mode, atomic_write, map_leaves, os_error_reason

__all__ = [
    "FORMATS",
    "HEADERS",
    "KIND_LABELS",
    "analysis_sections",
    "display_table",
    "export",
    "format_for",
    "header_lines",
    "jsonable",
    "jsonable_rows",
    "parent_pairs",
    "percent",
    "points",
    "readable_evidence",
    "readable_table",
    "render",
    "tidy",
    "to_html",
    "write_xlsx",
    "xlsx_bytes",
]

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
DATA_DECIMALS = (
    12  # CSV and JSON (for machines): float noise such as 0.9999999999999999 rounded off
)
SHEET_DECIMALS = 6  # every number in an XLSX workbook or a report file: at most 6 decimals
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
)  # the exported HTML may load nothing from anywhere


def format_for(path: str | os.PathLike[str]) -> str:
    return format_by_suffix(path, FORMATS, "export")


def format_by_suffix(path: str | os.PathLike[str], formats: Mapping[str, str], what: str) -> str:
    """The format `path`'s suffix names in `formats`, or a ForecastError listing the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        raise ForecastError(
            f"{path}: unknown {what} format '{suffix}'; use one of {', '.join(formats)}"
        )
    return formats[suffix]


def export(table: pd.DataFrame, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write `table` to `path`, the format chosen by suffix (.csv .xlsx .md .json .html)."""
    if not isinstance(table, pd.DataFrame):
        raise ForecastError(
            f"export needs a pandas DataFrame from the forecast API, not {type(table).__name__}"
        )
    fmt = fmt or format_for(path)
    if fmt == "xlsx":
        return write_bytes(path, xlsx_bytes(table))
    text = render(table, fmt)

    def write_text(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write_text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Put `data` at `path` atomically, with no named temporary file while it is written.

    On Linux the bytes go into an unnamed file (O_TMPFILE) that only gets a name
    once complete, so a process killed mid-write leaves nothing behind; elsewhere
    a hidden temporary file is renamed into place.
    """
    target = Path(path)
    if target.is_dir():
        raise ForecastError(f"cannot write {target}: it is a folder")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if hasattr(os, "O_TMPFILE"):
            with contextlib.suppress(OSError):
                return _write_unnamed(target, directory, data)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, _new_file_mode(target))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ForecastError(f"cannot write {target}: {os_error_reason(exc)}") from None
    return target


def _write_unnamed(target: Path, directory: Path, data: bytes) -> Path:
    mode = _new_file_mode(target)
    fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        if target.is_symlink() or target.exists():
            tmp = directory / f".{target.name}.{os.getpid()}.{id(data)}.tmp"
            os.link(f"/proc/self/fd/{fd}", tmp)  # named only for the instant of the rename
            try:
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        else:
            os.link(f"/proc/self/fd/{fd}", target)
    finally:
        os.close(fd)
    return target


def tidy(table: pd.DataFrame, decimals: int = DATA_DECIMALS) -> pd.DataFrame:
    """The table for machines: ids kept, floats rounded to `decimals`, attrs kept."""
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    out.attrs = dict(table.attrs)
    return out


def to_csv(table: pd.DataFrame) -> str:
    """Tidy CSV, every text cell safe for spreadsheets (see forecast.safety)."""
    return safe_frame(tidy(table)).to_csv(index=False)


def render(table: pd.DataFrame, fmt: str) -> str:
    """The export as text (csv, json, md, html, or a terminal table)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "json":
        return json.dumps(
            {"metadata": jsonable(table.attrs), "rows": jsonable_rows(tidy(table))},
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
    return map_leaves(v, _json_leaf)


def _json_leaf(v: Any) -> Any:
    if v is pd.NaT or v is None:  # NaT passes for a date; it must become null, never "NaT"
        return None
    if isinstance(v, dt.date | pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return round(v, DATA_DECIMALS) + 0.0 if np.isfinite(v) else None
    return v


def _column_kinds(table: pd.DataFrame) -> dict[str, str]:
    """How each numeric column reads for people: 'percent', 'points', 'span' or 'decimals:N'."""
    attrs = table.attrs
    percent_columns = PERCENT_COLUMNS | set(attrs.get("percent_columns", ()))
    kinds: dict[str, str] = {}
    for col in table.columns:
        if not pd.api.types.is_numeric_dtype(table[col]) or pd.api.types.is_bool_dtype(table[col]):
            continue
        if col in POINTS_COLUMNS:
            kinds[col] = "points"
        elif col in SPAN_COLUMNS:
            kinds[col] = "span"
        elif col in percent_columns:
            kinds[col] = "percent"
        elif col in (attrs.get("decimals") or {}):
            kinds[col] = f"decimals:{int(attrs['decimals'][col])}"
    return kinds


# How a value of each `_number_kinds` kind is written for people ('decimals:N' aside).
_SHOW: dict[str, Callable[[Any], str]] = {"points": points, "span": span, "percent": percent}


def _show(value: Any, kind: str) -> str:
    if kind in _SHOW:
        return _SHOW[kind](value)
    if kind.startswith("decimals:"):
        return f"{float(value):.{int(kind.split(':')[1])}f}"
    return str(value)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Labels next to ids, percentages instead of fractions and changes in points (the terminal's view)."""
    out = table.copy()
    naming = Naming.of(table.attrs)
    if "node" in out.columns and table.attrs.get("labels") and "label" not in out.columns:
        out.insert(list(out.columns).index("node") + 1, "label", out["node"].map(naming.node))
    for col, kind in _column_kinds(table).items():
        out[col] = out[col].map(lambda v, k=kind: _show(v, k))
    for col in out.columns:  # an undated row shows a blank, not "None"
        if not pd.api.types.is_numeric_dtype(out[col]) and out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    return out


# ---------------------------------------------------------------- names and tables for people (reports, screens)

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
    """An analysis target for people: 'Label: State', or the nodes' labels."""
    return Naming.of(attrs).target(attrs)


def readable_evidence(attrs: Mapping[Any, Any]) -> pd.DataFrame:
    """The evidence used, for people: kind, what it bears on, detail and source, named not id'd."""
    naming = Naming.of(attrs)
    rows = []
    for r in evidence_list(attrs):
        row = {"Scenario": r["scenario"]} if "scenario" in r else {}
        row.update(naming.evidence(r))
        rows.append(row)
    return pd.DataFrame(rows)


def evidence_for_people(attrs: Mapping[Any, Any]) -> pd.DataFrame:
    """The evidence used, each piece once: an item shared by several scenarios is listed once,
    with the scenarios that use it ('every scenario' when all do)."""
    table = readable_evidence(attrs)
    if table.empty or "Scenario" not in table.columns:
        return table
    names = list(dict.fromkeys(table["Scenario"]))
    rest = [c for c in table.columns if c != "Scenario"]
    grouped = table.groupby(rest, sort=False)["Scenario"].agg(list).reset_index()
    grouped.insert(
        0,
        "Scenarios",
        [
            "every scenario" if len(who) == len(names) and len(names) > 1 else ", ".join(who)
            for who in grouped["Scenario"]
        ],
    )
    return grouped.drop(columns=["Scenario"])


def _piece_title(
    kind: str, node: str, title: str, records: dict[tuple[str, str], dict[str, Any]], naming: Naming
) -> str:
    """An analysis row's piece of evidence named for people (hard, likelihood and fixed pieces carry ids)."""
    if kind == "prior":
        return "The model without evidence"
    if kind not in ("hard", "likelihood", "fixed"):
        return title
    record = records.get((kind, node)) or {"kind": kind, "node": node}
    return naming.evidence_title(record)


def _readable(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table named for people with numbers kept as numbers, and each header's number kind."""
    attrs = table.attrs
    kind = str(attrs.get("analysis_kind") or "")
    naming = Naming.of(attrs)
    kinds = _column_kinds(table)
    out = table.copy()
    for col in out.columns:  # an undated row shows a blank, not "None"
        if not pd.api.types.is_numeric_dtype(out[col]) and out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    nodes = [str(n) for n in table["node"]] if "node" in table.columns else None
    if nodes is not None:
        for col in ("state", "low_state", "high_state"):
            if col in out.columns:
                out[col] = [
                    naming.state(n, s) if isinstance(s, str) and s else ""
                    for n, s in zip(nodes, table[col], strict=True)
                ]
    if "parent_states" in out.columns:
        out["parent_states"] = [
            ", ".join(naming.pair(p, s) for p, s in parent_pairs(text))
            for text in table["parent_states"]
        ]
    if {"kind", "title", "node"} <= set(table.columns):
        records = {(str(r.get("kind")), str(r.get("node"))): r for r in evidence_list(attrs)}
        out["title"] = [
            _piece_title(str(k), str(n), str(t), records, naming)
            for k, n, t in zip(table["kind"], table["node"], table["title"], strict=True)
        ]
        out["kind"] = [KIND_LABELS.get(str(k), str(k)) for k in table["kind"]]
        out = out.drop(columns=["item"], errors="ignore")  # ids; the title names the piece
    if "source" in out.columns:
        out["source"] = [naming.source(s) if isinstance(s, str) else "" for s in table["source"]]
    if nodes is not None:
        out["node"] = [naming.node(n) if n else "" for n in nodes]
    headers = {**HEADERS, **HEADERS_BY_KIND.get(kind, {})}
    names: dict[Any, str] = {}
    for col in out.columns:
        if kind == "indicators" and isinstance(col, str) and "=" in col:
            node, _, state = col.partition("=")
            names[col] = naming.pair(node, state)
        else:
            names[col] = headers.get(str(col), humanise(str(col)))
    return out.rename(columns=names), {names[c]: k for c, k in kinds.items() if c in names}


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """Any API table for people: names instead of ids, percentages, points and readable headers.

    What reports (Markdown, HTML) and the app's screens show; the CSV and JSON
    exports and the XLSX data sheet keep the ids for machines, and the XLSX
    report sheet keeps the numbers as numbers (see `_readable`).
    """
    out, kinds = _readable(table)
    for col, kind in kinds.items():
        out[col] = out[col].map(lambda v, k=kind: _show(v, k))
    return out


def header_lines(attrs: Mapping[Any, Any]) -> list[tuple[str, str]]:
    """(field, value) pairs describing where a table came from (see naming.RENDERERS)."""
    return [*Naming.of(attrs).header(attrs), ("Generated", generated())]


def evidence_rows(attrs: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return evidence_list(attrs)


def resolution_rows(attrs: Mapping[Any, Any]) -> list[tuple[str, str, str]]:
    return [
        (node, state, text)
        for node, crit in (attrs.get("resolution") or {}).items()
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
    naming = Naming.of(attrs)
    return [(naming.node(n), naming.state(n, s), t) for n, s, t in resolution_rows(attrs)]


def frame_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table with every cell escaped (no live HTML, no broken `|`)."""
    rows = [["" if v is None else v for v in row] for row in frame.itertuples(index=False)]
    return md_table(rows, [str(c) for c in frame.columns])


def side_by_side_readable(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """A batch run's table turned for reading (one column per scenario), named; None otherwise."""
    if not {"scenario", "node", "state", "probability"} <= set(table.columns):
        return None
    if table["scenario"].nunique() < 2:
        return None
    from .runs import side_by_side

    try:
        wide = side_by_side(table)
    except ForecastError:
        return None
    naming = Naming.of(table.attrs)
    out = wide.copy()
    out["state"] = [naming.state(n, st) for n, st in zip(wide["node"], wide["state"], strict=True)]
    out["node"] = [naming.node(n) for n in wide["node"]]
    out = out.rename(columns={"node": HEADERS["node"], "state": HEADERS["state"]})
    return out, {str(c): "percent" for c in out.columns[2:]}


def _side_by_side_text(table: pd.DataFrame) -> pd.DataFrame | None:
    found = side_by_side_readable(table)
    if found is None:
        return None
    out, kinds = found
    for col, kind in kinds.items():
        out[col] = out[col].map(lambda v, k=kind: _show(v, k))
    return out


def to_markdown(table: pd.DataFrame) -> str:
    attrs = table.attrs
    lines = [f"# {md_text(attrs.get('model_title') or 'Forecast')}", ""]
    lines += [f"- **{md_text(k)}:** {md_text(v)}" for k, v in header_lines(attrs)]
    wide = _side_by_side_text(table)
    if wide is not None:  # a comparison: the table people read first
        lines += ["", "## Side by side", "", frame_markdown(wide)]
    res = readable_resolution(attrs)
    if res:
        lines += ["", "## Resolution criteria", ""]
        lines += [f"- **{md_text(n)}: {md_text(s)}**: {md_text(t)}" for n, s, t in res]
    ev = evidence_for_people(attrs)
    lines += ["", "## Evidence used", ""]
    lines += [frame_markdown(ev)] if not ev.empty else ["None (the model's own beliefs)."]
    results = "Every row (tidy)" if wide is not None else "Results"
    lines += ["", f"## {results}", "", frame_markdown(readable_table(table)), ""]
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
.judgement{background:#f5f7fa;border-left:4px solid #3567b5;padding:.6rem 1rem;margin:.8rem 0}
figure{margin:1rem 0}figure img,figure svg{max-width:100%;height:auto}
"""


def html_head(title: str) -> str:
    """The start of a self-contained HTML page whose policy forbids every remote load and script."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
    )


def to_html(table: pd.DataFrame, extra_sections: list[tuple[str, str]] | None = None) -> str:
    """A self-contained HTML report (no scripts, no external resources)."""
    attrs = table.attrs
    esc = html.escape
    title = str(attrs.get("model_title") or "Forecast report")
    parts = [html_head(title), f"<h1>{esc(title)}</h1><dl>"]
    parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in header_lines(attrs)]
    parts.append("</dl>")
    wide = _side_by_side_text(table)
    if wide is not None:  # a comparison: the table people read first
        parts.append("<h2>Side by side</h2>")
        parts.append(wide.to_html(index=False, escape=True, border=0))
    res = readable_resolution(attrs)
    if res:
        parts.append("<h2>Resolution criteria</h2><ul>")
        parts += [f"<li><strong>{esc(n)}: {esc(s)}</strong>: {esc(t)}</li>" for n, s, t in res]
        parts.append("</ul>")
    ev = evidence_for_people(attrs)
    parts.append("<h2>Evidence used</h2>")
    parts.append(
        ev.to_html(index=False, escape=True, border=0)
        if not ev.empty
        else "<p>None (the model's own beliefs).</p>"
    )
    parts.append("<h2>Results</h2>")
    parts.append(_html_results(table))
    for title_, body in analysis_sections(table, include_table=False) + list(extra_sections or []):
        parts.append(f"<h2>{esc(title_)}</h2>{body}")
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


# ---------------------------------------------------------------- XLSX

NUMBER_FORMATS = {
    "percent": "0.0%",
    "points": '+0.0" pts";−0.0" pts";"no change"',
    "span": '0.0" pts"',
}


def _xlsx_value(value: Any) -> Any:
    """A cell value openpyxl can store: numbers rounded, dates kept, text made formula-safe."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, SHEET_DECIMALS) + 0.0 if np.isfinite(value) else None
    if isinstance(value, bool | int | dt.date):
        return value
    if isinstance(value, dict | list | tuple):
        value = json.dumps(jsonable(value))
    return safe_cell(str(value))


def write_rows(
    sheet: Any,
    frame: pd.DataFrame,
    start_row: int = 1,
    kinds: dict[str, str] | None = None,
    bold_header: bool = True,
) -> int:
    """`frame` into `sheet` from `start_row` (header first); numbers stay numbers with a format.

    Points are stored as percentage points (4.2 for +4.2 pts) so the cell reads
    as it prints; probabilities as fractions with a percent format.  Returns
    the next free row.
    """
    from openpyxl.styles import Font

    kinds = kinds or {}
    for j, col in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=start_row, column=j, value=_xlsx_value(str(col)))
        if bold_header:
            cell.font = Font(bold=True)
    for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for j, (col, value) in enumerate(zip(frame.columns, row, strict=True), start=1):
            kind = kinds.get(str(col), "")
            if kind in ("points", "span") and isinstance(value, int | float | np.number):
                value = 100 * float(value)
            cell = sheet.cell(row=i, column=j, value=_xlsx_value(value))
            if kind in NUMBER_FORMATS and isinstance(cell.value, int | float):
                cell.number_format = NUMBER_FORMATS[kind]
            elif kind.startswith("decimals:") and isinstance(cell.value, int | float):
                cell.number_format = "0." + "0" * int(kind.split(":")[1])
    return start_row + len(frame) + 1


def xlsx_bytes(table: pd.DataFrame) -> bytes:
    """The workbook of a table, built in memory (a killed export leaves no temporary file).

    Sheets: Report (header, then the table for people with numbers as numbers),
    Data (tidy, ids, rounded), Evidence (structured, named), Resolution.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    attrs = table.attrs
    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    header = pd.DataFrame(header_lines(attrs), columns=["Field", "Value"])
    start = write_rows(sheet, header, 1) + 1
    shown, kinds = _readable(table)
    write_rows(sheet, shown, start, kinds)
    sheet.freeze_panes = sheet.cell(row=start + 1, column=1)
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 60
    for col in "CDEFGH":
        sheet.column_dimensions[col].width = 22
    for row in sheet.iter_rows(min_row=1, max_row=len(header) + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    found = side_by_side_readable(table)
    if found is not None:
        wide_sheet = book.create_sheet("Side by side", 0)  # first: what people read
        write_rows(wide_sheet, found[0], 1, found[1])
        wide_sheet.freeze_panes = "C2"
        wide_sheet.column_dimensions["A"].width = 40
        wide_sheet.column_dimensions["B"].width = 28
    data = book.create_sheet("Data")
    write_rows(data, tidy(table, SHEET_DECIMALS), 1)
    data.freeze_panes = "A2"
    data.auto_filter.ref = data.dimensions
    evidence = evidence_for_people(attrs)
    write_rows(
        book.create_sheet("Evidence"),
        evidence
        if not evidence.empty
        else pd.DataFrame({"Evidence": ["None (the model's own beliefs)"]}),
        1,
    )
    res = readable_resolution(attrs)
    if res:
        write_rows(
            book.create_sheet("Resolution"),
            pd.DataFrame(res, columns=["Outcome", "State", "Criterion"]),
            1,
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_xlsx(table: pd.DataFrame, path: Path) -> None:
    """The workbook of `table` (see xlsx_bytes) written to `path` in one write."""
    Path(path).write_bytes(xlsx_bytes(table))


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


def _records(frame: pd.DataFrame) -> list[Any]:
    """The rows as named tuples (typed loosely: the columns hold numbers and text)."""
    return list(frame.itertuples())


def _chart(table: pd.DataFrame) -> str:
    """The chart of one analysis table (by attrs['analysis_kind']); '' for other tables."""
    kind = table.attrs.get("analysis_kind")
    names = Naming.of(table.attrs)
    name, state_name = names.node, names.state
    if table.empty:
        return ""
    if kind == "sensitivity":
        top = table.head(20)
        base = float(table.attrs.get("baseline", top["baseline"].iloc[0]))
        rows: list[tuple[str, float, float, str, str, list[float]]] = [
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
        impact_titles = list(readable_table(top)[HEADERS["title"]])
        rows = [
            (
                title,
                0.0,
                r.delta_probability,
                points(r.delta_probability),
                UP if r.delta_probability >= 0 else DOWN,
                [],
            )
            for title, r in zip(impact_titles, _records(top), strict=True)
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
