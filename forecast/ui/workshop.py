"""The app's Model tab: inspect and edit the model, its evidence items and scenarios, then save.

A thin Streamlit shell over `forecast.edit` (validated edits, undo/redo, the
workbench that saves), `forecast.diff` (the change summary) and
`forecast.writer` (saving with comments kept and conflicts refused).  Every
button runs its edit in a callback, before the page is drawn again, so the
Forecast tab already shows the edited model on the same run.

Session state (shared with the workspace):
- ``edited_model``: the Model compiled from the draft being edited, when it
  differs from the file chosen in the sidebar; the workspace forecasts with it;
- ``selected_node``: the node clicked in the network view; the inspector opens it;
- ``workshop.*``: this tab's own keys (the workbenches by model key, messages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st

from ..diff import ISSUED, NO_EVIDENCE, issued_items
from ..edit import (
    RANKED_FUNCTIONS,
    ROLES,
    EditError,
    Editor,
    Workbench,
    normalise,
    open_workbench,
    phrase_value,
    suggest_id,
    with_cell,
)
from ..errors import ForecastError
from ..evidence import EvidenceItem
from ..model import Model
from ..plaintext import md, md_frame, md_inline
from ..words import BANDS
from ..writer import FileChangedError, safe_child

EDITED_KEY = "edited_model"
SELECTED_KEY = "selected_node"
BENCHES = "workshop.benches"
ACTIVE = "workshop.active"
CHOSEN = "workshop.chosen"
FILE_MODEL = "workshop.file_model"
MESSAGE = "workshop.message"
CONFLICT = "workshop.conflict"
SECTIONS = ["Node", "Structure", "Text", "Evidence", "Scenarios", "Save"]
NEW_ITEM = "(new item)"
NEW_SCENARIO = "(new scenario)"


# ------------------------------------------------------------------ hooks for the workspace


def model_key(model: Model) -> str:
    return (
        f"file:{model.path.resolve()}" if model.path is not None else f"upload:{model.content_hash}"
    )


def _benches() -> dict[str, Workbench]:
    benches: dict[str, Workbench] = st.session_state.setdefault(BENCHES, {})
    return benches


def edited_model(model: Model | None) -> Model | None:
    """The model the page should forecast with: the Model tab's draft when it has edits.

    Called by the workspace with the model chosen in the sidebar.  Choosing
    another file in the sidebar switches to that file's workbench (if any).
    """
    if model is None:
        return None
    key = model_key(model)
    st.session_state[FILE_MODEL] = model
    if st.session_state.get(CHOSEN) != key:
        st.session_state[CHOSEN] = key
        st.session_state[ACTIVE] = key if key in _benches() else None
    bench = _benches().get(st.session_state.get(ACTIVE) or "")
    if bench is None or (bench.editor.spec == model.spec and not _new_bench(bench, key)):
        st.session_state.pop(EDITED_KEY, None)
        return model
    current = bench.editor.model()
    st.session_state[EDITED_KEY] = current
    return current


def _new_bench(bench: Workbench, key: str) -> bool:
    return st.session_state.get(ACTIVE) != key


def edited_pools(page: Any) -> None:
    """Give the Forecast tab the edited evidence items and scenarios (when a draft is active)."""
    bench = _benches().get(st.session_state.get(ACTIVE) or "")
    if bench is None or EDITED_KEY not in st.session_state and not bench.dirty:
        return
    page.items, others = page.model.applicable_items(bench.editor.items)
    page.hidden_items = len(others)
    page.scenarios = list(bench.editor.scenarios)


# ------------------------------------------------------------------ the tab


def render(page: Any) -> None:
    """The Model tab."""
    args: argparse.Namespace = page.args
    bench = _active_bench(args)
    _new_model_panel(args)
    if bench is None:
        return
    ed = bench.editor
    _toolbar(bench)
    _forecast_summary(bench)
    section = st.radio(
        "Edit", SECTIONS, horizontal=True, key="workshop.section", label_visibility="collapsed"
    )
    {
        "Node": _node_panel,
        "Structure": _structure_panel,
        "Text": _text_panel,
        "Evidence": _evidence_panel,
        "Scenarios": _scenarios_panel,
        "Save": _save_panel,
    }[section](bench)
    del ed


def _active_bench(args: argparse.Namespace) -> Workbench | None:
    benches = _benches()
    active = st.session_state.get(ACTIVE)
    if active in benches:
        return benches[active]
    model: Model | None = st.session_state.get(FILE_MODEL)
    if model is None:
        return None
    key = model_key(model)
    try:
        bench = open_workbench(model.path, args.evidence, args.scenarios, model=model)
    except ForecastError as exc:
        st.error(f"This model cannot be opened for editing: {md_inline(exc)}")
        return None
    benches[key] = bench
    st.session_state[ACTIVE] = key
    return bench


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _run(fn: Callable[[], Any], done: str = "") -> None:
    """Run an edit from a button's callback; a refusal is shown inline and nothing changes."""
    try:
        result = fn()
    except ForecastError as exc:
        _say("error", str(exc))
        return
    _say("success", done or (result if isinstance(result, str) else "Done."))


def _message() -> None:
    kept = st.session_state.pop(MESSAGE, None)
    if kept:
        kind, text = kept
        (st.error if kind == "error" else st.success)(text)


def _typed(key: str) -> str:
    """What the user typed into the text box `key`, without surrounding blanks ("" if nothing)."""
    return (st.session_state.get(key) or "").strip()


def _button(label: str, key: str, fn: Callable[[], Any], done: str = "", **kw: Any) -> None:
    st.button(label, key=key, on_click=_run, args=(fn, done), **kw)


def _typed_button(
    box: tuple[str, str], button: tuple[str, str], act: Callable[[str], Any], done: str
) -> None:
    """A text box (label, key) and the button (label, key) that acts on what was typed in it."""
    st.text_input(box[0], key=box[1])
    _button(button[0], button[1], lambda: act(_typed(box[1])), done)


def _step_button(
    title: str, key: str, able: bool, label: str, step: Callable[[], str], done: str
) -> None:
    """Undo or redo (when `able`): named after the edit it would take back or make again."""
    _button(
        title + (f": {label}" if able else ""), key, lambda: f"{done}: {step()}.", disabled=not able
    )


def _toolbar(bench: Workbench) -> None:
    ed = bench.editor
    where = bench.model_path.name if bench.model_path else "not saved yet"
    n = len(ed.history())
    st.caption(
        f"Editing **{md_inline(ed.spec.title or ed.spec.id)}** ({md_inline(where)}) — "
        + (f"{n} edit(s) since opening; " if n else "no edits yet; ")
        + ("unsaved changes." if bench.dirty else "nothing to save.")
    )
    c1, c2, _ = st.columns([1, 1, 4])
    with c1:
        _step_button("↶ Undo", "workshop.undo", ed.can_undo, ed.undo_label, ed.undo, "Undone")
    with c2:
        _step_button("↷ Redo", "workshop.redo", ed.can_redo, ed.redo_label, ed.redo, "Redone")
    _message()


def _forecast_summary(bench: Workbench) -> None:
    """The outcomes now (issued evidence, else none) next to the version opened or saved."""
    table = _outcome_table(bench)
    box = st.container(key="workshop_forecast")
    box.markdown("**Forecast with the edited model**")
    box.table(md_frame(table.set_index("outcome") if "outcome" in table.columns else table))


def _outcome_table(bench: Workbench) -> pd.DataFrame:
    ed = bench.editor
    cache = st.session_state.get("workshop.summary")
    if cache and cache[0] is ed.base and cache[1] is ed.draft:
        return cache[2]
    model = ed.model()
    items = issued_items(ed.spec, ed.items)
    base = Model(ed.base.spec)
    base_items = issued_items(ed.base.spec, ed.base.items)
    label = ISSUED if items else NO_EVIDENCE
    rows = []
    try:
        now = model.posteriors(scenario={"items": items}, targets=model.outcomes or None)
    except ForecastError as exc:
        return pd.DataFrame({"problem": [str(exc)]})
    try:
        before = base.posteriors(scenario={"items": base_items}, targets=base.outcomes or None)
        was = _probabilities(before)
    except ForecastError:
        was = {}
    for (node, state), p in _probabilities(now).items():
        old = was.get((node, state))
        rows.append(
            {
                "outcome": model.label(node),
                "state": state,
                f"now ({label})": f"{100 * p:.1f}%",
                "as opened": "" if old is None else f"{100 * old:.1f}%",
                "change": "" if old is None else f"{100 * (p - old):+.1f} pts",
            }
        )
    table = pd.DataFrame(rows)
    st.session_state["workshop.summary"] = (ed.base, ed.draft, table)
    return table


def _probabilities(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {
        (str(n), str(s)): float(p)
        for n, s, p in zip(table["node"], table["state"], table["probability"], strict=True)
    }


# ------------------------------------------------------------------ the inspector


def _node_choice(ed: Editor, key: str, label: str = "Node") -> str:
    ids = [n.id for n in ed.spec.nodes]
    selected = st.session_state.get(SELECTED_KEY)
    if selected in ids and st.session_state.get(f"{key}.followed") != selected:
        st.session_state[key] = selected  # a click in the network opens the node here
        st.session_state[f"{key}.followed"] = selected
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    return str(
        st.selectbox(label, ids, key=key, format_func=lambda n: f"{ed.spec.node(n).display} ({n})")
    )


def _node_panel(bench: Workbench) -> None:
    ed = bench.editor
    node = _node_choice(ed, "workshop.node")
    view = ed.inspect(node)
    left, right = st.columns([3, 2], gap="large")
    with right:
        st.markdown(f"**{md_inline(view.label)}** · {md_inline(view.id)} · {view.role}")
        if view.description:
            st.markdown(md(view.description))
        st.markdown("**States:** " + md_inline(", ".join(view.states)))
        st.markdown(
            "**Parents:** "
            + (
                md_inline(", ".join(ed.spec.node(p).display for p in view.parents))
                or "none (a root node)"
            )
        )
        st.markdown(
            "**Feeds:** "
            + (md_inline(", ".join(ed.spec.node(c).display for c in view.children)) or "nothing")
        )
        if view.sources:
            st.markdown("**Sources**")
            for s in view.sources:
                bits = [b for b in (s["author"], s["title"]) if b]
                st.markdown(
                    "- "
                    + md_inline(
                        f"{' — '.join(bits) or s['id']}" + (f" ({s['date']})" if s["date"] else "")
                    )
                )
        if view.rationale:
            st.markdown("**Rationale.** " + md_inline(view.rationale))
        conf = view.confidence if view.confidence is not None else ed.spec.default_confidence
        st.caption(f"Confidence (equivalent sample size): {conf:g}")
    with left:
        if view.kind == "ranked":
            _ranked_editor(ed, view)
        else:
            _table_editor(ed, view)


def _grid_key(ed: Editor, node: str) -> str:
    return f"workshop.grid.{node}.{id(ed.draft)}"


def _table_editor(ed: Editor, view: Any) -> None:
    percent = (
        st.radio("Numbers as", ["percent", "probabilities"], horizontal=True, key="workshop.units")
        == "percent"
    )
    whole = 100.0 if percent else 1.0
    st.markdown("**Probability table** (one row per combination of parent states)")
    if view.kind != "table":
        st.caption(
            f"This node is given in {view.kind.replace('_', '-')} form (as GeNIe wrote it); the grid "
            "shows the table it generates, and applying an edit gives the node an explicit table."
        )
    grid = ed.cpt_grid(view.id, percent=percent)
    key = _grid_key(ed, view.id) + (".pct" if percent else ".p")
    config: dict[str, Any] = {
        p: st.column_config.TextColumn(ed.spec.node(p).display, disabled=True) for p in view.parents
    }
    config |= {
        s: st.column_config.NumberColumn(
            s,
            min_value=0.0,
            max_value=whole,
            step=0.1 if percent else 0.001,
            format="%.1f" if percent else "%.4f",
        )
        for s in view.states
    }
    st.container(key="workshop_grid").data_editor(
        grid,
        column_config=config,
        disabled=list(view.parents),
        hide_index=True,
        num_rows="fixed",
        key=key,
    )
    pending = _edited_grid(ed, view.id, key, percent)
    sums = pending[view.states].astype(float).sum(axis=1)
    off = [i for i, s in enumerate(sums) if abs(s - whole) > 1e-6 * whole]
    if off:
        st.warning(
            f"Rows that do not sum to {'100%' if percent else '1'}: "
            + "; ".join(
                md_inline(_row_name(pending, view.parents, i))
                + (f" ({sums.iloc[i]:.15g}%)" if percent else f" ({sums.iloc[i]:.15g})")
                for i in off[:5]
            )
        )
    c1, c2, c3 = st.columns(3)
    with c1:
        _button(
            "Apply the table",
            f"workshop.apply.{view.id}",
            lambda: ed.set_table(view.id, _edited_grid(ed, view.id, key, percent), percent=percent),
            f"Applied the table of '{view.id}'.",
        )
    with c2:
        _button(
            "Normalise rows and apply",
            f"workshop.normalise.{view.id}",
            lambda: ed.set_table(
                view.id, _normalised(_edited_grid(ed, view.id, key, percent), view.states)
            ),
            f"Normalised and applied the table of '{view.id}'.",
        )
    with c3:
        if view.parents:
            _button(
                "Use a ranked form",
                f"workshop.toranked.{view.id}",
                lambda: ed.to_ranked(view.id),
                f"'{view.id}' is now a ranked node (equal weights).",
            )
    _phrase_aid(ed, view, grid)


def _edited_grid(ed: Editor, node: str, key: str, percent: bool = True) -> pd.DataFrame:
    """The grid with the data editor's pending edits applied."""
    grid = ed.cpt_grid(node, percent=percent)
    edits = st.session_state.get(key) or {}
    for row, changes in (edits.get("edited_rows") or {}).items():
        for col, value in changes.items():
            if col in grid.columns:
                grid.loc[int(row), col] = value
    return grid


def _normalised(grid: pd.DataFrame, states: list[str]) -> pd.DataFrame:
    g = grid.copy()
    g.loc[:, states] = [normalise(r) for r in g[states].astype(float).to_numpy()]
    return g


def _row_name(grid: pd.DataFrame, parents: list[str], i: int) -> str:
    return ", ".join(f"{p}={grid.iloc[i][p]}" for p in parents) or "the only row"


def _phrase_aid(ed: Editor, view: Any, grid: pd.DataFrame) -> None:
    with st.expander("Fill a starting number from words"):
        st.caption(
            "Pick a row, a state and an estimative phrase: the state gets the middle of the "
            "phrase's band and the other states share the rest in their current proportions."
        )
        rows = list(range(len(grid)))
        c1, c2, c3 = st.columns(3)
        with c1:
            st.selectbox(
                "Row",
                rows,
                key=f"workshop.phrase.row.{view.id}",
                format_func=lambda i: _row_name(grid, view.parents, i),
            )
        with c2:
            st.selectbox("State", view.states, key=f"workshop.phrase.state.{view.id}")
        with c3:
            st.selectbox(
                "Phrase", [b[0] for b in BANDS], index=4, key=f"workshop.phrase.words.{view.id}"
            )

        def fill() -> Any:
            ss = st.session_state
            i = int(ss[f"workshop.phrase.row.{view.id}"])
            chosen = ss[f"workshop.phrase.state.{view.id}"]
            words = ss[f"workshop.phrase.words.{view.id}"]
            values = ed.cpt_grid(view.id).iloc[i][view.states].astype(float).to_numpy()
            new = with_cell(list(values), view.states.index(chosen), phrase_value(words))
            when = {p: str(grid.iloc[i][p]) for p in view.parents}
            ed.set_row(view.id, when, new)
            return f"Filled a row of '{view.id}' from “{words}”."

        _button(
            "Fill the row",
            f"workshop.phrase.fill.{view.id}",
            fill,
        )


def _ranked_editor(ed: Editor, view: Any) -> None:
    st.markdown("**Ranked node** (a weighted function of the parents' ranks, Fenton et al. 2007)")
    base = f"workshop.ranked.{view.id}.{id(ed.draft)}"
    st.selectbox(
        "Function", RANKED_FUNCTIONS, index=RANKED_FUNCTIONS.index(view.function), key=f"{base}.f"
    )
    weights = {}
    cols = st.columns(max(len(view.parents), 1))
    for col, p in zip(cols, view.parents, strict=False):
        with col:
            weights[p] = st.number_input(
                f"Weight of {ed.spec.node(p).display}",
                value=float(view.weights.get(p, 1.0)),
                step=0.5,
                key=f"{base}.w.{p}",
            )
    st.number_input(
        "Variance (spread; smaller is more deterministic)",
        min_value=0.0005,
        max_value=10.0,
        value=float(view.variance),
        step=0.01,
        format="%.4f",
        key=f"{base}.v",
    )
    c1, c2 = st.columns(2)
    with c1:
        _button(
            "Apply",
            f"workshop.ranked.apply.{view.id}",
            lambda: ed.set_ranked(
                view.id,
                st.session_state[f"{base}.f"],
                {p: st.session_state[f"{base}.w.{p}"] for p in view.parents},
                st.session_state[f"{base}.v"],
            ),
            f"Updated the ranked node '{view.id}'.",
        )
    with c2:
        _button(
            "Use an explicit table",
            f"workshop.totable.{view.id}",
            lambda: ed.to_table(view.id),
            f"'{view.id}' now has an explicit table.",
        )
    st.markdown("**The table it generates** (percent)")
    st.dataframe(ed.cpt_grid(view.id, percent=True).round(1), hide_index=True)


# ------------------------------------------------------------------ structure


def _states(text: str) -> list[str]:
    return [s.strip() for s in str(text).replace(";", ",").split(",") if s.strip()]


def _structure_panel(bench: Workbench) -> None:
    ed = bench.editor
    ss = st.session_state
    ids = [n.id for n in ed.spec.nodes]
    with st.container(border=True):
        st.markdown("**Add a node**")
        c1, c2, c3 = st.columns(3)
        with c1:
            st.text_input("Label", key="workshop.add.label")
            st.text_input(
                "Id (letters, digits, _)",
                key="workshop.add.id",
                placeholder=suggest_id(ss.get("workshop.add.label") or "") or "new_node",
            )
        with c2:
            st.text_input("States (comma-separated)", value="low, high", key="workshop.add.states")
            st.selectbox("Role", ROLES, index=1, key="workshop.add.role")
        with c3:
            st.multiselect("Parents", ids, key="workshop.add.parents")

        def add() -> Any:
            node_id = _typed("workshop.add.id") or suggest_id(ss.get("workshop.add.label") or "")
            return ed.add_node(
                node_id,
                _states(ss.get("workshop.add.states", "")),
                label=ss.get("workshop.add.label", ""),
                role=ss.get("workshop.add.role", "intermediate"),
                parents=ss.get("workshop.add.parents", []),
            )

        _button("Add the node", "workshop.add.go", add, "Added the node.")
    node = _node_choice(ed, "workshop.struct.node", "Node to change")
    n = ed.spec.node(node)
    c1, c2 = st.columns(2)
    with c1, st.container(border=True):
        st.markdown("**Arrows**")
        others = [i for i in ids if i != node]
        st.selectbox("Add an arrow from", others or ["—"], key="workshop.edge.parent")
        _button(
            f"Add the arrow into {node}",
            "workshop.edge.add",
            lambda: ed.add_edge(ss["workshop.edge.parent"], node),
            "Added the arrow.",
            disabled=not others,
        )
        if n.parents:
            st.selectbox("Remove the arrow from", n.parents, key="workshop.edge.drop")
            _button(
                "Remove the arrow",
                "workshop.edge.remove",
                lambda: ed.remove_edge(ss["workshop.edge.drop"], node),
                "Removed the arrow.",
            )
        st.selectbox(
            "Its role", ROLES, index=ROLES.index(n.role), key=f"workshop.role.{node}.{id(ed.draft)}"
        )
        _button(
            "Change the role",
            "workshop.role.go",
            lambda: ed.set_role(node, ss[f"workshop.role.{node}.{id(ed.draft)}"]),
            "Changed the role.",
        )
    with c2, st.container(border=True):
        st.markdown("**States**")
        _typed_button(
            ("New state", "workshop.state.new"),
            ("Add the state", "workshop.state.add"),
            lambda text: ed.add_state(node, text),
            "Added the state.",
        )
        st.selectbox("State", n.states, key="workshop.state.which")
        st.text_input("Rename it to", key="workshop.state.rename")

        def rename_state() -> Any:
            return ed.rename_state(
                node, ss["workshop.state.which"], _typed("workshop.state.rename")
            )

        b1, b2 = st.columns(2)
        with b1:
            _button(
                "Rename the state", "workshop.state.rename.go", rename_state, "Renamed the state."
            )
        with b2:
            _button(
                "Delete the state",
                "workshop.state.delete",
                lambda: ed.delete_state(node, ss["workshop.state.which"]),
                "Deleted the state.",
            )
    with st.container(border=True):
        st.markdown("**Rename or delete the node**")
        c1, c2 = st.columns(2)
        with c1:
            _typed_button(
                ("New id", "workshop.node.rename"),
                ("Rename the node (everywhere)", "workshop.node.rename.go"),
                lambda text: ed.rename_node(node, text),
                "Renamed the node in the model, its evidence items and scenarios.",
            )
        with c2:
            st.checkbox("Also delete the evidence on it", key="workshop.node.dropev")
            _button(
                "Delete the node",
                "workshop.node.delete",
                lambda: ed.delete_node(node, drop_evidence=bool(ss.get("workshop.node.dropev"))),
                "Deleted the node.",
            )


# ------------------------------------------------------------------ text


def _text_panel(bench: Workbench) -> None:
    ed = bench.editor
    spec = ed.spec
    ss = st.session_state
    v = id(ed.draft)
    with st.container(border=True):
        st.markdown("**The model and its question**")
        st.text_input("Title", value=spec.title, key=f"workshop.t.title.{v}")
        st.text_area("Description", value=spec.description, key=f"workshop.t.desc.{v}")
        st.text_input(
            "As of (YYYY-MM-DD)",
            value=spec.as_of.isoformat() if spec.as_of else "",
            key=f"workshop.t.asof.{v}",
        )
        q = spec.question
        st.text_area("Question", value=q.text if q else "", key=f"workshop.t.q.{v}")
        st.text_input("Horizon", value=q.horizon if q else "", key=f"workshop.t.h.{v}")

        def save_text() -> Any:
            ed.set_model_text(
                title=ss[f"workshop.t.title.{v}"],
                description=ss[f"workshop.t.desc.{v}"],
                as_of=ss[f"workshop.t.asof.{v}"] or None,
            )
            return ed.set_question(ss[f"workshop.t.q.{v}"], ss[f"workshop.t.h.{v}"])

        _button("Apply", "workshop.t.go", save_text, "Updated the model's text.")
    with st.container(border=True):
        st.markdown("**Resolution criteria**")
        outcomes = [n.id for n in spec.nodes if n.role == "outcome"] or [spec.nodes[-1].id]
        node = st.selectbox("Outcome", outcomes, key="workshop.r.node")
        state = st.selectbox("State", spec.node(node).states, key="workshop.r.state")
        current = q.resolution.get(node, {}).get(state, "") if q else ""
        st.text_area("Resolves here if…", value=current, key=f"workshop.r.text.{node}.{state}.{v}")
        _button(
            "Apply the criteria",
            "workshop.r.go",
            lambda: ed.set_resolution(node, state, ss[f"workshop.r.text.{node}.{state}.{v}"]),
            "Updated the resolution criteria.",
        )
    with st.container(border=True):
        st.markdown("**Sources**")
        if spec.sources:
            st.dataframe(pd.DataFrame([s.model_dump() for s in spec.sources]), hide_index=True)
        c1, c2 = st.columns(2)
        with c1:
            st.text_input("Id", key="workshop.s.id")
            st.text_input("Title", key="workshop.s.title")
        with c2:
            st.text_input("Author", key="workshop.s.author")
            st.text_input("Date", key="workshop.s.date")

        def save_source() -> Any:
            fields = (ss.get(f"workshop.s.{f}", "") for f in ("title", "author", "date"))
            return ed.set_source(_typed("workshop.s.id"), *fields)

        b1, b2 = st.columns(2)
        with b1:
            _button(
                "Add or update the source",
                "workshop.s.go",
                save_source,
                "Saved the source in the draft.",
            )
        with b2:
            _button(
                "Delete the source",
                "workshop.s.delete",
                lambda: ed.delete_source(_typed("workshop.s.id")),
                "Deleted the source.",
            )
    with st.container(border=True):
        st.markdown("**A node's text**")
        node = _node_choice(ed, "workshop.nt.node")
        n = spec.node(node)
        st.text_input("Label", value=n.label, key=f"workshop.nt.label.{node}.{v}")
        st.text_area("Description", value=n.description, key=f"workshop.nt.desc.{node}.{v}")
        st.text_area("Rationale", value=n.rationale, key=f"workshop.nt.rat.{node}.{v}")
        st.multiselect(
            "Sources",
            [s.id for s in spec.sources],
            default=[s for s in n.sources if s in {x.id for x in spec.sources}],
            key=f"workshop.nt.src.{node}.{v}",
        )
        _button(
            "Apply the node's text",
            "workshop.nt.go",
            lambda: ed.set_node_text(
                node,
                label=ss[f"workshop.nt.label.{node}.{v}"],
                description=ss[f"workshop.nt.desc.{node}.{v}"],
                rationale=ss[f"workshop.nt.rat.{node}.{v}"],
                sources=ss[f"workshop.nt.src.{node}.{v}"],
            ),
            "Updated the node's text.",
        )


# ------------------------------------------------------------------ evidence items and scenarios


def _evidence_panel(bench: Workbench) -> None:
    ed = bench.editor
    ss = st.session_state
    if ed.items:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "date": it.date.isoformat(),
                        "id": it.id,
                        "node": it.node,
                        "likelihood": ", ".join(f"{s}: {w:g}" for s, w in it.likelihood.items()),
                        "title": it.title,
                    }
                    for it in ed.items
                ]
            ),
            hide_index=True,
        )
    choice = st.selectbox(
        "Evidence item", [NEW_ITEM, *[it.id for it in ed.items]], key="workshop.ev.choice"
    )
    old: EvidenceItem | None = None if choice == NEW_ITEM else ed.draft.item(choice)
    v = f"{choice}.{id(ed.draft)}"
    nodes = [n.id for n in ed.spec.nodes]
    c1, c2 = st.columns(2)
    with c1:
        st.text_input("Id", value=old.id if old else "", key=f"workshop.ev.id.{v}")
        st.date_input(
            "Date",
            value=old.date if old else (ed.spec.as_of or dt.date.today()),
            key=f"workshop.ev.date.{v}",
            format="YYYY-MM-DD",
        )
        st.text_input("Title", value=old.title if old else "", key=f"workshop.ev.title.{v}")
        sources = [s.id for s in ed.spec.sources]
        st.selectbox(
            "Source",
            sources or [""],
            index=sources.index(old.source) if old and old.source in sources else 0,
            key=f"workshop.ev.source.{v}",
        )
    with c2:
        node = st.selectbox(
            "Node it bears on",
            nodes,
            index=nodes.index(old.node) if old and old.node in nodes else 0,
            key=f"workshop.ev.node.{v}",
        )
        st.caption("Likelihood: how much more likely the report is under each state")
        weights = {}
        for s in ed.spec.node(node).states:
            weights[s] = st.number_input(
                s,
                min_value=0.0,
                value=float(old.likelihood.get(s, 1.0)) if old and old.node == node else 1.0,
                step=0.1,
                key=f"workshop.ev.w.{v}.{node}.{s}",
            )
    st.text_area("Rationale", value=old.rationale if old else "", key=f"workshop.ev.rat.{v}")

    def fields() -> dict[str, Any]:
        node = ss.get(f"workshop.ev.node.{v}", nodes[0])
        states = ed.spec.node(node).states
        weights = {s: ss.get(f"workshop.ev.w.{v}.{node}.{s}", 1.0) for s in states}
        return {
            "id": _typed(f"workshop.ev.id.{v}"),
            "date": ss.get(f"workshop.ev.date.{v}"),
            "title": ss.get(f"workshop.ev.title.{v}", ""),
            "source": ss.get(f"workshop.ev.source.{v}", ""),
            "node": node,
            "likelihood": dict(weights),
            "rationale": ss.get(f"workshop.ev.rat.{v}", ""),
        }

    _record_buttons(ed, "item", old.id if old else None, fields)


# What the evidence and scenario panels' buttons say: key prefix, label, name, deleted message.
_RECORDS = {
    "item": (
        "workshop.ev",
        "item",
        "evidence item",
        "Deleted the evidence item (and from the scenarios that applied it).",
    ),
    "scenario": ("workshop.sc", "scenario", "scenario", "Deleted the scenario."),
}


def _record_buttons(
    ed: Editor,
    kind: Literal["item", "scenario"],
    record: str | None,
    fields: Callable[[], dict[str, Any]],
) -> None:
    """Add (for a new record), or apply and delete (for `record`): the evidence and scenario panels.

    `fields` reads the panel's widgets into the record's fields when a button is pressed.
    """
    key, label, name, deleted = _RECORDS[kind]
    add: Callable[[dict[str, Any]], Any]
    edit: Callable[..., Any]
    delete: Callable[[str], Any]
    if kind == "item":
        add, edit, delete = ed.add_item, ed.edit_item, ed.delete_item
    else:
        add, edit, delete = ed.add_scenario, ed.edit_scenario, ed.delete_scenario
    b1, b2 = st.columns(2)
    with b1:
        if record is None:
            _button(f"Add the {label}", f"{key}.add", lambda: add(fields()), f"Added the {name}.")
        else:
            _button(
                "Apply the changes",
                f"{key}.edit",
                lambda: edit(record, **fields()),
                f"Updated the {name}.",
            )
    with b2:
        if record is not None:
            _button(f"Delete the {label}", f"{key}.delete", lambda: delete(record), deleted)


def _scenarios_panel(bench: Workbench) -> None:
    ed = bench.editor
    ss = st.session_state
    choice = st.selectbox(
        "Scenario", [NEW_SCENARIO, *[s.name for s in ed.scenarios]], key="workshop.sc.choice"
    )
    old = None if choice == NEW_SCENARIO else ed.draft.scenario(choice)
    data = (
        old.model_dump(exclude={"resolved_items"})
        if old
        else {
            "name": "",
            "title": "",
            "description": "",
            "hard": {},
            "likelihood": {},
            "fixed": {},
            "items": [],
        }
    )
    v = f"{choice}.{id(ed.draft)}"
    st.caption(
        "The scenario as JSON: name, title, description, hard {node: state}, likelihood and "
        "fixed {node: {state: number}}, items [evidence item ids]. The same checks as the files apply."
    )
    st.text_area(
        "Scenario",
        value=json.dumps(data, indent=2, ensure_ascii=False),
        height=260,
        key=f"workshop.sc.text.{v}",
    )

    def parsed() -> dict[str, Any]:
        try:
            value = json.loads(ss.get(f"workshop.sc.text.{v}") or "{}")
        except json.JSONDecodeError as exc:
            raise EditError(
                f"the scenario is not valid JSON (line {exc.lineno}): {exc.msg}"
            ) from None
        if not isinstance(value, dict):
            raise EditError("the scenario must be a JSON object")
        return value

    _record_buttons(ed, "scenario", old.name if old else None, parsed)


# ------------------------------------------------------------------ saving


def _save_panel(bench: Workbench) -> None:
    ed = bench.editor
    ss = st.session_state
    st.markdown("**Change summary** (against the version opened or last saved)")
    diff = bench.changes()
    extra = bench.evidence_changes()
    if diff.changes.empty and not extra:
        st.info("No changes to save.")
    else:
        if not diff.changes.empty:
            st.dataframe(diff.changes, hide_index=True, key="workshop.changes")
        for line in extra:
            st.markdown(f"- {md_inline(line)}")
        st.markdown("**What it does to the forecast**")
        table = diff.forecast.copy()
        for c in ("before", "after"):
            table[c] = [("" if x != x else f"{100 * x:.1f}%") for x in table[c]]
        table["change"] = [("" if x != x else f"{100 * x:+.1f} pts") for x in table["change"]]
        st.dataframe(table, hide_index=True, key="workshop.forecast_change")
        for note in diff.notes:
            st.caption(md_inline(note))
    if bench.model_path is None:
        st.text_input(
            "Save as (a file name in the models folder)", value=ed.spec.id, key="workshop.save.name"
        )
    conflict = ss.get(CONFLICT)

    def target() -> Path | None:
        if bench.model_path is not None:
            return None
        models = Path(ss.get("workshop.models_dir") or "models")
        return safe_child(models, _typed("workshop.save.name"))

    def save(overwrite: bool = False) -> Any:
        try:
            written = bench.save(target(), overwrite=overwrite)
        except FileChangedError as exc:
            ss[CONFLICT] = str(exc)
            raise
        ss.pop(CONFLICT, None)
        if bench.model_path is not None:
            key = f"file:{bench.model_path.resolve()}"
            benches = _benches()
            for k, b in list(benches.items()):
                if b is bench and k != key:
                    del benches[k]
            benches[key] = bench
            ss[ACTIVE] = key
        return (
            "Saved " + ", ".join(str(p) for p in written) + "." if written else "Nothing to write."
        )

    _button(
        "Save", "workshop.save.go", save, disabled=not bench.dirty and bench.model_path is not None
    )
    if conflict:
        st.warning(
            md_inline(conflict)
            + " Choose: overwrite the file with your version, or reload it and lose your edits."
        )
        c1, c2 = st.columns(2)
        with c1:
            _button("Overwrite with my version", "workshop.save.force", lambda: save(True))
        with c2:
            _button(
                "Reload from disk (discard my edits)",
                "workshop.save.reload",
                lambda: _reload(bench),
            )


def _reload(bench: Workbench) -> str:
    fresh = open_workbench(bench.model_path, bench.evidence_dir, bench.scenario_dir)
    for k, b in list(_benches().items()):
        if b is bench:
            _benches()[k] = fresh
    st.session_state.pop(CONFLICT, None)
    return "Reloaded the files from disk."


# ------------------------------------------------------------------ a new model


def _new_model_panel(args: argparse.Namespace) -> None:
    ss = st.session_state
    ss["workshop.models_dir"] = args.models
    with st.expander("Start a new model"):
        st.text_input("Model id", key="workshop.new.id", placeholder="my_model")
        st.text_input("Question", key="workshop.new.q", placeholder="By 2020, will …?")
        c1, c2 = st.columns(2)
        with c1:
            st.text_input("Outcome node id", value="outcome", key="workshop.new.outcome")
        with c2:
            st.text_input(
                "Its states (comma-separated)", value="no, yes", key="workshop.new.states"
            )

        def start() -> str:
            model_id = _typed("workshop.new.id")
            ed = Editor.new(
                model_id,
                ss.get("workshop.new.q") or "",
                _typed("workshop.new.outcome"),
                _states(ss.get("workshop.new.states") or ""),
                title=ss.get("workshop.new.q") or "",
            )
            ev = Path(args.evidence)
            bench = Workbench(ed, None, ev if ev.is_dir() else None, Path(args.scenarios))
            key = f"new:{model_id}:{id(bench)}"
            _benches()[key] = bench
            ss[ACTIVE] = key
            ss["workshop.section"] = "Structure"
            return f"Started the model '{model_id}'. Add its nodes under Structure, then save it."

        _button("Start the new model", "workshop.new.go", start)
