"""UAI (the inference-competition format): read BAYES files.

Each function's scope lists the parents then the child (the child last); its
table runs over the scope with the last variable fastest, i.e. each parent
combination's distribution in turn, first parent slowest: our layout once the
scope is split.  Variables have no names in UAI: they become v0, v1, ...,
states s0, s1, ...  MARKOV files (factors that are not conditional tables) are
refused.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from .network import Network, Variable


def parse(text: str, where: str) -> Network:
    if "#" in text:  # comments to the end of the line (as in aGrUM's files)
        text = "\n".join(line.split("#", 1)[0] for line in text.split("\n"))
    words = text.split()
    pos = 0

    def take(what: str) -> str:
        nonlocal pos
        if pos >= len(words):
            raise ModelError(f"{where}: the file ends where {what} was expected (truncated?)")
        pos += 1
        return words[pos - 1]

    def integer(what: str) -> int:
        w = take(what)
        try:
            value = int(w)
        except ValueError:
            raise ModelError(f"{where}: expected {what} but found '{w[:20]}'") from None
        if value < 0:
            raise ModelError(f"{where}: {what} is negative ({value})")
        return value

    kind = take("the network type").upper()
    if kind == "MARKOV":
        raise ModelError(
            f"{where}: a UAI MARKOV network (factors, not conditional tables); only BAYES files are supported"
        )
    if kind != "BAYES":
        raise ModelError(f"{where}: not a UAI file (it starts with '{kind[:20]}', not BAYES)")
    n = integer("the number of variables")
    if n > len(words):
        raise ModelError(f"{where}: the file declares {n} variables but is too short to hold them")
    cards = [integer(f"the number of states of variable {i}") for i in range(n)]
    m = integer("the number of functions")
    if m != n:
        raise ModelError(
            f"{where}: a Bayesian network needs one table per variable ({n}), found {m}"
        )
    scopes = []
    for f in range(m):
        size = integer(f"the scope size of function {f}")
        if size < 1 or size > n:
            raise ModelError(f"{where}: function {f} has a scope of {size} variables")
        scope = [integer(f"a variable of function {f}") for _ in range(size)]
        if any(v >= n for v in scope):
            raise ModelError(f"{where}: function {f} names a variable beyond the {n} declared")
        scopes.append(scope)
    net = Network("UAI")
    variables = [Variable(f"v{i}", [f"s{j}" for j in range(c)]) for i, c in enumerate(cards)]
    for f, scope in enumerate(scopes):
        count = integer(f"the table size of function {f}")
        child, parents = scope[-1], scope[:-1]
        expected = math.prod(cards[v] for v in scope)
        if count != expected:
            raise ModelError(
                f"{where}: the table of v{child} declares {count} numbers; its scope needs {expected}"
            )
        chunk = words[pos : pos + count]
        if len(chunk) < count:
            raise ModelError(f"{where}: the file ends inside the table of v{child} (truncated?)")
        pos += count
        try:
            values = np.asarray(chunk, dtype=float)
        except ValueError:
            bad = next(w for w in chunk if not _is_number(w))
            raise ModelError(
                f"{where}: the table of 'v{child}' has '{bad[:20]}' where a number should be"
            ) from None
        v = variables[child]
        if v.table is not None:
            raise ModelError(f"{where}: variable v{child} is the child of two functions")
        v.parents = [f"v{p}" for p in parents]
        v.table = values.reshape(-1, cards[child])
    if pos != len(words):
        raise ModelError(f"{where}: unexpected text after the last table ('{words[pos][:20]}')")
    net.variables = variables
    return net


def _is_number(w: str) -> bool:
    try:
        float(w)
    except ValueError:
        return False
    return True
