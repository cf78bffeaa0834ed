"""bnlearn networks saved by R's saveRDS (.rds) against the bnlearn BIF of the same network and pyAgrum."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast

FIXTURES = Path(__file__).parent / "fixtures" / "interchange"
EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"
NETWORKS = {"asia": 8, "child": 20, "alarm": 37}  # real .rds files of bnlearn's repository


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_a_real_rds_matches_the_bnlearn_bif_of_the_same_network(name):
    rds = forecast.load_model(FIXTURES / f"{name}.rds")
    bif = forecast.load_model(EXAMPLES / f"{name}.bif.gz")
    assert len(rds.nodes) == NETWORKS[name]
    assert sorted(rds.nodes) == sorted(bif.nodes)
    for node in bif.nodes:
        assert rds.states(node) == bif.states(node)
        assert rds.parents(node) == bif.parents(node)
        np.testing.assert_allclose(rds.cpt(node), bif.cpt(node), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["asia", "alarm"])  # pyAgrum rejects child.bif's "/" in states
def test_a_real_rds_gives_pyagrums_posteriors_on_the_bif(name, tmp_path):
    gum = pytest.importorskip("pyagrum")
    rds = forecast.load_model(FIXTURES / f"{name}.rds")
    path = tmp_path / f"{name}.bif"  # pyAgrum reads no .gz
    path.write_bytes(gzip.decompress((EXAMPLES / f"{name}.bif.gz").read_bytes()))
    bn = gum.loadBN(str(path))
    leaf = next(n for n in rds.nodes if not rds.children(n))
    hard = {leaf: rds.states(leaf)[0]}
    ie = gum.LazyPropagation(bn)
    ie.setEvidence(hard)
    ie.makeInference()
    ours = rds.posteriors(hard=hard)
    for node in rds.nodes:
        want = ie.posterior(node)
        labels = [want.variable(0).label(i) for i in range(want.variable(0).domainSize())]
        got = ours[ours["node"] == node].set_index("state")["probability"]
        # pyAgrum reads BIF numbers in single precision
        np.testing.assert_allclose(got[labels].to_numpy(), want.toarray(), rtol=0, atol=1e-6)


def test_a_root_nodes_named_vector_keeps_its_state_labels():
    """R stores a root's table as a named vector (no dimension name): its names are the states."""
    asia = forecast.load_model(FIXTURES / "asia.rds")
    assert asia.parents("asia") == []
    assert asia.states("asia") == ["yes", "no"]
    np.testing.assert_allclose(asia.cpt("asia"), [0.01, 0.99])
    assert asia.parents("either") == ["lung", "tub"]
