"""The report an analyst hands in: one model of it, built from the analyses, drawn by every writer.

`build_report` runs the analyses (posteriors, the no-evidence baseline,
uncertainty intervals, CPT-entry sensitivity, evidence impact, indicators and
the timeline of dated items) and gathers what a reader needs into a tree of
dataclasses: the issue record, key judgements per outcome, tables, charts, the
evidence used and a bibliography.  `forecast.writers` turns one `Report` into
DOCX, XLSX, HTML, Markdown, CSV or JSON, so every format says the same thing.
The judgements are generated from the numbers (see docs/reports.md for the
rules) and checked by `forecast.language.lint`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from . import analysis
from .errors import EvidenceError, ForecastError
from .evidence import Evidence, EvidenceItem, EvidenceLike, Scenario
from .language import band_text
from .model import Model
from .naming import Naming, percent, points
from .results import evidence_records
from .runs import run, side_by_side, timeline
from .words import band_index

MAX_JUDGEMENTS = 12  # outcome questions one report judges (each runs four analyses)
UNCERTAINTY_DRAWS = 400  # Monte Carlo draws behind each report's intervals (seed 0: reproducible)
PARAMETER_DELTA = 0.1  # how far a single CPT entry is moved to see how much the answer hangs on it
PARAMETER_TOP = 25  # table entries computed exactly for that (the largest swings; see analysis)
TOP = 3  # drivers and indicators named in a judgement


# ---------------------------------------------------------------- the report model


@dataclass(frozen=True)
class Criterion:
    outcome: str
    state: str
    text: str


@dataclass(frozen=True)
class IssueRecord:
    """Who issued what, when, on which model and evidence: the report's provenance."""

    title: str
    question: str
    horizon: str
    resolution: tuple[Criterion, ...]
    author: str
    issued: dt.datetime
    cutoff: dt.date | None  # the latest evidence item's date, else the model's as-of date
    as_of: dt.date | None
    model_id: str
    model_version: str  # the file's `version` field, '' when it has none
    model_modified: dt.datetime | None  # the model file's modification time
    model_hash: str
    scenario: str
    compared: tuple[str, ...] = ()  # a comparison's further scenarios

    def rows(self) -> list[tuple[str, str]]:
        """The record as (field, value) pairs, in reading order."""
        version = ", ".join(
            part
            for part in (
                f"version {self.model_version}" if self.model_version else "",
                f"file of {self.model_modified:%d %B %Y %H:%M}" if self.model_modified else "",
                f"SHA-256 {self.model_hash[:12]}",
            )
            if part
        )
        return [
            ("Title", self.title),
            ("Question", self.question),
            ("Horizon", self.horizon),
            ("Author", self.author or "Not given"),
            ("Issued", f"{self.issued:%d %B %Y, %H:%M} UTC"),
            ("Evidence cut-off", f"{self.cutoff:%d %B %Y}" if self.cutoff else "No dated evidence"),
            ("Model", f"{self.model_id} ({version})"),
            ("Model as of", f"{self.as_of:%d %B %Y}" if self.as_of else ""),
            ("Scenario", self.scenario),
            ("Compared with", "; ".join(self.compared)),
        ]


@dataclass(frozen=True)
class Mover:
    """A piece of evidence and how much it moved the judged state (leave-one-out)."""

    name: str
    change: float


@dataclass(frozen=True)
class Indicator:
    """A node worth watching: the observation that would move the judged state most."""

    name: str
    observation: str
    probability: float  # the judged state's probability if the observation were made
    change: float
    flips: bool  # another state would then be the most likely


@dataclass(frozen=True)
class Judgement:
    """One outcome's key judgement: likelihood, confidence, what moved it, what would change it."""

    node: str
    outcome: str
    state: str
    state_label: str
    probability: float
    baseline: float
    low: float  # 5% and 95% quantiles from the uncertainty in the numbers
    high: float
    swing: float  # the largest move of the answer when one CPT entry moves by PARAMETER_DELTA
    confidence: str  # low | moderate | high
    movers: tuple[Mover, ...]
    indicators: tuple[Indicator, ...]
    likelihood_sentence: str
    confidence_sentence: str
    movers_sentence: str
    watch_sentence: str

    @property
    def sentences(self) -> list[str]:
        return [
            self.likelihood_sentence,
            self.confidence_sentence,
            self.movers_sentence,
            self.watch_sentence,
        ]

    @property
    def paragraph(self) -> str:
        return " ".join(s for s in self.sentences if s)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | percent | points | date | number


@dataclass(frozen=True)
class Table:
    """A table for people: readable labels, numbers kept as numbers with their kind."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    appendix: bool = False

    def cell_text(self, value: Any, kind: str) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return ""
        if kind == "percent":
            return percent(value)
        if kind == "points":
            return points(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    def text_rows(self) -> list[list[str]]:
        return [
            [self.cell_text(v, c.kind) for v, c in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]


@dataclass(frozen=True)
class Chart:
    """A chart the app draws too (forecast.charts), as a Vega-Lite spec; writers render it."""

    title: str
    spec: dict[str, Any]
    description: str

    def svg(self) -> str:
        from .charts import to_svg

        return to_svg(self.spec)

    def png(self) -> bytes:
        from .charts import to_png

        return to_png(self.spec)


@dataclass(frozen=True)
class Citation:
    id: str
    title: str
    author: str
    date: str
    url: str

    @property
    def text(self) -> str:
        """'Author, Title, date. URL' (the full citation)."""
        parts = [p for p in (self.author, self.title, self.date) if p]
        return ", ".join(parts) + "." + (f" {self.url}" if self.url else "")


@dataclass(frozen=True)
class Report:
    """Everything a report says; every writer draws this and nothing else."""

    issue: IssueRecord
    judgements: tuple[Judgement, ...]
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...]
    bibliography: tuple[Citation, ...]
    evidence: tuple[dict[str, Any], ...]  # structured records (forecast.results.EvidenceRecord)
    data: pd.DataFrame = field(compare=False)  # the tidy table for machines (ids, numbers)
    names: tuple[str, ...] = ()  # every model name in the text (the linter masks them)
    comparison: bool = False
    note: str = ""  # e.g. that only some of many outcome nodes are judged

    def text(self) -> str:
        """Every generated sentence of the report, for the language linter."""
        return " ".join(j.paragraph for j in self.judgements)


# ---------------------------------------------------------------- building it


def _evidence_of(model: Model, scenario: EvidenceLike) -> Evidence:
    return model.evidence(scenario) if scenario is not None else Evidence()


def _scenario_title(scenario: EvidenceLike, ev: Evidence, naming: Naming | None = None) -> str:
    """The scenario for people: its title, else what was set ('Sprinkler: On; 3 dated items')."""
    if isinstance(scenario, Scenario):
        return scenario.display
    if not ev.hard and not ev.likelihood and not ev.fixed and not ev.items:
        return "The model's own beliefs (no evidence)"
    if ev.name:
        return ev.name
    parts = [
        naming.evidence_title(r) if naming else str(r.get("node"))
        for r in evidence_records(ev)
        if r["kind"] != "item"
    ]
    if ev.items:
        parts.append(f"{len(ev.items)} dated item{'s' if len(ev.items) != 1 else ''}")
    return "Current settings: " + "; ".join(parts)


def _version(model: Model) -> tuple[str, dt.datetime | None]:
    version = getattr(model.spec, "version", None)
    modified = None
    if model.path is not None and model.path.exists():
        modified = dt.datetime.fromtimestamp(model.path.stat().st_mtime, dt.UTC).replace(
            tzinfo=None
        )
    return (str(version) if version not in (None, "") else "", modified)


Probabilities = dict[tuple[str, str], float]
"""(node, state) -> probability: read once from a posterior table."""


def _probabilities(table: pd.DataFrame) -> Probabilities:
    """Why a mapping: filtering the table per cell deep-copies its metadata every time
    (pandas carries `attrs` through each operation), which cost seconds per report."""
    return {
        (str(n), str(s)): float(p)
        for n, s, p in zip(table["node"], table["state"], table["probability"], strict=True)
    }


def _confidence(low: float, high: float, swing: float) -> str:
    """Low, moderate or high, from the interval's spread over word bands and the largest swing.

    High: the 90% interval stays within one band and no single number moves the
    answer by 5 points; low: the interval spans three bands or more, or one
    number moves it by 15 points; moderate otherwise.
    """
    bands = int(band_index(np.asarray([high]))[0] - band_index(np.asarray([low]))[0]) + 1
    if bands >= 3 or swing >= 0.15:
        return "low"
    if bands <= 1 and swing < 0.05:
        return "high"
    return "moderate"


def _judgement(
    model: Model,
    node: str,
    ev: Evidence,
    now: Probabilities,
    base: Probabilities,
    intervals: pd.DataFrame,
    naming: Naming,
) -> Judgement:
    states = model.states(node)
    probs = [now[node, s] for s in states]
    top = int(np.argmax(probs))
    state, p = states[top], probs[top]
    outcome, label = naming.node(node), naming.state(node, state)
    p0 = base[node, state]
    row = intervals[(intervals["node"] == node) & (intervals["state"] == state)].iloc[0]
    low, high = float(row["p05"]), float(row["p95"])
    params = analysis.parameter_sensitivity(
        model, (node, state), delta=PARAMETER_DELTA, scenario=ev, top=PARAMETER_TOP
    )
    swing, top_row = 0.0, None
    if not params.empty:  # the largest move of the answer when one entry moves either way
        moves = np.maximum(
            (params["plus"] - params["base"]).abs().to_numpy(),
            (params["minus"] - params["base"]).abs().to_numpy(),
        )
        swing, top_row = float(moves.max()), params.iloc[int(np.argmax(moves))]
    level = _confidence(low, high, swing)
    phrase, band = band_text(p)
    likelihood = (
        f"For {outcome}, we judge {label} the most likely outcome: {phrase} ({band}); "
        f"the model gives {percent(p)}."
    )
    hangs = ""
    if top_row is not None:
        entry = naming.pair(str(top_row["node"]), str(top_row["state"]))
        when = ", ".join(
            naming.pair(a, b)
            for a, _, b in (
                x.partition("=") for x in str(top_row["parent_states"]).split(", ") if x
            )
        )
        entry += f" when {when}" if when else ""
        hangs = (
            f", and moving the single most influential number ({entry}) by "
            f"{100 * PARAMETER_DELTA:.0f} points shifts it by {100 * swing:.1f} points"
        )
    confidence = (
        f"Our confidence in this judgement is {level}: across the uncertainty in the model's "
        f"numbers, the 90% interval for it runs from {percent(low)} to {percent(high)}{hangs}."
    )
    movers: list[Mover] = []
    if ev.hard or ev.likelihood or ev.fixed or ev.items:
        exp = analysis.explain(model, (node, state), scenario=ev)
        order = exp["delta_probability"].abs().sort_values(ascending=False, kind="stable").index
        records = {(r["kind"], r["node"]): r for r in evidence_records(ev)}
        for i in order[:TOP]:
            r = exp.loc[i]
            kind = str(r["kind"])
            record = records.get((kind, str(r["node"]))) if kind != "item" else None
            title = naming.evidence_title(record) if record else f"“{r['title']}”"
            if abs(float(r["delta_probability"])) >= 0.0005:
                movers.append(Mover(title, float(r["delta_probability"])))
        moved = "; ".join(f"{m.name} ({points(m.change)})" for m in movers)
        movers_text = (
            f"The evidence moved {label} from {percent(p0)} without evidence to {percent(p)}"
            + (f"; what moved it most: {moved}." if moved else ", no single piece by much.")
        )
    else:
        movers_text = f"No evidence is applied: {percent(p)} is the model's own belief."
    ind = analysis.indicators(model, node, scenario=ev)
    watch: list[Indicator] = []
    col = f"{node}={state}"
    others = [f"{node}={s}" for s in states]
    for n, group in ind.groupby("node", sort=False):
        if len(watch) >= TOP:
            break
        if float(group["mutual_information_bits"].iloc[0]) <= 1e-9:
            continue
        effect = (group[col] - p).abs()
        r = group.loc[effect.index[int(np.argmax(effect.to_numpy()))]]
        flips = int(np.argmax([float(r[c]) for c in others])) != top
        watch.append(
            Indicator(
                naming.node(str(n)),
                naming.state(str(n), str(r["state"])),
                float(r[col]),
                float(r[col]) - p,
                flips,
            )
        )
    if watch:
        parts = [
            f"{w.name} turning out {w.observation} would make {label} "
            f"{'rise' if w.change > 0 else 'fall'} to {percent(w.probability)}"
            + (" and put another outcome first" if w.flips else "")
            for w in watch
        ]
        watch_text = "What would change the judgement: " + "; ".join(parts) + "."
    else:
        watch_text = "No unobserved node would change this judgement."
    return Judgement(
        node,
        outcome,
        state,
        label,
        p,
        p0,
        low,
        high,
        swing,
        level,
        tuple(movers),
        tuple(watch),
        likelihood,
        confidence,
        movers_text,
        watch_text,
    )


def _outcome_chart(
    model: Model, node: str, now: Probabilities, base: Probabilities, naming: Naming
) -> Chart:
    states = model.states(node)
    probs = [now[node, s] for s in states]
    rows = pd.DataFrame(
        {
            "state": [naming.state(node, s) for s in states],
            "probability": probs,
            "words": [band_text(p)[0] for p in probs],
            "baseline": [base[node, s] for s in states],
        }
    )
    from .charts import outcome_chart

    spec = outcome_chart(rows).properties(title=naming.node(node), width=420).to_dict()
    return Chart(
        naming.node(node),
        spec,
        "Bars: the forecast under the evidence used; dark ticks: the model without evidence.",
    )


def timeline_steps(
    model: Model,
    items: Sequence[EvidenceItem],
    base: Evidence | None = None,
    targets: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The dated items replayed in date order on top of `base`, labelled for charts and tables.

    Columns: step (0 = before any item), when (axis label), item and title (the
    item's title), node, outcome (label), state (label), state_id, date,
    probability.  The app's timeline and every report draw this table.
    """
    names = model.names
    table = timeline(model, items, list(targets or model.default_targets), scenario=base)
    titles = {it.id: it.title for it in items}
    when: dict[str, str] = {}
    seen: dict[str, int] = {}
    order = list(dict.fromkeys(table["item"]))
    for item, date in zip(table["item"], table["date"], strict=True):
        if item in when:
            continue
        if item == "baseline":
            when[item] = "Start"
            continue
        text = date.strftime("%d %b %Y")
        seen[text] = seen.get(text, 0) + 1
        when[item] = text if seen[text] == 1 else f"{text} ({seen[text]})"
    title = table["item"].map(lambda i: titles.get(i, "Before any item"))
    return pd.DataFrame(
        {
            "step": table["item"].map({it: i for i, it in enumerate(order)}),
            "when": table["item"].map(when),
            "item": title,
            "title": title,
            "node": table["node"],
            "outcome": [names.node(n) for n in table["node"]],
            "state": [
                names.state(n, s) for n, s in zip(table["node"], table["state"], strict=True)
            ],
            "state_id": table["state"],
            "date": table["date"],
            "probability": table["probability"],
        }
    )


def _timeline(
    model: Model, ev: Evidence, outcomes: list[str], naming: Naming
) -> tuple[pd.DataFrame, list[Chart]]:
    """The dated items replayed on top of the report's other evidence (the same evidence as its tables)."""
    from .charts import timeline_chart

    base = Evidence(ev.hard, ev.likelihood, ev.fixed, (), ev.name)
    steps = timeline_steps(model, ev.items, base=base, targets=outcomes)
    out = []
    for n in outcomes:
        sub = steps[steps["node"] == n][["step", "when", "date", "item", "state", "probability"]]
        spec = timeline_chart(sub).properties(title=naming.node(n), width=560).to_dict()
        out.append(
            Chart(
                f"{naming.node(n)}: after each dated item",
                spec,
                "Each line is one state; each point adds one dated item on top of the settings "
                "used in this report, so the last point equals the table.",
            )
        )
    return steps, out


def _citations(model: Model, ev: Evidence) -> tuple[Citation, ...]:
    """Sources the evidence cites first (in order of use), then the model's other sources."""
    used = list(dict.fromkeys(it.source for it in ev.items if it.source))
    by_id = {s.id: s for s in model.spec.sources}
    ids = [s for s in used if s in by_id] + [s.id for s in model.spec.sources if s.id not in used]
    out = [
        Citation(s, by_id[s].title, by_id[s].author, str(by_id[s].date or ""), by_id[s].url)
        for s in ids
    ]
    out += [Citation(s, s, "", "", "") for s in used if s not in by_id]  # cited but not described
    return tuple(out)


def _evidence_table(ev: Evidence, naming: Naming) -> Table:
    rows = []
    for r in evidence_records(ev):
        shown = naming.evidence(r)
        setting = (
            shown["Detail"]
            if r["kind"] == "hard"
            else naming.weights(r["node"], r.get("weights") or {}, r["kind"] == "fixed")
        )
        rows.append(
            (
                r.get("date", ""),
                shown["Bears on"],
                shown["Kind"],
                str(r.get("title") or ""),
                setting,
                shown["Source"],
            )
        )
    return Table(
        "Evidence used",
        tuple(Column(h) for h in ("Date", "Bears on", "Kind", "Item", "Setting", "Source")),
        tuple(rows),
        "" if rows else "None: the model's own beliefs.",
    )


def _timeline_table(
    steps: pd.DataFrame, outcomes: Sequence[str], model: Model, naming: Naming
) -> Table:
    """The timeline as a table: one row per step, one column per outcome state (as the charts)."""
    pairs = [(n, s) for n in outcomes for s in model.states(n)]
    by = {
        (int(r["step"]), str(r["node"]), str(r["state_id"])): float(r["probability"])
        for r in steps.to_dict(orient="records")
    }
    rows = []
    for _, group in steps.groupby("step", sort=True):
        first = group.iloc[0]
        step = int(first["step"])
        rows.append((first["when"], first["title"], *[by[(step, n, s)] for n, s in pairs]))
    return Table(
        "Timeline of the dated evidence items",
        (
            Column("After"),
            Column("Item"),
            *[Column(naming.pair(n, s), "percent") for n, s in pairs],
        ),
        tuple(rows),
        "Each item is added on top of the report's other settings, in date order; "
        "the last row is the forecast in the tables above.",
        appendix=True,
    )


def _settings_table(names: Sequence[str], evs: Sequence[Evidence], naming: Naming) -> Table:
    """What each compared scenario sets, one row each (its dated items counted, not repeated)."""
    rows = []
    for name, e in zip(names, evs, strict=True):
        settings = [naming.evidence_title(r) for r in evidence_records(e) if r["kind"] != "item"]
        latest = max((it.date for it in e.items), default=None)
        rows.append(
            (
                name,
                "; ".join(settings) or "Nothing set",
                len(e.items),
                latest.isoformat() if latest else "",
            )
        )
    return Table(
        "What each scenario sets",
        (Column("Scenario"), Column("Settings"), Column("Dated items"), Column("Latest item")),
        tuple(rows),
        appendix=True,
    )


class ReportOptions(TypedDict, total=False):
    """The report keywords `report` passes on to `build_report` (see there)."""

    author: str | None
    compare: Sequence[EvidenceLike]
    targets: Sequence[str] | str | None


def build_report(
    model: Model,
    scenario: EvidenceLike = None,
    *,
    author: str | None = None,
    compare: Sequence[EvidenceLike] = (),
    compare_names: Sequence[str] | None = None,
    issued: dt.datetime | None = None,
    targets: Sequence[str] | str | None = None,
    judge: bool = True,
) -> Report:
    """The report on `model` under `scenario` (a Scenario, Evidence or mapping; None: no evidence).

    `judge=False` leaves out the key judgements (their confidence sentence needs a
    parameter-sensitivity pass, the slow part on large models): for the tidy CSV,
    which does not show them.

    `author` defaults to $FORECAST_AUTHOR.  With `compare` (further scenarios)
    the report is a comparison: the side-by-side table comes first and the
    long tidy table goes to the appendix and the data.  `targets` are the
    questions judged (default Model.default_targets); a report judges at most
    MAX_JUDGEMENTS of them (each costs a few analyses) and says so.
    """
    if not isinstance(model, Model):
        raise ForecastError(
            f"report needs a Model from forecast.load_model, not {type(model).__name__}"
        )
    ev = _evidence_of(model, scenario)
    meta = model.metadata()
    naming = Naming.of(meta)
    wanted = [targets] if isinstance(targets, str) else list(targets or model.default_targets)
    for n in wanted:
        model.node(n)  # an unknown node is an error naming it
    if not wanted:
        raise EvidenceError("no targets given for the report")
    outcomes = wanted[:MAX_JUDGEMENTS]
    note = (
        f"The model has {len(wanted)} outcome nodes; this report judges the first "
        f"{len(outcomes)} (choose others with targets= or --target)."
        if len(wanted) > len(outcomes)
        else ""
    )
    now = model.posteriors(scenario=ev)
    base = model.posteriors()
    p_now, p_base = _probabilities(now), _probabilities(base)
    try:
        intervals = analysis.uncertainty(model, UNCERTAINTY_DRAWS, 0, targets=outcomes, scenario=ev)
    except EvidenceError as exc:
        raise EvidenceError(f"no report can be made: {exc}") from None
    judgements = (
        tuple(_judgement(model, n, ev, p_now, p_base, intervals, naming) for n in outcomes)
        if judge
        else ()
    )

    def rows_for(nodes: list[str]) -> tuple[tuple[Any, ...], ...]:
        out = []
        iv = {
            (str(r["node"]), str(r["state"])): (float(r["p05"]), float(r["p95"]))
            for r in intervals.to_dict(orient="records")
        }
        for n in nodes:
            for s in model.states(n):
                p, b = p_now[n, s], p_base[n, s]
                lo, hi = iv.get((n, s), (None, None))
                row: tuple[Any, ...] = (
                    naming.node(n),
                    naming.state(n, s),
                    p,
                    band_text(p)[0],
                    b,
                    p - b,
                )
                out.append(row + ((lo, hi) if n in outcomes else ()))
        return tuple(out)

    head = (
        Column("Outcome"),
        Column("State"),
        Column("Probability", "percent"),
        Column("In words"),
        Column("Without evidence", "percent"),
        Column("Change", "points"),
    )
    tables: list[Table] = []
    compare_table: Table | None = None
    long_table: Table | None = None
    data = now.assign(
        baseline=base["probability"].to_numpy(),
        delta_probability=now["probability"].to_numpy() - base["probability"].to_numpy(),
    )[["node", "state", "probability", "words", "baseline", "delta_probability"]]
    data = data.merge(
        intervals[["node", "state", "p05", "p95"]], on=["node", "state"], how="left", sort=False
    )
    data.insert(0, "scenario", _scenario_title(scenario, ev, naming))
    if compare:
        evs = [ev, *[_evidence_of(model, s) for s in compare]]
        names = list(
            compare_names
            or [
                _scenario_title(s, e, naming)
                for s, e in zip([scenario, *compare], evs, strict=True)
            ]
        )
        if len(set(names)) != len(names):
            names = [f"{i + 1}. {n}" for i, n in enumerate(names)]
        long = run(model, evs, targets=outcomes, names=names)
        wide = side_by_side(long)
        compare_table = Table(
            "Side by side",
            (Column("Outcome"), Column("State"), *[Column(n, "percent") for n in names]),
            tuple(
                (
                    naming.node(r["node"]),
                    naming.state(r["node"], r["state"]),
                    *[float(r[n]) for n in names],
                )
                for r in wide.to_dict(orient="records")
            ),
        )
        long_table = Table(
            "All scenarios, one row per scenario and state",
            (
                Column("Scenario"),
                Column("Outcome"),
                Column("State"),
                Column("Probability", "percent"),
                Column("In words"),
            ),
            tuple(
                (
                    r["scenario"],
                    naming.node(r["node"]),
                    naming.state(r["node"], r["state"]),
                    float(r["probability"]),
                    r["words"],
                )
                for r in long.to_dict(orient="records")
            ),
            appendix=True,
        )
        data = long[["scenario", "node", "state", "probability", "words"]].copy()
    if compare_table is not None:
        tables.append(compare_table)
    tables.append(
        Table(
            "Outcomes",
            (*head, Column("5%", "percent"), Column("95%", "percent")),
            rows_for(outcomes),
            "5% and 95%: the 90% interval from the uncertainty in the model's numbers.",
        )
    )
    tables.append(_evidence_table(ev, naming))
    chart_list = [_outcome_chart(model, n, p_now, p_base, naming) for n in outcomes]
    if ev.items:
        steps, lines = _timeline(model, ev, outcomes, naming)
        chart_list += lines
        tables.append(_timeline_table(steps, outcomes, model, naming))
    others = [n for n in model.nodes if n not in outcomes]
    if others:
        tables.append(
            Table(
                "Every other node",
                (Column("Node"), *head[1:]),
                rows_for(others),
                appendix=True,
            )
        )
    if long_table is not None:
        tables.append(long_table)
        tables.append(_settings_table(names, evs, naming))
    version, modified = _version(model)
    q = model.spec.question
    cutoff = max((it.date for it in ev.items), default=None)
    issue = IssueRecord(
        title=model.title,
        question=q.text if q else "",
        horizon=q.horizon if q else "",
        resolution=tuple(
            Criterion(naming.node(n), naming.state(n, s), t)
            for n, crit in (q.resolution.items() if q else [])
            for s, t in crit.items()
        ),
        author=(author if author is not None else os.environ.get("FORECAST_AUTHOR", "")).strip(),
        issued=(issued or dt.datetime.now(dt.UTC)).replace(tzinfo=None, microsecond=0),
        cutoff=cutoff or model.spec.as_of,
        as_of=model.spec.as_of,
        model_id=model.id,
        model_version=version,
        model_modified=modified,
        model_hash=model.content_hash,
        scenario=_scenario_title(scenario, ev, naming) if not compare else names[0],
        compared=tuple(names[1:]) if compare else (),
    )
    names_used = {naming.node(n) for n in model.nodes} | {
        naming.state(n, s) for n in model.nodes for s in model.states(n)
    }
    names_used |= {m.name for j in judgements for m in j.movers}
    names_used |= {it.title for it in ev.items}
    return Report(
        issue=issue,
        judgements=judgements,
        tables=tuple(tables),
        charts=tuple(chart_list),
        bibliography=_citations(model, ev),
        evidence=tuple(dict(r) for r in evidence_records(ev)),
        data=data.reset_index(drop=True),
        names=tuple(sorted(names_used)),
        comparison=bool(compare),
        note=note,
    )


def report(
    model: Model,
    scenario: EvidenceLike = None,
    *,
    items: Sequence[EvidenceItem] = (),
    **options: Unpack[ReportOptions],
) -> Report:
    """The report model (see build_report); `items` are dated evidence items added to the scenario."""
    if items:
        ev = _evidence_of(model, scenario)
        have = {it.id for it in ev.items}
        extra = tuple(it for it in items if it.id not in have)
        scenario_ev = replace(ev, items=ev.items + extra)  # keeps do, as_of and the name
        title = scenario.display if isinstance(scenario, Scenario) else None
        built = build_report(model, scenario_ev, **options)
        if title:
            built = _retitle(built, title)
        return built
    return build_report(model, scenario, **options)


def _retitle(rep: Report, title: str) -> Report:
    return replace(rep, issue=replace(rep.issue, scenario=title))
