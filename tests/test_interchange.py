"""Real files from the tools that own each format (tests/fixtures/interchange/README.md), checked
against pyAgrum where its reader is exact, and our own NET/XDSL output read back by pyAgrum."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast
from forecast.formats import FORMATS, FormatWarning, format_of, read_model_file, write_model_file

gum = pytest.importorskip("pyagrum")

HERE = Path(__file__).resolve().parent
REAL = HERE / "fixtures" / "interchange"
EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"

NODE_COUNTS = {
    "alarm.net": 37,
    "test1.net": 4,
    "alarm.dsl": 37,
    "insurance.dsl": 27,
    "benefits.xdsl": 14,
    "asia.uai": 8,
    "dog.uai": 5,
    "CancerOR2.xdsl": 5,
    "CancerOR2_CPT.xdsl": 5,
    "CancerMAX.xdsl": 5,
    "MAX_6.xdsl": 7,
    "MAX_6.dsl": 7,
    "IRT5.dne": 6,
    "System.dne": 3,
    "EMTask1b.dne": 5,
    "asia.rda": 8,
    "firealarm.rda": 6,
}
# pyAgrum reads these exactly (it drops GeNIe's noisy-MAX nodes, so those files are left out)
PYAGRUM_EXACT = [
    "alarm.net",
    "test1.net",
    "alarm.dsl",
    "insurance.dsl",
]
# pyAgrum 3.3 reads XDSL tables with the first parent fastest (GeNIe writes the last parent fastest,
# as its own conversion of a noisy-MAX node to a CPT shows): for these we check exactly that
PYAGRUM_XDSL = ["benefits.xdsl", "CancerOR2_CPT.xdsl"]


@functools.cache
def ours(name: str) -> forecast.Model:
    return forecast.load_model(REAL / name)


def posteriors(model: forecast.Model) -> dict[str, np.ndarray]:
    table = model.posteriors()
    return {n: table.loc[table["node"] == n, "probability"].to_numpy() for n in model.nodes}


# pyAgrum parses numbers in NET, DSL, XDSL and UAI files in single precision (0.2 -> 0.2000000030),
# and several files have rows rounded to 6 digits (0.333333) that we renormalise: 1e-6
SINGLE = 1e-6


@functools.cache
def _genie_names(path: Path) -> dict[str, str]:
    model = forecast.load_model(path)
    return {n: model.label(n) for n in model.nodes}


def their_name(path: Path, n: str) -> str:
    """pyAgrum names GeNIe nodes by their GeNIe name (our label) and UAI variables 0, 1, ... (ours v0, v1)."""
    if path.suffix == ".xdsl":
        return _genie_names(path)[n]
    if path.suffix == ".uai":
        return n[1:]
    return n


def pyagrum_posteriors(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    bn = gum.loadBN(str(path))
    for n in bn.names():
        bn.cpt(n).normalizeAsCPT()  # pyAgrum keeps Hugin's weights and rounded rows as given
    ie = gum.LazyPropagation(bn)
    ie.makeInference()
    return {n: ie.posterior(their_name(path, n)).toarray() for n in names}


@pytest.mark.parametrize("name", sorted(NODE_COUNTS))
def test_every_real_file_loads_with_all_its_nodes(name):
    model = ours(name)
    assert len(model.nodes) == NODE_COUNTS[name]
    assert model.spec.description.startswith(
        ("Imported from", model.spec.description.split(" Imported")[0])
    )
    for n in model.nodes:
        np.testing.assert_allclose(model.cpt(n).sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", PYAGRUM_EXACT)
def test_real_files_agree_with_pyagrum(name):
    model = ours(name)
    path = REAL / name
    bn = gum.loadBN(str(path))
    assert sorted(bn.names()) == sorted(their_name(path, n) for n in model.nodes)
    for n in model.nodes:
        assert len(bn.variable(their_name(path, n)).labels()) == len(model.states(n))
        cpt = bn.cpt(their_name(path, n))
        axes = list(reversed(cpt.names))  # pyAgrum's array axes run over its names in reverse
        order = [axes.index(their_name(path, v)) for v in [*model.parents(n), n]]
        table = np.transpose(cpt.toarray(), order)
        table = table / table.sum(axis=-1, keepdims=True)  # pyAgrum keeps Hugin's weights as given
        np.testing.assert_allclose(table, model.cpt(n), rtol=0, atol=SINGLE, err_msg=n)
    theirs = pyagrum_posteriors(path, model.nodes)
    for n, p in posteriors(model).items():
        np.testing.assert_allclose(p, theirs[n], rtol=0, atol=SINGLE, err_msg=n)


def pyagrum_xdsl_matches(path: Path, model: forecast.Model) -> None:
    """pyAgrum's table, its parent axes taken in reverse, holds our table's numbers in our order."""
    bn = gum.loadBN(str(path))
    assert sorted(bn.names()) == sorted(their_name(path, n) for n in model.nodes)
    for n in model.nodes:
        cpt = bn.cpt(their_name(path, n))
        axes = list(reversed(cpt.names))
        parents = [their_name(path, v) for v in reversed(model.parents(n))]
        table = np.transpose(
            cpt.toarray(), [axes.index(v) for v in [*parents, their_name(path, n)]]
        )
        flat = model.cpt(n).reshape(-1, len(model.states(n)))
        np.testing.assert_allclose(table.reshape(flat.shape), flat, rtol=0, atol=SINGLE, err_msg=n)


@pytest.mark.parametrize("name", PYAGRUM_XDSL)
def test_real_xdsl_files_agree_with_pyagrum_up_to_its_parent_order(name):
    pyagrum_xdsl_matches(REAL / name, ours(name))


def test_labels_state_names_and_descriptions_are_kept():
    net = ours("alarm.net")
    assert net.states("HISTORY") == ["TRUE", "FALSE"]
    irt = ours("IRT5.dne")
    assert irt.states("Theta") == ["pos2", "pos1", "Zero", "neg1", "neg2"]
    assert irt.label("Item_1") == "Item_1"
    test1 = ours("test1.net")
    assert test1.states("C1") == ["State_1", "State_2"]  # spaces are not allowed in ids
    assert "State 1" in test1.spec.description  # the renaming is reported
    assert "weights" in test1.spec.description  # Hugin's unnormalised rows, normalised and reported
    np.testing.assert_allclose(test1.cpt("C4"), [0.1, 0.9], rtol=0, atol=1e-15)


def test_genie_noisy_max_nodes_are_kept_as_our_noisy_max_form():
    noisy = ours("CancerOR2.xdsl")
    cpt = noisy.node("LungCancer").cpt
    assert cpt.type == "noisy_max"
    assert cpt.parameters["Smoker"] == {"True": [0.61, 0.39], "False": [0.0, 1.0]}
    # GeNIe's own conversion of the same node to a table
    table = ours("CancerOR2_CPT.xdsl")
    np.testing.assert_allclose(noisy.cpt("LungCancer"), table.cpt("LungCancer"), rtol=0, atol=1e-12)


def test_noisy_max_strengths_give_each_block_to_its_parent_state():
    cpt = ours("CancerMAX.xdsl").node("LungCancer").cpt
    # BadDiet (Good, Medium, Bad) has strengths 0 2 1: blocks for Good, Bad, then the inert Medium
    assert cpt.parameters["BadDiet"]["Medium"] == [0.0, 0.0, 1.0]
    assert cpt.parameters["BadDiet"]["Bad"] == [0.13, 0.22, 0.65]


def test_the_same_noisy_max_network_reads_alike_from_xdsl_and_dsl():
    x, d = ours("MAX_6.xdsl"), ours("MAX_6.dsl")
    assert x.node("C1").cpt.type == d.node("C1").cpt.type == "noisy_max"
    np.testing.assert_allclose(
        x.cpt("C1"), d.cpt("C1"), rtol=0, atol=1e-7
    )  # DSL rounds to 8 digits


def test_uai_tables_follow_the_format_documentation():
    """The UAI format: a table runs over its scope (parents, then the child) with the last variable
    fastest.  asia.uai is Lauritzen and Spiegelhalter's network; its dysp table (v6, scope v2 = bronc,
    v5 = either) must match the published one in the bnlearn BIF (pyAgrum 3.3 swaps two rows)."""
    uai = ours("asia.uai")
    bif = forecast.load_model(EXAMPLES / "asia.bif.gz")
    assert uai.parents("v6") == ["v2", "v5"]
    assert bif.parents("dysp") == ["bronc", "either"]
    np.testing.assert_allclose(uai.cpt("v6"), bif.cpt("dysp"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(uai.cpt("v2"), bif.cpt("bronc"), rtol=0, atol=1e-12)


def test_bnlearn_r_objects_match_the_bnlearn_bif():
    rda = ours("asia.rda")
    assert rda.states("Smoker") == ["True", "False"]
    dysp = rda.cpt("Dyspnea")  # parents Bronchitis, TubercolosisOrCancer
    assert rda.parents("Dyspnea") == ["Bronchitis", "TubercolosisOrCancer"]
    # Lauritzen and Spiegelhalter: P(dyspnoea | bronchitis, either) = .9, .8 (no tb/cancer), .7 (no bronchitis), .1
    np.testing.assert_allclose(dysp[:, :, 0], [[0.9, 0.8], [0.7, 0.1]])


# ---------------------------------------------------------------- our own output in pyAgrum


@pytest.mark.parametrize(
    "source",
    [
        HERE / "fixtures" / "tiny.yaml",
        EXAMPLES / "alarm.bif.gz",
        REAL / "benefits.xdsl",
        REAL / "CancerOR2_CPT.xdsl",
    ],
    ids=lambda p: p.name,
)
def test_our_net_and_xdsl_open_in_pyagrum(tmp_path, source):
    model = forecast.load_model(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FormatWarning)
        net = write_model_file(model, tmp_path / "copy.net")
        xdsl = write_model_file(model, tmp_path / "copy.xdsl")
    theirs = pyagrum_posteriors(net, model.nodes)  # NET: the same posteriors in pyAgrum
    for n, p in posteriors(model).items():
        np.testing.assert_allclose(p, theirs[n], rtol=0, atol=SINGLE, err_msg=n)
    pyagrum_xdsl_matches(xdsl, model)  # XDSL: the same tables, read in pyAgrum's parent order
    for out in (net, xdsl):
        again = forecast.load_model(out)
        for n in model.nodes:
            np.testing.assert_allclose(again.cpt(n), model.cpt(n), rtol=0, atol=1e-15, err_msg=n)
            assert again.label(n) == model.label(n)


def test_noisy_max_nodes_are_written_to_xdsl_as_noisy_max(tmp_path):
    model = ours("CancerMAX.xdsl")
    out = write_model_file(model, tmp_path / "copy.xdsl")
    assert "<noisymax" in out.read_text()
    again = forecast.load_model(out)
    assert again.node("LungCancer").cpt == model.node("LungCancer").cpt
    np.testing.assert_allclose(again.cpt("LungCancer"), model.cpt("LungCancer"), rtol=0, atol=1e-15)


def test_what_a_format_cannot_carry_is_warned(tmp_path):
    model = forecast.load_model(HERE / "fixtures" / "tiny.yaml")
    with pytest.warns(
        FormatWarning, match=r"cannot carry the forecasting question.*ranked definitions"
    ):
        write_model_file(model, tmp_path / "tiny.net")
    noisy = ours("CancerMAX.xdsl")
    with pytest.warns(FormatWarning, match="CPT forms"):
        write_model_file(noisy, tmp_path / "c.net")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FormatWarning)
        write_model_file(noisy, tmp_path / "c.xdsl")  # XDSL holds noisy-MAX: nothing lost


# ---------------------------------------------------------------- dispatch


def test_the_suffix_table_is_the_one_list_and_unknown_suffixes_are_refused(tmp_path):
    assert format_of("a.XDSL") == "xdsl" and format_of("a.net.gz") == "net"
    assert format_of("a.rds.gz") is None and format_of("a.txt") is None
    bad = tmp_path / "model.txt"
    bad.write_bytes(b"\x00\x01binary")
    with pytest.raises(forecast.ModelError) as err:
        forecast.load_model(bad)
    message = str(err.value)
    assert "unsupported model file format '.txt'" in message
    for f in FORMATS.values():
        for s in f.suffixes:
            assert s in message


@pytest.mark.parametrize("suffix", [".bif", ".net", ".dsl", ".dne", ".uai", ".xdsl", ".rds"])
def test_a_binary_file_gets_no_yaml_error(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(forecast.ModelError) as err:
        read_model_file(path)
    assert "YAML" not in str(err.value) and str(path) in str(err.value)


def test_the_formats_package_never_imports_the_model_or_higher_layers():
    import ast

    higher = {"model", "analysis", "runs", "export", "cli", "ui", "journal", "describe"}
    for path in (HERE.parent / "forecast" / "formats").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                assert (node.module or "").split(".")[0] not in higher, path.name


def test_export_model_converts_a_network_whose_junction_tree_would_not_fit(
    tmp_path, capsys, monkeypatch
):
    """A 20 x 20 grid: tiny tables, a junction tree far over a 1 MiB budget."""
    from forecast.cli import main

    lines = ["network grid {", "}"]
    n = 20
    for i in range(n * n):
        lines.append(f"variable g{i} {{\n  type discrete [ 2 ] {{ lo, hi }};\n}}")
    for i in range(n):
        for j in range(n):
            ps = ([f"g{(i - 1) * n + j}"] if i else []) + ([f"g{i * n + j - 1}"] if j else [])
            head = f"g{i * n + j}" + (f" | {', '.join(ps)}" if ps else "")
            rows = "  table " + ", ".join(["0.5"] * 2 ** (len(ps) + 1)) + ";"
            lines.append(f"probability ( {head} ) {{\n{rows}\n}}")
    src = tmp_path / "grid.bif"
    src.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FORECAST_MEMORY_BUDGET", "1MiB")
    with pytest.raises(forecast.MemoryBudgetError, match=r"grid\.bif: the model needs"):
        forecast.load_model(src)
    assert main(["export-model", str(src), "-o", str(tmp_path / "grid.xmlbif")]) == 0
    capsys.readouterr()
    again = read_model_file(tmp_path / "grid.xmlbif", junction_tree=False)
    assert len(again.nodes) == n * n


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mildew", "barley"])
def test_networks_with_more_than_64_states_load_and_agree_with_pyagrum(name, tmp_path):
    """No fixed state limit: mildew (100 states) and barley (67) from the bnlearn repository."""
    import gzip

    path = tmp_path / f"{name}.bif"  # pyAgrum does not read .gz
    path.write_bytes(gzip.decompress((EXAMPLES / f"{name}.bif.gz").read_bytes()))
    model = forecast.load_model(path, memory_budget=4 << 30)
    assert max(len(model.states(n)) for n in model.nodes) > 64
    bn = gum.loadBN(str(path))
    ie = gum.LazyPropagation(bn)
    ie.makeInference()
    for n, p in posteriors(model).items():
        # pyAgrum reads BIF numbers in single precision; the rows are rounded: 1e-6
        np.testing.assert_allclose(p, ie.posterior(n).toarray(), rtol=0, atol=1e-6, err_msg=n)


NOISY_YAML = """
id: noisy
nodes:
  - id: smoker
    states: [yes, no]
    cpt: {rows: [{probabilities: [0.3, 0.7]}]}
  - id: asbestos
    states: [yes, no]
    cpt: {rows: [{probabilities: [0.1, 0.9]}]}
  - id: cancer
    states: [present, absent]
    parents: [smoker, asbestos]
    cpt:
      type: noisy_max
      parameters:
        smoker: {yes: [0.4, 0.6], no: [0, 1]}
        asbestos: {yes: [0.2, 0.8], no: [0, 1]}
      leak: [0.01, 0.99]
"""


def test_a_hand_written_noisy_or_is_the_textbook_table(tmp_path):
    path = tmp_path / "noisy.yaml"
    path.write_text(NOISY_YAML)
    cpt = forecast.load_model(path).cpt("cancer")
    # noisy-OR: P(absent | causes) = leak(absent) x product over present causes of (1 - p_cause)
    for s, ps in ((0, 0.6), (1, 1.0)):
        for a, pa in ((0, 0.8), (1, 1.0)):
            np.testing.assert_allclose(cpt[s, a, 1], 0.99 * ps * pa, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("asbestos: {yes: [0.2, 0.8], no: [0, 1]}", "asbestos: {yes: [0.2, 0.8]}"),
            "each of its states",
        ),
        (("[0.4, 0.6]", "[0.4, 0.5]"), "sums to 0.9"),
        (("leak: [0.01, 0.99]", "leak: [0.01, 0.5, 0.49]"), "3 probabilities; the node has 2"),
        (("        asbestos: {yes: [0.2, 0.8], no: [0, 1]}\n", ""), "name exactly the parents"),
    ],
)
def test_noisy_max_mistakes_are_named(tmp_path, change, message):
    path = tmp_path / "noisy.yaml"
    path.write_text(NOISY_YAML.replace(*change))
    with pytest.raises(forecast.ModelError, match=message) as err:
        forecast.load_model(path)
    assert "cancer" in str(err.value)
