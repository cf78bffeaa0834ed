"""Several models answering one question, queried together.

An ensemble keeps structural uncertainty visible: the participants' versions of a
model, or alternative structures an analyst wants to keep, each give a posterior;
the ensemble reports their weighted mixture (the linear opinion pool) next to
every member's answer and the spread between them.  The pooled table has the same
columns as `Model.posteriors` (node, state, probability, words), so exports and
charts take it unchanged; the extra columns ``low``/``high`` are the smallest and
largest member probability.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Unpack

import numpy as np
import pandas as pd

from .errors import EvidenceError, ModelError
from .evidence import EvidenceKeywords
from .model import EvidenceLike, Model
from .words import BANDS, band_index

__all__ = ["Ensemble", "ensemble"]


class Ensemble:
    """Weighted members sharing the nodes that are asked about."""

    def __init__(self, members: Sequence[Model], weights: Sequence[float] | None = None) -> None:
        members = list(members)
        if not members:
            raise ModelError("an ensemble needs at least one model")
        for m in members:
            if not isinstance(m, Model):
                raise ModelError(
                    f"ensemble members must be loaded models (forecast.load_model), not {type(m).__name__}"
                )
        self.members = members
        self.weights = _weights(weights, len(members))
        self.names = _member_names(members)

    def __repr__(self) -> str:
        return f"<Ensemble of {len(self.members)} models: {', '.join(self.names)}>"

    @property
    def id(self) -> str:
        return "ensemble(" + ",".join(self.names) + ")"

    @property
    def outcomes(self) -> list[str]:
        """Outcome nodes every member has (in the first member's order)."""
        return [n for n in self.members[0].outcomes if all(n in m.nodes for m in self.members)]

    def common_nodes(self) -> list[str]:
        return [n for n in self.members[0].nodes if all(n in m.nodes for m in self.members)]

    def _targets(self, targets: Iterable[str] | str | None) -> list[str]:
        if targets is None:
            chosen = self.outcomes or self.common_nodes()
        else:
            chosen = [targets] if isinstance(targets, str) else list(targets)
        if not chosen:
            raise EvidenceError("the ensemble's members have no node in common to ask about")
        first = self.members[0]
        for node in chosen:
            for name, m in zip(self.names, self.members, strict=True):
                if not isinstance(node, str) or node not in m.nodes:
                    raise EvidenceError(f"target: ensemble member '{name}' has no node '{node}'")
                if m.states(node) != first.states(node):
                    raise EvidenceError(
                        f"target '{node}': members '{self.names[0]}' and '{name}' give it different "
                        f"states ({first.states(node)} vs {m.states(node)}); they do not answer the same question"
                    )
        return chosen

    def members_table(
        self,
        scenario: EvidenceLike = None,
        *,
        targets: Iterable[str] | str | None = None,
        **evidence: Unpack[EvidenceKeywords],
    ) -> pd.DataFrame:
        """Each member's posterior: columns member, weight, node, state, probability."""
        chosen = self._targets(targets)
        frames = []
        for name, weight, m in zip(self.names, self.weights, self.members, strict=True):
            try:
                table = m.posteriors(scenario=scenario, targets=chosen, **evidence)
            except EvidenceError as exc:
                raise EvidenceError(f"ensemble member '{name}': {exc}") from None
            frames.append(
                pd.DataFrame(
                    {
                        "member": name,
                        "weight": weight,
                        "node": table["node"].astype(str),
                        "state": table["state"].astype(str),
                        "probability": table["probability"].to_numpy(float),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def posteriors(
        self,
        scenario: EvidenceLike = None,
        *,
        targets: Iterable[str] | str | None = None,
        **evidence: Unpack[EvidenceKeywords],
    ) -> pd.DataFrame:
        """The pooled posterior (weighted mixture) with each state's member range.

        Columns: node, state, probability, words, low, high, spread (points between the
        lowest and highest member), then one column per member holding its probability.
        """
        members = self.members_table(scenario, targets=targets, **evidence)
        wide = members.pivot_table(
            index=["node", "state"], columns="member", values="probability", sort=False
        )
        wide = wide[self.names]
        order = members.loc[members["member"] == self.names[0], ["node", "state"]]
        wide = wide.reindex(pd.MultiIndex.from_frame(order))
        probs = wide.to_numpy(float)
        pooled = probs @ np.asarray(self.weights)
        table = pd.DataFrame(
            {
                "node": order["node"].to_numpy(),
                "state": order["state"].to_numpy(),
                "probability": pooled,
                "words": [BANDS[i][0] for i in band_index(pooled)],
                "low": probs.min(axis=1),
                "high": probs.max(axis=1),
            }
        )
        table["spread"] = table["high"] - table["low"]
        for j, name in enumerate(self.names):
            table[name] = probs[:, j]
        table.attrs.update(self.members[0].metadata())
        table.attrs.update(
            {
                "model_id": self.id,
                "model_title": "Ensemble of " + ", ".join(m.title for m in self.members),
                "model_hash": ",".join(m.content_hash for m in self.members),
                "members": list(self.names),
                "weights": list(self.weights),
            }
        )
        return table


def ensemble(models: Sequence[Model], weights: Sequence[float] | None = None) -> Ensemble:
    """Query several models of the same question together (linear pool of their posteriors).

    `weights` default to equal; they must be positive and are normalised to sum to 1.
    """
    return Ensemble(models, weights)


def _weights(weights: Sequence[float] | None, n: int) -> list[float]:
    if weights is None:
        return [1.0 / n] * n
    values: list[Any] = list(weights)
    if len(values) != n:
        raise ModelError(f"{len(values)} weights given for {n} models")
    for w in values:
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w <= 0:
            raise ModelError(f"ensemble weight {w!r} must be a positive finite number")
    total = float(sum(values))
    return [float(w) / total for w in values]


def _member_names(members: Sequence[Model]) -> list[str]:
    """Model ids, made unique with a counter where two members share an id."""
    names: list[str] = []
    for m in members:
        base = m.id
        name, k = base, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names
