"""XMLBIF 0.3 (Cozman's XML form of BIF; pgmpy, pyAgrum, Weka): read and write.

Read with the standard library's XML parser (expat: linear, no entity
expansion bombs); a NETWORK without a NAME is accepted (the file name is used).
TABLE lists each parent combination's distribution in turn, the FOR variable's
states fastest, parents in GIVEN order with the last GIVEN fastest.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from ..errors import ModelError
from .lexer import numbers
from .network import Network, Variable, table_of

if TYPE_CHECKING:
    from .view import View

KEEPS = frozenset({"description"})


def parse_xml(text: str, where: str) -> ET.Element:
    try:
        return ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise ModelError(f"{where}: not valid XML ({exc})") from None


def parse(text: str, where: str) -> Network:
    root = parse_xml(text, where)
    network = root.find("NETWORK")
    if network is None:
        raise ModelError(f"{where}: not an XMLBIF file (no NETWORK element)")
    net = Network("XMLBIF", name=(network.findtext("NAME") or "").strip())
    declared: dict[str, Variable] = {}
    for var in network.findall("VARIABLE"):
        name = (var.findtext("NAME") or "").strip()
        if not name:
            raise ModelError(f"{where}: a VARIABLE has no NAME")
        kind = var.get("TYPE", "nature")
        if kind != "nature":
            raise ModelError(
                f"{where}: variable '{name}' is a {kind} node; only chance ('nature') nodes are supported"
            )
        states = [(o.text or "").strip() for o in var.findall("OUTCOME")]
        if len(states) < 2:
            raise ModelError(
                f"{where}: variable '{name}' has {len(states)} state(s); at least 2 are needed"
            )
        v = Variable(name, states)
        for prop in var.findall("PROPERTY"):
            key, sep, value = (prop.text or "").partition("=")
            if sep and key.strip() in ("label", "role", "description") and value.strip():
                setattr(v, key.strip(), " ".join(value.split()))
        if name in declared:
            raise ModelError(f"{where}: variable(s) declared twice: {name}")
        declared[name] = v
        net.variables.append(v)
    for d in network.findall("DEFINITION"):
        child = (d.findtext("FOR") or "").strip()
        if not child:
            raise ModelError(f"{where}: a DEFINITION has no FOR")
        given = [(g.text or "").strip() for g in d.findall("GIVEN")]
        for q in [child, *given]:
            if q not in declared:
                raise ModelError(
                    f"{where}: the DEFINITION of '{child}' names undeclared variable '{q}'"
                )
        tables = d.findall("TABLE")
        if not tables:
            raise ModelError(f"{where}: the DEFINITION of '{child}' has no TABLE")
        v = declared[child]
        if v.table is not None:
            raise ModelError(f"{where}: variable '{child}' has two DEFINITIONs")
        values = numbers(
            " ".join(t.text or "" for t in tables).split(), f"the table of '{child}'", where
        )
        combos = math.prod(len(declared[q].states) for q in given)
        v.parents = given
        v.table = table_of(values, len(v.states), combos, f"the table of '{child}'", where)
    missing = [v.name for v in net.variables if v.table is None]
    if missing:
        raise ModelError(
            f"{where}: no probability table (DEFINITION) for variable(s) {', '.join(missing[:5])}"
        )
    return net


def write(view: View) -> str:
    """XMLBIF 0.3 text, as read by pgmpy, pyAgrum and Weka."""
    root = ET.Element("BIF", VERSION="0.3")
    net = ET.SubElement(root, "NETWORK")
    ET.SubElement(net, "NAME").text = view.id
    for n in view.nodes:
        var = ET.SubElement(net, "VARIABLE", TYPE="nature")
        ET.SubElement(var, "NAME").text = n
        for s in view.states(n):
            ET.SubElement(var, "OUTCOME").text = s
        label = view.label(n)
        if label:
            ET.SubElement(var, "PROPERTY").text = "label = " + " ".join(label.split())
        if view.description(n):
            ET.SubElement(var, "PROPERTY").text = "description = " + view.description(n)
        ET.SubElement(var, "PROPERTY").text = f"role = {view.role(n)}"
    for n in view.nodes:
        d = ET.SubElement(net, "DEFINITION")
        ET.SubElement(d, "FOR").text = n
        for q in view.parents(n):
            ET.SubElement(d, "GIVEN").text = q
        ET.SubElement(d, "TABLE").text = " ".join(map(repr, view.flat(n).ravel().tolist()))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
