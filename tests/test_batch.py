"""Batches: a scenario grid (one row per scenario, one column per node) through posteriors_batch."""

import numpy as np
import pandas as pd
import pytest

import forecast


@pytest.fixture(scope="module")
def model():
    return forecast.load_model("models/russia_iran.yaml")


def test_grid_rows_equal_single_queries(model):
    grid = pd.DataFrame(
        {
            "scenario": ["a", "b", "c"],
            "assad_question": ["negotiated_exit", None, "assad_stays"],
            "us_russia_detente": ["broad", "none", np.nan],
        }
    )
    table = model.posteriors_batch(grid, targets="relationship_outcome")
    assert list(table.columns) == ["scenario", "node", "state", "probability", "words"]
    for _, row in grid.iterrows():
        hard = {k: v for k, v in row.items() if k != "scenario" and isinstance(v, str)}
        single = model.posteriors(hard=hard, targets="relationship_outcome")
        got = table[table["scenario"] == row["scenario"]]
        np.testing.assert_allclose(
            got["probability"].to_numpy(), single["probability"].to_numpy(), atol=1e-12
        )
        assert list(got["words"]) == list(single["words"])


def test_grid_matches_list_of_mappings(model):
    rng = np.random.default_rng(3)
    nodes = ["russia_gcc_ties", "israeli_pressure", "regime_military_position"]
    grid = pd.DataFrame(
        {n: [model.states(n)[k] for k in rng.integers(0, len(model.states(n)), 50)] for n in nodes}
    )
    from_grid = model.posteriors_batch(grid)
    from_list = model.posteriors_batch([{"hard": dict(r)} for _, r in grid.iterrows()])
    np.testing.assert_allclose(from_grid["probability"], from_list["probability"], atol=1e-12)
    assert list(from_grid["scenario"].unique()) == [str(i) for i in range(50)]


def test_grid_unknown_node_is_named(model):
    with pytest.raises(forecast.EvidenceError, match="column 'no_such_node' is not a node"):
        model.posteriors_batch(pd.DataFrame({"no_such_node": ["x"]}))


def test_grid_unknown_state_names_row_and_node(model):
    grid = pd.DataFrame({"assad_question": ["assad_stays", "assad_leaves"]})
    with pytest.raises(
        forecast.EvidenceError, match=r"'assad_question' has no state 'assad_leaves' \(row 2\)"
    ):
        model.posteriors_batch(grid)


def test_empty_grid_is_an_error(model):
    with pytest.raises(forecast.EvidenceError, match="no scenarios"):
        model.posteriors_batch(pd.DataFrame({"assad_question": []}))
