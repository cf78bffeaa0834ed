"""Tables and downloads behind the workspace: the current posterior table, scenario
comparisons, and report files as bytes.

Every download is the report `forecast report` writes (forecast.reporting and
forecast.writers: Word, Excel, HTML, Markdown, CSV, JSON), so the app, the CLI
and the API hand the analyst the same file.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import ForecastError
from ..evidence import Evidence, EvidenceItem
from ..model import Model
from ..present import percent, points
from ..reporting import Report, build_report
from ..reporting import timeline_steps as _timeline_steps
from ..results import evidence_records
from ..runs import run, side_by_side
from ..words import words
from ..writers import MIME, report_bytes

DOWNLOADS: dict[str, tuple[str, str]] = {
    name: (fmt, MIME[fmt])
    for name, fmt in (
        ("Word", "docx"),
        ("Excel", "xlsx"),
        ("HTML", "html"),
        ("Markdown", "md"),
        ("CSV", "csv"),
        ("JSON", "json"),
    )
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


def _evidence_key(ev: Evidence) -> str:
    return json.dumps({"name": ev.name, "rows": evidence_records(ev)}, sort_keys=True, default=str)


_BUILT: OrderedDict[tuple[str, ...], Report] = OrderedDict()  # a few recent reports per process
_BUILT_MAX = 6


def build(
    model: Model,
    evidence: Evidence,
    author: str = "",
    compare: Sequence[Evidence] = (),
    names: Sequence[str] | None = None,
    judge: bool = True,
) -> Report:
    """The report model behind every download (forecast.reporting), built once per settings."""
    key = (
        "judged" if judge else "data only",
        model.content_hash,
        _evidence_key(evidence),
        author,
        *[_evidence_key(e) for e in compare],
        *(names or ()),
    )
    if key in _BUILT:
        _BUILT.move_to_end(key)
        return _BUILT[key]
    built = build_report(
        model, evidence, author=author or None, compare=compare, compare_names=names, judge=judge
    )
    _BUILT[key] = built
    while len(_BUILT) > _BUILT_MAX:
        _BUILT.popitem(last=False)
    return built


def report_file(
    model: Model,
    evidence: Evidence,
    fmt: str,
    author: str = "",
    compare: Sequence[Evidence] = (),
    names: Sequence[str] | None = None,
) -> bytes:
    """A download: the same file `forecast report` writes (docx, xlsx, html, md, csv or json).

    The CSV holds only the tidy data, so it is built without the key judgements
    (which take a parameter-sensitivity pass); the file is the same either way.
    """
    return report_bytes(build(model, evidence, author, compare, names, judge=fmt != "csv"), fmt)


def file_stem(model: Model, what: str) -> str:
    """A safe download file name: model id plus what it holds."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{model.id}_{what}")
    return safe.strip("_") or "forecast"


# ------------------------------------------------------------------ timeline


def timeline_steps(
    model: Model, items: Sequence[EvidenceItem], base: Evidence | None = None
) -> pd.DataFrame:
    """Outcome posteriors after each dated item, labelled for charts (see reporting.timeline_steps)."""
    return _timeline_steps(model, items, base=base)
