"""BIF and XMLBIF: reading, writing, round trips, pyAgrum interop and malformed files."""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast
from forecast.cli import main
from forecast.formats import model_to_bif, read_model_file, write_model_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"
DEFAULT = ROOT / "models" / "russia_iran.yaml"

SOURCES = [FIXTURES / "tiny.yaml", DEFAULT] + [
    EXAMPLES / f"{n}.bif.gz" for n in ("asia", "alarm", "child", "insurance")
]
SUFFIXES = [".bif", ".bifxml", ".xmlbif", ".bif.gz", ".xml.gz"]


def source_id(p: Path) -> str:
    return p.name


@functools.cache
def load(path: Path) -> forecast.Model:
    return forecast.load_model(path)  # parsing a BIF takes pgmpy about half a second: once per file


def assert_same_model(a: forecast.Model, b: forecast.Model, tol: float = 1e-12) -> None:
    assert b.nodes == a.nodes
    for n in a.nodes:
        assert b.states(n) == a.states(n), n
        assert b.parents(n) == a.parents(n), n
        assert b.label(n) == a.label(n), n
        assert b.node(n).role == a.node(n).role, n
        np.testing.assert_allclose(b.cpt(n), a.cpt(n), rtol=0, atol=tol, err_msg=n)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("source", SOURCES, ids=source_id)
def test_a_round_trip_keeps_every_probability(tmp_path, source, suffix):
    model = load(source)
    out = tmp_path / f"copy{suffix}"
    write_model_file(model, out)
    again = forecast.load_model(out)
    assert_same_model(model, again)
    assert again.id == model.id
    if suffix.endswith(".gz"):
        assert out.read_bytes()[:2] == b"\x1f\x8b"


def test_posteriors_survive_the_round_trip(tmp_path):
    model = load(DEFAULT)
    out = tmp_path / "default.xmlbif"
    write_model_file(model, out)
    again = forecast.load_model(out)
    node = model.drivers[0]
    hard = {node: model.states(node)[-1]}
    a = model.posteriors(hard=hard)["probability"].to_numpy()
    b = again.posteriors(hard=hard)["probability"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("suffix", [".bif", ".bifxml"])
@pytest.mark.parametrize(
    "source",
    [FIXTURES / "tiny.yaml", DEFAULT, EXAMPLES / "alarm.bif.gz", EXAMPLES / "insurance.bif.gz"],
    ids=source_id,
)
def test_written_files_open_in_pyagrum_with_the_same_probabilities(tmp_path, source, suffix):
    gum = pytest.importorskip("pyagrum")
    model = load(source)
    out = tmp_path / f"{model.id}{suffix}"
    write_model_file(model, out)
    bn = gum.loadBN(str(out))
    assert sorted(bn.names()) == sorted(model.nodes)
    for n in model.nodes:
        assert list(bn.variable(n).labels()) == model.states(n)
        cpt = bn.cpt(n)
        # pyAgrum's array axes run over its variable names in reverse
        axes = list(reversed(cpt.names))
        ours = [*model.parents(n), n]
        table = np.transpose(cpt.toarray(), [axes.index(v) for v in ours])
        # pyAgrum's BIF parser reads numbers in single precision (XMLBIF in double): 0.7 -> 0.699999988
        tol = 1e-12 if suffix == ".bifxml" else 1e-7
        np.testing.assert_allclose(table, model.cpt(n), rtol=0, atol=tol, err_msg=n)


def test_the_bif_text_is_the_documented_format():
    model = forecast.load_model(FIXTURES / "tiny.yaml")
    text = model_to_bif(model)
    assert text.startswith("network tiny {")
    assert "variable rain {\n  type discrete [ 2 ] { no, yes };" in text
    assert "probability ( rain ) {\n  table 0.7, 0.3;" in text
    assert "probability ( sprinkler | rain ) {\n  (no) 0.6, 0.4;\n  (yes) 0.99, 0.01;" in text
    assert 'property label = "Wet grass" ;' in text


# ---------------------------------------------------------------- importing


def test_imported_networks_get_roles_ids_and_a_note_on_renormalised_rows():
    model = forecast.load_model(EXAMPLES / "alarm.bif.gz")
    assert (
        model.id == "alarm"
    )  # the bnlearn files call every network "unknown": the file name is used
    for n in model.nodes:
        expected = (
            "driver"
            if not model.parents(n)
            else ("outcome" if not model.children(n) else "intermediate")
        )
        assert model.node(n).role == expected
    assert re.search(
        r"\d+ CPT row\(s\) did not sum to 1 exactly .* renormalised", model.spec.description
    )
    for n in model.nodes:
        np.testing.assert_allclose(model.cpt(n).sum(axis=-1), 1.0, rtol=0, atol=1e-15)


def test_names_the_schema_forbids_are_renamed_and_reported():
    model = forecast.load_model(EXAMPLES / "child.bif.gz")
    assert ">_7.5" in model.states("HypoxiaInO2") or any(
        ">_7.5" in model.states(n) for n in model.nodes
    )
    assert "Renamed" in model.spec.description and ">=7.5" in model.spec.description


def test_a_named_network_keeps_its_name(tmp_path):
    text = (FIXTURES / "tiny.yaml").read_text()
    model = forecast.model_from_text(text.replace("id: tiny", "id: my_net"))
    out = tmp_path / "file_name.bif"
    write_model_file(model, out)
    assert forecast.load_model(out).id == "my_net"


def bif(tmp_path: Path, text: str, name: str = "net.bif") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """network n {
}
variable a {
  type discrete [ 2 ] { x, y };
}
variable b {
  type discrete [ 2 ] { u, v };
}
probability ( a ) {
  table 0.3, 0.7;
}
probability ( b | a ) {
  (x) 0.5, 0.5;
  (y) 0.1, 0.9;
}
"""


def test_rows_off_by_rounding_are_renormalised_but_wrong_rows_are_refused(tmp_path):
    model = forecast.load_model(bif(tmp_path, GOOD.replace("0.1, 0.9", "0.1, 0.9004")))
    np.testing.assert_allclose(
        model.cpt("b")[1], [0.1 / 1.0004, 0.9004 / 1.0004], rtol=0, atol=1e-15
    )
    assert "renormalised" in model.spec.description
    with pytest.raises(
        forecast.ModelError, match=r"net\.bif: the row of 'b' for \(a=y\) sums to 1\.1, not 1"
    ):
        forecast.load_model(bif(tmp_path, GOOD.replace("0.1, 0.9", "0.2, 0.9")))


def test_a_file_without_a_final_newline_or_with_comments_reads(tmp_path):
    text = (
        "// a comment\n"
        + GOOD.replace("probability ( a )", "/* block\ncomment */ probability ( a )").rstrip()
    )
    model = forecast.load_model(bif(tmp_path, text))
    assert model.nodes == ["a", "b"]
    np.testing.assert_allclose(model.cpt("b"), [[0.5, 0.5], [0.1, 0.9]])


# ---------------------------------------------------------------- malformed files


MALFORMED_BIF = {
    "garbage": "this is not a network at all",
    "truncated": GOOD[: GOOD.index("(y) 0.1")],
    "missing table": GOOD[: GOOD.index("probability ( b | a )")],
    "missing row": GOOD.replace("  (y) 0.1, 0.9;\n", ""),
    "short row": GOOD.replace("table 0.3, 0.7;", "table 0.3;"),
    "unknown parent": GOOD.replace("probability ( b | a )", "probability ( b | c )"),
    "negative": GOOD.replace("0.5, 0.5", "-0.5, 1.5"),
    "not a number": GOOD.replace("0.5, 0.5", "0.5, x"),
    "one state": GOOD.replace("type discrete [ 2 ] { x, y }", "type discrete [ 1 ] { x }"),
    "stray brace": GOOD + "}\n",
    "state count": GOOD.replace("type discrete [ 2 ] { u, v }", "type discrete [ 3 ] { u, v }"),
    "unknown row state": GOOD.replace("(y) 0.1", "(z) 0.1"),
}


@pytest.mark.parametrize("problem", sorted(MALFORMED_BIF))
def test_malformed_bif_files_get_a_clear_error(tmp_path, problem):
    path = bif(tmp_path, MALFORMED_BIF[problem])
    with pytest.raises(forecast.ModelError) as err:
        forecast.load_model(path)
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message and "Traceback" not in message


XML = """<?xml version="1.0"?>
<BIF VERSION="0.3"><NETWORK><NAME>n</NAME>
<VARIABLE TYPE="nature"><NAME>a</NAME><OUTCOME>x</OUTCOME><OUTCOME>y</OUTCOME></VARIABLE>
<VARIABLE TYPE="nature"><NAME>b</NAME><OUTCOME>u</OUTCOME><OUTCOME>v</OUTCOME></VARIABLE>
<DEFINITION><FOR>a</FOR><TABLE>0.3 0.7</TABLE></DEFINITION>
<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.5 0.5 0.1 0.9</TABLE></DEFINITION>
</NETWORK></BIF>
"""

MALFORMED_XML = {
    "garbage": "not xml <",
    "truncated": XML[: XML.index("<DEFINITION><FOR>b")],
    "not xmlbif": "<?xml version='1.0'?><html><body/></html>",
    "missing definition": XML.replace(
        "<DEFINITION><FOR>b</FOR><GIVEN>a</GIVEN><TABLE>0.5 0.5 0.1 0.9</TABLE></DEFINITION>", ""
    ),
    "missing table": XML.replace("<TABLE>0.3 0.7</TABLE>", ""),
    "short table": XML.replace("0.5 0.5 0.1 0.9", "0.5 0.5 0.1"),
    "long table": XML.replace("0.5 0.5 0.1 0.9", "0.5 0.5 0.1 0.9 0.5 0.5"),
    "unknown given": XML.replace("<GIVEN>a</GIVEN>", "<GIVEN>c</GIVEN>"),
    "decision node": XML.replace(
        '<VARIABLE TYPE="nature"><NAME>a', '<VARIABLE TYPE="decision"><NAME>a'
    ),
    "bad number": XML.replace("0.3 0.7", "0.3 seven"),
}


@pytest.mark.parametrize("problem", sorted(MALFORMED_XML))
def test_malformed_xmlbif_files_get_a_clear_error(tmp_path, problem):
    path = bif(tmp_path, MALFORMED_XML[problem], "net.xmlbif")
    with pytest.raises(forecast.ModelError) as err:
        forecast.load_model(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_the_good_xmlbif_reads(tmp_path):
    model = forecast.load_model(bif(tmp_path, XML, "net.xmlbif"))
    np.testing.assert_allclose(model.cpt("b"), [[0.5, 0.5], [0.1, 0.9]])


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("latin1.bif", GOOD.replace("x, y", "x, \xe9").encode("latin-1"), "not valid UTF-8"),
        ("empty.bif", b"", "empty"),
        ("broken.bif.gz", gzip.compress(GOOD.encode())[:-12], "truncated"),
        ("fake.bif.gz", b"\x1f\x8b" + b"garbage" * 10, "gzip"),
        ("folder.bif", None, "folder"),
        ("missing.xmlbif", "absent", "not found"),
    ],
)
def test_unreadable_files_get_a_clear_error(tmp_path, name, data, expected):
    path = tmp_path / name
    if data is None:
        path.mkdir()
    elif isinstance(data, bytes):
        path.write_bytes(data)
    with pytest.raises(forecast.ModelError, match=expected) as err:
        read_model_file(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- the command line


def test_export_model_writes_a_file_the_product_reads_back(tmp_path, capsys):
    out = tmp_path / "tiny.bif"
    assert (
        main(["export-model", str(FIXTURES / "tiny.yaml"), "--format", "bif", "--output", str(out)])
        == 0
    )
    assert "wrote" in capsys.readouterr().err
    assert (
        main(["query", str(out), "--hard", "rain=yes", "--target", "outcome", "--format", "csv"])
        == 0
    )
    text = capsys.readouterr().out
    expected = forecast.load_model(FIXTURES / "tiny.yaml").posteriors(
        hard={"rain": "yes"}, targets="outcome"
    )
    for p in expected["probability"]:
        assert f"{p:.4f}"[:5] in text
    out2 = tmp_path / "tiny.xml"
    assert main(["export-model", str(out), "--format", "xmlbif", "-o", str(out2)]) == 0
    assert_same_model(forecast.load_model(out), forecast.load_model(out2))


def test_export_model_failures_are_one_line_and_leave_no_file(tmp_path, capsys):
    out = tmp_path / "x.txt"
    assert main(["export-model", str(FIXTURES / "tiny.yaml"), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("forecast: error:") and err.count("\n") == 1
    assert not out.exists()
    # a state name BIF cannot hold: refused before anything is written
    text = (
        (FIXTURES / "tiny.yaml")
        .read_text()
        .replace("[off, on]", "['off(1)', on]")
        .replace("off: 0.6", "'off(1)': 0.6")
    )
    src = tmp_path / "odd.yaml"
    src.write_text(text)
    target = tmp_path / "odd.bif"
    assert main(["export-model", str(src), "--format", "bif", "--output", str(target)]) == 2
    assert "XMLBIF" in capsys.readouterr().err
    assert list(tmp_path.glob("odd.bif*")) == [] and list(tmp_path.glob(".odd*")) == []
    assert (
        main(
            [
                "export-model",
                str(src),
                "--format",
                "xmlbif",
                "--output",
                str(tmp_path / "odd.xmlbif"),
            ]
        )
        == 0
    )
    assert forecast.load_model(tmp_path / "odd.xmlbif").states("sprinkler") == ["off(1)", "on"]


@pytest.mark.parametrize("problem", ["garbage", "truncated", "missing table"])
def test_the_command_line_reports_a_malformed_file_in_one_line(tmp_path, capsys, problem):
    path = bif(tmp_path, MALFORMED_BIF[problem])
    assert main(["nodes", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"forecast: error: {path}:") and err.count("\n") == 1
    assert "Traceback" not in err


# ---------------------------------------------------------------- BIF fidelity (our own parser)


def test_default_rows_fill_the_combinations_not_listed(tmp_path):
    text = GOOD.replace("  (y) 0.1, 0.9;\n", "  default 0.2, 0.8;\n")
    model = forecast.load_model(bif(tmp_path, text))
    np.testing.assert_allclose(model.cpt("b"), [[0.5, 0.5], [0.2, 0.8]], rtol=0, atol=1e-15)


def test_any_state_name_the_grammar_allows_is_kept(tmp_path):
    text = (
        GOOD.replace("{ x, y }", "{ table, default }")
        .replace("(x)", "(table)")
        .replace("(y)", "(default)")
    )
    model = forecast.load_model(bif(tmp_path, text))
    assert model.states("a") == ["table", "default"]
    np.testing.assert_allclose(model.cpt("b")[1], [0.1, 0.9])


def test_quoted_names_are_kept_as_written(tmp_path):
    text = GOOD.replace("network n", 'network "My network"').replace(
        "{ u, v }", '{ "a\\"b", ">=5" }'
    )
    model = forecast.load_model(bif(tmp_path, text))
    assert model.spec.title == "My network"
    assert model.states("b") == ['a"b', ">_5"]  # '=' is not allowed in ids: renamed, and said so
    assert ">=5" in model.spec.description


def test_numbers_are_read_in_double_precision(tmp_path):
    text = GOOD.replace("0.3, 0.7", "0.30000000000000004, 0.7")
    model = forecast.load_model(bif(tmp_path, text))
    assert model.cpt("a")[0] == pytest.approx(0.30000000000000004 / 1.0000000000000000, abs=1e-16)


def test_an_xmlbif_network_without_a_name_reads(tmp_path):
    model = forecast.load_model(
        bif(tmp_path, XML.replace("<NAME>n</NAME>\n", "\n"), "plain.xmlbif")
    )
    assert model.id == "plain"


def test_names_other_readers_cannot_read_back_are_warned_on_export(tmp_path):
    model = forecast.load_model(EXAMPLES / "child.bif.gz")  # states such as '>_7.5'
    with pytest.warns(forecast.formats.FormatWarning, match=r"pyAgrum\) cannot read them back"):
        write_model_file(model, tmp_path / "child.bif")
    assert forecast.load_model(tmp_path / "child.bif").states("HypoxiaInO2") == model.states(
        "HypoxiaInO2"
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("parens.bif", "(" * (1 << 20)),
        ("newlines.bif", "\n" * 1_000_000),
        ("braces.net", "{" * (1 << 20)),
        ("parens.dne", "bnet x { a = " + "(" * (1 << 20)),
    ],
)
def test_hostile_text_is_refused_at_once(tmp_path, name, text):
    path = bif(tmp_path, text, name)
    with pytest.raises(forecast.ModelError) as err:
        forecast.load_model(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
