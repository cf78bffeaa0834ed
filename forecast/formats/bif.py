"""BIF 0.15 (the interchange format of the bnlearn repository, GeNIe, pyAgrum and pgmpy): read and write.

Our own parser over `lexer.Tokens` (linear time, no recursion): any name the
grammar allows (including the keywords `table` and `default` as names), quoted
names kept as written, `default` rows, numbers in double precision.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from .lexer import PUNCTUATION, Tokens, numbers, show, unquote
from .network import FormatWarning, Network, Variable

if TYPE_CHECKING:
    from .view import View

KEEPS = frozenset({"description"})
_BIF_UNSAFE = re.compile(r"[{}()\[\];|\"'\\]|//|/\*|\*/")
_PORTABLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-+]*$")


def parse(text: str, where: str) -> Network:
    t = Tokens(text, where)
    net = Network("BIF")
    declared: dict[str, Variable] = {}
    blocks: list[tuple[str, list[str], int]] = []  # (child, parents, token index of '{')
    seen_network = False
    while not t.done:
        kw = t.next()
        if kw == "network":
            net.name = t.name("the network's name")
            t.expect("{", " after the network's name")
            t.skip_block()
            seen_network = True
        elif kw == "variable":
            v = _variable(t)
            if v.name in declared:
                raise t.error(f"variable(s) declared twice: {v.name}")
            declared[v.name] = v
            net.variables.append(v)
        elif kw == "probability":
            child, parents = _header(t)
            t.expect("{", f" after the header of the table of '{child}'")
            blocks.append((child, parents, t.i))
            t.skip_block()
        elif kw == "}":
            raise t.error("not a valid BIF file: a '}' closes no block")
        else:
            if not seen_network and not declared:
                raise t.error("not a BIF file (no 'network' and 'variable' declarations found)")
            raise t.error(f"expected 'variable' or 'probability' but found {show(kw)}")
    if not seen_network and not declared:
        raise t.error("not a BIF file (no 'network' and 'variable' declarations found)")
    for child, parents, start in blocks:
        if child not in declared:
            raise t.error(f"the probability table of '{child}' names undeclared variable '{child}'")
        for q in parents:
            if q not in declared:
                raise t.error(f"the probability table of '{child}' names undeclared variable '{q}'")
        v = declared[child]
        if v.table is not None:
            raise t.error(f"variable '{child}' has two probability tables")
        v.parents = parents
        t.i = start
        v.table, props = _table(t, v, [declared[q] for q in parents])
        for key, value in props:
            if key in ("label", "role", "description"):
                setattr(v, key, value)
    return net


def _variable(t: Tokens) -> Variable:
    name = t.name("a variable name")
    t.expect("{", f" after 'variable {name}'")
    states: list[str] | None = None
    props: dict[str, str] = {}
    while True:
        kw = t.next(f"the end of variable '{name}'")
        if kw == "}":
            break
        if kw == "type":
            discrete = t.next("'discrete'")
            if discrete != "discrete":
                raise t.error(
                    f"variable '{name}' is of type {show(discrete)}; only discrete variables are supported"
                )
            t.expect("[", f" after 'type discrete' of '{name}'")
            count_text = t.next("the number of states")
            t.expect("]", f" after the number of states of '{name}'")
            t.expect("{", f" before the states of '{name}'")
            states = [unquote(s) for s in t.until("}")]
            for s in states:
                if s in PUNCTUATION:
                    raise t.error(f"variable '{name}' has {show(s)} among its states")
            t.accept(";")
            try:
                count = int(count_text)
            except ValueError:
                raise t.error(
                    f"variable '{name}' has {show(count_text)} where the number of states should be"
                ) from None
            if len(states) < 2:
                raise t.error(
                    f"variable '{name}' has {len(states)} state(s); at least 2 are needed"
                )
            if count != len(states):
                raise t.error(f"variable '{name}' declares {count} states but lists {len(states)}")
        elif kw == "property":
            key, value = _property(t)
            props[key] = value
        else:
            raise t.error(f"unexpected {show(kw)} in variable '{name}'")
    if states is None:
        raise t.error(f"variable '{name}' has no 'type discrete [ n ] {{ ... }}' line")
    v = Variable(name, states)
    v.label = props.get("label", "")
    v.role = props.get("role", "")
    v.description = props.get("description", "")
    return v


def _property(t: Tokens) -> tuple[str, str]:
    words = t.until(";")
    text = " ".join(unquote(w) if w.startswith('"') else w for w in words)
    key, sep, value = text.partition("=")
    if not sep:
        return text.strip(), ""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
    return key.strip(), " ".join(value.split())


def _header(t: Tokens) -> tuple[str, list[str]]:
    t.expect("(", " after 'probability'")
    words = t.until(")")
    if not words or words[0] in PUNCTUATION:
        raise t.error("a probability table names no variable")
    child = unquote(words[0])
    parents: list[str] = []
    if len(words) > 1:
        if words[1] != "|":
            raise t.error(
                f"expected '|' after '{child}' in a probability header but found {show(words[1])}"
            )
        parents = [unquote(w) for w in words[2:]]
        if not parents:
            raise t.error(f"the probability table of '{child}' has a '|' but no parents")
    return child, parents


def _table(
    t: Tokens, v: Variable, parents: list[Variable]
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """The block after '{': rows '(states) numbers;', 'default numbers;', 'table numbers;'."""
    k = len(v.states)
    cards = [len(p.states) for p in parents]
    combos = math.prod(cards)
    where = t.where
    table = np.full((combos, k), np.nan)
    index = [{s: i for i, s in enumerate(p.states)} for p in parents]
    strides = [math.prod(cards[j + 1 :]) for j in range(len(cards))]
    default: list[float] | None = None
    whole = False
    props: list[tuple[str, str]] = []
    while True:
        tok = t.next(f"the end of the table of '{v.name}'")
        if tok == "}":
            break
        if tok == "(":
            key = [unquote(w) for w in t.until(")")]
            if len(key) != len(parents):
                raise t.error(
                    f"the table of '{v.name}' has a row for ({', '.join(key)}), not one state per parent"
                )
            j = 0
            for p, ix, stride, st in zip(parents, index, strides, key, strict=True):
                if st not in ix:
                    raise t.error(
                        f"the table of '{v.name}' has a row for {p.name}={st}, which is not a state of '{p.name}'"
                    )
                j += ix[st] * stride
            values = numbers(t.until(";"), f"the table of '{v.name}'", where)
            if len(values) != k:
                raise t.error(
                    f"the table of '{v.name}' has a row ({', '.join(key)}) without {k} probabilities"
                )
            if not math.isnan(table[j, 0]):
                raise t.error(f"the table of '{v.name}' gives the row ({', '.join(key)}) twice")
            table[j] = values
        elif tok == "table":
            values = numbers(t.until(";"), f"the table of '{v.name}'", where)
            if len(values) != k * combos:
                raise t.error(
                    f"the table of '{v.name}' has {len(values)} numbers; expected {k * combos} "
                    f"({k} states x {combos} parent combinations)"
                )
            # BIF lists a whole table with the child's states slowest (as pgmpy and pyAgrum read it)
            table = np.asarray(values, dtype=float).reshape(k, combos).T.copy()
            whole = True
        elif tok == "default":
            default = numbers(t.until(";"), f"the default row of '{v.name}'", where)
            if len(default) != k:
                raise t.error(f"the default row of '{v.name}' does not have {k} probabilities")
        elif tok == "property":
            props.append(_property(t))
        else:
            raise t.error(f"unexpected {show(tok)} in the table of '{v.name}'")
    if not whole:
        empty = np.isnan(table[:, 0])
        if default is not None:
            table[empty] = default
        elif empty.any():
            j = int(np.flatnonzero(empty)[0])
            combo = []
            for p, stride, card in zip(parents, strides, cards, strict=True):
                combo.append(f"{p.name}={p.states[(j // stride) % card]}")
            raise t.error(
                f"the row of '{v.name}' for ({', '.join(combo)}) sums to 0, not 1 (missing from the file?)"
            )
    return table, props


# ---------------------------------------------------------------- writing


def unreadable_names(view: View) -> list[str]:
    """Names other BIF readers cannot read back (pyAgrum refuses '/' and names not starting with a letter or digit)."""
    odd = []
    for n in view.nodes:
        for name in [n, *view.states(n)]:
            if not _PORTABLE.match(name):
                odd.append(name)
    return odd


def write(view: View) -> str:
    """BIF 0.15 text, as read by pgmpy, pyAgrum, GeNIe and the bnlearn tools."""
    for n in view.nodes:
        for name in [n, *view.states(n)]:
            hit = _BIF_UNSAFE.search(name)
            if hit:
                raise ModelError(
                    f"cannot write BIF: name '{name}' (node '{n}') contains a character BIF cannot hold "
                    f"({hit.group()!r}); use XMLBIF"
                )
    odd = unreadable_names(view)
    if odd:
        shown = ", ".join(f"'{x}'" for x in odd[:5]) + (
            f" and {len(odd) - 5} more" if len(odd) > 5 else ""
        )
        warnings.warn(
            f"BIF: name(s) {shown} are kept as written, but some readers (pyAgrum) cannot read them back; "
            "XMLBIF carries them safely",
            FormatWarning,
            stacklevel=3,
        )
    out = [f"network {view.id} {{", "}"]
    for n in view.nodes:
        out.append(f"variable {n} {{")
        out.append(f"  type discrete [ {len(view.states(n))} ] {{ {', '.join(view.states(n))} }};")
        label = view.label(n)
        if label:
            out.append(f"  property label = {_quoted(label)} ;")
        if view.description(n):
            out.append(f"  property description = {_quoted(view.description(n))} ;")
        out.append(f"  property role = {view.role(n)} ;")
        out.append("}")
    for n in view.nodes:
        parents = view.parents(n)
        rows = view.rows(n)
        if not parents:
            out.append(f"probability ( {n} ) {{")
            out.append(f"  table {', '.join(map(repr, rows[0][1]))};")
        else:
            out.append(f"probability ( {n} | {', '.join(parents)} ) {{")
            for combo, probs in rows:
                out.append(f"  ({', '.join(combo)}) {', '.join(map(repr, probs))};")
        out.append("}")
    return "\n".join(out) + "\n"


def _quoted(text: str) -> str:
    """A label as a quoted BIF string: characters that would end the property are dropped."""
    clean = re.sub(r"[\";{}\n\r]", " ", text)
    return '"' + " ".join(clean.split()) + '"'
