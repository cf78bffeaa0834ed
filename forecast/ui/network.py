"""The live network view: one box per node with a bar per state, drawn by React Flow.

React Flow comes bundled in the `streamlit-flow-component` package (no CDN), so
the page works offline.  Each node is a React Flow node holding its title and
its states' labels; each state is a child node over its row, drawing the bar
and the numbers, so a click on a state reports that state and a click on the
title reports the node.  Positions come from `forecast.graph.positions`
(drivers above mechanisms above outcomes); zoom, pan and "fit" are React Flow's
own controls.

Speed: the component renders a node's content as Markdown (with raw HTML), and
parsing it is what costs the browser most.  So only the boxes have content, and
it is fixed for a model; the states are React Flow "group" nodes, which have no
content at all.  What changes with the evidence (bar length, reference tick,
numbers, the set state's highlight) travels in the nodes' `style` (CSS custom
properties, drawn by the style sheet: `content: var(--p)`) and `className`,
which React Flow applies to the node's element without parsing anything.

`elements` is pure (unit-tested); `draw` talks to Streamlit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from ..graph import NODE_WIDTH, ROW_HEIGHT, TITLE_HEIGHT, node_height, positions
from ..model import Model
from ..plaintext import html_text
from ..present import percent, points

ROLE_FILL = {"driver": "#eef3fb", "intermediate": "#f6f7f9", "outcome": "#fdf3e1"}
BAR, TICK, SET, SELECTED = "#3567b5", "#1d2430", "#1d3557", "#e8590c"
UP, DOWN = "#2e7d32", "#c0392b"

BAR_WIDTH = 40
PCT_WIDTH, CHANGE_WIDTH, PAD, GAP = 46, 36, 4, 4
FONT = '"Source Sans Pro", Helvetica, Arial, sans-serif'


def style_sheet(rows: int) -> str:
    """The drawing's style sheet (it rides in the first box's content), for up to `rows` states.

    A box carries fc-node fc-<role>, fc-ref when changes are shown, fc-on<j> when
    its state j is set; its labels are .fc-lab .fc-l<j>.  A state's element
    carries fc-state fc-row (+ fc-on, fc-nochange without a reference, fc-up /
    fc-down) and the custom properties --w (bar length), --t (reference tick),
    --p (the probability's text) and --d (the change's text).
    """
    inner = NODE_WIDTH - 2 * PAD  # a state's element spans the box less its margins
    bar_right = PAD + PCT_WIDTH + GAP  # without a reference: label | bar | probability
    bar_right_ref = PAD + CHANGE_WIDTH + GAP + PCT_WIDTH + GAP  # ... | change
    label = inner - 2 * PAD - BAR_WIDTH - PCT_WIDTH - 2 * GAP
    label_ref = label - CHANGE_WIDTH - GAP
    h = ROW_HEIGHT - 2
    tick = "var(--t, -9px)"
    parts = [
        ".react-flow__handle { opacity: 0 !important; pointer-events: none !important; }",
        f".react-flow__node.fc-node {{ padding: 0; text-align: left; font-family: {FONT}; color: #1d2430; }}",
        ".fc-node .markdown-node * { margin: 0; }",
        f".fc-title {{ font-weight: 600; font-size: 14px; line-height: 15px; padding: 3px 8px 0 8px; height: {TITLE_HEIGHT - 4}px; overflow: hidden; cursor: pointer; }}",
        f".fc-lab {{ position: absolute; left: {2 * PAD}px; width: {label}px; height: {h}px; line-height: {h}px; font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}",
        f".fc-ref .fc-lab {{ width: {label_ref}px; }}",
        f".react-flow__node.fc-state {{ --bx: {bar_right_ref}px; --px: {PAD + CHANGE_WIDTH + GAP}px; padding: 0; border: none; border-radius: 3px; box-shadow: none; cursor: pointer; "
        f"font-family: {FONT}; font-size: 13px; line-height: {h}px; color: #1d2430; background-color: transparent; background-repeat: no-repeat; "
        f"background-size: {BAR_WIDTH}px 10px, {BAR_WIDTH}px 8px; background-position: right var(--bx) center, right var(--bx) center; "
        f"background-image: linear-gradient(to right, transparent {tick}, {TICK} {tick}, {TICK} calc({tick} + 2px), transparent calc({tick} + 2px)), "
        f"linear-gradient(to right, {BAR} var(--w, 0%), #e3e8f0 var(--w, 0%)); }}",
        f".react-flow__node.fc-state.fc-nochange {{ --bx: {bar_right}px; --px: {PAD}px; }}",
        ".react-flow__node.fc-state:hover { background-color: rgba(53, 103, 181, 0.10); }",
        ".react-flow__node.fc-state.fc-on { background-color: rgba(53, 103, 181, 0.20); }",
        f".fc-state::before {{ content: var(--p, ''); position: absolute; top: 0; right: var(--px); width: {PCT_WIDTH}px; text-align: right; font-variant-numeric: tabular-nums; }}",
        f".fc-state::after {{ content: var(--d, ''); position: absolute; top: 0; right: {PAD}px; width: {CHANGE_WIDTH}px; text-align: right; font-size: 11px; font-variant-numeric: tabular-nums; white-space: nowrap; }}",
        ".fc-state.fc-on::before { font-weight: 600; }",
        f".fc-up::after {{ color: {UP}; }}",
        f".fc-down::after {{ color: {DOWN}; }}",
    ]
    for j in range(rows):
        parts.append(f".fc-l{j} {{ top: {TITLE_HEIGHT + j * ROW_HEIGHT}px; }}")
        parts.append(f".fc-on{j} .fc-l{j} {{ font-weight: 600; }}")
    return "<style>\n" + "\n".join(parts) + "\n</style>"


@dataclass(frozen=True)
class Click:
    """What a click in the network asked for: a node (its title) or one of its states."""

    node: str
    state: str | None = None


def _esc(text: str) -> str:
    """Node content is Markdown with raw HTML: escape for both (see plaintext.html_text)."""
    return html_text(text)


def _by_node(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for node, state, p in zip(table["node"], table["state"], table["probability"], strict=True):
        out.setdefault(str(node), {})[str(state)] = float(p)
    return out


def state_id(model: Model, node: str, state: str) -> str:
    """A child node's id: positions, not names, so any node or state name is safe."""
    return f"s{model.nodes.index(node)}_{model.states(node).index(state)}"


# What every box shares: nothing to drag, select, connect or delete (React Flow's
# defaults are on); arrows leave at the bottom and arrive at the top.  Fields left
# at React Flow's defaults are not sent (the component echoes every node back).
FIXED: dict[str, Any] = {
    "type": "default",
    "sourcePosition": "bottom",
    "targetPosition": "top",
    "draggable": False,
    "selectable": False,
    "connectable": False,
    "deletable": False,
    "focusable": False,
}


def _css_text(text: str) -> str:
    """A CSS string for `content:` (the shared formatting's text: digits, signs, %, spaces)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _box_content(model: Model, node: str) -> str:
    """A box's fixed content: its title (the description as its tooltip) and its states' labels."""
    title = _esc(model.label(node))
    tip = _esc(model.node(node).description or model.label(node))
    labels = "".join(
        f'<div class="fc-lab fc-l{j}" title="{_esc(model.state_label(node, s))}">'
        f"{_esc(model.state_label(node, s))}</div>"
        for j, s in enumerate(model.states(node))
    )
    return f'<div class="fc-title" title="{tip}">{title}</div>{labels}'


def _row_look(p: float, ref: float | None, on: bool) -> tuple[str, dict[str, str]]:
    """What changes with the evidence: the state box's classes and custom properties."""
    cls = "fc-state fc-row" + (" fc-on" if on else "")
    look = {"--w": f"{100 * max(0.0, min(1.0, p)):.1f}%", "--p": _css_text(percent(p))}
    if ref is None:
        return cls + " fc-nochange", look
    w = BAR_WIDTH
    look["--t"] = f"{max(0.0, min(w - 2.0, w * ref - 1)):.1f}px"
    d = p - ref
    text = points(d)
    moved = text != points(0.0)
    if moved:  # only real moves
        cls += " fc-up" if d > 0 else " fc-down"
        look["--d"] = _css_text(text.replace(" pts", ""))
    return cls, look


def elements(
    model: Model,
    current: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    hard: Mapping[str, str] | None = None,
    set_nodes: set[str] | None = None,
    selected: str | None = None,
    per_row: int = 5,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Click]]:
    """React Flow nodes and edges for the network, and what each clickable id means.

    `current` and `reference` are posterior tables (node, state, probability);
    `hard` the definite states set by the analyst (highlighted); `set_nodes`
    the nodes the analyst set in any way (a heavy border: evidence items alone
    do not count, or nearly every node would carry one); `selected` the node
    whose panel is open.
    """
    post = _by_node(current)
    ref = _by_node(reference) if reference is not None else None
    hard = dict(hard or {})
    set_nodes = set(set_nodes or ()) | set(hard)
    where = positions(model, per_row=per_row)
    sheet = style_sheet(max((len(model.states(n)) for n in model.nodes), default=0))
    nodes: list[dict[str, Any]] = []
    clicks: dict[str, Click] = {}
    for i, node in enumerate(model.nodes):
        spec = model.node(node)
        # an outline drawn inside the box, not a border: the states' rows (placed from the
        # box's corner) and its labels (placed inside its border) stay aligned
        width, colour = (
            (2, SELECTED) if node == selected else (3, SET) if node in set_nodes else (1, "#8a94a6")
        )
        states = model.states(node)
        on = f" fc-on{states.index(hard[node])}" if hard.get(node) in states else ""
        nodes.append(
            {
                "id": node,
                "position": {"x": where[node][0], "y": where[node][1]},
                "data": {"content": (sheet if i == 0 else "") + _box_content(model, node)},
                **FIXED,
                "className": f"fc-node fc-{spec.role}"
                + (" fc-ref" if ref is not None else "")
                + on,
                "style": {
                    "width": NODE_WIDTH,
                    "height": node_height(model, node),
                    "background": ROLE_FILL.get(spec.role, "#ffffff"),
                    "border": "none",
                    "outline": f"{width}px solid {colour}",
                    "outlineOffset": -width,
                    "borderRadius": 6,
                    "padding": 0,
                },
            }
        )
        clicks[node] = Click(node)
        for j, state in enumerate(model.states(node)):
            cid = state_id(model, node, state)
            p = post.get(node, {}).get(state, 0.0)
            r = None if ref is None else ref.get(node, {}).get(state)
            cls, look = _row_look(p, r, hard.get(node) == state)
            nodes.append(
                {
                    "id": cid,
                    "parentId": node,
                    "extent": "parent",
                    "position": {"x": PAD, "y": TITLE_HEIGHT + j * ROW_HEIGHT},
                    "data": {},  # a group node: no content to parse, CSS draws the row
                    **FIXED,
                    "type": "group",
                    "zIndex": 1,
                    "className": cls,
                    "style": {
                        "width": NODE_WIDTH - 2 * PAD,
                        "height": ROW_HEIGHT - 2,
                        **look,
                    },
                }
            )
            clicks[cid] = Click(node, state)
    edges = [
        {
            "id": f"e{model.nodes.index(p)}_{model.nodes.index(n)}",
            "source": p,
            "target": n,
            "markerEnd": {"type": "arrowclosed", "color": "#7b8494"},
            "deletable": False,
            "focusable": False,
            "style": {"stroke": "#9aa3b2", "strokeWidth": 1.4},
        }
        for n in model.nodes
        for p in model.parents(n)
    ]
    return nodes, edges, clicks


def click_map(model: Model) -> dict[str, Click]:
    """What each clickable id in the drawing means (the same ids `elements` gives)."""
    out = {node: Click(node) for node in model.nodes}
    for node in model.nodes:
        for state in model.states(node):
            out[state_id(model, node, state)] = Click(node, state)
    return out


def per_row(model: Model) -> int:
    """Boxes per row: five fill a 1280-pixel screen at full size; big models get wider rows."""
    n = len(model.nodes)
    return 5 if n <= 30 else 6 if n <= 45 else 8


def height(model: Model) -> int:
    """The drawing's height in pixels: the layout's own height, within what a screen shows."""
    where = positions(model, per_row=per_row(model))
    bottom = max(y + node_height(model, n) for n, (_x, y) in where.items())
    return int(min(900, max(420, bottom + 40)))


# ------------------------------------------------------------------ Streamlit


def _fresh(key: str) -> Mapping[str, Any] | None:
    """The component's value when it is newer than the last one looked at, else None."""
    value = st.session_state.get(key)
    if not isinstance(value, Mapping):
        return None
    stamp = value.get("timestamp")
    if stamp is None or st.session_state.get(f"{key}.seen") == stamp:
        return None
    return value


def has_pending_click(key: str) -> bool:
    """True when the component reported a click on a node or state that nobody has used yet."""
    value = _fresh(key)
    return value is not None and isinstance(value.get("selectedId"), str)


def pending_click(key: str, clicks: Mapping[str, Click]) -> Click | None:
    """The click the component reported since the last run, if any (each click is used once).

    The component also reports after it took new nodes (with no selection); that
    report is marked as seen and ignored.
    """
    value = _fresh(key)
    if value is None:
        return None
    st.session_state[f"{key}.seen"] = value.get("timestamp")
    # it has drawn (and fitted) what it was first given: later drawings keep the view
    st.session_state[f"{key}.drawn"] = True
    st.session_state[f"{key}.browser_time"] = value.get("timestamp")
    chosen = value.get("selectedId")
    return clicks.get(chosen) if isinstance(chosen, str) else None


LAYOUT = {"elkOptions": {"elk.algorithm": "org.eclipse.elk.fixed"}}  # streamlit-flow's ManualLayout


def draw(
    key: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    height: int = 640,
    on_change: Callable[[], None] | None = None,
) -> None:
    """Show the network; new content is sent only when it changed.

    The view is fitted to the drawing until the component has reported back once
    (it has then drawn and fitted it; see `pending_click` and `forget`); later
    changes keep the analyst's zoom and pan (the component re-fits after every
    update while its fitView argument is on).

    Calls the package's declared component directly (what `streamlit_flow()`
    does, plus `on_change`), so a click can rerun just the fragments it affects.
    """
    from streamlit_flow import _st_flow_func  # type: ignore[import-untyped]

    sig = hash(repr((nodes, edges)))
    cache_key = f"{key}.sent"
    kept = st.session_state.get(cache_key)
    if kept is None or kept[0] != sig:
        # The component takes new nodes only when the timestamp is newer than the last
        # one it saw; never older than the browser's own clock reading.
        stamp = max(
            int(time.time() * 1000), int(st.session_state.get(f"{key}.browser_time", 0)) + 1
        )
        kept = (sig, stamp)
        st.session_state[cache_key] = kept
    _st_flow_func(
        nodes=nodes,
        edges=edges,
        height=height,
        showControls=True,
        fitView=not st.session_state.get(f"{key}.drawn", False),
        showMiniMap=False,
        style={},
        animateNewEdges=False,
        allowNewEdges=False,
        layoutOptions=LAYOUT,
        getNodeOnClick=True,
        getEdgeOnClick=False,
        panOnDrag=True,
        allowZoom=True,
        minZoom=0.2,
        enableNodeMenu=False,
        enablePaneMenu=False,
        enableEdgeMenu=False,
        hideWatermark=True,
        key=key,
        timestamp=kept[1],
        component="streamlit_flow",
        on_change=on_change,  # (component arguments are JSON: no `args` here, bind them instead)
        default=None,
    )


def forget(key: str) -> None:
    """The drawing was not shown in this run (its tab closed): fit the view when it comes back."""
    st.session_state.pop(f"{key}.drawn", None)
