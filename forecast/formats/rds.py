"""bnlearn's R objects: a `bn.fit` of discrete nodes saved with saveRDS (.rds) or save (.rda/.RData).

Read with the `rdata` package (pure Python, no R needed) from bytes already
inflated with a cap on the output (gzip by forecast.safeio; bzip2 and xz, which
R's save() and package builds use, here).  Each node's `prob` table has the child
first and its parents after it, named: we reorder by name into our layout.
Gaussian or conditional-Gaussian fits are refused.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import ModelError
from ..safeio import MAX_FILE_BYTES, format_size
from .network import Network, Variable


def parse(data: bytes, where: str) -> Network:
    data = _inflate(data, where)
    try:
        import rdata
    except ImportError:  # pragma: no cover - a declared dependency
        raise ModelError(f"{where}: reading R files needs the 'rdata' package") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # "missing constructor for bn.fit": the plain list is what we read
            parsed = rdata.parser.parse_data(data)
            obj = rdata.conversion.convert(parsed)
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        NotImplementedError,
        RecursionError,
        AssertionError,
        EOFError,
    ) as exc:
        raise ModelError(f"{where}: not a readable R data file ({type(exc).__name__})") from None
    fit = _find_fit(obj)
    if fit is None:
        raise ModelError(f"{where}: the R file holds no bnlearn bn.fit object with discrete nodes")
    net = Network("bnlearn RDS")
    for key, node in fit.items():
        name = str(key)
        prob = node.get("prob") if isinstance(node, dict) else None
        if prob is None or not hasattr(prob, "dims"):
            raise ModelError(
                f"{where}: node '{name}' has no discrete probability table (a Gaussian bn.fit?)"
            )
        parents = [str(p) for p in np.atleast_1d(node.get("parents", []))]
        dims = [str(d) for d in prob.dims]
        values = np.asarray(prob.values, dtype=float)
        if values.ndim != len(parents) + 1:
            raise ModelError(
                f"{where}: the table of '{name}' has {values.ndim} dimensions for {len(parents)} parents"
            )
        # a root's table is a plain named vector in R (saveRDS of bnlearn's own networks): its one
        # dimension carries no name (rdata calls it dim_0), its labels are the node's states
        if not parents and values.ndim == 1:
            order = [0]
        elif dims[0] in ("", name) and (not parents or set(dims[1:]) == set(parents)):
            order = [0] + [1 + dims[1:].index(p) for p in parents] if parents else [0]
        else:
            raise ModelError(
                f"{where}: the table of '{name}' is over {dims}, not the node and its parents"
            )
        states = _labels(prob, dims[0], values.shape[0])
        v = Variable(name, states, parents)
        moved = np.transpose(values, order[1:] + [0]) if parents else values
        v.table = moved.reshape(-1, values.shape[0])
        net.variables.append(v)
    by_name = {v.name: v for v in net.variables}
    for v in net.variables:  # parents' state order in the child's table must be the parent's own
        for p in v.parents:
            if p not in by_name:
                raise ModelError(f"{where}: variable '{v.name}' has undeclared parent(s) {p}")
    return net


def _inflate(data: bytes, where: str) -> bytes:
    """bzip2 or xz data (R's save() and R CMD build use them) inflated with a cap on the output."""
    if data[:3] == b"BZh":
        import bz2

        d: Any = bz2.BZ2Decompressor()
    elif data[:6] == b"\xfd7zXZ\x00":
        import lzma

        d = lzma.LZMADecompressor()
    else:
        return data
    try:
        out = d.decompress(data, max_length=MAX_FILE_BYTES + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise ModelError(f"{where}: not a valid compressed R file ({exc})") from None
    if len(out) > MAX_FILE_BYTES:
        raise ModelError(
            f"{where}: model file is over the {format_size(MAX_FILE_BYTES)} limit once inflated"
        )
    if not d.eof:
        raise ModelError(f"{where}: the compressed data is truncated")
    return bytes(out)


def _labels(prob: Any, dim: str, k: int) -> list[str]:
    coords = getattr(prob, "coords", {})
    if dim in coords:
        return [str(s) for s in coords[dim].values]
    return [f"s{i}" for i in range(k)]


def _find_fit(obj: Any) -> dict[str, Any] | None:
    if (
        isinstance(obj, dict)
        and obj
        and all(isinstance(v, dict) and "prob" in v for v in obj.values())
    ):
        return obj
    if isinstance(obj, dict) and len(obj) == 1:
        return _find_fit(next(iter(obj.values())))
    return None
