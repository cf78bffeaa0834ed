"""What a writer needs from a model, without importing the Model class (formats sit below it).

Built from a `ModelSpec` (and the compiled tables when the caller already has
them, as a `Model` does); it also lists what a file format cannot carry, so a
writer can say so instead of dropping it silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..spec import ModelSpec, NodeSpec, RankedCPT, compiled_cpt, topological_order


class _HasSpec(Protocol):
    spec: ModelSpec

    def cpt(self, node: str) -> np.ndarray: ...


class View:
    def __init__(self, spec: ModelSpec, cpt: Callable[[str], np.ndarray] | None = None) -> None:
        self.spec = spec
        self.id = spec.id
        self._by_id: dict[str, NodeSpec] = {n.id: n for n in spec.nodes}
        self.nodes = topological_order(spec)
        self._cpt = cpt
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, model: ModelSpec | _HasSpec) -> View:
        if isinstance(model, ModelSpec):
            return cls(model)
        return cls(model.spec, model.cpt)

    def node(self, n: str) -> NodeSpec:
        return self._by_id[n]

    def states(self, n: str) -> list[str]:
        return list(self._by_id[n].states)

    def parents(self, n: str) -> list[str]:
        return list(self._by_id[n].parents)

    def label(self, n: str) -> str:
        return self._by_id[n].label

    def description(self, n: str) -> str:
        return " ".join(self._by_id[n].description.split())

    def role(self, n: str) -> str:
        return self._by_id[n].role

    def cpt(self, n: str) -> np.ndarray:
        """One axis per parent (in `parents(n)` order), the node's states last."""
        if n not in self._cache:
            self._cache[n] = (
                self._cpt(n)
                if self._cpt is not None
                else compiled_cpt(self.spec, self._by_id[n], self._by_id)
            )
        return self._cache[n]

    def flat(self, n: str) -> np.ndarray:
        """(parent combinations, states), first parent slowest."""
        table = self.cpt(n)
        return table.reshape(-1, table.shape[-1])

    def rows(self, n: str) -> list[tuple[tuple[str, ...], list[float]]]:
        """(parent states, child distribution) for every parent combination, first parent slowest."""
        combos = itertools.product(*(self.states(q) for q in self.parents(n)))
        return [(combo, row) for combo, row in zip(combos, self.flat(n).tolist(), strict=True)]

    def not_carried(self, fmt: str, keeps: frozenset[str] = frozenset()) -> list[str]:
        """What of the model the format `fmt` cannot hold, in words (empty when nothing is lost)."""
        lost: list[str] = []
        s = self.spec
        if s.question is not None and "question" not in keeps:
            lost.append("the forecasting question and its resolution criteria")
        if s.sources and "sources" not in keeps:
            lost.append(f"{len(s.sources)} source(s) and the nodes' citations")
        if s.as_of is not None and "as_of" not in keeps:
            lost.append("the as-of date")
        ranked = [n.id for n in s.nodes if isinstance(n.cpt, RankedCPT)]
        if ranked:
            lost.append(
                f"the ranked definitions of {_few(ranked)} (written as the tables they compile to)"
            )
        other = [
            n.id
            for n in s.nodes
            if getattr(n.cpt, "type", "table") not in ("table", "ranked")
            and getattr(n.cpt, "type", "") not in keeps
        ]
        if other:
            lost.append(f"the CPT forms of {_few(other)} (written as the tables they compile to)")
        texts = [n.id for n in s.nodes if n.description and "description" not in keeps]
        if texts:
            lost.append(f"the descriptions of {_few(texts)}")
        reasons = [n.id for n in s.nodes if n.rationale]
        if reasons:
            lost.append(f"the rationales of {_few(reasons)}")
        confidence = [n.id for n in s.nodes if n.confidence is not None]
        if confidence:
            lost.append(f"the confidence weights of {_few(confidence)}")
        return lost


def _few(ids: list[str]) -> str:
    shown = ", ".join(f"'{i}'" for i in ids[:3])
    return f"{len(ids)} node(s) ({shown}{', ...' if len(ids) > 3 else ''})"


def describe_loss(fmt: str, lost: list[str]) -> str:
    return f"{fmt} cannot carry " + "; ".join(lost) + "; they are not in the written file"
