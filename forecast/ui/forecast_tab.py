"""The Forecast tab: outcomes, every node's controls, the live network, the selected node's record.

The analyst's settings live in the session (`controls.Settings`), not in widget
state: widgets show them and their callbacks change them, so a control never
commits evidence by itself and nothing is lost when a tab is not drawn.  The tab
is one `st.fragment`: a slider move or a click in the network reruns only this
tab (the header, sidebar, file scans and other tabs stay as they are).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from ..errors import EvidenceError, ForecastError
from ..evidence import Evidence, EvidenceItem
from ..model import Model
from ..plaintext import md, md_frame, md_inline
from ..present import percent
from . import charts, network, report
from .controls import (
    PROBABILITIES,
    STATE,
    Settings,
    as_of_matching,
    default_as_of,
    evidence_from_controls,
    rebalance,
    shown_percents,
)
from .session import remember, restore

if TYPE_CHECKING:
    from .workspace import Page

SELECTED = "selected_node"  # read by other tabs (the model workshop) too
LIVE_FRAGMENT, NETWORK_FRAGMENT = "forecast_live", "forecast_network"
NO_ITEMS = "none"
HELP = {
    "not set": "The model works the node out from everything else that is set.",
    "definite": "Hard evidence: the node is known to be in this state.",
    "mine": "Your own probabilities for the node (fixed evidence): the model keeps them "
    "exactly and adjusts everything else to fit.",
}


def _key(mk: str, *parts: str) -> str:
    return ".".join((mk, *parts))


# ------------------------------------------------------------------ session state


def settings(mk: str) -> Settings:
    """The analyst's settings for this model (created empty on first use)."""
    found = st.session_state.get(_key(mk, "settings"))
    if not isinstance(found, Settings):
        found = Settings()
        st.session_state[_key(mk, "settings")] = found
    return found


def items_on(page: Page) -> set[str]:
    """Ids of the evidence items switched on; first visit: every item known at the model's as-of date."""
    key = _key(page.mk, "items_on")
    if key not in st.session_state:
        start = default_as_of(page.model, page.items)
        st.session_state[key] = {
            it.id for it in page.items if start is not None and it.date.isoformat() <= start
        }
    on: set[str] = st.session_state[key]
    return on


def compute(page: Page) -> None:
    """The evidence and posteriors of the current settings; impossible settings keep the last good ones."""
    mk, model = page.mk, page.model
    chosen = settings(mk)
    on = items_on(page)
    page.controls = dict(chosen.controls)
    page.applied = [it for it in page.items if it.id in on]
    lik = st.session_state.get(_key(mk, "scenario_lik"), {})
    page.problem, page.conflicts = "", []
    try:
        evidence = evidence_from_controls(model, chosen.controls, page.applied, likelihood=lik)
    except ForecastError as exc:
        page.problem = str(exc)
        _fall_back(page)
        return
    cache = st.session_state.setdefault(_key(mk, "posterior_cache"), {})
    sig = repr(evidence.describe())
    try:
        current = cache.get(sig)
        if current is None:
            current = report.current_table(model, evidence, page.baseline)
            if len(cache) > 32:
                cache.clear()
            cache[sig] = current
    except EvidenceError as exc:
        page.problem = str(exc)
        try:
            page.conflicts = [_finding(model, c) for c in model.conflicts(evidence)]
        except ForecastError:
            page.conflicts = []
        _fall_back(page)
        return
    page.evidence, page.current = evidence, current
    st.session_state[_key(mk, "last_good")] = (evidence, current)


def _fall_back(page: Page) -> None:
    kept = st.session_state.get(_key(page.mk, "last_good"))
    if kept is not None:
        page.evidence, page.current = kept
    else:
        page.evidence, page.current = None, None


def _finding(model: Model, ev: Evidence) -> str:
    """One finding in words: 'Tuberculosis is Yes', 'the item “…” (12 Mar 2017)'."""
    for node, state in ev.hard.items():
        return f"{model.label(node)} is {model.state_label(node, state)}"
    for node in ev.fixed:
        return f"your probabilities for {model.label(node)}"
    for node in ev.likelihood:
        return f"the reported weights on {model.label(node)}"
    for it in ev.items:
        return f"the item “{it.title}” ({it.date:%d %b %Y})"
    return "no finding"


# ------------------------------------------------------------------ the tab


def render(page: Page) -> None:
    """The whole tab, as one fragment (see the module docstring)."""
    _live(page)


def closed(page: Page) -> None:
    """The tab is not drawn in this run: its network starts afresh (fitted) when it is."""
    network.forget(_key(page.mk, "network"))


@st.fragment(key=LIVE_FRAGMENT)
def _live(page: Page) -> None:
    model, mk = page.model, page.mk
    chosen = settings(mk)
    net_key = _key(mk, "network")
    click = network.pending_click(net_key, network.click_map(model))
    if click is not None:
        st.session_state[SELECTED] = click.node
        if click.state is not None:
            chosen.toggle_state(click.node, click.state)
    compute(page)
    # Drawn out of order: the network goes to the browser right after the outcome
    # numbers it depends on, so React Flow starts on it while the controls arrive.
    top, below = st.container(), st.container()
    with top:
        left, right = st.columns([4, 7], gap="medium")
    with left:
        _outcomes_panel(page)
    with below:
        _network_panel(page, net_key)
    with right:
        # only the open one is drawn: 36 item cards cost the browser more than the numbers
        drivers_tab, items_tab = st.tabs(
            [
                "Drivers",
                f"Evidence items ({len(page.items)})" if page.items else "Evidence items",
            ],
            key=_key(mk, "side_tab"),
            on_change="rerun",
        )
        if drivers_tab.open is not False:
            with drivers_tab:
                _drivers_panel(page)
        if items_tab.open is not False:
            with items_tab:
                _items_panel(page)
    with below:
        _selected_panel(page)
        if page.current is not None and not page.problem:
            _downloads(page)


# ------------------------------------------------------------------ outcomes


def outcome_nodes(model: Model) -> list[str]:
    return model.default_targets


def _status(page: Page) -> None:
    """Which scenario is loaded and whether a control has changed it since."""
    loaded = st.session_state.get(_key(page.mk, "loaded"))
    if loaded is None:
        return
    title, sig = loaded
    now = repr(page.evidence.describe()) if page.evidence is not None else ""
    if page.evidence is not None and now == sig:
        st.markdown(f"Scenario: **{md_inline(title)}**")
    else:
        st.markdown(f"Scenario: **{md_inline(title)}** · *modified*")


def _outcomes_panel(page: Page) -> None:
    model = page.model
    st.subheader("Outcomes")
    _status(page)
    if page.problem:
        msg = f"These settings cannot be used: {md_inline(page.problem)}."
        if page.conflicts:
            msg = (
                "These settings cannot all be true under the model: "
                + "; ".join(md_inline(c) for c in page.conflicts)
                + ". Clear one of them."
            )
        st.error(
            msg
            + (
                " The last forecast that could be made is shown."
                if page.current is not None
                else ""
            )
        )
    if page.current is None:
        return
    pinned_name, pinned = _pinned(page)
    legend = "The dark tick marks the model's belief without evidence"
    legend += f"; the orange tick the {md_inline(pinned_name)}." if pinned is not None else "."
    st.caption(legend)
    for node in outcome_nodes(model):
        rows = report.outcome_rows(model, node, page.current, page.baseline, pinned)
        st.markdown(f"##### {md_inline(model.label(node))}")
        st.vega_lite_chart(spec=charts.outcome_spec(rows), width="stretch")
        with st.expander("The numbers, with the change"):
            st.table(md_frame(report.outcome_display(rows, pinned_name).set_index("State")))


def _pinned(page: Page) -> tuple[str, pd.DataFrame | None]:
    """The settings the outcomes (and the network) are compared with, if any: (name, posterior table)."""
    mk = page.mk
    pins: dict[str, tuple[str, Evidence]] = {}
    pinned = st.session_state.get(_key(mk, "pinned"))
    if pinned is not None:
        pins["pinned"] = pinned
    for s in page.model.fitting_scenarios(page.scenarios):
        pins[f"scenario:{s.name}"] = (f"scenario “{s.display}”", page.model.evidence(s))
    options = ["none", *pins]
    choice_key = _key(mk, "compare_with")
    if st.session_state.get(choice_key) not in options:
        st.session_state[choice_key] = "none"
    choice = st.selectbox(
        "Compare with",
        options,
        format_func=lambda o: "nothing (only the model's belief)" if o == "none" else pins[o][0],
        key=choice_key,
    )
    st.button(
        "Pin these settings",
        key=_key(mk, "pin"),
        on_click=_pin,
        args=(mk, page.evidence),
        help="Keep the current settings as a reference; later changes are shown against them, "
        "here and in the network.",
        disabled=page.evidence is None,
        width="content",
    )
    if choice == "none":
        page.reference = None
        return "", None
    name, ev = pins[choice]
    cache = st.session_state.setdefault(_key(mk, "reference_cache"), {})
    sig = (choice, repr(ev.describe()))
    if sig not in cache:
        try:
            cache.clear()
            cache[sig] = page.model.posteriors(scenario=ev)
        except ForecastError as exc:
            st.warning(f"The {md_inline(name)} cannot be shown: {md_inline(exc)}")
            return "", None
    page.reference = cache[sig]
    return name, cache[sig]


def _pin(mk: str, evidence: Evidence | None) -> None:
    if evidence is None:
        return
    st.session_state[_key(mk, "pinned")] = ("pinned settings", evidence)
    st.session_state[_key(mk, "compare_with")] = "pinned"


# ------------------------------------------------------------------ controls


def _belief(page: Page, node: str) -> dict[str, float]:
    table = page.current if page.current is not None else page.baseline
    sub = table[table["node"] == node]
    return dict(zip(sub["state"], sub["probability"], strict=True))


def _drivers_panel(page: Page) -> None:
    model = page.model
    drivers = model.driver_nodes
    st.caption(
        "Press a state to know it for certain (press it again to undo), or move a slider to give "
        "your own probabilities; the sliders start at the current belief. Any other node: click "
        "it in the network below."
    )
    for node in drivers:
        node_control(page, node, "drv")
    lik = st.session_state.get(_key(page.mk, "scenario_lik"), {})
    if lik:
        name = st.session_state.get(_key(page.mk, "scenario_name"), "the loaded scenario")
        names = ", ".join(model.label(n) for n in lik)
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(f"Also applied from {md_inline(name)}: reported weights on {md_inline(names)}.")
        c2.button(
            "Remove",
            key=_key(page.mk, "drop_lik"),
            on_click=lambda: st.session_state.__setitem__(_key(page.mk, "scenario_lik"), {}),
        )


def node_control(page: Page, node: str, where: str) -> None:
    """One node's control: a button and a slider per state, and "clear".

    A state's button sets it for certain (hard evidence) and, pressed again,
    clears it; the sliders start at the current belief, and moving one gives the
    node your own probabilities from exactly the values shown.
    """
    model, mk = page.model, page.mk
    chosen = settings(mk)
    states = model.states(node)
    c = chosen.control(node)
    label = model.label(node)
    shown = shown_percents(chosen, node, states, _belief(page, node))
    pct_keys = {s: _key(mk, where, "pct", node, s) for s in states}
    for s, k in pct_keys.items():
        # push a value only when what the slider should show has changed (or the widget is
        # new): a value pushed from here overrides the browser's slider, so pushing an
        # unchanged value from a run that started before a key press reached the server
        # would undo that key press
        moved = st.session_state.pop(f"{k}.moved", False)
        pushed = st.session_state.pop(f"{k}.pushed", False)
        if k not in st.session_state:
            st.session_state[f"{k}.browser"] = shown[s]  # a new widget starts at this value
        elif not moved and not pushed:
            # no callback for it since the browser last reported: the browser has this value
            st.session_state[f"{k}.browser"] = st.session_state[k]
        if st.session_state.get(f"{k}.shown") != shown[s] or k not in st.session_state:
            _push(k, shown[s])
    mode = {STATE: "known for certain", PROBABILITIES: "your probabilities"}.get(c.mode, "not set")
    with st.container(border=True, key=_key(mk, where, "card", node).replace(".", "_")):
        head, clear = st.columns([4, 1], vertical_alignment="center")
        head.markdown(
            f"**{md_inline(label)}** · *{mode}*", help=md(model.node(node).description) or None
        )
        clear.button(
            "Clear",
            key=_key(mk, where, "clear", node),
            on_click=chosen.clear,
            args=(node,),
            disabled=c.mode not in (STATE, PROBABILITIES),
            help="Back to “not set”: the model works the node out from everything else.",
            width="stretch",
        )
        if c.mode == STATE:
            on_node = [it for it in page.applied if it.node == node]
            if on_node:
                st.caption(
                    f"Known for certain, so the {len(on_node)} dated item(s) on this node no "
                    "longer change anything."
                )
        cols = st.columns(len(states), gap="small")
        for s, col in zip(states, cols, strict=True):
            on = c.mode == STATE and c.state == s
            name = model.state_label(node, s)
            col.button(
                md_inline(name),
                key=_key(mk, where, "state", node, s),
                on_click=chosen.toggle_state,
                args=(node, s),
                type="primary" if on else "secondary",
                help=HELP["definite"] + (" Press again to clear it." if on else ""),
                width="stretch",
            )
            col.slider(
                md_inline(f"{name} ({label})"),
                min_value=0,
                max_value=100,
                step=1,
                format="%d%%",
                key=pct_keys[s],
                on_change=_slider_moved,
                args=(mk, node, pct_keys, s),
                disabled=c.mode == STATE,
                label_visibility="collapsed",
                help=HELP["mine"],
            )


def _push(key: str, value: int) -> None:
    """Give a slider a value from the server (the browser takes it with the run's output).

    Written only when it differs: an assignment is sent to the browser even when
    equal, and would move back a slider the analyst has moved on since.
    """
    if st.session_state.get(key) != value:
        st.session_state[key] = value
    st.session_state[f"{key}.shown"] = value


def _slider_moved(mk: str, node: str, keys: dict[str, str], changed: str) -> None:
    """The node's other states share what is left, so its sliders always add up to 100%.

    A rerun the browser asked for before a value pushed from the server reached
    it still carries the slider's old value, which Streamlit reports as a change:
    that echo is not a move (acting on it would undo the analyst's key presses or
    set probabilities on a node nobody touched), so the pushed value is kept.
    """
    key = keys[changed]
    value, pushed = st.session_state.get(key, 0), st.session_state.get(f"{key}.shown")
    st.session_state[f"{key}.moved"] = True
    if pushed is not None and value != pushed and value == st.session_state.get(f"{key}.browser"):
        st.session_state[key] = pushed
        return
    st.session_state[f"{key}.browser"] = value
    current = {s: st.session_state.get(k, 0) for s, k in keys.items()}
    values = rebalance(current, changed, current[changed])
    settings(mk).set_percents(node, values)
    for s, k in keys.items():
        if s != changed:
            _push(k, values[s])
            st.session_state[f"{k}.pushed"] = True  # the session, not the browser, has it


# ------------------------------------------------------------------ evidence items


def _items_panel(page: Page) -> None:
    model, mk, items = page.model, page.mk, page.items
    hidden = page.hidden_items
    if not items:
        st.info("There are no dated evidence items for this model.")
        if hidden:
            st.caption(
                f"{hidden} item(s) in the evidence folder bear on nodes this model does not have."
            )
        return
    on = items_on(page)
    st.caption(f"{len(on & {it.id for it in items})} of {len(items)} items applied.")
    dates = sorted({it.date for it in items})
    options = [NO_ITEMS] + [d.isoformat() for d in dates]
    asof_key = _key(mk, "asof")
    matching = as_of_matching(items, on)
    if not on:
        st.session_state[asof_key] = NO_ITEMS
    elif matching is not None:
        st.session_state[asof_key] = matching
    else:
        st.session_state[asof_key] = max(it.date for it in items if it.id in on).isoformat()
    st.select_slider(
        "Apply every item up to",
        options,
        format_func=lambda d: "no items" if d == NO_ITEMS else pd.Timestamp(d).strftime("%d %b %Y"),
        key=asof_key,
        on_change=_apply_as_of,
        args=(page, asof_key),
        help="Switches on every item dated up to the chosen day and switches off the later ones.",
    )
    if on and matching is None:
        st.caption(
            "Your own selection: not every item up to the date above is on. Moving the slider "
            "replaces the selection."
        )
    for it in items:
        key = _key(mk, "item", it.id)
        st.session_state[key] = it.id in on
        with st.container(border=True):
            st.toggle(
                md_inline(it.title), key=key, on_change=_item_toggled, args=(page, it.id, key)
            )
            weights = ", ".join(
                f"{model.state_label(it.node, s)}: {w:g}" for s, w in it.likelihood.items()
            )
            st.caption(
                f"{it.date:%d %b %Y} · {md_inline(model.source_label(it.source))} · bears on "
                f"*{md_inline(model.label(it.node))}* (weights {md_inline(weights)})"
            )
            if it.rationale:
                st.caption(md(it.rationale))
    if hidden:
        st.caption(f"{hidden} further item(s) bear on nodes this model does not have.")


def _item_toggled(page: Page, item_id: str, key: str) -> None:
    on = items_on(page)
    if st.session_state.get(key):
        on.add(item_id)
    else:
        on.discard(item_id)


def _apply_as_of(page: Page, key: str) -> None:
    chosen = st.session_state.get(key, NO_ITEMS)
    st.session_state[_key(page.mk, "items_on")] = {
        it.id for it in page.items if chosen != NO_ITEMS and it.date.isoformat() <= chosen
    }


def applied_items(page: Page) -> list[EvidenceItem]:
    on = items_on(page)
    return [it for it in page.items if it.id in on]


# ------------------------------------------------------------------ network and the selected node


def _network_panel(page: Page, net_key: str) -> None:
    if page.current is None:
        return
    st.subheader("The network")
    st.caption(
        "Arrows run from cause to effect. Click a state to set it for certain, click it again to "
        "clear it; click a node's title to open its controls and record below. Scroll or use the "
        "buttons to zoom; drag the background to pan."
        + (
            " Each bar's tick and the number after it compare with the reference chosen above."
            if page.reference is not None
            else ""
        )
    )
    _network_view(page, net_key)


@st.fragment(key=NETWORK_FRAGMENT)
def _network_view(page: Page, net_key: str) -> None:
    """The drawing in a fragment of its own (see `_network_changed`)."""
    if page.current is None:
        return
    chosen = settings(page.mk)
    hard = {n: c.state for n, c in chosen.controls.items() if c.mode == STATE and c.state}
    nodes, edges, _ = network.elements(
        page.model,
        page.current,
        reference=page.reference,
        hard=hard,
        set_nodes=set(chosen.set_nodes()),
        selected=st.session_state.get(SELECTED),
        per_row=network.per_row(page.model),
    )
    network.draw(
        net_key,
        nodes,
        edges,
        height=network.height(page.model),
        on_change=functools.partial(_network_changed, page.model, page.mk, net_key),
    )


def _network_changed(model: Model, mk: str, net_key: str) -> None:
    """The component reported: a click reruns the tab; its "I took the new nodes" only itself.

    React Flow reports back each time it takes new nodes; rerunning the whole
    tab for that would redraw everything twice per change.  Returning normally
    keeps the interaction's own rerun (this fragment); `st.rerun` from a callback
    costs a second run, so only a click asks for one.
    """
    click = network.pending_click(net_key, network.click_map(model))
    if click is None:
        return
    st.session_state[SELECTED] = click.node
    if click.state is not None:
        settings(mk).toggle_state(click.node, click.state)
    st.rerun(LIVE_FRAGMENT)


def _selected_panel(page: Page) -> None:
    model = page.model
    nodes = list(model.nodes)
    current = st.session_state.get(SELECTED)
    pick_key = _key(page.mk, "pick")
    st.session_state[pick_key] = current if current in nodes else None
    st.selectbox(
        "Node",
        nodes,
        format_func=model.label,
        key=pick_key,
        index=None,
        placeholder="Click a node in the network, or choose one here",
        on_change=lambda: st.session_state.__setitem__(SELECTED, st.session_state.get(pick_key)),
    )
    node = st.session_state.get(SELECTED)
    if node not in nodes:
        return
    left, right = st.columns([5, 7], gap="medium")
    with left:
        node_control(page, node, "sel")
    with right:
        node_record(model, node)


def node_record(model: Model, node: str) -> None:
    """What the model says about the node: description, rationale, sources, its probability table."""
    spec = model.node(node)
    role = {"driver": "a driver", "outcome": "an outcome", "intermediate": "a mechanism"}.get(
        spec.role, spec.role
    )
    st.markdown(f"**{md_inline(model.label(node))}** is {role} of the model.")
    if spec.description:
        st.markdown(md(spec.description))
    if spec.rationale:
        st.markdown(f"*Why these numbers:* {md(spec.rationale)}")
    if spec.sources:
        cited = []
        for sid in spec.sources:
            full = next((s for s in model.spec.sources if s.id == sid), None)
            cited.append(
                "- " + md_inline(model.source_label(sid) + (f": {full.title}" if full else ""))
            )
        st.markdown("**Sources**\n" + "\n".join(cited))
    # drawn only while open: a data grid is among the browser's dearest elements, and this
    # panel is redrawn on every click in the network
    table = st.expander("Its probability table", key=f"cpt_open.{node}", on_change="rerun")
    if table.open:
        table.dataframe(cpt_table(model, node), hide_index=True, width="stretch")


def cpt_table(model: Model, node: str) -> pd.DataFrame:
    """The node's table for people: one row per combination of parent states, one column per state."""
    cpt = model.cpt(node)
    parents = model.parents(node)
    states = model.states(node)
    rows = cpt.reshape(-1, len(states))
    import itertools

    combos = list(itertools.product(*[model.states(p) for p in parents])) or [()]
    data: dict[str, list[Any]] = {
        model.label(p): [model.state_label(p, c[i]) for c in combos] for i, p in enumerate(parents)
    }
    for j, s in enumerate(states):
        data[model.state_label(node, s)] = [percent(float(r[j])) for r in rows]
    return pd.DataFrame(data)


# ------------------------------------------------------------------ downloads


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
    download_row(
        "The report: key judgements, issue record, charts and sources (the same file as "
        "`forecast report`)",
        report.file_stem(model, "report"),
        lambda fmt: report.report_file(model, evidence, fmt, author),
        _key(page.mk, "dl_current"),
    )


def download_row(label: str, stem: str, make: Callable[[str], bytes], key: str) -> None:
    """One button per format; buttons wrap onto new lines rather than shrinking to a letter."""
    st.markdown(f"**{md_inline(label)}**")
    with st.container(horizontal=True, gap="small"):
        for name, (fmt, mime) in report.DOWNLOADS.items():
            st.download_button(
                name,
                data=functools.partial(make, fmt),
                file_name=f"{stem}.{fmt}",
                mime=mime,
                key=_key(key, fmt),
                on_click="ignore",
                width="content",
            )
