"""Netica DNE (Norsys): read.

`probs` lists each parent combination's distribution in turn, the first parent
slowest and the child's states innermost (the nesting parentheses are only
grouping).  `title` becomes the label and `comment` the description.  Decision
and utility nodes, constant nodes that other nodes depend on (constant nodes
nothing depends on are title boxes: left out, with a note), `param` nodes
(disconnected inputs of a fragment) read as chance nodes, continuous nodes and nodes defined only by an
`equation` (no `probs` table) are refused by name.
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .lexer import block_of, get, numbers, text_of, top_block, words_of
from .network import Network, Variable, table_of


def parse(text: str, where: str) -> Network:
    name, b = top_block(text, where, "bnet", "Netica DNE")
    net = Network("Netica DNE", name=name, title=text_of(get(b, "title")))
    net.description = text_of(get(b, "comment"))
    declared: dict[str, Variable] = {}
    probs: dict[str, list[str]] = {}
    used = {
        q
        for key, _, block in b
        if key.lower() in ("node", "param")
        for q in words_of(get(block_of(block), "parents"))
    }
    skipped = []
    for key, nid, block in b:
        if key.lower() not in ("node", "param"):
            continue
        nb = block_of(block)
        nid = str(nid)
        kind = text_of(get(nb, "kind", "NATURE")).upper()
        if kind == "CONSTANT" and nid not in used:
            skipped.append(nid)  # a title or documentation box: not part of the probability model
            continue
        if kind not in ("NATURE", "DISCONNECTED"):
            raise ModelError(
                f"{where}: node '{nid}' is a {kind.lower()} node; only nature (chance) nodes are supported"
            )
        if text_of(get(nb, "discrete", "TRUE")).upper() != "TRUE":
            raise ModelError(
                f"{where}: node '{nid}' is continuous; only discrete nodes are supported"
            )
        states = words_of(get(nb, "states"))
        if not states:
            n = text_of(get(nb, "numstates"))
            states = [f"state{i}" for i in range(int(n))] if n.isdigit() else []
        v = Variable(nid, states, words_of(get(nb, "parents")))
        v.label = text_of(get(nb, "title"))
        v.description = text_of(get(nb, "comment"))
        if nid in declared:
            raise ModelError(f"{where}: variable(s) declared twice: {nid}")
        declared[nid] = v
        net.variables.append(v)
        table = get(nb, "probs")
        if table is None:
            if get(nb, "equation") is not None or get(nb, "functable") is not None:
                raise ModelError(
                    f"{where}: node '{nid}' is defined by an equation or function table; "
                    "convert it to a table in Netica (Table > Equation to Table) and save again"
                )
            raise ModelError(f"{where}: no probability table for variable(s) {nid}")
        probs[nid] = words_of(table)
    if skipped:
        net.notes.append(f"Constant (documentation) node(s) {', '.join(skipped)} were left out.")
    for v in net.variables:
        for q in v.parents:
            if q not in declared:
                raise ModelError(f"{where}: variable '{v.name}' has undeclared parent(s) {q}")
        values = numbers(probs[v.name], f"the table of '{v.name}'", where)
        combos = math.prod(len(declared[q].states) for q in v.parents)
        v.table = table_of(values, len(v.states), combos, f"the table of '{v.name}'", where)
    return net
