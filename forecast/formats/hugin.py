"""Hugin NET (the format of Hugin, and of many published networks): read and write.

`potential (C | P1 P2) { data = (((...))); }` lists each parent combination's
distribution in turn, the first parent slowest and the child's states innermost.
Hugin stores rows as weights and normalises them, so rows that do not sum to 1
are normalised (and the description says how many).  `label` becomes the node's
label.  Decision, utility, continuous and function nodes, class (OOBN) files and
tables given only as expressions (`model_nodes`) are refused by name.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from .lexer import Tokens, block_of, entries, get, numbers, text_of, words_of
from .network import Network, Variable, table_of

if TYPE_CHECKING:
    from .view import View

KEEPS = frozenset({"description"})


def parse(text: str, where: str) -> Network:
    t = Tokens(text, where, hash_comments=True, equals=True)
    top = entries(t)
    net = Network("Hugin NET")
    declared: dict[str, Variable] = {}
    seen_net = False
    potentials = []
    for key, name, body in top:
        kind = key.lower()
        if kind == "net":
            seen_net = True
            b = block_of(body)
            net.title = text_of(get(b, "label")) or text_of(get(b, "name"))
            net.name = text_of(get(b, "name"))
        elif kind == "class":
            raise ModelError(
                f"{where}: an object-oriented Hugin class file; save the network as a plain NET file"
            )
        elif kind in ("node", "discrete node"):
            b = block_of(body)
            if get(b, "subtype") is not None and text_of(get(b, "subtype")).lower() not in (
                "label",
                "",
            ):
                pass  # numbered / interval / boolean states: the state labels are what we keep
            v = Variable(str(name), words_of(get(b, "states")))
            v.label = text_of(get(b, "label"))
            v.description = text_of(get(b, "HR_Desc")) or text_of(get(b, "description"))
            if v.name in declared:
                raise ModelError(f"{where}: variable(s) declared twice: {v.name}")
            declared[v.name] = v
            net.variables.append(v)
        elif kind in (
            "decision",
            "utility",
            "continuous node",
            "function",
            "discrete decision",
            "discrete function",
        ):
            raise ModelError(
                f"{where}: node '{name}' is a {key} node; only discrete chance nodes are supported"
            )
        elif kind == "potential":
            potentials.append((name, block_of(body)))
        else:
            raise ModelError(f"{where}: not a Hugin NET file (unexpected '{key}')")
    if not seen_net and not declared:
        raise ModelError(f"{where}: not a Hugin NET file (no 'net {{ ... }}' and no nodes)")
    weights = 0
    for header, b in potentials:
        words = [w.strip('"') for w in (header if isinstance(header, list) else [])]
        if not words:
            raise ModelError(f"{where}: a potential names no variable")
        child, parents = words[0], [w for w in words[2:]] if len(words) > 1 else []
        if len(words) > 1 and words[1] != "|":
            raise ModelError(
                f"{where}: the potential of '{child}' needs '|' between the node and its parents"
            )
        for q in [child, *parents]:
            if q not in declared:
                raise ModelError(
                    f"{where}: the potential of '{child}' names undeclared variable '{q}'"
                )
        v = declared[child]
        if v.table is not None:
            raise ModelError(f"{where}: variable '{child}' has two potentials")
        data = get(b, "data")
        if data is None:
            if get(b, "model_nodes") is not None or get(b, "model_data") is not None:
                raise ModelError(
                    f"{where}: the table of '{child}' is given as an expression (model_data); save it with its table"
                )
            raise ModelError(f"{where}: no probability table for variable(s) {child}")
        values = numbers(words_of(data), f"the table of '{child}'", where)
        combos = math.prod(len(declared[q].states) for q in parents)
        table = table_of(values, len(v.states), combos, f"the table of '{child}'", where)
        sums = table.sum(axis=1, keepdims=True)
        if np.any(sums <= 0) or not np.all(np.isfinite(table)) or np.any(table < 0):
            raise ModelError(
                f"{where}: the table of '{child}' has a row of zeros or a negative or non-numeric weight"
            )
        off = np.abs(sums[:, 0] - 1.0) > 1e-3
        weights += int(np.count_nonzero(off))
        v.parents = parents
        v.table = np.where(off[:, None], table / sums, table)
    if weights:
        net.notes.append(
            f"{weights} table row(s) were given as weights (Hugin normalises them) and were normalised."
        )
    return net


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nested(values: list, depth: int) -> str:
    """Hugin's parenthesised table: one level per parent (first parent outermost), then the states."""
    if depth == 0:
        return "(" + " ".join(map(repr, values)) + ")"
    return "(" + " ".join(_nested(v, depth - 1) for v in values) + ")"


def write(view: View) -> str:
    """Hugin NET text (as read by Hugin, pyAgrum, pgmpy and GeNIe)."""
    out = ["net", "{", f"    name = {_q(view.id)};"]
    if view.spec.title:
        out.append(f"    label = {_q(view.spec.title)};")
    out.append("}")
    for n in view.nodes:
        out += ["", f"node {n}", "{"]
        out.append(f"    label = {_q(view.label(n) or n)};")
        out.append(f"    states = ({' '.join(_q(s) for s in view.states(n))});")
        if view.description(n):
            out.append(f"    HR_Desc = {_q(view.description(n))};")
        out.append("}")
    for n in view.nodes:
        parents = view.parents(n)
        head = f"potential ({n}" + (f" | {' '.join(parents)})" if parents else ")")
        cards = [len(view.states(q)) for q in parents]
        out += ["", head, "{", f"    data = {_nested(view.cpt(n).tolist(), len(cards))};", "}"]
    return "\n".join(out) + "\n"
