"""Tables and downloads behind the workspace: the current posterior table, scenario
comparisons, and report files (CSV, XLSX, Markdown, JSON, self-contained HTML) as bytes.

The HTML report draws its charts as inline SVG, so it stays one file with no
scripts and no external resources.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ForecastError
from ..evidence import Evidence
from ..export import render, to_html, write_xlsx
from ..model import Model
from ..present import BLUE, DARK, PALETTE, TRACK, percent, points
from ..runs import run, side_by_side
from ..words import words

DOWNLOADS: dict[str, tuple[str, str]] = {
    "CSV": ("csv", "text/csv"),
    "Excel": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "Markdown": ("md", "text/markdown"),
    "JSON": ("json", "application/json"),
    "HTML": ("html", "text/html"),
}


# ------------------------------------------------------------------ tables


def name_attrs(model: Model) -> dict[str, dict[str, Any]]:
    """State and source names for a table's attrs (reports then show no ids)."""
    names = model.names.attrs()
    return {"state_labels": names["state_labels"], "source_labels": names["source_labels"]}


def current_table(model: Model, evidence: Evidence, baseline: pd.DataFrame) -> pd.DataFrame:
    """Every node's posterior under `evidence`, with the no-evidence baseline and the change.

    Columns: node, state, probability, words, baseline, delta_probability; attrs
    carry the model's metadata and the evidence used (for report headers).
    """
    table = model.posteriors(scenario=evidence)
    base = baseline.set_index(["node", "state"])["probability"]
    keys = pd.MultiIndex.from_frame(table[["node", "state"]])
    table["baseline"] = base.reindex(keys).to_numpy()
    table["delta_probability"] = table["probability"] - table["baseline"]
    table.attrs["scenario"] = evidence.name or "current settings"
    table.attrs.update(name_attrs(model))
    return table


def outcome_rows(
    model: Model,
    node: str,
    current: pd.DataFrame,
    baseline: pd.DataFrame | None = None,
    pinned: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One outcome's states for charts: state (label), probability, words, baseline, pinned."""
    states = model.states(node)

    def probs(table: pd.DataFrame | None) -> list[float] | None:
        if table is None:
            return None
        sub = table[table["node"] == node].set_index("state")["probability"]
        return [float(sub[s]) for s in states]

    now = probs(current)
    if now is None:
        raise ForecastError(f"no posterior for '{node}'")
    rows = pd.DataFrame(
        {
            "state": [model.state_label(node, s) for s in states],
            "probability": now,
            "words": [words(p) for p in now],
        }
    )
    for column, table in (("baseline", baseline), ("pinned", pinned)):
        values = probs(table)
        if values is not None:
            rows[column] = values
    return rows


def outcome_display(rows: pd.DataFrame, pinned_name: str = "") -> pd.DataFrame:
    """The outcome rows as text: state, probability, words, changes."""
    out = pd.DataFrame(
        {
            "State": rows["state"],
            "Probability": [percent(p) for p in rows["probability"]],
            "In words": rows["words"],
        }
    )
    if "baseline" in rows.columns:
        out["Change from the model's belief"] = [
            points(p - b) for p, b in zip(rows["probability"], rows["baseline"], strict=True)
        ]
    if "pinned" in rows.columns:
        out[f"Change from {pinned_name or 'the pinned scenario'}"] = [
            points(p - b) for p, b in zip(rows["probability"], rows["pinned"], strict=True)
        ]
    return out


def comparison(
    model: Model, scenarios: Sequence[Evidence], names: Sequence[str], outcomes_only: bool = True
) -> pd.DataFrame:
    """Several scenarios' posteriors (forecast.run's tidy table), outcome nodes or all nodes."""
    targets = model.default_targets if outcomes_only else None
    table = run(model, list(scenarios), targets=targets, names=list(names))
    table.attrs.update(name_attrs(model))
    return table


def comparison_display(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """A comparison side by side, for people: labels and percentages, one column per scenario."""
    wide = side_by_side(table)
    out = pd.DataFrame(
        {
            "Node": [model.label(n) for n in wide["node"]],
            "State": [
                model.state_label(n, s) for n, s in zip(wide["node"], wide["state"], strict=True)
            ],
        }
    )
    for column in wide.columns[2:]:
        out[column] = [percent(p) for p in wide[column]]
    return out


# ------------------------------------------------------------------ downloads


def export_bytes(
    table: pd.DataFrame,
    fmt: str,
    html_sections: Sequence[tuple[str, str]] = (),
    extra_sheets: Sequence[tuple[str, pd.DataFrame]] = (),
    markdown_sections: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A table exported in memory: csv, xlsx, md, json or html (the HTML report can take extra sections)."""
    if fmt == "xlsx":
        with tempfile.TemporaryDirectory(prefix="forecast-") as tmp:
            path = Path(tmp) / "report.xlsx"
            write_xlsx(table, path)
            if extra_sheets:
                with pd.ExcelWriter(path, engine="openpyxl", mode="a") as writer:
                    for name, sheet in extra_sheets:
                        sheet.to_excel(writer, sheet_name=name[:31], index=False)
            return path.read_bytes()
    if fmt == "html":
        return to_html(table, extra_sections=list(html_sections)).encode("utf-8")
    text = render(table, fmt)
    if fmt == "md" and markdown_sections:
        text = (
            text.rstrip("\n")
            + "\n"
            + "".join(f"\n## {t}\n\n{body.strip()}\n" for t, body in markdown_sections)
        )
    return text.encode("utf-8")


def file_stem(model: Model, what: str) -> str:
    """A safe download file name: model id plus what it holds."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{model.id}_{what}")
    return safe.strip("_") or "forecast"


# ------------------------------------------------------------------ inline SVG charts


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def outcome_svg(title: str, rows: pd.DataFrame) -> str:
    """Horizontal bars for one outcome (baseline as a dark tick), as standalone inline SVG."""
    label_w, bar_w, text_w, row_h = 230, 320, 190, 30
    width = label_w + bar_w + text_w
    height = row_h * len(rows) + 36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_esc(title)}" style="font-family:system-ui,sans-serif">',
        f'<text x="0" y="16" font-size="14" font-weight="600">{_esc(title)}</text>',
    ]
    for i, row in enumerate(rows.to_dict(orient="records")):
        y = 28 + i * row_h
        p = max(0.0, min(1.0, float(row["probability"])))
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{_esc(row["state"])}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="18" fill="{TRACK}"/>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * p:.1f}" height="18" fill="{BLUE}"/>'
        )
        base = row.get("baseline")
        if base is not None and pd.notna(base):
            x = label_w + bar_w * max(0.0, min(1.0, float(base)))
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 24}" stroke="{DARK}" stroke-width="2"/>'
            )
        parts.append(
            f'<text x="{label_w + bar_w + 8}" y="{y + 16}" font-size="12">{_esc(percent(p))} {_esc(row["words"])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(title: str, steps: pd.DataFrame) -> str:
    """One outcome's probabilities after each dated item, as standalone inline SVG lines.

    `steps` has columns step, when, state, probability (as the workspace builds them).
    """
    order = sorted(set(steps["step"]))
    states = list(dict.fromkeys(steps["state"]))
    left, top, plot_w, plot_h = 48, 46, 620, 200
    width, height = left + plot_w + 30, top + plot_h + 40
    n = max(1, len(order) - 1)

    def x(step: int) -> float:
        return left + plot_w * order.index(step) / n

    def y(p: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, p)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_esc(title)}" style="font-family:system-ui,sans-serif">',
        f'<text x="0" y="16" font-size="14" font-weight="600">{_esc(title)}</text>',
    ]
    for k in range(5):
        p = k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(p):.1f}" y2="{y(p):.1f}" stroke="#eef1f5"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(p) + 4:.1f}" font-size="11" text-anchor="end">{int(p * 100)}%</text>'
        )
    legend_x = 0.0
    for i, state in enumerate(states):
        colour = PALETTE[i % len(PALETTE)]
        sub = steps[steps["state"] == state].sort_values("step")
        pts = " ".join(
            f"{x(s):.1f},{y(p):.1f}" for s, p in zip(sub["step"], sub["probability"], strict=True)
        )
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<rect x="{legend_x:.0f}" y="26" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14:.0f}" y="35" font-size="12">{_esc(state)}</text>')
        legend_x += 24 + 7 * len(str(state))
    first, last = (
        steps.loc[steps["step"] == order[0], "when"].iloc[0],
        steps.loc[steps["step"] == order[-1], "when"].iloc[0],
    )
    parts.append(f'<text x="{left}" y="{top + plot_h + 18}" font-size="11">{_esc(first)}</text>')
    parts.append(
        f'<text x="{left + plot_w}" y="{top + plot_h + 18}" font-size="11" text-anchor="end">{_esc(last)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ timeline


def timeline_steps(
    model: Model, items: Sequence[object], base: Evidence | None = None
) -> pd.DataFrame:
    """Outcome posteriors after each dated item, labelled for charts.

    Columns: step (0 = before any item), when (label), date (a month before the first
    item for the starting point), item (title), node, outcome (label), state (label),
    probability.
    """
    from ..runs import timeline

    table = timeline(model, items, scenario=base)  # type: ignore[arg-type]
    titles = {it.id: it.title for it in items}  # type: ignore[attr-defined]
    order = list(dict.fromkeys(table["item"]))
    step_of = {item: i for i, item in enumerate(order)}
    when: dict[str, str] = {}
    seen: dict[str, int] = {}
    for item, date in zip(table["item"], table["date"], strict=True):
        if item in when:
            continue
        if item == "baseline":
            when[item] = "Start"
            continue
        text = date.strftime("%d %b %Y")
        seen[text] = seen.get(text, 0) + 1
        when[item] = text if seen[text] == 1 else f"{text} ({seen[text]})"
    dates = pd.to_datetime(table["date"])
    # the starting point sits a month before the first item, so the line starts from it
    start = pd.Timestamp(dates.min()) - pd.Timedelta(days=30) if dates.notna().any() else None
    return pd.DataFrame(
        {
            "step": table["item"].map(step_of),
            "when": table["item"].map(when),
            "date": dates.where(dates.notna(), start),
            "item": table["item"].map(lambda i: titles.get(i, "Before any item")),
            "node": table["node"],
            "outcome": [model.label(n) for n in table["node"]],
            "state": [
                model.state_label(n, s) for n, s in zip(table["node"], table["state"], strict=True)
            ],
            "probability": table["probability"],
        }
    )
