"""The analyst workspace: set evidence, watch the outcomes move, compare scenarios, download reports.

`main(argv)` draws the whole page; app.py only passes it the command line.
Everything that is not layout (evidence from the controls, tables, exports,
the network drawing) lives in the package and is tested without Streamlit.

Widget keys carry a short model key, so switching models starts from clean
controls.  The compiled model is cached across reruns (st.cache_resource,
keyed by file path and modification time, or by the uploaded text's hash);
the no-evidence baseline with st.cache_data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ..errors import EvidenceError, ForecastError
from ..evidence import Evidence, EvidenceItem, Scenario, load_evidence, load_scenario, save_scenario
from ..formats import MODEL_SUFFIXES, FormatWarning, format_of, model_to_text, not_carried
from ..graph import network_dot
from ..model import Model, load_model
from ..plaintext import md, md_frame, md_inline
from ..present import humanise
from . import analysis, audit, charts, elicitation, journal, report, workshop
from . import upload as upload_worker
from .controls import (
    MODE_LABELS,
    MODES,
    PROBABILITIES,
    STATE,
    UNSET,
    NodeControl,
    as_of_matching,
    controls_from_scenario,
    default_as_of,
    evidence_from_controls,
    rebalance,
    round_percents,
)
from .session import remember, restore

DEFAULT_MODEL = "models/russia_iran.yaml"
MAX_UPLOAD_MB = 2
UPLOAD_TYPES = [s.lstrip(".") for s in MODEL_SUFFIXES]
NO_ITEMS = "none"
LOG = logging.getLogger("forecast.app")
UNEXPECTED = "The page hit an unexpected problem and stopped"
TABS = ["Forecast", "Scenarios", "Timeline", "Analysis", "History", "Team", "Model", "Audit"]
TAB_KEY = "workspace_tab"


# ------------------------------------------------------------------ arguments


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """--model PATH, --evidence DIR, --scenarios DIR, --models DIR (unknown arguments are ignored)."""
    parser = argparse.ArgumentParser(prog="app.py", add_help=False, exit_on_error=False)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--evidence", default="evidence")
    parser.add_argument("--scenarios", default=None)
    parser.add_argument("--models", default=None)
    try:
        args, _ = parser.parse_known_args(list(argv or []))
    except (argparse.ArgumentError, SystemExit):
        args = parser.parse_known_args([])[0]
    if args.scenarios is None:
        args.scenarios = str(Path(args.evidence) / "scenarios")
    if args.models is None:
        args.models = (
            str(Path(args.model).parent) if Path(args.model).parent.name == "models" else "models"
        )
    return args


def _key(mk: str, *parts: str) -> str:
    return ".".join((mk, *parts))


# ------------------------------------------------------------------ cached loading


@st.cache_resource(show_spinner=False, max_entries=16)
def _model_from_file(path: str, mtime_ns: int) -> Model:
    return load_model(path)


@st.cache_data(show_spinner=False, max_entries=16)
def _interchange(_model: Model, model_key: str, fmt: str) -> str:
    with warnings.catch_warnings():  # what the format cannot carry is shown beside the buttons
        warnings.simplefilter("ignore", FormatWarning)
        return model_to_text(_model, fmt)


@st.cache_data(show_spinner=False, max_entries=16)
def _baseline(_model: Model, model_key: str) -> pd.DataFrame:
    return _model.posteriors()


def _stamp(folder: Path, pattern: str) -> tuple[tuple[str, int, int], ...]:
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            (str(f), f.stat().st_mtime_ns, f.stat().st_size)
            for f in folder.rglob(pattern)
            if f.is_file()
        )
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _items(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> list[EvidenceItem]:
    return load_evidence(folder)


@st.cache_data(show_spinner=False, max_entries=8)
def _scenarios(
    folder: str, stamp: tuple[tuple[str, int, int], ...], _pool: list[EvidenceItem], pool_key: str
) -> tuple[list[Scenario], list[str]]:
    found: list[Scenario] = []
    problems: list[str] = []
    for path, _mtime, _size in stamp:
        try:
            found.append(load_scenario(path, evidence=_pool))
        except ForecastError as exc:
            problems.append(f"{Path(path).name}: {exc}")
    return sorted(found, key=lambda s: s.name), problems


# ------------------------------------------------------------------ page state


@dataclass
class Page:
    """What one run of the page knows; passed between the panels."""

    model: Model
    mk: str
    args: argparse.Namespace
    baseline: pd.DataFrame
    items: list[EvidenceItem] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    controls: dict[str, NodeControl] = field(default_factory=dict)
    applied: list[EvidenceItem] = field(default_factory=list)
    evidence: Evidence | None = None
    current: pd.DataFrame | None = None
    problem: str = ""
    hidden_items: int = 0
    scenario_problems: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    def belief(self, node: str) -> dict[str, float]:
        sub = self.baseline[self.baseline["node"] == node]
        return dict(zip(sub["state"], sub["probability"], strict=True))


# ------------------------------------------------------------------ entry point


def main(argv: Sequence[str] | None = None) -> None:
    """Draw the workspace; an unexpected failure shows a sentence, never a traceback."""
    st.set_page_config(page_title="Forecast workspace", page_icon="📈", layout="wide")
    try:
        _draw(argv)
    except Exception as exc:  # last resort: the server log keeps the traceback
        LOG.exception("the workspace page failed")
        ours = type(exc).__module__.startswith("forecast") and isinstance(exc, ValueError)
        st.error(
            UNEXPECTED
            + (f" ({md_inline(exc)})" if ours else "")
            + ". Reload the page; if it happens again, please report it (details are in the server's log)."
        )


def _draw(argv: Sequence[str] | None) -> None:
    args = parse_args(argv)
    model = workshop.edited_model(_choose_model(args))  # the Model tab's draft, when edited
    if model is None:
        st.title("Forecast workspace")
        st.info("Choose a model file in the sidebar, or upload one.")
        return
    mk = model.content_hash[:12]
    page = Page(model=model, mk=mk, args=args, baseline=_baseline(model, model.content_hash))
    _load_pools(page)
    workshop.edited_pools(page)
    _header(model)

    # Only the open tab's content runs (on_change="rerun"), except the Forecast tab:
    # its widgets hold the analyst's settings, and Streamlit forgets the state of
    # widgets that are not drawn, so it is drawn (hidden) whichever tab is open.
    tabs = st.tabs(TABS, key=TAB_KEY, on_change="rerun")
    with tabs[0]:
        _forecast_tab(page)
    lazy: list[Callable[[], None]] = [
        lambda: _scenarios_tab(page),
        lambda: _timeline_tab(page),
        lambda: _evidence_tab(page, analysis.render),
        lambda: _evidence_tab(page, journal.render),
        lambda: _evidence_tab(page, elicitation.render),
        lambda: workshop.render(page),
        lambda: _evidence_tab(page, audit.render),
    ]
    for tab, draw in zip(tabs[1:], lazy, strict=True):
        if tab.open is not False:
            with tab:
                draw()


# ------------------------------------------------------------------ model choice and header


def _model_files(args: argparse.Namespace) -> list[str]:
    files = [args.model]
    folder = Path(args.models)
    if folder.is_dir():
        files += [
            str(f) for f in sorted(folder.iterdir()) if format_of(f) is not None and f.is_file()
        ]
    seen: set[Path] = set()
    out = []
    for f in files:
        r = Path(f).resolve()
        if r not in seen:
            seen.add(r)
            out.append(f)
    return out


def _choose_model(args: argparse.Namespace) -> Model | None:
    sb = st.sidebar
    sb.header("Model")
    files = _model_files(args)
    choice = sb.selectbox("Model file", files, format_func=lambda f: Path(f).name, key="model_file")
    upload = sb.file_uploader(
        f"…or upload a model file (YAML, BIF, XMLBIF, NET, XDSL, DSL, DNE, UAI or RDS, up to {MAX_UPLOAD_MB} MB)",
        type=UPLOAD_TYPES,
        max_upload_size=MAX_UPLOAD_MB,
        key="model_upload",
    )
    if upload is not None:
        model = _uploaded_model(upload)
        if model is not None:
            sb.success(f"Using the uploaded model “{md_inline(model.title)}”.")
            return model
        sb.caption("Showing the model file chosen above instead.")
    try:
        path = Path(choice)
        model = _model_from_file(str(path), path.stat().st_mtime_ns if path.exists() else 0)
    except ForecastError as exc:
        _show_problems(sb, f"The model file {md_inline(Path(choice).name)} cannot be used:", exc)
        return None
    _about(model)
    return model


def _uploaded_model(upload: Any) -> Model | None:
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        st.sidebar.error(
            f"{md_inline(upload.name)} is larger than {MAX_UPLOAD_MB} MB; upload a smaller model file."
        )
        return None
    if format_of(upload.name) == "yaml":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            st.sidebar.error(
                f"{md_inline(upload.name)} is not a UTF-8 text file; upload the model's YAML file "
                "or a file in one of the interchange formats."
            )
            return None
    try:  # in a worker process with time and memory limits, kept for this session only
        with st.spinner(f"Reading {md_inline(upload.name)}…"):
            return upload_worker.session_model(st.session_state, data, upload.name)
    except ForecastError as exc:
        _show_problems(st.sidebar, f"{md_inline(upload.name)} is not a valid model:", exc)
        return None


def _show_problems(where: Any, title: str, exc: ForecastError) -> None:
    problems = getattr(exc, "problems", None) or [str(exc)]
    where.error(title + "\n" + "\n".join(f"- {md_inline(p)}" for p in problems[:20]))


def _about(model: Model) -> None:
    spec = model.spec
    with st.sidebar.expander("About this model"):
        if spec.description:
            st.markdown(md(spec.description))
        if spec.sources:
            st.markdown("**Sources**")
            for s in spec.sources:
                bits = [b for b in (getattr(s, "author", ""), getattr(s, "title", "")) if b]
                date = getattr(s, "date", None)
                st.markdown(md_inline(f"- {' — '.join(bits)}" + (f" ({date})" if date else "")))
        st.markdown("**Open it in other tools**")
        st.caption("GeNIe, Netica, Hugin, pyAgrum and bnlearn read these interchange formats.")
        lost = not_carried(model, "bif")
        if lost:
            st.caption("Not in these files: " + "; ".join(lost) + ".")
        stem = re.sub(r"[^\w.-]", "_", model.id)
        for label, fmt, suffix, mime in (
            ("Download as BIF", "bif", "bif", "text/plain"),
            ("Download as XMLBIF", "xmlbif", "xmlbif", "application/xml"),
            ("Download as Hugin NET", "net", "net", "text/plain"),
            ("Download as GeNIe XDSL", "xdsl", "xdsl", "application/xml"),
        ):
            try:
                data = _interchange(model, model.content_hash, fmt)
            except ForecastError as exc:  # a name the format cannot hold: say so, keep the page
                st.caption(f"{label} is not possible: {md_inline(exc)}")
                continue
            st.download_button(
                label,
                data,
                file_name=f"{stem}.{suffix}",
                mime=mime,
                key=f"{model.content_hash[:12]}.export.{fmt}",
            )


def _readable_date(text: str) -> str:
    """'2020-01-31' -> '31 January 2020'; anything else is shown as written."""
    try:
        return dt.date.fromisoformat(str(text).strip()).strftime("%d %B %Y")
    except ValueError:
        return str(text)


def _header(model: Model) -> None:
    spec = model.spec
    st.title(md_inline(model.title))
    facts = []
    if spec.as_of:
        facts.append(f"As of **{spec.as_of:%d %B %Y}**")
    if spec.question and spec.question.horizon:
        facts.append(f"Horizon **{md_inline(_readable_date(spec.question.horizon))}**")
    if facts:
        st.markdown(" · ".join(facts))
    if spec.question:
        st.markdown(f"**Question.** {md_inline(spec.question.text)}")
        if spec.question.resolution:
            with st.expander("Resolution criteria"):
                for node, crit in spec.question.resolution.items():
                    name = model.label(node) if node in model.nodes else humanise(node)
                    st.markdown(f"**{md_inline(name)}**")
                    for state, text in crit.items():
                        shown = (
                            model.state_label(node, state)
                            if node in model.nodes
                            else humanise(state)
                        )
                        st.markdown(f"- *{md_inline(shown)}*: {md_inline(text)}")


def _load_pools(page: Page) -> None:
    folder = Path(page.args.evidence)
    pool: list[EvidenceItem] = []
    if folder.exists():
        try:
            pool = _items(str(folder), _stamp(folder, "*.y*ml"))
        except ForecastError as exc:
            st.warning(f"The evidence items could not be read: {md_inline(exc)}")
    page.items, others = page.model.applicable_items(pool)
    page.hidden_items = len(others)
    sfolder = Path(page.args.scenarios)
    if sfolder.is_dir():
        stamp = tuple(s for s in _stamp(sfolder, "*.y*ml") if Path(s[0]).parent == sfolder)
        pool_key = "|".join(f"{it.id}@{it.date}" for it in pool)
        page.scenarios, problems = _scenarios(str(sfolder), stamp, pool, pool_key)
        page.scenario_problems = problems


# ------------------------------------------------------------------ forecast tab


def _forecast_tab(page: Page) -> None:
    _init_items(page)
    on = sum(bool(st.session_state.get(_key(page.mk, "item", it.id))) for it in page.items)
    left, right = st.columns([5, 7], gap="large")
    with left:
        # The labels must not change with the settings: Streamlit identifies tabs by
        # their labels, so a label that counted the applied items would send the
        # analyst back to "Drivers" after every switch.
        items_label = f"Evidence items ({len(page.items)})" if page.items else "Evidence items"
        drivers_tab, items_tab = st.tabs(["Drivers", items_label])
        with drivers_tab:
            page.controls = _drivers_panel(page)
        with items_tab:
            if page.items:
                st.caption(f"{on} of {len(page.items)} items applied.")
            page.applied = _items_panel(page)
    lik = st.session_state.get(_key(page.mk, "scenario_lik"), {})
    try:
        page.evidence = evidence_from_controls(
            page.model, page.controls, page.applied, likelihood=lik
        )
        page.current = report.current_table(page.model, page.evidence, page.baseline)
    except ForecastError as exc:
        page.problem = str(exc)
    with right:
        if page.problem:
            st.error(f"These settings cannot be used: {md_inline(page.problem)}")
            return
        _fill_estimates(page)
        _outcomes_panel(page)
        _downloads(page)
    _network_panel(page)


def _fill_estimates(page: Page) -> None:
    """Under each node left 'not set': its probabilities given everything else that is set."""
    assert page.current is not None
    probs: dict[str, list[float]] = {}
    for node, p in zip(page.current["node"], page.current["probability"], strict=True):
        probs.setdefault(node, []).append(float(p))
    for node, slot in page.slots.items():
        pct = round_percents(probs[node])
        states = page.model.states(node)
        now = " · ".join(
            f"{page.model.state_label(node, s)} {v}%" for s, v in zip(states, pct, strict=True)
        )
        slot.caption(f"Now: {md_inline(now)}")


def _drivers_panel(page: Page) -> dict[str, NodeControl]:
    model, mk = page.model, page.mk
    st.caption(
        "Leave a node **not set** to keep the model's belief, pick a **definite state**, "
        "or give **your probabilities** (the sliders of a node always add up to 100%)."
    )
    drivers = model.driver_nodes
    others = [n for n in model.nodes if n not in drivers]
    extra = st.multiselect(
        "Set evidence on other nodes too",
        others,
        format_func=model.label,  # options are plain text, not Markdown
        key=_key(mk, "extra_nodes"),
        placeholder="Choose nodes",
    )
    controls: dict[str, NodeControl] = {}
    for node in drivers + [n for n in others if n in extra]:
        controls[node] = _node_control(page, node)
    lik = st.session_state.get(_key(mk, "scenario_lik"), {})
    if lik:
        name = st.session_state.get(_key(mk, "scenario_name"), "the loaded scenario")
        names = ", ".join(model.label(n) for n in lik)
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(f"Also applied from {md_inline(name)}: reported weights on {md_inline(names)}.")
        c2.button(
            "Remove", key=_key(mk, "drop_lik"), on_click=_drop_scenario_likelihood, args=(mk,)
        )
    return controls


def _drop_scenario_likelihood(mk: str) -> None:
    st.session_state[_key(mk, "scenario_lik")] = {}


def _node_control(page: Page, node: str) -> NodeControl:
    model, mk = page.model, page.mk
    states = model.states(node)
    spec = model.node(node)
    mode_key = _key(mk, "mode", node)
    st.session_state.setdefault(mode_key, UNSET)
    with st.container(border=True):
        st.markdown(f"**{md_inline(model.label(node))}**", help=md(spec.description) or None)
        mode = st.segmented_control(
            f"How to set {md_inline(model.label(node))}",
            MODES,
            format_func=MODE_LABELS.__getitem__,
            key=mode_key,
            required=True,
            label_visibility="collapsed",
            width="stretch",
        )
        belief = page.belief(node)
        if mode == STATE:
            state_key = _key(mk, "state", node)
            if st.session_state.get(state_key) not in states:
                st.session_state[state_key] = max(states, key=lambda s: belief.get(s, 0.0))
            state = st.radio(
                f"State of {md_inline(model.label(node))}",
                states,
                format_func=lambda s: md_inline(page.model.state_label(node, s)),
                key=state_key,
                horizontal=True,
                label_visibility="collapsed",
            )
            return NodeControl(STATE, state=state)
        if mode == PROBABILITIES:
            keys = {s: _key(mk, "pct", node, s) for s in states}
            if any(k not in st.session_state for k in keys.values()):
                start = round_percents([belief.get(s, 0.0) for s in states])
                for s, v in zip(states, start, strict=True):
                    st.session_state[keys[s]] = v
            percents = {}
            for s in states:
                percents[s] = st.slider(
                    md_inline(page.model.state_label(node, s)),
                    min_value=0,
                    max_value=100,
                    step=1,
                    format="%d%%",
                    key=keys[s],
                    on_change=_rebalance,
                    args=(keys, s),
                )
            return NodeControl(PROBABILITIES, percents=percents)
        page.slots[node] = st.empty()
        return NodeControl(UNSET)


def _rebalance(keys: dict[str, str], changed: str) -> None:
    """Slider callback: the other states of the node share what is left, so the node sums to 100%."""
    current = {s: st.session_state.get(k, 0) for s, k in keys.items()}
    for s, v in rebalance(current, changed, current[changed]).items():
        st.session_state[keys[s]] = v


def _init_items(page: Page) -> None:
    """First visit: apply every item known at the model's as-of date (the model's current forecast)."""
    asof_key = _key(page.mk, "asof")
    if asof_key in st.session_state or not page.items:
        return
    start = default_as_of(page.model, page.items) or NO_ITEMS
    st.session_state[asof_key] = start
    for it in page.items:
        st.session_state.setdefault(
            _key(page.mk, "item", it.id), start != NO_ITEMS and it.date.isoformat() <= start
        )


def _items_panel(page: Page) -> list[EvidenceItem]:
    model, mk, items = page.model, page.mk, page.items
    hidden = page.hidden_items
    if not items:
        st.info("There are no dated evidence items for this model.")
        if hidden:
            st.caption(
                f"{hidden} item(s) in the evidence folder bear on nodes this model does not have."
            )
        return []
    dates = sorted({it.date for it in items})
    options = [NO_ITEMS] + [d.isoformat() for d in dates]
    asof_key = _key(mk, "asof")
    st.select_slider(
        "Apply every item up to",
        options,
        format_func=lambda d: "no items" if d == NO_ITEMS else pd.Timestamp(d).strftime("%d %b %Y"),
        key=asof_key,
        on_change=_apply_as_of,
        args=(mk, [(it.id, it.date.isoformat()) for it in items]),
        help="Moving this switches on every item dated up to the chosen day and switches off the later ones.",
    )
    applied = []
    for it in items:
        key = _key(mk, "item", it.id)
        st.session_state.setdefault(key, False)
        with st.container(border=True):
            on = st.toggle(md_inline(it.title), key=key)
            favoured = max(it.likelihood, key=lambda s: it.likelihood[s])
            st.caption(
                f"{it.date:%d %b %Y} · {md_inline(model.source_label(it.source))} · "
                f"bears on *{md_inline(model.label(it.node))}*, "
                f"pointing towards *{md_inline(page.model.state_label(it.node, favoured))}*"
            )
            if it.rationale:
                st.caption(md(it.rationale))
        if on:
            applied.append(it)
    if hidden:
        st.caption(f"{hidden} further item(s) bear on nodes this model does not have.")
    return applied


def _apply_as_of(mk: str, dated: list[tuple[str, str]]) -> None:
    chosen = st.session_state.get(_key(mk, "asof"), NO_ITEMS)
    for item_id, date in dated:
        st.session_state[_key(mk, "item", item_id)] = chosen != NO_ITEMS and date <= chosen


def _pinned(page: Page) -> tuple[str, pd.DataFrame | None]:
    """The scenario the outcomes are compared with, if any: (name, posterior table)."""
    mk = page.mk
    pins: dict[str, tuple[str, Evidence]] = {}
    pinned = st.session_state.get(_key(mk, "pinned"))
    if pinned is not None:
        pins["pinned"] = pinned
    for s in page.model.fitting_scenarios(page.scenarios):
        pins[f"scenario:{s.name}"] = (f"scenario “{s.name}”", page.model.evidence(s))
    options = ["none", *pins]
    choice_key = _key(mk, "compare_with")
    if st.session_state.get(choice_key) not in options:
        st.session_state[choice_key] = "none"
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    choice = c1.selectbox(
        "Compare with",
        options,
        format_func=lambda o: (
            "nothing (only the model's belief)" if o == "none" else pins[o][0].capitalize()
        ),
        key=choice_key,
    )
    c2.button(
        "Pin these settings",
        key=_key(mk, "pin"),
        on_click=_pin,
        args=(mk, page.evidence),
        help="Keep the current settings as a reference; later changes are shown against them.",
        width="stretch",
    )
    if choice == "none":
        return "", None
    name, ev = pins[choice]
    try:
        return name, page.model.posteriors(scenario=ev)
    except ForecastError as exc:
        st.warning(f"The {md_inline(name)} cannot be shown: {md_inline(exc)}")
        return "", None


def _pin(mk: str, evidence: Evidence) -> None:
    st.session_state[_key(mk, "pinned")] = ("pinned settings", evidence)
    st.session_state[_key(mk, "compare_with")] = "pinned"


def _outcomes_panel(page: Page) -> None:
    model = page.model
    st.subheader("Outcomes")
    pinned_name, pinned = _pinned(page)
    assert page.current is not None
    legend = "The dark tick marks the model's belief without evidence"
    legend += f"; the orange tick the {md_inline(pinned_name)}." if pinned is not None else "."
    st.caption(legend)
    for node in model.default_targets:
        rows = report.outcome_rows(model, node, page.current, page.baseline, pinned)
        st.markdown(f"##### {md_inline(model.label(node))}")
        st.vega_lite_chart(spec=charts.outcome_spec(rows), width="stretch")
        st.table(md_frame(report.outcome_display(rows, pinned_name).set_index("State")))


def _network_panel(page: Page) -> None:
    model = page.model
    assert page.current is not None and page.evidence is not None
    st.divider()
    st.subheader("The network")
    show = st.radio(
        "Show on each node",
        ["probability", "change"],
        format_func={
            "probability": "Probabilities",
            "change": "Change from the model's belief",
        }.get,
        horizontal=True,
        key=_key(page.mk, "graph_show"),
    )
    dot = network_dot(
        model,
        page.current,
        baseline=page.baseline,
        show=show,
        evidence_nodes=page.evidence.nodes(),
    )
    st.graphviz_chart(dot, width="stretch")
    st.caption(
        "Arrows run from cause to effect. The deeper the orange, the further the evidence moved that node; "
        "a heavy outline marks a node with evidence on it, a double outline an outcome."
    )


def _download_row(label: str, stem: str, make: Callable[[str], bytes], key: str) -> None:
    st.markdown(f"**{label}**")
    cols = st.columns(len(report.DOWNLOADS))
    for col, (name, (fmt, mime)) in zip(cols, report.DOWNLOADS.items(), strict=True):
        col.download_button(
            name,
            data=functools.partial(make, fmt),
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=_key(key, fmt),
            on_click="ignore",
            width="stretch",
        )


def _author(mk: str) -> str:
    """The report's author: the field on the page, else $FORECAST_AUTHOR."""
    key = _key(mk, "report_author")
    restore(key, os.environ.get("FORECAST_AUTHOR", ""))
    author = st.text_input("Author of the report", key=key, placeholder="Your name")
    remember(key, author)
    return str(author or "").strip()


def _downloads(page: Page) -> None:
    model, evidence = page.model, page.evidence
    assert evidence is not None
    st.subheader("Downloads")
    author = _author(page.mk)
    _download_row(
        "The report: key judgements, issue record, charts and sources (the same file as `forecast report`)",
        report.file_stem(model, "report"),
        lambda fmt: report.report_file(model, evidence, fmt, author),
        _key(page.mk, "dl_current"),
    )


# ------------------------------------------------------------------ scenarios tab


def _scenarios_tab(page: Page) -> None:
    mk = page.mk
    problems = page.scenario_problems
    fitting = page.model.fitting_scenarios(page.scenarios)
    load_col, save_col = st.columns(2, gap="large")
    with load_col:
        st.subheader("Load a scenario")
        if not fitting:
            st.info(
                "No saved scenarios fit this model yet. Save the current settings to start one."
            )
        else:
            names = [s.name for s in fitting]
            titles = {s.name: s.display for s in fitting}
            chosen = st.selectbox(
                "Scenario",
                names,
                key=_key(mk, "load_choice"),
                format_func=titles.__getitem__,  # options are plain text
            )
            scenario = next(s for s in fitting if s.name == chosen)
            if scenario.description:
                st.caption(md(scenario.description))
            st.button(
                "Load into the controls",
                key=_key(mk, "load"),
                on_click=_load_scenario,
                args=(page, scenario),
                type="primary",
            )
            message = st.session_state.pop(_key(mk, "load_message"), None)
            if message:
                (st.success if message[0] == "ok" else st.error)(md_inline(message[1]))
        if problems:
            with st.expander(f"{len(problems)} scenario file(s) could not be read"):
                for p in problems:
                    st.markdown(f"- {md_inline(p)}")
        others = len(page.scenarios) - len(fitting)
        if others:
            st.caption(f"{others} saved scenario(s) belong to another model and are not listed.")
    with save_col:
        _save_panel(page)
    st.divider()
    _comparison_panel(page, fitting)


def _load_scenario(page: Page, scenario: Scenario) -> None:
    """Button callback: set every control so the page reproduces the scenario."""
    model, mk = page.model, page.mk
    try:
        controls, item_ids, lik = controls_from_scenario(model, scenario)
    except ForecastError as exc:
        st.session_state[_key(mk, "load_message")] = (
            "error",
            f"Scenario “{scenario.name}” cannot be loaded: {exc}",
        )
        return
    drivers = model.driver_nodes
    st.session_state[_key(mk, "extra_nodes")] = [
        n for n in model.nodes if n in controls and n not in drivers
    ]
    for node in model.nodes:
        c = controls.get(node, NodeControl())
        st.session_state[_key(mk, "mode", node)] = c.mode
        if c.mode == STATE:
            st.session_state[_key(mk, "state", node)] = c.state
        elif c.mode == PROBABILITIES:
            for s, v in c.percents.items():
                st.session_state[_key(mk, "pct", node, s)] = int(v)
    ids = set(item_ids)
    for it in page.items:
        st.session_state[_key(mk, "item", it.id)] = it.id in ids
    st.session_state[_key(mk, "asof")] = as_of_matching(page.items, ids) or NO_ITEMS
    st.session_state[_key(mk, "scenario_lik")] = lik
    st.session_state[_key(mk, "scenario_name")] = f"scenario “{scenario.name}”"
    st.session_state[_key(mk, "load_message")] = (
        "ok",
        f"Loaded scenario “{scenario.name}” into the controls.",
    )


def _save_panel(page: Page) -> None:
    mk = page.mk
    st.subheader("Save the current settings")
    if page.evidence is None:
        st.info("Fix the settings on the Forecast tab before saving them.")
        return
    folder = Path(page.args.scenarios)
    name = st.text_input(
        "Name",
        key=_key(mk, "save_name"),
        placeholder="e.g. detente_2019",
        help="Letters, digits, '_', '-' and '.', starting with a letter or digit.",
    )
    description = st.text_area(
        "Description (optional)", key=_key(mk, "save_description"), height=80
    )
    exists = bool(name) and (folder / f"{name.strip()}.yaml").exists()
    replace = False
    if exists:
        replace = st.checkbox(
            f"A scenario named “{name.strip()}” already exists. Replace it?",
            key=_key(mk, "save_replace"),
        )
    if st.button("Save scenario", key=_key(mk, "save"), disabled=not name):
        try:
            scenario = page.evidence.to_scenario(name.strip(), description.strip())
        except ValueError:
            st.error(
                f"“{md_inline(name.strip())}” cannot be used as a scenario name: use letters, digits, '_', '-' and '.', "
                "starting with a letter or digit (at most 100 characters)."
            )
            return
        try:
            save_scenario(scenario, folder, overwrite=replace)
        except EvidenceError as exc:
            st.error(md_inline(exc))
        except OSError as exc:
            st.error(f"The scenario could not be written: {md_inline(exc.strerror or exc)}")
        else:
            st.session_state[_key(mk, "save_message")] = f"Saved scenario “{scenario.name}”."
            st.rerun()
    message = st.session_state.pop(_key(mk, "save_message"), None)
    if message:
        st.success(md_inline(message))


def _comparison_panel(page: Page, fitting: list[Scenario]) -> None:
    model, mk = page.model, page.mk
    st.subheader("Compare scenarios side by side")
    choices: dict[str, tuple[str, Evidence]] = {"baseline": ("Model's belief", Evidence())}
    if page.evidence is not None:
        choices["current"] = ("Current settings", page.evidence)
    for s in fitting:
        choices[f"scenario:{s.name}"] = (s.display, model.evidence(s))
    key = _key(mk, "compare")
    default = [c for c in choices if c in ("baseline", "current")] + [
        c for c in choices if c.startswith("scenario:")
    ][:4]
    restore(key, default)
    if any(c not in choices for c in st.session_state[key]):
        st.session_state[key] = [c for c in st.session_state[key] if c in choices] or default
    picked = st.multiselect(
        "Scenarios", list(choices), format_func=lambda c: choices[c][0], key=key
    )
    remember(key, picked)
    scope_key = _key(mk, "compare_scope")
    restore(scope_key, "outcomes")
    scope = st.radio(
        "Nodes",
        ["outcomes", "all"],
        format_func={"outcomes": "Outcomes only", "all": "Every node"}.get,
        horizontal=True,
        key=scope_key,
    )
    remember(scope_key, scope)
    if not picked:
        st.info("Choose at least one scenario to compare.")
        return
    names = [choices[c][0] for c in picked]
    try:
        table = report.comparison(
            model, [choices[c][1] for c in picked], names, outcomes_only=scope == "outcomes"
        )
    except ForecastError as exc:
        st.error(f"The comparison cannot be made: {md_inline(exc)}")
        return
    shown = report.comparison_display(model, table)
    st.dataframe(shown, hide_index=True, width="stretch")
    evs = [choices[c][1] for c in picked]
    author = str(st.session_state.get(_key(mk, "report_author")) or "").strip()
    _download_row(
        "The comparison report: side by side first, the long table in the appendix",
        report.file_stem(model, "comparison"),
        lambda fmt: report.report_file(model, evs[0], fmt, author, evs[1:], names),
        _key(mk, "dl_compare"),
    )


# ------------------------------------------------------------------ timeline tab


def _timeline_tab(page: Page) -> None:
    model, mk = page.model, page.mk
    st.subheader("How the outcomes moved with each dated item")
    if not page.items:
        st.info(
            "There are no dated evidence items for this model, so there is no timeline to draw."
        )
        return
    base_key = _key(mk, "tl_base")
    restore(base_key, False)
    use_drivers = st.toggle(
        "Start from the current driver settings (otherwise from the model's belief)",
        key=base_key,
    )
    remember(base_key, use_drivers)
    base = None
    if use_drivers:
        if page.evidence is None:
            st.info("Fix the settings on the Forecast tab first.")
            return
        base = Evidence(page.evidence.hard, page.evidence.likelihood, page.evidence.fixed)
    try:
        steps = report.timeline_steps(model, page.items, base=base)
    except ForecastError as exc:
        st.error(f"The timeline cannot be drawn: {md_inline(exc)}")
        return
    for node in model.default_targets:
        st.markdown(f"##### {md_inline(model.label(node))}")
        st.altair_chart(
            charts.timeline_chart(steps[steps["node"] == node]), width="stretch", height=320
        )
    with st.expander("The items in order, with the outcome probabilities after each"):
        wide = steps.assign(column=steps["outcome"] + ": " + steps["state"]).pivot_table(
            index=["step", "when", "item"], columns="column", values="probability", sort=False
        )
        wide = (wide * 100).round(1).reset_index().drop(columns="step")
        wide = wide.rename(columns={"when": "Date", "item": "Item"})
        st.dataframe(wide, hide_index=True, width="stretch")


# ------------------------------------------------------------------ optional tabs


def _evidence_tab(page: Page, render: Callable[[Model, Evidence], None]) -> None:
    """A tab that works on the Forecast tab's evidence (analysis, history, team)."""
    if page.evidence is None:
        st.info("Fix the settings on the Forecast tab first.")
        return
    try:
        render(page.model, page.evidence)
    except ForecastError as exc:
        st.error(md_inline(exc))
