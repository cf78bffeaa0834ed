"""Claims files, the audit (API, CLI) and the model checks, on small fixtures."""

import shutil

import numpy as np
import pytest
from conftest import FIXTURES
from test_interventions import brute_force

import forecast
from forecast.checks import model_warnings
from forecast.claims import audit, load_claims
from forecast.cli import main

CLAIMS = """
model: tiny
claims:
  - id: rain_helps
    sources: [src1]
    claim: Rain makes the good outcome rarer.
    cause: {node: rain, from: "no", to: "yes"}
    effect: {node: outcome, state: good}
    direction: decrease
    min_points: 5
  - id: sprinkler_set_no_rain_info
    sources: [src1]
    claim: Switching the sprinkler on says nothing about rain.
    cause: {do: {sprinkler: "on"}}
    effect: {node: rain, state: "yes"}
    direction: none
    min_points: 0.5
  - id: sprinkler_seen_tells_rain
    sources: [src1]
    claim: Seeing the sprinkler on means it is probably dry.
    cause: {node: sprinkler, from: "off", to: "on"}
    effect: {node: rain, state: "yes"}
    direction: decrease
    min_points: 20
  - id: sprinkler_do_outcome
    sources: [src1]
    claim: Running the sprinkler raises the good outcome.
    cause: {node: sprinkler, from: "off", to: "on"}
    mode: intervene
    effect: {node: outcome, state: good}
    direction: increase
    given: {hard: {rain: "no"}}
  - id: level
    sources: [src1]
    claim: The outcome is more likely good than not.
    effect: {node: outcome, state: good}
    at_least: 50
"""


@pytest.fixture
def setup(tmp_path):
    shutil.copy(FIXTURES / "tiny.yaml", tmp_path / "tiny.yaml")
    (tmp_path / "tiny.claims.yaml").write_text(CLAIMS, encoding="utf-8")
    return forecast.load_model(tmp_path / "tiny.yaml"), tmp_path


def p(post, node, state, model):
    return post[node][model.states(node).index(state)] * 100


def test_audit_measures_against_brute_force(setup):
    model, _ = setup
    table = audit(model).set_index("claim")
    assert list(table["verdict"]) == ["pass"] * 5
    exp = p(brute_force(model, hard={"rain": "yes"}), "outcome", "good", model) - p(
        brute_force(model, hard={"rain": "no"}), "outcome", "good", model
    )
    assert table.loc["rain_helps", "measured"] == pytest.approx(exp, abs=0.01)
    exp = p(
        brute_force(model, do={"sprinkler": "on"}, hard={"rain": "no"}), "outcome", "good", model
    ) - p(
        brute_force(model, do={"sprinkler": "off"}, hard={"rain": "no"}), "outcome", "good", model
    )
    assert table.loc["sprinkler_do_outcome", "measured"] == pytest.approx(exp, abs=0.01)
    assert table.loc["sprinkler_set_no_rain_info", "measured"] == pytest.approx(0, abs=1e-9)
    cond = p(brute_force(model, hard={"sprinkler": "on"}), "rain", "yes", model) - p(
        brute_force(model, hard={"sprinkler": "off"}), "rain", "yes", model
    )
    assert table.loc["sprinkler_seen_tells_rain", "measured"] == pytest.approx(cond, abs=0.01)
    assert table.loc["level", "measured"] == pytest.approx(
        p(brute_force(model), "outcome", "good", model), abs=0.01
    )


def test_failing_claim_and_cli_exit(setup, capsys):
    model, folder = setup
    text = CLAIMS.replace(
        "direction: decrease\n    min_points: 5", "direction: increase\n    min_points: 5"
    )
    (folder / "tiny.claims.yaml").write_text(text, encoding="utf-8")
    table = audit(forecast.load_model(folder / "tiny.yaml"))
    assert table.set_index("claim").loc["rain_helps", "verdict"] == "fail"
    assert main(["audit", str(folder / "tiny.yaml"), "--format", "csv"]) == 1
    captured = capsys.readouterr()
    assert "rain_helps" in captured.out and "1 fail" in captured.err
    (folder / "tiny.claims.yaml").write_text(CLAIMS, encoding="utf-8")
    assert main(["audit", str(folder / "tiny.yaml")]) == 0


@pytest.mark.parametrize(
    "change, message",
    [
        (("effect: {node: rain,", "effect: {node: snow,"), "unknown node 'snow'"),
        (
            ("sources: [src1]\n    claim: Rain", "sources: [nosrc]\n    claim: Rain"),
            "unknown source 'nosrc'",
        ),
        (('to: "yes"}', 'to: "maybe"}'), "no state 'maybe'"),
        (("    direction: decrease\n    min_points: 5\n", ""), "needs a direction"),
        (("model: tiny", "model: other"), "for model 'other'"),
    ],
)
def test_bad_claims_are_one_line_errors(setup, change, message, capsys):
    model, folder = setup
    (folder / "tiny.claims.yaml").write_text(CLAIMS.replace(*change, 1), encoding="utf-8")
    with pytest.raises(forecast.ModelError, match=message):
        audit(forecast.load_model(folder / "tiny.yaml"))
    assert main(["audit", str(folder / "tiny.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.split("'")[0] in err


def test_no_claims_file(tiny):
    with pytest.raises(forecast.ModelError, match="no claims file"):
        audit(tiny)


def test_duplicate_claim_ids(tmp_path):
    path = tmp_path / "c.claims.yaml"
    path.write_text(
        CLAIMS + CLAIMS.split("claims:")[1].split("  - id: sprinkler")[0], encoding="utf-8"
    )
    with pytest.raises(forecast.ModelError, match="duplicate claim id"):
        load_claims(path)


def item(id_, date, node, source="src1"):
    lik = {"good": 1.0, "bad": 0.5} if node == "outcome" else {"no": 1.0, "yes": 0.5}
    return forecast.EvidenceItem(
        id=id_, date=date, title=id_, source=source, node=node, likelihood=lik
    )


def test_model_warnings(tiny):
    import datetime as dt

    items = [
        item("on_outcome", dt.date(2017, 1, 1), "outcome"),
        item("r1", dt.date(2017, 3, 1), "rain"),
        item("r2", dt.date(2017, 3, 20), "rain"),
        item("r3", dt.date(2017, 3, 20), "rain", source="other"),
        item("r4", dt.date(2017, 9, 1), "rain"),
    ]
    warnings = model_warnings(tiny, items)
    assert len(warnings) == 2
    assert "'on_outcome'" in warnings[0] and "outcome node" in warnings[0]
    assert "'r1' and 'r2'" in warnings[1] and "double counting" in warnings[1]
    assert model_warnings(tiny, items[1:2] + items[4:]) == []


def test_validate_prints_warnings(tmp_path, capsys):
    shutil.copy(FIXTURES / "tiny.yaml", tmp_path / "tiny.yaml")
    (tmp_path / "items.yaml").write_text(
        "- {id: x, date: 2017-01-01, title: t, source: src1, node: outcome, likelihood: {good: 1, bad: 0.5}}\n",
        encoding="utf-8",
    )
    assert (
        main(["validate", str(tmp_path / "tiny.yaml"), "--evidence", str(tmp_path / "items.yaml")])
        == 0
    )
    captured = capsys.readouterr()
    assert "valid model" in captured.out and "warning: evidence item 'x'" in captured.err


def test_audit_tab_helpers(tiny):
    from forecast.ui.audit import intervention_table, weights_view

    ev = tiny.evidence(hard={"rain": "no"})
    table = intervention_table(tiny, ev, "sprinkler", "on")
    expected = brute_force(tiny, do={"sprinkler": "on"}, hard={"rain": "no"})["outcome"]
    np.testing.assert_allclose(table["if set (do)"], expected, atol=1e-12)
    items = forecast.load_evidence(FIXTURES / "tiny_evidence")
    view = weights_view(tiny, tiny.evidence(items=items))
    assert list(view["weight"]) == [1.0, 1.0, 1.0]
