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
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ..errors import EvidenceError, ForecastError
from ..evidence import (
    Evidence,
    EvidenceItem,
    Scenario,
    delete_scenario,
    load_evidence,
    load_scenario,
    retitle_scenario,
    save_scenario,
)
from ..formats import MODEL_SUFFIXES, FormatWarning, format_of, model_to_text, not_carried
from ..model import Model, load_model
from ..plaintext import md, md_inline
from ..present import humanise
from . import analysis, audit, charts, elicitation, forecast_tab, journal, report, workshop
from . import upload as upload_worker
from .controls import (
    NodeControl,
    evidence_from_controls,
    settings_from_scenario,
)
from .session import remember, restore

DEFAULT_MODEL = "models/russia_iran.yaml"
MAX_UPLOAD_MB = 2
UPLOAD_TYPES = [s.lstrip(".") for s in MODEL_SUFFIXES]
NO_ITEMS = "none"
LOG = logging.getLogger("forecast.app")
UNEXPECTED = "The page hit an unexpected problem and stopped"
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


@st.cache_resource(show_spinner=False, max_entries=16)
def _baseline(_model: Model, model_key: str) -> pd.DataFrame:
    # a resource, not data: shared read-only, never copied or pickled on each rerun
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
    conflicts: list[str] = field(default_factory=list)
    reference: pd.DataFrame | None = None
    hidden_items: int = 0
    scenario_problems: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    def belief(self, node: str) -> dict[str, float]:
        sub = self.baseline[self.baseline["node"] == node]
        return dict(zip(sub["state"], sub["probability"], strict=True))


# ------------------------------------------------------------------ entry point


def main(argv: Sequence[str] | None = None) -> None:
    """Draw the workspace; an unexpected failure shows a sentence, never a traceback."""
    st.set_page_config(
        page_title="Forecast workspace",
        page_icon="📈",
        layout="wide",
        initial_sidebar_state="collapsed",  # the model choice is secondary; the page needs the width
    )
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

    # The settings live in the session (forecast_tab.settings), so every tab works
    # from them; only the open tab's content runs (on_change="rerun").
    forecast_tab.compute(page)
    tabs = st.tabs([label for label, _ in TABS], key=TAB_KEY, on_change="rerun")
    for tab, (label, draw) in zip(tabs, TABS, strict=True):
        if tab.open is not False:
            with tab:
                draw(page)
        elif label == "Forecast":
            forecast_tab.closed(page)


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
    forecast_tab.render(page)


def _outcome_nodes(model: Model) -> list[str]:
    return model.default_targets


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
            _manage_panel(page, scenario)
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
        chosen, item_ids, lik = settings_from_scenario(model, scenario)
        evidence = evidence_from_controls(
            model,
            chosen.controls,
            [it for it in page.items if it.id in set(item_ids)],
            likelihood=lik,
        )
    except ForecastError as exc:
        st.session_state[_key(mk, "load_message")] = (
            "error",
            f"Scenario “{scenario.display}” cannot be loaded: {exc}",
        )
        return
    st.session_state[_key(mk, "settings")] = chosen
    st.session_state[_key(mk, "items_on")] = set(item_ids) & {it.id for it in page.items}
    st.session_state[_key(mk, "scenario_lik")] = lik
    st.session_state[_key(mk, "scenario_name")] = f"scenario “{scenario.display}”"
    st.session_state[_key(mk, "loaded")] = (scenario.display, repr(evidence.describe()))
    st.session_state[_key(mk, "load_message")] = (
        "ok",
        f"Loaded “{scenario.display}” into the controls (see the Forecast tab).",
    )


def _manage_panel(page: Page, scenario: Scenario) -> None:
    """Rename (a new title) or delete the chosen scenario, each after a confirmation."""
    mk, folder = page.mk, Path(page.args.scenarios)
    with st.expander("Rename or delete this scenario"):
        title = st.text_input(
            "New title", value=scenario.display, key=_key(mk, "retitle", scenario.name)
        )
        if st.button("Rename", key=_key(mk, "retitle_go", scenario.name)):
            _scenario_action(
                page,
                lambda: retitle_scenario(scenario.name, title, folder),
                "renamed",
                f"Renamed to “{' '.join(title.split())}”.",
            )
        sure = st.checkbox(
            f"Yes, delete “{md_inline(scenario.display)}” for good",
            key=_key(mk, "delete_sure", scenario.name),
        )
        if st.button(
            "Delete", key=_key(mk, "delete", scenario.name), disabled=not sure, type="secondary"
        ):
            _scenario_action(
                page,
                lambda: delete_scenario(scenario.name, folder),
                "deleted",
                f"Deleted “{scenario.display}”.",
            )


def _scenario_action(page: Page, act: Callable[[], object], done: str, message: str) -> None:
    """Run a file action on a scenario: its error on the page, or the message after a rerun."""
    try:
        act()
    except (EvidenceError, OSError) as exc:
        st.error(f"The scenario could not be {done}: {md_inline(exc)}")
    else:
        _scenarios.clear()
        st.session_state[_key(page.mk, "load_message")] = ("ok", message)
        st.rerun()


def _save_panel(page: Page) -> None:
    mk = page.mk
    st.subheader("Save the current settings")
    if page.evidence is None or page.problem:
        st.info("Fix the settings on the Forecast tab before saving them.")
        return
    folder = Path(page.args.scenarios)
    title = st.text_input(
        "Title",
        key=_key(mk, "save_title"),
        placeholder="e.g. Détente by 2019",
        help="What people see in lists and reports.",
    )
    name = st.text_input(
        "File name",
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
            scenario = scenario.model_copy(update={"title": " ".join(title.split())})
        except ValueError:
            st.error(
                f"“{md_inline(name.strip())}” cannot be used as a scenario name: use letters, digits, '_', '-' and '.', "
                "starting with a letter or digit (at most 100 characters)."
            )
            return
        try:
            save_scenario(scenario, folder, overwrite=replace)
        except EvidenceError as exc:
            text = str(exc)
            st.error(md_inline(text[:1].upper() + text[1:]))
        except OSError as exc:
            st.error(f"The scenario could not be written: {md_inline(exc.strerror or exc)}")
        else:
            _scenarios.clear()
            st.session_state[_key(mk, "save_message")] = f"Saved scenario “{scenario.display}”."
            st.session_state[_key(mk, "loaded")] = (
                scenario.display,
                repr(page.evidence.describe()),
            )
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
    default = list(choices)  # every scenario: the table scrolls, it never drops one
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
    if scope == "outcomes":
        # one row per scenario: every scenario fits on screen, the states run across
        st.dataframe(_by_scenario(shown), hide_index=True, width="stretch")
    else:
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={"Node": st.column_config.TextColumn(pinned=True, width="medium")},
        )
    evs = [choices[c][1] for c in picked]
    author = str(st.session_state.get(_key(mk, "report_author")) or "").strip()
    forecast_tab.download_row(
        "The comparison report: side by side first, the long table in the appendix",
        report.file_stem(model, "comparison"),
        lambda fmt: report.report_file(model, evs[0], fmt, author, evs[1:], names),
        _key(mk, "dl_compare"),
    )


def _by_scenario(shown: pd.DataFrame) -> pd.DataFrame:
    """The side-by-side table turned: one row per scenario, one column per outcome state."""
    cols = [c for c in shown.columns if c not in ("Node", "State")]
    heads = [f"{n}: {s}" for n, s in zip(shown["Node"], shown["State"], strict=True)]
    out = pd.DataFrame({"Scenario": cols})
    for head, (_, row) in zip(heads, shown.iterrows(), strict=True):
        out[head] = [row[c] for c in cols]
    return out


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


# ------------------------------------------------------------------ the tabs, in order

# To add a tab: append (label, draw) here; draw(page) gets the Page of this run.
# (Lambdas look the functions up when called, so tests can replace them.)
TABS: list[tuple[str, Callable[[Page], None]]] = [
    ("Forecast", lambda page: _forecast_tab(page)),
    ("Scenarios", lambda page: _scenarios_tab(page)),
    ("Timeline", lambda page: _timeline_tab(page)),
    ("Analysis", lambda page: _evidence_tab(page, analysis.render)),
    ("History", lambda page: _evidence_tab(page, journal.render)),
    ("Team", lambda page: _evidence_tab(page, elicitation.render)),
    ("Model", lambda page: workshop.render(page)),
    ("Audit", lambda page: _evidence_tab(page, audit.render)),
]
