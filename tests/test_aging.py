"""Evidence that ages: likelihoods tempered by 0.5 ** (age / half-life), later items dropped."""

import datetime as dt

import numpy as np
import pytest

import forecast
from forecast.cli import main

MODEL = """
id: aging
as_of: 2018-01-01
nodes:
  - id: a
    role: driver
    states: [x, y]
    half_life_days: 365
    cpt:
      rows:
        - probabilities: {x: 0.5, y: 0.5}
  - id: b
    parents: [a]
    states: [u, v]
    cpt:
      rows:
        - when: {a: x}
          probabilities: {u: 0.8, v: 0.2}
        - when: {a: y}
          probabilities: {u: 0.3, v: 0.7}
"""


def item(id_, date, node="a", lik=None, half=None):
    data = {
        "id": id_,
        "date": date,
        "title": id_,
        "source": "s",
        "node": node,
        "likelihood": lik or {"x": 1.0, "y": 0.25},
    }
    if half is not None:
        data["half_life_days"] = half
    return forecast.EvidenceItem.model_validate(data)


@pytest.fixture
def model(write_yaml):
    return forecast.load_model(write_yaml(MODEL))


def p_x(model, **kw):
    t = model.posteriors(targets="a", **kw)
    return float(t.loc[t["state"] == "x", "probability"].iloc[0])


def test_weight_halves_every_half_life(model):
    old = item("old", dt.date(2016, 1, 1))  # 731 days before the as-of date
    w = model.item_weight(old)
    assert w == pytest.approx(0.5 ** (731 / 365))
    got = p_x(model, scenario=model.evidence(items=[old]))
    lik = np.array([1.0, 0.25]) ** w
    assert got == pytest.approx(lik[0] / lik.sum())
    fresh = item("fresh", dt.date(2018, 1, 1))
    assert model.item_weight(fresh) == 1.0
    assert p_x(model, scenario=model.evidence(items=[fresh])) == pytest.approx(0.8)


def test_item_half_life_overrides_node(model):
    it = item("own", dt.date(2017, 1, 1), half=30)
    assert model.item_weight(it) == pytest.approx(0.5 ** (365 / 30))


def test_nodes_without_half_life_do_not_age(model):
    it = item("b1", dt.date(2010, 1, 1), node="b", lik={"u": 1.0, "v": 0.5})
    assert model.item_weight(it) == 1.0


def test_items_after_the_forecast_date_are_not_applied(model):
    later = item("later", dt.date(2018, 6, 1))
    assert p_x(model, scenario=model.evidence(items=[later]), as_of=dt.date(2018, 1, 1)) == 0.5
    # without an explicit date, applying the item moves the forecast date to it
    assert p_x(model, scenario=model.evidence(items=[later])) == pytest.approx(0.8)
    assert model.item_weight(later, dt.date(2018, 1, 1)) == 0.0


def test_as_of_moves_the_ages(model):
    it = item("i", dt.date(2017, 1, 1))
    w_then = model.item_weight(it, dt.date(2017, 1, 1))
    w_later = model.item_weight(it, dt.date(2019, 1, 1))
    assert w_then == 1.0 and w_later == pytest.approx(0.25)
    assert p_x(
        model, scenario=model.evidence(items=[it]), as_of=dt.date(2019, 1, 1)
    ) == pytest.approx(1 / (1 + 0.25**0.25))


def test_evidence_as_of_and_weights_table(model):
    items = [
        item("a1", dt.date(2016, 1, 1)),
        item("a2", dt.date(2017, 6, 1)),
        item("a3", dt.date(2019, 1, 1)),
    ]
    ev = forecast.evidence_as_of(items, dt.date(2018, 1, 1), model)
    assert [it.id for it in ev.items] == ["a1", "a2"] and ev.as_of == dt.date(2018, 1, 1)
    table = model.item_weights(items, dt.date(2018, 1, 1))
    assert list(table["applied"]) == [True, True, False]
    assert table.loc[0, "weight"] == pytest.approx(0.5 ** (731 / 365))
    assert table.loc[2, "weight"] == 0.0


def test_timeline_shows_weights(model):
    items = [item("a1", dt.date(2016, 1, 1)), item("a2", dt.date(2018, 3, 1))]
    table = forecast.timeline(model, items, target="a", as_of=dt.date(2018, 1, 1))
    weights = table.drop_duplicates("item").set_index("item")["weight"]
    assert weights["a1"] == pytest.approx(0.5 ** (731 / 365)) and weights["a2"] == 0.0
    assert pd_isna(weights["baseline"])
    last = table[table["item"] == "a2"]["probability"].to_numpy()
    first = table[table["item"] == "a1"]["probability"].to_numpy()
    np.testing.assert_allclose(last, first)  # the later item is not applied


def pd_isna(v):
    import pandas as pd

    return pd.isna(v)


def test_cli_as_of(write_yaml, tmp_path, capsys):
    path = write_yaml(MODEL)
    ev = write_yaml(
        """
        - {id: e1, date: 2017-01-01, title: t, source: s, node: a, likelihood: {x: 1, y: 0.25}}
        """,
        "items.yaml",
    )
    assert main(["timeline", str(path), str(ev), "--as-of", "2018-01-01", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "e1,0.5" in out.replace('"', "")  # one year old: weight one half
    assert main(["query", str(path), "--as-of", "January"]) == 2
    assert "expected a date" in capsys.readouterr().err
