"""Model files: every validation rule of issue 2, and the two CPT forms."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import norm

import forecast
from forecast.spec import spec_from_dict, spec_from_text

# A valid two-node model; tests break one thing at a time.
VALID = """\
id: m
title: Test model
as_of: 2018-01-31
sources:
  - {id: s1, title: First, author: A, date: 2017-05-01}
  - {id: s2, title: Second}
nodes:
  - id: rain
    label: Rain
    role: driver
    states: [no, yes]
    sources: [s1]
    cpt:
      rows:
        - probabilities: {no: 0.7, yes: 0.3}
  - id: grass
    label: Wet grass
    role: outcome
    states: [dry, damp, wet]
    parents: [rain]
    sources: [s1, s2]
    cpt:
      rows:
        - when: {rain: no}
          probabilities: {dry: 0.8, damp: 0.15, wet: 0.05}
        - when: {rain: yes}
          probabilities: [0.1, 0.3, 0.6]
"""


def model_error(write_yaml, text: str) -> tuple[str, str]:
    """Load `text` from a file; return (message, file path). The load must fail with ModelError."""
    path = write_yaml(text)
    with pytest.raises(forecast.ModelError) as info:
        forecast.load_model(path)
    message = str(info.value)
    assert "\n" not in message, "messages are one line"
    assert isinstance(info.value, forecast.ForecastError) and isinstance(info.value, ValueError)
    return message, str(path)


def test_valid_model_loads_with_states_in_file_order(write_yaml):
    model = forecast.load_model(write_yaml(VALID))
    assert model.nodes == ["rain", "grass"]
    assert model.states("grass") == ["dry", "damp", "wet"]
    assert model.parents("grass") == ["rain"]
    # a row keyed by state names and a row given as a list land in the same table
    np.testing.assert_allclose(model.cpt("grass"), [[0.8, 0.15, 0.05], [0.1, 0.3, 0.6]])


def test_states_no_yes_on_off_stay_strings(write_yaml):
    text = VALID.replace("[dry, damp, wet]", "[off, on, n]").replace(
        "{dry: 0.8, damp: 0.15, wet: 0.05}", "{off: 0.8, on: 0.15, n: 0.05}"
    )
    model = forecast.load_model(write_yaml(text))
    assert model.states("rain") == ["no", "yes"]
    assert model.states("grass") == ["off", "on", "n"]
    assert all(isinstance(s, str) for n in model.nodes for s in model.states(n))
    table = model.posteriors(hard={"rain": "yes"})
    assert table.loc[table.node == "rain", "state"].tolist() == ["no", "yes"]


def test_true_false_are_not_state_names(write_yaml):
    text = VALID.replace("[no, yes]", "[false, true]")
    message, path = model_error(write_yaml, text)
    assert path in message and "node 'rain'" in message and "states" in message


def test_cycle_message_shows_the_path(write_yaml):
    text = """\
    id: m
    nodes:
      - id: a
        states: [x, y]
        parents: [b]
        cpt: {rows: [{when: {b: x}, probabilities: [1, 0]}, {when: {b: y}, probabilities: [0, 1]}]}
      - id: b
        states: [x, y]
        parents: [a]
        cpt: {rows: [{when: {a: x}, probabilities: [1, 0]}, {when: {a: y}, probabilities: [0, 1]}]}
    """
    message, path = model_error(write_yaml, text)
    assert path in message
    assert "cycle" in message
    assert "a -> b -> a" in message or "b -> a -> b" in message


def test_three_node_cycle_path_follows_the_arrows(write_yaml):
    # arrows: c -> a, a -> b, b -> c
    def node(name: str, parent: str) -> str:
        return (
            f"  - {{id: {name}, states: [x, y], parents: [{parent}], cpt: {{rows: ["
            f"{{when: {{{parent}: x}}, probabilities: [1, 0]}}, {{when: {{{parent}: y}}, probabilities: [0, 1]}}]}}}}\n"
        )

    text = "id: m\nnodes:\n" + node("a", "c") + node("b", "a") + node("c", "b")
    message, path = model_error(write_yaml, text)
    assert path in message
    assert any(p in message for p in ("a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"))


def test_own_parent(write_yaml):
    text = VALID.replace("parents: [rain]", "parents: [grass]")
    message, path = model_error(write_yaml, text)
    assert path in message and "node 'grass'" in message and "own parent" in message


def test_unknown_parent(write_yaml):
    message, path = model_error(write_yaml, VALID.replace("parents: [rain]", "parents: [rainfall]"))
    assert path in message and "node 'grass'" in message and "unknown parent 'rainfall'" in message


def test_unknown_source_id(write_yaml):
    message, path = model_error(write_yaml, VALID.replace("sources: [s1, s2]", "sources: [s1, s9]"))
    assert path in message and "node 'grass'" in message and "unknown source id 's9'" in message


def test_duplicate_node_ids(write_yaml):
    text = VALID + "  - {id: rain, states: [a, b], cpt: {rows: [{probabilities: [0.5, 0.5]}]}}\n"
    message, path = model_error(write_yaml, text)
    assert path in message and "duplicate node id 'rain'" in message


def test_duplicate_source_ids(write_yaml):
    message, path = model_error(
        write_yaml, VALID.replace("{id: s2, title: Second}", "{id: s1, title: Again}")
    )
    assert path in message and "duplicate source id 's1'" in message


def test_duplicate_states(write_yaml):
    text = VALID.replace("[dry, damp, wet]", "[dry, damp, dry]")
    message, path = model_error(write_yaml, text)
    assert path in message and "node 'grass'" in message and "duplicate states" in message


def test_list_row_of_wrong_length(write_yaml):
    message, path = model_error(write_yaml, VALID.replace("[0.1, 0.3, 0.6]", "[0.1, 0.9]"))
    assert path in message and "node 'grass'" in message
    assert "row 2" in message and "2 probabilities" in message and "3 states" in message


def test_mapping_row_with_unknown_or_missing_state(write_yaml):
    message, _ = model_error(write_yaml, VALID.replace("damp: 0.15", "moist: 0.15"))
    assert "node 'grass'" in message and "unknown state" in message and "moist" in message
    message, _ = model_error(write_yaml, VALID.replace("damp: 0.15, wet: 0.05", "damp: 0.2"))
    assert "node 'grass'" in message and "no probability for state" in message and "wet" in message


def test_row_sum_tolerance_is_1e6(write_yaml):
    # 1 + 5e-7 is within the tolerance, 1 + 1e-5 is not
    ok = VALID.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.3000005}")
    model = forecast.load_model(write_yaml(ok))
    assert model.cpt("rain").sum() == pytest.approx(1 + 5e-7, abs=1e-12)
    message, path = model_error(
        write_yaml, VALID.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.30001}")
    )
    assert path in message and "node 'rain'" in message and "sums to 1.00001" in message
    message, _ = model_error(
        write_yaml, VALID.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.2}")
    )
    assert "node 'rain'" in message and "sums to 0.9" in message


@pytest.mark.parametrize(
    ("probabilities", "problem"),
    [
        ("{no: 1.2, yes: -0.2}", "negative probability"),
        ("[1.2, -0.2]", "negative probability"),
        ("{no: 1.5, yes: 0}", "above 1"),
        ("{no: 0.7, yes: abc}", "not a number"),
        ("[0.7, '0.3']", "not a number"),
        ("{no: 0.7, yes: .nan}", "not a finite number"),
        ("[.inf, 0.3]", "not a finite number"),
        ("{no: 0.7, yes: true}", "not a number"),
        ("0.7", "must be a list of probabilities or a mapping"),
    ],
)
def test_bad_probability_values(write_yaml, probabilities, problem):
    message, path = model_error(write_yaml, VALID.replace("{no: 0.7, yes: 0.3}", probabilities))
    assert path in message and "node 'rain'" in message and problem in message
    assert "dict[" not in message and "list[" not in message  # no pydantic internals


def test_missing_row_names_the_combination(write_yaml):
    text = VALID.replace(
        """        - when: {rain: yes}
          probabilities: [0.1, 0.3, 0.6]
""",
        "",
    )
    message, path = model_error(write_yaml, text)
    assert (
        path in message
        and "node 'grass'" in message
        and "missing row" in message
        and "rain=yes" in message
    )


def test_missing_rows_with_two_parents_name_each_combination(write_yaml):
    text = (
        VALID
        + """\
  - id: road
    states: [clear, flooded]
    parents: [rain, grass]
    cpt:
      rows:
"""
    )
    present = [("no", "dry"), ("no", "damp"), ("no", "wet"), ("yes", "dry")]
    for r, g in present:
        text += f"        - {{when: {{rain: {r}, grass: {g}}}, probabilities: [1, 0]}}\n"
    message, _ = model_error(write_yaml, text)
    assert "node 'road'" in message
    for combo in ("rain=yes, grass=damp", "rain=yes, grass=wet"):
        assert combo in message
    listed = message.split("missing row")[1]
    assert (
        "rain=no" not in listed and "grass=dry" not in listed
    )  # rows that are present are not listed


def test_repeated_row(write_yaml):
    text = VALID.replace("when: {rain: yes}", "when: {rain: no}")
    message, path = model_error(write_yaml, text)
    assert (
        path in message
        and "node 'grass'" in message
        and "repeats" in message
        and "rain=no" in message
    )


def test_unknown_parent_state_in_row(write_yaml):
    message, path = model_error(
        write_yaml, VALID.replace("when: {rain: yes}", "when: {rain: maybe}")
    )
    assert (
        path in message
        and "node 'grass'" in message
        and "parent 'rain' has no state 'maybe'" in message
    )


def test_row_keyed_by_a_non_parent(write_yaml):
    message, _ = model_error(
        write_yaml, VALID.replace("when: {rain: yes}", "when: {rain: yes, wind: calm}")
    )
    assert "node 'grass'" in message and "wind" in message and "not parents" in message


def test_root_row_with_a_when_is_an_error(write_yaml):
    text = VALID.replace(
        "- probabilities: {no: 0.7, yes: 0.3}", "- {when: {grass: dry}, probabilities: [0.7, 0.3]}"
    )
    message, _ = model_error(write_yaml, text)
    assert "node 'rain'" in message and "not parents" in message


def test_empty_file(write_yaml):
    message, path = model_error(write_yaml, "")
    assert path in message and "empty" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just some words\n", "42\n"])
def test_file_that_is_not_a_mapping(write_yaml, text):
    message, path = model_error(write_yaml, text)
    assert path in message and "must be a mapping" in message


def test_invalid_yaml_gives_line(write_yaml):
    message, path = model_error(write_yaml, "id: m\nnodes: [\n  {id: a\n")
    assert path in message and "not valid YAML" in message and "line" in message


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("title: Test model", "title: Test model\ncolour: blue", "colour"),
        ("    label: Rain\n", "    label: Rain\n    lable: Typo\n", "node 'rain': lable"),
        (
            "      rows:\n        - probabilities: {no: 0.7",
            "      rowz: []\n      rows:\n        - probabilities: {no: 0.7",
            "node 'rain': cpt rowz",
        ),
    ],
)
def test_unknown_field(write_yaml, old, new, where):
    message, path = model_error(write_yaml, VALID.replace(old, new, 1))
    assert path in message and where in message and "unknown field" in message


def test_missing_required_fields(write_yaml):
    message, path = model_error(write_yaml, VALID.replace("id: m\n", "", 1))
    assert path in message and "id: missing required field" in message
    message, _ = model_error(write_yaml, VALID.replace("    states: [no, yes]\n", ""))
    assert "node 'rain': states: missing required field" in message


def test_one_state_is_too_few(write_yaml):
    message, _ = model_error(
        write_yaml, VALID.replace("[no, yes]", "[no]").replace(", yes: 0.3", "")
    )
    assert "node 'rain'" in message and "states" in message


def test_several_problems_are_all_reported(write_yaml):
    text = VALID.replace("parents: [rain]", "parents: [rainfall]").replace(
        "sources: [s1]", "sources: [s7]"
    )
    path = write_yaml(text)
    with pytest.raises(forecast.ModelError) as info:
        forecast.load_model(path)
    assert any("unknown parent 'rainfall'" in p for p in info.value.problems)
    assert any("unknown source id 's7'" in p for p in info.value.problems)


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(forecast.ModelError, match="not found"):
        forecast.load_model(tmp_path / "nowhere.yaml")


def test_text_and_dict_entry_points_name_their_source():
    with pytest.raises(forecast.ModelError, match=r"^upload\.yaml: "):
        spec_from_text("[1, 2]", "upload.yaml")
    with pytest.raises(forecast.ModelError, match=r"^<model>: .*empty"):
        spec_from_dict(None)


# ---------------------------------------------------------------- ranked nodes


def ranked_model(
    function: str, weights: dict, variance: float = 0.05, scores: str = ""
) -> forecast.Model:
    """Parents a (2 states) and b (3 states) feed a ranked child with 3 states."""
    w = ", ".join(f"{k}: {v}" for k, v in weights.items())
    text = f"""\
id: r
nodes:
  - {{id: a, states: [lo, hi], cpt: {{rows: [{{probabilities: [0.5, 0.5]}}]}}}}
  - {{id: b, states: [low, medium, high], cpt: {{rows: [{{probabilities: [0.2, 0.3, 0.5]}}]}}}}
  - id: c
    states: [small, middling, large]
    parents: [a, b]
    cpt:
      type: ranked
      function: {function}
      weights: {{{w}}}
      variance: {variance}
{scores}"""
    return forecast.model_from_text(text, "ranked.yaml")


def expected_mean(function: str, x: list[float], w: list[float]) -> float:
    """Fenton, Neil & Caballero's weighted functions, written out term by term."""
    n = len(x)
    if function == "wmean":
        return sum(wi * xi for wi, xi in zip(w, x, strict=True)) / sum(w)
    terms = [
        (w[i] * x[i] + sum(x[j] for j in range(n) if j != i)) / (w[i] + n - 1) for i in range(n)
    ]
    return min(terms) if function == "wmin" else max(terms)


def truncated_normal_bins(mu: float, variance: float, k: int) -> np.ndarray:
    """P(child in bin i) for TNormal(mu, variance) truncated to [0, 1], cut into k equal bins."""
    s = math.sqrt(variance)
    edges = np.linspace(0, 1, k + 1)
    mass = norm.cdf((1 - mu) / s) - norm.cdf((0 - mu) / s)
    return np.diff(norm.cdf((edges - mu) / s)) / mass


@pytest.mark.parametrize("function", ["wmean", "wmin", "wmax"])
@pytest.mark.parametrize("weights", [{"a": 2, "b": 1}, {"a": 1, "b": 3}, {"a": -1, "b": 2}])
def test_ranked_table_matches_the_definition(function, weights):
    model = ranked_model(function, weights, variance=0.1)
    cpt = model.cpt("c")
    assert cpt.shape == (2, 3, 3)
    np.testing.assert_allclose(cpt.sum(axis=-1), 1.0, atol=1e-12)
    scores = {"a": [0.0, 1.0], "b": [0.0, 0.5, 1.0]}  # default: equally spaced on 0..1
    for i, j in itertools.product(range(2), range(3)):
        x = [scores["a"][i], scores["b"][j]]
        # a negative weight inverts the parent's scale
        x = [1 - xi if weights[p] < 0 else xi for xi, p in zip(x, ["a", "b"], strict=True)]
        mu = expected_mean(function, x, [abs(weights["a"]), abs(weights["b"])])
        np.testing.assert_allclose(cpt[i, j], truncated_normal_bins(mu, 0.1, 3), atol=1e-9)


def test_ranked_custom_parent_scores():
    scores = "      parent_scores:\n        b: {low: 0.0, medium: 0.9, high: 1.0}\n"
    model = ranked_model("wmean", {"a": 1, "b": 1}, variance=0.05, scores=scores)
    mu = expected_mean("wmean", [1.0, 0.9], [1, 1])
    np.testing.assert_allclose(model.cpt("c")[1, 1], truncated_normal_bins(mu, 0.05, 3), atol=1e-9)


def expected_score(row: np.ndarray) -> float:
    return float(row @ np.linspace(0, 1, len(row)))


@pytest.mark.parametrize("function", ["wmean", "wmin", "wmax"])
def test_ranked_moves_in_the_direction_of_the_weight(function):
    up = ranked_model(function, {"a": 1, "b": 2}).cpt("c")
    down = ranked_model(function, {"a": 1, "b": -2}).cpt("c")
    for i in range(2):
        # b's states run low -> high: with a positive weight the child's mass moves to its
        # later (higher) states, and the cumulative distribution falls (stochastic dominance)
        cdf_up = np.cumsum(up[i], axis=-1)[:, :-1]
        cdf_down = np.cumsum(down[i], axis=-1)[:, :-1]
        assert np.all(np.diff(cdf_up, axis=0) <= 1e-12)
        assert np.all(np.diff(cdf_down, axis=0) >= -1e-12)
        assert expected_score(up[i, 2]) > expected_score(up[i, 0])
        assert expected_score(down[i, 2]) < expected_score(down[i, 0])


def test_ranked_child_first_state_is_the_low_end():
    cpt = ranked_model("wmean", {"a": 1, "b": 1}, variance=0.01).cpt("c")
    assert cpt[0, 0].argmax() == 0  # both parents at their first (lowest) state
    assert cpt[1, 2].argmax() == 2  # both parents at their last (highest) state


def test_wmin_and_wmax_approach_min_and_max_with_large_weights():
    # with a = hi (score 1) and b = low (score 0): wmin is pulled to 0, wmax to 1
    lo = ranked_model("wmin", {"a": 1000, "b": 1000}, variance=0.01).cpt("c")[1, 0]
    hi = ranked_model("wmax", {"a": 1000, "b": 1000}, variance=0.01).cpt("c")[1, 0]
    mean = ranked_model("wmean", {"a": 1000, "b": 1000}, variance=0.01).cpt("c")[1, 0]
    assert lo[0] > 0.95 and hi[2] > 0.95
    assert mean.argmax() == 1  # the mean of 0 and 1 sits in the middle bin


def test_wmin_wmax_equal_wmean_when_all_weights_are_one():
    tables = [ranked_model(f, {"a": 1, "b": 1}).cpt("c") for f in ("wmean", "wmin", "wmax")]
    np.testing.assert_allclose(tables[1], tables[0], atol=1e-12)
    np.testing.assert_allclose(tables[2], tables[0], atol=1e-12)


def test_larger_variance_flattens_the_child():
    sharp = ranked_model("wmean", {"a": 1, "b": 1}, variance=0.01).cpt("c")[1, 2]
    flat = ranked_model("wmean", {"a": 1, "b": 1}, variance=1.0).cpt("c")[1, 2]
    assert sharp.max() > flat.max()


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ({"a": 1}, "must name exactly the parents"),
        ({"a": 1, "b": 1, "z": 1}, "must name exactly the parents"),
        ({"a": 0, "b": 0}, "all zero"),
    ],
)
def test_ranked_weights_must_match_parents(weights, problem):
    with pytest.raises(forecast.ModelError) as info:
        ranked_model("wmean", weights)
    assert str(info.value).startswith("ranked.yaml: node 'c'") and problem in str(info.value)


def test_ranked_bad_scores_function_and_variance():
    scores = "      parent_scores:\n        b: {low: 0.0, high: 1.0}\n"
    with pytest.raises(forecast.ModelError, match="node 'c'.*parent_scores for 'b'"):
        ranked_model("wmean", {"a": 1, "b": 1}, scores=scores)
    with pytest.raises(forecast.ModelError, match="node 'c'.*function"):
        ranked_model("wsum", {"a": 1, "b": 1})
    with pytest.raises(forecast.ModelError, match="node 'c'.*variance"):
        ranked_model("wmean", {"a": 1, "b": 1}, variance=0)


def test_ranked_root_is_an_error(write_yaml):
    text = VALID.replace(
        "      rows:\n        - probabilities: {no: 0.7, yes: 0.3}",
        "      type: ranked\n      weights: {}",
    )
    message, path = model_error(write_yaml, text)
    assert path in message and "node 'rain'" in message and "needs parents" in message


def test_tiny_fixture_ranked_node_follows_its_weights(tiny):
    # outcome: weights rain +2, sprinkler -1; states good, bad (good = low end)
    cpt = tiny.cpt("outcome")
    assert cpt.shape == (2, 2, 2)
    # more rain pushes the child towards its high end ('bad'); the sprinkler pushes the other way
    assert cpt[1, 0, 1] > cpt[0, 0, 1]
    assert cpt[0, 1, 1] < cpt[0, 0, 1]


@pytest.mark.parametrize(
    ("probabilities", "problem"),
    [
        ([0.5, "x"], "cpt row 1 probabilities #2: not a number ('x')"),
        ({"x": "no", "y": 0.5}, "cpt row 1 probabilities x: not a number ('no')"),
        ("0.5", "cpt row 1 probabilities: must be a list of probabilities or a mapping"),
    ],
)
def test_a_bad_row_is_one_problem_in_the_form_it_was_given(probabilities, problem):
    """Only the form the file used is checked (pydantic once reported both union branches)."""
    data = {
        "id": "m",
        "nodes": [
            {"id": "a", "states": ["x", "y"], "cpt": {"rows": [{"probabilities": probabilities}]}}
        ],
    }
    with pytest.raises(forecast.ModelError) as info:
        spec_from_dict(data)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"node 'a': {problem}")


@pytest.mark.parametrize("name", ["\n", "a\rb", "x\u2028y"])
def test_a_line_break_in_a_name_stays_out_of_the_one_line_message(name):
    """Found by the hardening fuzzer: a node id of a newline split the error message."""
    text = f"id: m\nnodes:\n  - id: {name!r}\n    states: [a, b]\n    cpt: {{probabilities: [0.5, 0.5]}}\n"
    text = text.replace(repr(name), '"' + name.encode("unicode_escape").decode() + '"')
    with pytest.raises(forecast.ModelError) as info:
        spec_from_text(text, "m.yaml")
    message = str(info.value)
    assert "\n" not in message and "\r" not in message and "\u2028" not in message
    assert all("\n" not in p for p in info.value.problems)
