"""Model ensembles: the weighted mixture of members' posteriors, with the spread."""

from pathlib import Path

import pytest

import forecast
from forecast.errors import EvidenceError, ModelError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def pair(write_yaml):
    base = (FIXTURES / "elicit.yaml").read_text()
    other = base.replace("{good: 0.9, bad: 0.1}", "{good: 0.6, bad: 0.4}").replace(
        "id: elicit", "id: elicit_b"
    )
    return forecast.load_model(FIXTURES / "elicit.yaml"), forecast.load_model(write_yaml(other))


def test_weighted_mixture_by_hand(pair):
    a, b = pair
    ens = forecast.ensemble([a, b], weights=[1, 3])
    table = ens.posteriors(hard={"driver": "high"})
    good = table.set_index("state").loc["good"]
    assert good["probability"] == pytest.approx(0.25 * 0.9 + 0.75 * 0.6)
    assert (good["low"], good["high"]) == (pytest.approx(0.6), pytest.approx(0.9))
    assert good["spread"] == pytest.approx(0.3)
    assert good["elicit"] == pytest.approx(0.9) and good["elicit_b"] == pytest.approx(0.6)
    assert table["probability"].sum() == pytest.approx(1.0)
    # no evidence: each member's own marginal, mixed
    none = ens.posteriors().set_index("state").loc["good", "probability"]
    assert none == pytest.approx(0.25 * (0.5 * 0.2 + 0.5 * 0.9) + 0.75 * (0.5 * 0.2 + 0.5 * 0.6))
    members = ens.members_table()
    assert set(members["member"]) == {"elicit", "elicit_b"}


def test_exports_take_an_ensemble_table(pair, tmp_path):
    table = forecast.ensemble(list(pair)).posteriors()
    out = forecast.export(table, tmp_path / "ens.csv")
    assert "probability" in out.read_text().splitlines()[0] or "probability" in out.read_text()


def test_bad_ensembles_are_refused(pair, write_yaml):
    a, b = pair
    with pytest.raises(ModelError, match="2 weights given for 1"):
        forecast.ensemble([a], weights=[1, 2])
    with pytest.raises(ModelError, match="positive"):
        forecast.ensemble([a, b], weights=[1, -1])
    with pytest.raises(ModelError, match="at least one"):
        forecast.ensemble([])
    with pytest.raises(EvidenceError, match="no node 'nope'"):
        forecast.ensemble([a, b]).posteriors(targets=["nope"])
    with pytest.raises(EvidenceError, match="ensemble member 'elicit'"):
        forecast.ensemble([a, b]).posteriors(hard={"driver": "nope"})
