"""The network as a Graphviz DOT drawing, each node showing its posterior or its change.

The DOT text is rendered by whoever shows it (the Streamlit page uses
st.graphviz_chart, which lays it out in the browser), so no Graphviz binary is
needed here.  Nodes are shaded by how far the evidence moved them (total
variation distance from the baseline), so a reader sees at a glance where
beliefs changed.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Mapping

import networkx as nx
import pandas as pd

from .errors import ForecastError
from .model import Model
from .present import ORANGE, Names, points, whole_percent
from .spec import NodeSpec

SHOW = ("probability", "change")
ROLE_FILL = {"driver": "#e7eef9", "intermediate": "#f3f4f6", "outcome": "#fdf0d5"}
CHANGE_FULL = 0.30  # a node whose distribution moved this much (or more) gets the strongest shade
_WHITE = (255, 255, 255)
_ORANGE = tuple(int(ORANGE[i : i + 2], 16) for i in (1, 3, 5))


def _by_node(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    missing = {"node", "state", "probability"} - set(table.columns)
    if missing:
        raise ForecastError(f"the posterior table lacks column(s) {sorted(missing)}")
    out: dict[str, dict[str, float]] = {}
    for node, state, p in zip(table["node"], table["state"], table["probability"], strict=True):
        out.setdefault(str(node), {})[str(state)] = float(p)
    return out


def movement(posterior: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """How far a node's distribution moved: total variation distance, 0 (same) to 1."""
    return 0.5 * sum(
        abs(posterior.get(s, 0.0) - baseline.get(s, 0.0)) for s in set(posterior) | set(baseline)
    )


def shade(amount: float) -> str:
    """White for no change, deepening orange as `amount` approaches CHANGE_FULL."""
    t = max(0.0, min(1.0, amount / CHANGE_FULL))
    rgb = [round(w + (o - w) * t) for w, o in zip(_WHITE, _ORANGE, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node_line(
    spec: NodeSpec, values: Mapping[str, str], names: Names, moved: float | None, marked: bool
) -> str:
    """One node's DOT statement: its label and each state's value, shaded by how far it moved."""
    title = "<br/>".join(_esc(t) for t in textwrap.wrap(spec.display, 28)) or _esc(spec.id)
    body = "<br/>".join(f"{_esc(names.state(spec.id, s))} {_esc(v)}" for s, v in values.items())
    label = f"<<b>{title}</b>" + (f'<br/><font point-size="10">{body}</font>' if body else "") + ">"
    fill = shade(moved) if moved is not None else ROLE_FILL.get(spec.role, "#ffffff")
    attrs = [f"label={label}", f"fillcolor={_quote(fill)}", f"tooltip={_quote(spec.display)}"]
    if spec.role == "outcome":
        attrs.append("peripheries=2")
    if marked:
        attrs += ['color="#1d3557"', "penwidth=3"]
    return f"  {_quote(spec.id)} [{', '.join(attrs)}];"


def network_dot(
    model: Model,
    posterior: pd.DataFrame,
    baseline: pd.DataFrame | None = None,
    show: str = "probability",
    evidence_nodes: Iterable[str] = (),
    names: Names | None = None,
    rankdir: str = "LR",
) -> str:
    """DOT text of the model's network.

    `posterior` and `baseline` are tables with node, state and probability
    columns (as Model.posteriors returns).  With show="probability" each node
    lists its states' probabilities; with show="change" the change in
    percentage points against the baseline.  Either way, nodes are shaded by
    how far they moved from the baseline (when one is given); nodes carrying
    evidence get a heavy outline, outcome nodes a double one.  States are
    named by `names` (the model's own names by default).
    """
    if show not in SHOW:
        raise ForecastError(f"unknown graph mode '{show}'; use one of {', '.join(SHOW)}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ForecastError(f"unknown graph direction '{rankdir}'")
    post = _by_node(posterior)
    base = _by_node(baseline) if baseline is not None else None
    if show == "change" and base is None:
        raise ForecastError("showing changes needs a baseline table")
    marked = set(evidence_nodes)
    names = names or model.names

    lines = [
        "digraph network {",
        f"  graph [rankdir={rankdir}, nodesep=0.25, ranksep=0.55, bgcolor=transparent, "
        'fontname="Helvetica,Arial,sans-serif"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica,Arial,sans-serif", fontsize=12, '
        'color="#8a94a6", penwidth=1, margin="0.12,0.06"];',
        '  edge [color="#9aa3b2", arrowsize=0.7];',
    ]
    for node in model.nodes:
        p_node = post.get(node)
        b_node = base.get(node) if base is not None else None
        shown = {} if p_node is None else {s: p_node[s] for s in model.states(node) if s in p_node}
        if show == "change":
            values = {s: points(p - (b_node or {}).get(s, 0.0)) for s, p in shown.items()}
        else:
            values = {s: whole_percent(p) for s, p in shown.items()}
        moved = movement(p_node, b_node) if b_node is not None and p_node is not None else None
        lines.append(_node_line(model.node(node), values, names, moved, node in marked))
    for node in model.nodes:
        for parent in model.parents(node):
            lines.append(f"  {_quote(parent)} -> {_quote(node)};")
    lines.append("}")
    return "\n".join(lines)


# ------------------------------------------------------------------ layered layout for the live view

NODE_WIDTH = 236  # pixels of one node box in the live network view
ROW_HEIGHT = 20  # one state's bar
TITLE_HEIGHT = 38  # room for a label of two lines
GAP_X, GAP_Y = 22, 34


def _topological(model: Model) -> list[str]:
    graph = nx.DiGraph()
    graph.add_nodes_from(model.nodes)
    graph.add_edges_from((p, n) for n in model.nodes for p in model.parents(n))
    return list(nx.lexicographical_topological_sort(graph, key=model.nodes.index))


def layers(model: Model) -> list[list[str]]:
    """Nodes in layers from causes to effects: drivers first, outcomes last, mechanisms between.

    A mechanism sits one layer below its deepest parent (longest path from a
    root), so every arrow points down.  Within a layer nodes are ordered by the
    mean position of their parents (the barycentre rule), which keeps most
    arrows short and uncrossed; ties keep the model file's order.
    """
    order_ = _topological(model)
    depth: dict[str, int] = {}
    for node in order_:
        parents = model.parents(node)
        depth[node] = 1 + max((depth[p] for p in parents), default=-1)
    drivers = set(model.drivers) or {n for n in model.nodes if not model.parents(n)}
    outcomes = set(model.outcomes)
    for node in model.nodes:
        if node in drivers:
            depth[node] = 0
        elif depth[node] == 0:
            depth[node] = 1 if drivers else 0  # a root that is no driver: a mechanism
    for node in order_:  # keep arrows pointing down after the moves above
        for p in model.parents(node):
            depth[node] = max(depth[node], depth[p] + 1)
    inner = max((depth[n] for n in model.nodes if n not in outcomes), default=-1)
    last = inner + 1
    for node in outcomes:
        depth[node] = max(depth[node], last)
    count = max(depth.values(), default=-1) + 1
    out: list[list[str]] = [[] for _ in range(count)]
    for node in model.nodes:
        out[depth[node]].append(node)
    place: dict[str, float] = {}
    for layer in out:
        order = {n: i for i, n in enumerate(layer)}

        def centre(n: str, order: dict[str, int] = order) -> tuple[float, int]:
            ps = [place[p] for p in model.parents(n) if p in place]
            return (sum(ps) / len(ps) if ps else float(order[n]), order[n])

        layer.sort(key=centre)
        for i, n in enumerate(layer):
            place[n] = i - (len(layer) - 1) / 2
    return [layer for layer in out if layer]


def node_height(model: Model, node: str) -> int:
    """A node box's height: its title and one bar per state."""
    return TITLE_HEIGHT + ROW_HEIGHT * len(model.states(node)) + 8


def positions(model: Model, per_row: int = 5) -> dict[str, tuple[float, float]]:
    """Top-left corner of each node box: layers top to bottom, each centred.

    A layer wider than `per_row` boxes wraps onto several rows (still above the
    next layer), so a model with many drivers stays readable without zooming out.
    """
    if per_row < 1:
        raise ForecastError("per_row must be at least 1")
    rows: list[list[str]] = []
    for layer in layers(model):
        rows += [layer[i : i + per_row] for i in range(0, len(layer), per_row)]
    widest = max((len(r) for r in rows), default=0)
    full = widest * NODE_WIDTH + (widest - 1) * GAP_X
    out: dict[str, tuple[float, float]] = {}
    y = 0.0
    for row in rows:
        width = len(row) * NODE_WIDTH + (len(row) - 1) * GAP_X
        x0 = (full - width) / 2
        for i, node in enumerate(row):
            out[node] = (x0 + i * (NODE_WIDTH + GAP_X), y)
        y += max(node_height(model, n) for n in row) + GAP_Y
    return out
