"""The network drawing: DOT text showing each node's posterior or change, shaded by movement."""

import re
from pathlib import Path

import pytest

import forecast
from forecast.errors import ForecastError
from forecast.graph import movement, network_dot, shade


def node_block(dot: str, node: str) -> str:
    match = re.search(rf'^  "{re.escape(node)}" \[(.*)\];$', dot, flags=re.M)
    assert match, f"node {node} missing"
    return match.group(1)


def fill(dot: str, node: str) -> str:
    return re.search(r'fillcolor="(#[0-9a-f]{6})"', node_block(dot, node)).group(1)


def test_every_node_and_edge_is_drawn_with_labels(tiny):
    dot = network_dot(tiny, tiny.posteriors())
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for node in tiny.nodes:
        assert f"<b>{tiny.label(node)}</b>" in node_block(dot, node)
        for parent in tiny.parents(node):
            assert f'"{parent}" -> "{node}";' in dot
    assert dot.count("->") == sum(len(tiny.parents(n)) for n in tiny.nodes)
    assert "peripheries=2" in node_block(dot, "outcome") and "peripheries" not in node_block(
        dot, "rain"
    )


def test_probabilities_shown_match_the_posteriors(tiny):
    post = tiny.posteriors(hard={"rain": "yes"})
    dot = network_dot(tiny, post)
    for node, state, p in zip(post["node"], post["state"], post["probability"], strict=True):
        text = f"{tiny.state_label(node, state)} {100 * p:.0f}%"
        if 0 < 100 * p < 0.5:
            text = f"{tiny.state_label(node, state)} &lt;1%"
        assert text in node_block(dot, node)


def test_change_mode_and_shading_follow_the_evidence(tiny):
    base = tiny.posteriors()
    post = tiny.posteriors(hard={"rain": "yes"})
    dot = network_dot(tiny, post, baseline=base, show="change", evidence_nodes={"rain"})
    b = base.set_index(["node", "state"])["probability"]
    p = post.set_index(["node", "state"])["probability"]
    delta = 100 * (p[("outcome", "good")] - b[("outcome", "good")])
    assert f"Good {delta:+.1f} pts".replace("-", "−") in node_block(dot, "outcome")
    # rain moved furthest (from 30% to certain); every moved node is shaded, more for more movement
    moves = {
        n: movement(
            dict(zip(post[post.node == n].state, post[post.node == n].probability, strict=True)),
            dict(zip(base[base.node == n].state, base[base.node == n].probability, strict=True)),
        )
        for n in tiny.nodes
    }
    assert moves["rain"] == pytest.approx(0.7)
    assert all(fill(dot, n) != "#ffffff" for n in tiny.nodes)
    assert "penwidth=3" in node_block(dot, "rain") and "penwidth" not in node_block(dot, "outcome")


def test_no_evidence_leaves_every_node_unshaded(tiny):
    base = tiny.posteriors()
    dot = network_dot(tiny, base, baseline=base, show="change")
    assert all(fill(dot, n) == "#ffffff" for n in tiny.nodes)
    # the same wording for a zero change as the reports and the app (it said "±0" here)
    assert dot.count("no change") == sum(len(tiny.states(n)) for n in tiny.nodes)


def test_shade_deepens_with_movement():
    assert shade(0) == "#ffffff"
    assert shade(1) == shade(0.3) == "#e8590c"
    values = [int(shade(x)[3:5], 16) for x in (0.0, 0.05, 0.1, 0.2)]
    assert values == sorted(values, reverse=True) and len(set(values)) == 4


def test_labels_are_escaped(write_yaml):
    path = write_yaml(
        """
        id: esc
        nodes:
          - id: a
            label: 'Tom & "Jerry" <cat>'
            states: [x, y]
            cpt: {rows: [{probabilities: {x: 0.5, y: 0.5}}]}
        """
    )
    model = forecast.load_model(path)
    dot = network_dot(model, model.posteriors())
    block = node_block(dot, "a")
    assert "Tom &amp; &quot;Jerry&quot; &lt;cat&gt;" in block
    assert 'tooltip="Tom & \\"Jerry\\" <cat>"' in block


def test_bad_arguments_are_clear_errors(tiny):
    post = tiny.posteriors()
    with pytest.raises(ForecastError, match="unknown graph mode"):
        network_dot(tiny, post, show="heat")
    with pytest.raises(ForecastError, match="needs a baseline"):
        network_dot(tiny, post, show="change")
    with pytest.raises(ForecastError, match="lacks column"):
        network_dot(tiny, post.drop(columns="probability"))


# ------------------------------------------------------------------ layered layout (the live view)


def _random_model(seed: int, n: int = 30):
    import itertools

    import numpy as np

    from forecast.spec import spec_from_dict

    rng = np.random.default_rng(seed)
    nodes = []
    for i in range(n):
        parents = (
            sorted({f"n{j}" for j in rng.choice(i, size=min(i, 2), replace=False)}) if i else []
        )
        role = "driver" if not parents else "outcome" if i >= n - 3 else "intermediate"
        nodes.append(
            {
                "id": f"n{i}",
                "role": role,
                "states": ["a", "b"],
                "parents": parents,
                "cpt": {
                    "rows": [
                        {
                            "when": dict(zip(parents, combo, strict=True)),
                            "probabilities": {"a": 0.5, "b": 0.5},
                        }
                        for combo in itertools.product("ab", repeat=len(parents))
                    ]
                },
            }
        )
    return forecast.Model(spec_from_dict({"id": "random", "nodes": nodes}))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layers_put_drivers_first_outcomes_last_and_every_arrow_down(seed):
    from forecast.graph import layers

    model = _random_model(seed)
    out = layers(model)
    depth = {n: i for i, layer in enumerate(out) for n in layer}
    assert sorted(depth) == sorted(model.nodes)
    assert set(out[0]) >= set(model.drivers)
    last = len(out) - 1
    assert all(depth[n] == last for n in model.outcomes)
    for n in model.nodes:
        for p in model.parents(n):
            assert depth[p] < depth[n]


def test_positions_wrap_wide_layers_and_never_overlap():
    from forecast.graph import NODE_WIDTH, layers, node_height, positions

    model = forecast.load_model(Path(__file__).resolve().parents[1] / "models" / "russia_iran.yaml")
    where = positions(model, per_row=5)
    assert set(where) == set(model.nodes)
    assert (
        max(
            sum(1 for _x, y in where.values() if y == row) for row in {y for _, y in where.values()}
        )
        <= 5
    )
    boxes = [(x, y, x + NODE_WIDTH, y + node_height(model, n)) for n, (x, y) in where.items()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert max(len(layer) for layer in layers(model)) > 5  # so some layer did wrap
    # every arrow points down; drivers without causes above mechanisms above outcomes (a
    # driver with causes in the model, such as Iran's veto on Assad's exit, sits below them)
    for n in model.nodes:
        assert all(where[p][1] < where[n][1] for p in model.parents(n)), n
    roots = [n for n in model.drivers if not model.parents(n)]
    assert roots
    lowest_driver = max(where[n][1] for n in roots)
    assert all(where[n][1] > lowest_driver for n in model.nodes if n not in model.drivers)
    highest_outcome = min(where[n][1] for n in model.outcomes)
    assert all(where[n][1] < highest_outcome for n in model.nodes if n not in model.outcomes)
    assert len(layers(model)) >= 3
    with pytest.raises(ForecastError):
        positions(model, per_row=0)
