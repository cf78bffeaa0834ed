"""Writers of a report (forecast.reporting.Report): DOCX, XLSX, HTML, Markdown, CSV and JSON.

Each draws the same report model: key judgements first, the issue record, the
main tables (a comparison's side-by-side table first), the charts the app draws
(rendered by vl-convert: SVG in HTML, PNG in DOCX and XLSX), the evidence used,
the bibliography, then the appendix.  Model text is escaped for each format
(HTML, Markdown), spreadsheet cells pass through forecast.safety, and every
number in a file has at most six decimals.  Files are built in memory and
written in one step (see `write_bytes`), so a killed export leaves no
half-written or hidden temporary file.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ForecastError
from .export import SHEET_DECIMALS, html_head, jsonable, tidy, write_bytes, write_rows
from .reporting import Report, Table
from .safety import md_table, md_text, safe_frame

REPORT_FORMATS = {
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".csv": "csv",
    ".json": "json",
}
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "md": "text/markdown",
    "csv": "text/csv",
    "json": "application/json",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def report_format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise ForecastError(
            f"{path}: unknown report format '{suffix}'; use one of {', '.join(REPORT_FORMATS)}"
        )
    return REPORT_FORMATS[suffix]


def report_bytes(report: Report, fmt: str) -> bytes:
    """The report as a file's bytes: docx, xlsx, html, md, csv or json."""
    writers: dict[str, Callable[[Report], bytes]] = {
        "docx": to_docx,
        "xlsx": to_xlsx,
        "html": lambda r: to_html(r).encode("utf-8"),
        "md": lambda r: to_markdown(r).encode("utf-8"),
        "csv": lambda r: to_csv(r).encode("utf-8"),
        "json": lambda r: to_json(r).encode("utf-8"),
    }
    if fmt not in writers:
        raise ForecastError(f"unknown report format '{fmt}'; use {', '.join(writers)}")
    return writers[fmt](report)


def write_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write the report to `path`, the format chosen by its suffix (.docx .xlsx .html .md .csv .json)."""
    return write_bytes(path, report_bytes(report, report_format(path)))


def _clean(text: Any) -> str:
    """Text a document can hold (no control characters)."""
    return _CONTROL.sub("", "" if text is None else str(text))


def _judged_under(report: Report) -> str:
    issue = report.issue
    who = f" by {issue.author}" if issue.author else ""
    text = f"Under: {issue.scenario}. Issued{who} on {issue.issued:%d %B %Y}; evidence up to " + (
        f"{issue.cutoff:%d %B %Y}." if issue.cutoff else "the model's as-of date."
    )
    return f"{text} {report.note}" if report.note else text


def _main_tables(report: Report) -> list[Table]:
    return [t for t in report.tables if not t.appendix]


def _appendix(report: Report) -> list[Table]:
    return [t for t in report.tables if t.appendix]


def _outcome_charts(report: Report) -> list[Any]:
    n = len(report.judgements)
    return list(report.charts[:n])


def _other_charts(report: Report) -> list[Any]:
    return list(report.charts[len(report.judgements) :])


# ---------------------------------------------------------------- HTML


def to_html(report: Report) -> str:
    """Self-contained HTML: judgements first; a policy that forbids every remote load and script."""
    esc = html.escape
    issue = report.issue
    parts = [html_head(issue.title or "Forecast report"), f"<h1>{esc(issue.title)}</h1>"]
    parts.append("<h2 id='key-judgements'>Key judgements</h2>")
    parts.append(f"<p>{esc(_judged_under(report))}</p>")
    for j in report.judgements:
        parts.append(
            f"<div class='judgement' data-node='{esc(j.node)}'><h3>{esc(j.outcome)}</h3>"
            f"<p>{esc(j.paragraph)}</p></div>"
        )
    parts.append("<h2>Issue record</h2><dl>")
    parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in issue.rows() if v]
    parts.append("</dl>")
    if issue.resolution:
        parts.append("<h3>Resolution criteria</h3><ul>")
        parts += [
            f"<li><strong>{esc(c.outcome)}: {esc(c.state)}</strong>: {esc(c.text)}</li>"
            for c in issue.resolution
        ]
        parts.append("</ul>")
    main = _main_tables(report)
    for table in main[:1]:
        parts.append(_html_table(table))
    parts.append("<h2>Outcome charts</h2>")
    parts += [_html_chart(c) for c in _outcome_charts(report)]
    for table in main[1:]:
        parts.append(_html_table(table))
    if _other_charts(report):
        parts.append("<h2>Timeline of the evidence items used</h2>")
        parts += [_html_chart(c) for c in _other_charts(report)]
    parts.append("<h2>Bibliography</h2><ol class='bibliography'>")
    parts += [f"<li id='src-{esc(c.id)}'>{esc(c.text)}</li>" for c in report.bibliography]
    parts.append("</ol>")
    if _appendix(report):
        parts.append("<h2>Appendix</h2>")
        parts += [_html_table(t, level=3) for t in _appendix(report)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(table: Table, level: int = 2) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(c.header)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in table.text_rows()
    )
    note = f"<p>{esc(table.note)}</p>" if table.note else ""
    return (
        f"<h{level}>{esc(table.title)}</h{level}>{note}"
        f"<div style='overflow-x:auto'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _html_chart(chart: Any) -> str:
    svg = chart.svg()
    return f"<figure class='chart'>{svg}<figcaption>{html.escape(chart.description)}</figcaption></figure>"


# ---------------------------------------------------------------- Markdown


def to_markdown(report: Report) -> str:
    """Markdown, judgements first; every piece of model text escaped (no live HTML, no broken tables)."""
    issue = report.issue
    lines = [
        f"# {md_text(issue.title)}",
        "",
        "## Key judgements",
        "",
        md_text(_judged_under(report)),
        "",
    ]
    for j in report.judgements:
        lines += [f"### {md_text(j.outcome)}", "", md_text(j.paragraph), ""]
    lines += ["## Issue record", ""]
    lines += [f"- **{md_text(k)}:** {md_text(v)}" for k, v in issue.rows() if v]
    if issue.resolution:
        lines += ["", "### Resolution criteria", ""]
        lines += [
            f"- **{md_text(c.outcome)}: {md_text(c.state)}**: {md_text(c.text)}"
            for c in issue.resolution
        ]
    lines.append("")
    for table in _main_tables(report):
        lines += _md_table(table, "##")
    lines += ["## Bibliography", ""]
    lines += [f"{i}. {md_text(c.text)}" for i, c in enumerate(report.bibliography, start=1)]
    lines.append("")
    if _appendix(report):
        lines += ["## Appendix", ""]
        for table in _appendix(report):
            lines += _md_table(table, "###")
    return "\n".join(lines)


def _md_table(table: Table, level: str) -> list[str]:
    out = [f"{level} {md_text(table.title)}", ""]
    if table.note:
        out += [md_text(table.note), ""]
    if table.rows:
        out += [
            md_table([list(r) for r in table.text_rows()], [c.header for c in table.columns]),
            "",
        ]
    return out


# ---------------------------------------------------------------- CSV and JSON (for machines)


def to_csv(report: Report) -> str:
    """The tidy data (ids, probabilities rounded to six decimals), every text cell spreadsheet-safe."""
    return safe_frame(tidy(report.data, SHEET_DECIMALS)).to_csv(index=False)


def to_json(report: Report) -> str:
    """Everything structured: issue record, judgements, evidence, bibliography and the tidy rows."""
    from dataclasses import asdict

    issue = asdict(report.issue)
    data = {
        "issue": issue,
        "judgements": [
            {**{k: v for k, v in asdict(j).items()}, "paragraph": j.paragraph}
            for j in report.judgements
        ],
        "evidence": list(report.evidence),
        "bibliography": [asdict(c) for c in report.bibliography],
        "rows": tidy(report.data, SHEET_DECIMALS).to_dict(orient="records"),
    }
    return json.dumps(_rounded(jsonable(data)), indent=2, ensure_ascii=False)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, SHEET_DECIMALS) + 0.0
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# ---------------------------------------------------------------- XLSX


def to_xlsx(report: Report) -> bytes:
    """A workbook: Report (for people, numbers with formats), Data (tidy, ids), Evidence, Bibliography, Charts."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 34
    for col in "CDEFGH":
        sheet.column_dimensions[col].width = 16
    row = 1
    sheet.cell(row=row, column=1, value=_cell(report.issue.title)).font = Font(bold=True, size=14)
    row += 2
    sheet.cell(row=row, column=1, value="Key judgements").font = Font(bold=True, size=12)
    sheet.cell(row=row, column=2, value=_cell(_judged_under(report)))
    row += 1
    for j in report.judgements:
        sheet.cell(row=row, column=1, value=_cell(j.outcome)).font = Font(bold=True)
        cell = sheet.cell(row=row, column=2, value=_cell(j.paragraph))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=8)
        sheet.row_dimensions[row].height = 150
        row += 1
    row += 1
    sheet.cell(row=row, column=1, value="Issue record").font = Font(bold=True, size=12)
    row = write_rows(
        sheet,
        pd.DataFrame([r for r in report.issue.rows() if r[1]], columns=["Field", "Value"]),
        row + 1,
    )
    for c in report.issue.resolution:
        sheet.cell(row=row, column=1, value=_cell(f"Resolution: {c.outcome}: {c.state}"))
        sheet.cell(row=row, column=2, value=_cell(c.text))
        row += 1
    for table in _main_tables(report):
        row += 1
        sheet.cell(row=row, column=1, value=_cell(table.title)).font = Font(bold=True, size=12)
        row = _xlsx_table(sheet, table, row + 1)
    data = book.create_sheet("Data")
    write_rows(data, tidy(report.data, SHEET_DECIMALS), 1)
    data.freeze_panes = "A2"
    data.auto_filter.ref = data.dimensions
    evidence = pd.DataFrame(
        [
            {
                "kind": r.get("kind", ""),
                "node": r.get("node", ""),
                "state": r.get("state", ""),
                "item": r.get("item", ""),
                "date": r.get("date", ""),
                "title": r.get("title", ""),
                "weights": json.dumps(r.get("weights") or {}),
                "source": r.get("source", ""),
            }
            for r in report.evidence
        ],
        columns=["kind", "node", "state", "item", "date", "title", "weights", "source"],
    )
    write_rows(book.create_sheet("Evidence"), evidence, 1)
    bib = pd.DataFrame(
        [(c.id, c.author, c.title, c.date, c.url) for c in report.bibliography],
        columns=["Id", "Author", "Title", "Date", "URL"],
    )
    write_rows(book.create_sheet("Bibliography"), bib, 1)
    if _appendix(report):
        appendix = book.create_sheet("Appendix")
        r = 1
        for table in _appendix(report):
            appendix.cell(row=r, column=1, value=_cell(table.title)).font = Font(bold=True)
            r = _xlsx_table(appendix, table, r + 1) + 1
    _xlsx_charts(book, report)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    from .safety import safe_cell

    return safe_cell(_clean(value))


def _xlsx_table(sheet: Any, table: Table, row: int) -> int:
    import pandas as pd

    frame = pd.DataFrame([list(r) for r in table.rows], columns=[c.header for c in table.columns])
    kinds = {c.header: c.kind for c in table.columns if c.kind in ("percent", "points")}
    return write_rows(sheet, frame, row, kinds)


def _xlsx_charts(book: Any, report: Report) -> None:
    from openpyxl.drawing.image import Image

    if not report.charts:
        return
    sheet = book.create_sheet("Charts")
    row = 1
    for chart in report.charts:
        sheet.cell(row=row, column=1, value=_cell(chart.title))
        image = Image(io.BytesIO(chart.png()))
        scale = min(1.0, 900 / max(image.width, 1))
        image.width, image.height = image.width * scale, image.height * scale
        sheet.add_image(image, f"A{row + 1}")
        row += int(image.height / 20) + 4


# ---------------------------------------------------------------- DOCX


def to_docx(report: Report) -> bytes:
    """A Word document: title, key judgements, issue record, tables, charts, bibliography, appendix."""
    from docx import Document
    from docx.shared import Inches, Pt

    doc = Document()
    doc.styles["Normal"].font.size = Pt(10.5)
    issue = report.issue
    doc.add_heading(_clean(issue.title), level=0)
    doc.add_heading("Key judgements", level=1)
    doc.add_paragraph(_clean(_judged_under(report)))
    for j in report.judgements:
        doc.add_heading(_clean(j.outcome), level=2)
        doc.add_paragraph(_clean(j.paragraph), style="Normal")
    doc.add_heading("Issue record", level=1)
    rows = [r for r in issue.rows() if r[1]]
    grid = doc.add_table(rows=len(rows), cols=2)
    grid.style = "Light List Accent 1"
    for (k, v), cells in zip(rows, grid.rows, strict=True):
        cells.cells[0].text, cells.cells[1].text = _clean(k), _clean(v)
    if issue.resolution:
        doc.add_heading("Resolution criteria", level=2)
        for c in issue.resolution:
            p = doc.add_paragraph(style="List Bullet")
            p.add_run(_clean(f"{c.outcome}: {c.state}: ")).bold = True
            p.add_run(_clean(c.text))
    main = _main_tables(report)
    for table in main[:1]:
        _docx_table(doc, table, 1)
    doc.add_heading("Outcome charts", level=1)
    for chart in _outcome_charts(report):
        doc.add_picture(io.BytesIO(chart.png()), width=Inches(6))
        doc.add_paragraph(_clean(chart.description), style="Caption")
    for table in main[1:]:
        _docx_table(doc, table, 1)
    if _other_charts(report):
        doc.add_heading("Timeline of the evidence items used", level=1)
        for chart in _other_charts(report):
            doc.add_picture(io.BytesIO(chart.png()), width=Inches(6.3))
            doc.add_paragraph(_clean(chart.description), style="Caption")
    doc.add_heading("Bibliography", level=1)
    for citation in report.bibliography:
        doc.add_paragraph(_clean(citation.text), style="List Number")
    if _appendix(report):
        doc.add_heading("Appendix", level=1)
        for table in _appendix(report):
            _docx_table(doc, table, 2)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_table(doc: Any, table: Table, level: int) -> None:
    doc.add_heading(_clean(table.title), level=level)
    if table.note:
        doc.add_paragraph(_clean(table.note))
    if not table.rows:
        return
    grid = doc.add_table(rows=1 + len(table.rows), cols=len(table.columns))
    grid.style = "Light Grid Accent 1"
    for cell, col in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = _clean(col.header)
    for cells, values in zip(grid.rows[1:], table.text_rows(), strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = _clean(value)
