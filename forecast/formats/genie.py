"""GeNIe / SMILE files: XDSL (XML; read and write) and DSL (the older text form; read).

Tables list each parent combination's distribution in turn, the last parent
fastest and the child's states innermost.  Noisy-MAX nodes become our
`noisy_max` CPT form (forecast.canonical): GeNIe lists each parent's blocks in
the order of its `strengths` (block j belongs to parent state strengths[j]),
the leak last.  Node names (GeNIe's `name`) become labels, `comment`s
descriptions.  Decision, utility and equation nodes are refused by name.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from ..canonical import is_inert
from ..errors import ModelError
from .lexer import block_of, get, numbers, text_of, top_block, words_of
from .network import Network, Variable, table_of
from .xmlbif import parse_xml

if TYPE_CHECKING:
    from .view import View

KEEPS = frozenset({"description", "noisy_max"})
_CHANCE = {"cpt", "noisymax"}
_REFUSED = {
    "decision": "a decision node",
    "utility": "a utility node",
    "mau": "a multi-attribute utility node",
    "deterministic": "a deterministic node",
    "equation": "an equation node",
    "noisyadder": "a noisy-adder node",
    "demorgan": "a DeMorgan node",
    "tnormal": "a ranked (TNormal) node",
    "truthtable": "a truth-table node",
}


def noisy_from(
    name: str,
    states: list[str],
    parents: list[str],
    parent_states: dict[str, list[str]],
    strengths: list[float],
    params: list[float],
    where: str,
) -> dict[str, Any]:
    """GeNIe's flat strengths and parameters -> our noisy_max form (parameters keyed by parent state)."""
    k = len(states)
    need = sum(len(parent_states[p]) for p in parents)
    if len(strengths) != need or len(params) != k * (need + 1):
        raise ModelError(
            f"{where}: the noisy-MAX node '{name}' has {len(params)} parameters and {len(strengths)} "
            f"strengths; expected {k * (need + 1)} and {need}"
        )
    out: dict[str, dict[str, list[float]]] = {}
    pos = 0
    for p in parents:
        ps = parent_states[p]
        order = [int(x) for x in strengths[pos : pos + len(ps)]]
        if sorted(order) != list(range(len(ps))):
            raise ModelError(
                f"{where}: the noisy-MAX strengths of '{name}' for parent '{p}' are not an order of its states"
            )
        block: dict[str, list[float]] = {}
        for j, state_index in enumerate(order):
            start = k * (pos + j)
            block[ps[state_index]] = params[start : start + k]
        out[p] = block
        pos += len(ps)
    return {"type": "noisy_max", "parameters": out, "leak": params[k * need :]}


def _parents_known(v: Variable, known: dict[str, Variable], where: str) -> None:
    for q in v.parents:
        if q not in known:
            raise ModelError(
                f"{where}: variable '{v.name}' has undeclared parent(s) {q} (parents must come first)"
            )


def _define(
    v: Variable,
    known: dict[str, Variable],
    values: list[float],
    strengths: list[float] | None,
    where: str,
) -> None:
    """Give `v` its table (a CPT node: no `strengths`) or its noisy-MAX form (`values` are then
    GeNIe's parameters); XDSL and DSL nodes hold the same numbers under other names."""
    if strengths is None:
        combos = math.prod(len(known[q].states) for q in v.parents)
        v.table = table_of(values, len(v.states), combos, f"the table of '{v.name}'", where)
    else:
        parent_states = {q: known[q].states for q in v.parents}
        v.cpt = noisy_from(v.name, v.states, v.parents, parent_states, strengths, values, where)


# ---------------------------------------------------------------- XDSL


def parse_xdsl(text: str, where: str) -> Network:
    root = parse_xml(text, where)
    if root.tag != "smile":
        raise ModelError(
            f"{where}: not a GeNIe XDSL file (the root element is <{root.tag}>, not <smile>)"
        )
    nodes = root.find("nodes")
    if nodes is None:
        raise ModelError(f"{where}: not a GeNIe XDSL file (no <nodes>)")
    net = Network("GeNIe XDSL", name=root.get("id", ""))
    known: dict[str, Variable] = {}
    for el in nodes:
        kind = el.tag.lower()
        nid = el.get("id", "")
        if kind not in _CHANCE:
            what = _REFUSED.get(kind, f"a <{el.tag}> node")
            raise ModelError(
                f"{where}: node '{nid}' is {what}; only chance nodes (cpt, noisymax) are supported"
            )
        states = [s.get("id", "") for s in el.findall("state")]
        v = Variable(nid, states, (el.findtext("parents") or "").split())
        _parents_known(v, known, where)
        values = numbers(
            (el.findtext("probabilities") or "").split(), f"the table of '{nid}'", where
        )
        strengths = None
        if kind != "cpt":
            strengths = numbers(
                (el.findtext("strengths") or "").split(), f"the strengths of '{nid}'", where
            )
            values = numbers(
                (el.findtext("parameters") or "").split(), f"the parameters of '{nid}'", where
            )
        _define(v, known, values, strengths, where)
        known[nid] = v
        net.variables.append(v)
    _xdsl_extensions(root, known)
    return net


def _xdsl_extensions(root: ET.Element, known: dict[str, Variable]) -> None:
    genie = root.find("extensions/genie")
    if genie is None:
        return
    for el in genie.iter("node"):
        v = known.get(el.get("id", ""))
        if v is None:
            continue
        name = (el.findtext("name") or "").strip()
        if name and name != v.name:
            v.label = " ".join(name.split())
        comment = (el.findtext("comment") or "").strip()
        if comment:
            v.description = comment


def write_xdsl(view: View) -> str:
    """GeNIe XDSL (SMILE 1.0): cpt nodes, noisymax for our noisy_max form, labels as GeNIe names."""
    root = ET.Element("smile", version="1.0", id=view.id, numsamples="10000", discsamples="10000")
    nodes = ET.SubElement(root, "nodes")
    for n in view.nodes:
        cpt = view.node(n).cpt
        parents = view.parents(n)
        noisy = _noisy_blocks(view, n) if getattr(cpt, "type", "") == "noisy_max" else None
        el = ET.SubElement(nodes, "noisymax" if noisy else "cpt", id=n)
        for s in view.states(n):
            ET.SubElement(el, "state", id=s)
        if parents:
            ET.SubElement(el, "parents").text = " ".join(parents)
        if noisy:
            strengths, params = noisy
            ET.SubElement(el, "strengths").text = " ".join(map(str, strengths))
            ET.SubElement(el, "parameters").text = " ".join(map(repr, params))
        else:
            ET.SubElement(el, "probabilities").text = " ".join(
                map(repr, view.flat(n).ravel().tolist())
            )
    ext = ET.SubElement(root, "extensions")
    genie = ET.SubElement(
        ext, "genie", version="1.0", app="forecast", name=view.spec.title or view.id
    )
    for i, n in enumerate(view.nodes):
        el = ET.SubElement(genie, "node", id=n)
        ET.SubElement(el, "name").text = view.label(n) or n
        ET.SubElement(el, "interior", color="e5f6f7")
        ET.SubElement(el, "outline", color="000080")
        ET.SubElement(el, "font", color="000000", name="Arial", size="8")
        x, y = 40 + 160 * (i % 8), 40 + 90 * (i // 8)
        ET.SubElement(el, "position").text = f"{x} {y} {x + 120} {y + 50}"
        if view.description(n):
            ET.SubElement(el, "comment").text = view.description(n)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _noisy_blocks(view: View, n: str) -> tuple[list[int], list[float]] | None:
    """GeNIe's strengths and parameters for a noisy_max node; None if it cannot be put that way.

    GeNIe wants each parent's inert state (all mass on the child's last state) last
    in strength order; a parent without one is written as the table it compiles to.
    """
    cpt = view.node(n).cpt
    strengths: list[int] = []
    params: list[float] = []
    for q in view.parents(n):
        given = cpt.parameters[q]  # type: ignore[union-attr]
        qs = view.states(q)
        inert = [i for i, s in enumerate(qs) if is_inert(given[s])]
        if not inert:
            return None
        order = [i for i in range(len(qs)) if i != inert[-1]] + [inert[-1]]
        strengths.extend(order)
        for i in order:
            params.extend(given[qs[i]])
    k = len(view.states(n))
    leak = cpt.leak or [0.0] * (k - 1) + [1.0]  # type: ignore[union-attr]
    return strengths, params + list(leak)


# ---------------------------------------------------------------- DSL


def parse_dsl(text: str, where: str) -> Network:
    name, body = top_block(text, where, "net", "GeNIe DSL")
    net = Network("GeNIe DSL", name=name)
    net.title = text_of(get(block_of(get(body, "HEADER")), "NAME"))
    known: dict[str, Variable] = {}
    for key, nid, block in body:
        if key.lower() != "node":
            continue
        b = block_of(block)
        nid = str(nid)
        kind = text_of(get(b, "TYPE")).upper()
        if kind not in ("CPT", "NOISY_MAX"):
            what = _REFUSED.get(kind.lower().replace("_", ""), f"a {kind or 'typeless'} node")
            raise ModelError(
                f"{where}: node '{nid}' is {what}; only chance nodes (CPT, NOISY_MAX) are supported"
            )
        d = block_of(get(b, "DEFINITION"))
        states = words_of(get(d, "NAMESTATES"))
        v = Variable(nid, states, words_of(get(b, "PARENTS")))
        _parents_known(v, known, where)
        h = block_of(get(b, "HEADER"))
        label = text_of(get(h, "NAME"))
        if label and label != nid:
            v.label = label
        v.description = text_of(get(h, "COMMENT"))
        values = numbers(words_of(get(d, "PROBABILITIES")), f"the table of '{nid}'", where)
        strengths = None
        if kind != "CPT":
            strengths = numbers(words_of(get(d, "STRENGTHS")), f"the strengths of '{nid}'", where)
        _define(v, known, values, strengths, where)
        known[nid] = v
        net.variables.append(v)
    return net
