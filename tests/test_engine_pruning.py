"""Per-query pruning: a query on a few targets runs on their ancestors only, with the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast
from forecast.engine import relevant

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"


def test_relevant_is_the_ancestral_set():
    parents = [[], [0], [1], [0], [2, 3], []]  # 0 -> 1 -> 2 -> 4 <- 3 <- 0, and an isolated 5
    assert relevant(parents, [2]) == [0, 1, 2]
    assert relevant(parents, [3, 5]) == [0, 3, 5]
    assert relevant(parents, [4]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["alarm", "insurance", "hailfinder", "child"])
def test_pruned_queries_agree_with_the_full_tree(name):
    model = forecast.load_model(EXAMPLES / f"{name}.bif.gz")
    rng = np.random.default_rng(5)
    for _ in range(6):
        picks = [str(x) for x in rng.choice(model.nodes, 4, replace=False)]
        hard_node, lik_node, fixed_node, target = picks
        hard = {hard_node: model.states(hard_node)[0]}
        weights = rng.uniform(0.1, 1, len(model.states(lik_node)))
        lik = {lik_node: dict(zip(model.states(lik_node), weights.tolist(), strict=True))}
        k = len(model.states(fixed_node))
        fixed = {fixed_node: dict(zip(model.states(fixed_node), [1 / k] * k, strict=True))}
        try:
            full = model.posteriors(hard=hard, likelihood=lik, fixed=fixed)
        except forecast.EvidenceError:
            continue  # impossible evidence: nothing to compare
        few = model.posteriors(hard=hard, likelihood=lik, fixed=fixed, targets=[target])
        want = full[full["node"] == target]["probability"].to_numpy()
        np.testing.assert_allclose(few["probability"].to_numpy(), want, rtol=0, atol=1e-9)


def test_a_query_far_from_the_evidence_uses_a_smaller_tree():
    model = forecast.load_model(EXAMPLES / "alarm.bif.gz")
    model.posteriors(hard={"HISTORY": "TRUE"}, targets=["LVFAILURE"])
    (kept,) = model._pruned  # one pruned tree, over HISTORY's ancestors and LVFAILURE
    assert len(kept) == 2
    model.posteriors(hard={"HISTORY": "TRUE"})  # every node asked: the full tree
    assert len(model._pruned) == 1
