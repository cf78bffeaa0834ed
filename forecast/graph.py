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
