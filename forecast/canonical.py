"""Canonical CPT forms: noisy-MAX (and noisy-OR, its two-state case), as GeNIe elicits them.

Why a form of our own rather than a table: an analyst states one distribution
per parent state ("if only this cause were present") and a leak, k x (sum of
parent states) numbers instead of k x (product of parent states), and a GeNIe
model keeps the numbers its author elicited.  Compiled to an ordinary table.

Semantics (Henrion's leaky noisy-MAX, as in GeNIe/SMILE): the child's states are
ordered from the strongest to the weakest, the last one meaning "no effect".
For parent i in state x_i, `parameters[i][x_i]` is the child's distribution when
that parent alone acts; `leak` is the distribution when no parent acts.  With
C(y) the probability of a state at or after y (cumulative from the end),

    P(Y at or after y | x) = leak_C(y) * prod_i C_i(y | x_i)

so a parent state whose distribution is (0, ..., 0, 1) has no effect (GeNIe's
distinguished state).  See docs/model-format.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import ModelError

TOL = 1e-6
Prob = Annotated[float, Field(allow_inf_nan=False)]


class NoisyMaxCPT(BaseModel):
    """Leaky noisy-MAX: one child distribution per parent state, and a leak."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["noisy_max"]
    parameters: dict[str, dict[str, list[Prob]]]
    leak: list[Prob] | None = None

    @field_validator("parameters", mode="before")
    @classmethod
    def _names(cls, v: object) -> object:
        if isinstance(v, dict):
            return {
                str(p): ({str(s): x for s, x in m.items()} if isinstance(m, dict) else m)
                for p, m in v.items()
            }
        return v


def compile_noisy_max(
    node_id: str,
    states: list[str],
    parents: list[tuple[str, list[str]]],
    cpt: NoisyMaxCPT,
) -> np.ndarray:
    """The full table, one axis per parent (in `parents` order), the child's states last."""
    k = len(states)
    names = [p for p, _ in parents]
    if set(cpt.parameters) != set(names):
        raise ModelError(
            f"node '{node_id}': noisy-MAX parameters must name exactly the parents {names}, "
            f"got {sorted(cpt.parameters)}"
        )
    leak = np.zeros(k) if cpt.leak is None else _vector(node_id, "leak", cpt.leak, k)
    if cpt.leak is None:
        leak[-1] = 1.0
    cum = np.cumsum(leak[::-1])[::-1]  # P(state at or after y)
    table = np.ones([len(s) for _, s in parents] + [k]) * cum
    for axis, (p, pstates) in enumerate(parents):
        given = cpt.parameters[p]
        if set(given) != set(pstates):
            raise ModelError(
                f"node '{node_id}': noisy-MAX parameters for '{p}' must give a distribution "
                f"for each of its states {pstates}"
            )
        rows = np.stack([_vector(node_id, f"parameters for {p}={s}", given[s], k) for s in pstates])
        c = np.cumsum(rows[:, ::-1], axis=1)[:, ::-1]
        shape = [1] * len(parents) + [k]
        shape[axis] = len(pstates)
        table = table * c.reshape(shape)
    nxt = np.concatenate([table[..., 1:], np.zeros(table.shape[:-1] + (1,))], axis=-1)
    probs = np.clip(table - nxt, 0.0, None)
    return probs / probs.sum(axis=-1, keepdims=True)


def _vector(node_id: str, where: str, values: list[float], k: int) -> np.ndarray:
    vec = np.asarray(values, dtype=float)
    if vec.shape != (k,):
        raise ModelError(
            f"node '{node_id}': noisy-MAX {where} has {vec.size} probabilities; the node has {k} states"
        )
    if np.any(vec < 0) or not np.all(np.isfinite(vec)):
        raise ModelError(f"node '{node_id}': noisy-MAX {where} has a negative probability")
    if abs(float(vec.sum()) - 1.0) > TOL:
        raise ModelError(f"node '{node_id}': noisy-MAX {where} sums to {vec.sum():.6g}, not 1")
    return vec


def is_inert(values: list[float]) -> bool:
    """A parent state with no effect: all its mass on the last child state (GeNIe's distinguished state)."""
    return len(values) > 0 and values[-1] == 1.0 and not any(values[:-1])
