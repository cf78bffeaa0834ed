"""Malformed and hostile input: every case is a clear ForecastError (CLI: exit 2, one line), never a crash.

Table-driven cases cover the known shapes of bad input (empty files, wrong types,
NaN and infinities, out-of-range probabilities, huge state counts, deep nesting,
cycles, non-UTF-8 bytes, alias bombs, object tags, binary garbage); hypothesis
searches around them.  The hostile files also run through the real command line
in a child process with a cap on its address space, so a case that needed
unbounded memory would fail instead of passing by luck.  The `timeout` marks
guard against hangs; they do not measure speed.
"""

import ast
import contextlib
import copy
import json
import math
import os
import random
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forecast
from forecast.errors import EvidenceError, ForecastError, ModelError
from forecast.evidence import save_scenario
from forecast.safeio import MAX_FILE_BYTES, MAX_UPLOAD_BYTES
from forecast.yamlio import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_TEXT = TINY.read_text(encoding="utf-8")
TINY_DATA = parse_yaml(
    TINY_TEXT, "tiny", "model", ModelError
)  # YAML 1.2: 'no' and 'yes' stay strings
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    # the `cli` fixture is stateless (it captures with its own buffers), so sharing it is safe
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def assert_one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err and "out of memory" not in err


def model_text(**node_overrides) -> str:
    """tiny.yaml with fields of the first node replaced."""
    data = copy.deepcopy(TINY_DATA)
    data["nodes"][0].update(node_overrides)
    return yaml.safe_dump(data, sort_keys=False)


def laughs(levels: int = 40, mapping: bool = False) -> str:
    """An alias bomb: each level refers twice to the one before (2**levels leaves), few aliases."""
    if mapping:
        lines = ["l0: &l0 {a: 1, b: 1}"] + [
            f"l{i}: &l{i} {{a: *l{i - 1}, b: *l{i - 1}}}" for i in range(1, levels)
        ]
    else:
        lines = ["l0: &l0 [x, x]"] + [
            f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, levels)
        ]
    return "\n".join(lines) + "\n"


def wide_node(parents: int, table: bool = False) -> str:
    """A node with `parents` binary parents: its table would have 2**(parents+1) entries.

    Ranked, or (table=True) a table CPT that gives one row of the 2**parents it needs.
    """
    data = {
        "id": "wide",
        "nodes": [
            {
                "id": f"p{i}",
                "states": ["lo", "hi"],
                "cpt": {"rows": [{"probabilities": [0.5, 0.5]}]},
            }
            for i in range(parents)
        ],
    }
    cpt = (
        {"rows": [{"when": {f"p{i}": "lo" for i in range(parents)}, "probabilities": [0.5, 0.5]}]}
        if table
        else {"type": "ranked", "weights": {f"p{i}": 1 for i in range(parents)}}
    )
    data["nodes"].append(
        {
            "id": "child",
            "states": ["lo", "hi"],
            "parents": [f"p{i}" for i in range(parents)],
            "cpt": cpt,
        }
    )
    return yaml.safe_dump(data)


def cycle_text() -> str:
    data = copy.deepcopy(TINY_DATA)
    data["nodes"][0]["parents"] = ["outcome"]
    data["nodes"][0]["cpt"] = {
        "rows": [{"when": {"outcome": s}, "probabilities": [0.5, 0.5]} for s in ("good", "bad")]
    }
    return yaml.safe_dump(data, sort_keys=False)


MARKER = Path("/tmp") / f"forecast-hardening-{os.getpid()}"
MALFORMED_MODELS = {
    "empty": ("", "empty"),
    "comments only": ("# nothing here\n\n", "empty"),
    "null": ("null\n", "empty"),
    "a list": ("- 1\n- 2\n", "must be a mapping"),
    "a number": ("42\n", "must be a mapping"),
    "plain text": ("just some words\n", "must be a mapping"),
    "no nodes": ("id: x\n", "nodes: missing required field"),
    "nodes not a list": ("id: x\nnodes: lots\n", "nodes"),
    "states not a list": (model_text(states=5), "states"),
    "one state": (model_text(states=["only"]), "states"),
    "NaN probability": (TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: .nan, yes: 0.3}"), "finite"),
    "infinite probability": (
        TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: .inf, yes: 0.3}"),
        "finite",
    ),
    "negative probability": (
        TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: -0.3, yes: 1.3}"),
        "negative",
    ),
    "probability above 1": (TINY_TEXT.replace("[0.99, 0.01]", "[1.01, 0.0]"), "above 1"),
    "probabilities not summing to 1": (
        TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.7}"),
        "sums to",
    ),
    "probability as text": (
        TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: lots, yes: 0.3}"),
        "not a number",
    ),
    "probability as bool": (
        TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: true, yes: 0.3}"),
        "rain",
    ),
    "NaN variance": (TINY_TEXT.replace("variance: 0.1", "variance: .nan"), "variance"),
    "zero variance": (TINY_TEXT.replace("variance: 0.1", "variance: 0"), "variance"),
    "huge state count": (model_text(states=[f"s{i}" for i in range(100_000)]), "unknown state"),
    "65 states": (model_text(states=[f"s{i}" for i in range(65)]), "unknown state"),
    "huge table": (wide_node(30), "memory budget"),
    "wide table, one row": (wide_node(22, table=True), "missing row"),
    "deep nesting": ("id: " + "[" * 50_000 + "]" * 50_000 + "\n", "nesting"),
    "deep mapping": ("a: " + "{b: " * 5_000 + "1" + "}" * 5_000 + "\n", "nesting"),
    "cycle": (cycle_text(), "cycle"),
    "own parent": (TINY_TEXT.replace("parents: [rain]", "parents: [sprinkler]"), "own parent"),
    "unknown parent": (TINY_TEXT.replace("parents: [rain]", "parents: [snow]"), "unknown parent"),
    "duplicate node": (TINY_TEXT.replace("id: sprinkler", "id: rain"), "duplicate"),
    "billion laughs (lists)": (laughs() + "id: x\nnodes: *l39\n", "refusing to expand"),
    "billion laughs (mappings)": (
        laughs(mapping=True) + "id: x\nnodes: [*l39]\n",
        "refusing to expand",
    ),
    "python object tag": (f"!!python/object/apply:os.system ['touch {MARKER}']\n", "python/object"),
    "python tag inside": (
        TINY_TEXT.replace("title: Tiny test model", "title: !!python/object/new:os.getcwd []"),
        "python/object",
    ),
    "NUL character": ("id: x\x00\nnodes: []\n", "YAML"),
    "tab indentation": ("id: x\nnodes:\n\t- id: a\n", "YAML"),
    "unclosed bracket": ("id: [x\n", "YAML"),
    "over the size limit": ("id: x\ndescription: " + "x" * (MAX_FILE_BYTES + 10) + "\n", "limit"),
    "binary garbage": (
        bytes(random.Random(7).randrange(256) for _ in range(4000)).decode("latin-1"),
        "YAML",
    ),
    "name with spaces": (
        TINY_TEXT.replace("id: tiny", "id: a tiny model"),
        "names may not contain",
    ),
}


# Cases that would need gigabytes if a guard regressed: they run only in the capped child process
# (test_hostile_files_fail_within_a_memory_cap), so a regression fails there instead of exhausting the machine.
MEMORY_HOSTILE = {"huge table", "wide table, one row"}
IN_PROCESS = [c for c in MALFORMED_MODELS if c not in MEMORY_HOSTILE]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", IN_PROCESS)
def test_malformed_model_text_is_a_clear_model_error(case):
    text, message = MALFORMED_MODELS[case]
    with pytest.raises(ModelError) as info:
        forecast.model_from_text(text, name="upload.yaml")
    text_of_error = str(info.value)
    assert message.lower() in text_of_error.lower(), text_of_error
    assert "\n" not in text_of_error and text_of_error.startswith("upload.yaml")
    assert not MARKER.exists()


@pytest.mark.timeout(120)
def test_malformed_model_files_through_the_cli(tmp_path, cli):
    for i, case in enumerate(IN_PROCESS):
        text = MALFORMED_MODELS[case][0]
        path = tmp_path / f"m{i}.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        code, out, err = cli("validate", path)
        assert_one_line_error(code, err)
        assert out == "", case
    assert not MARKER.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"id: caf\xe9\nnodes: []\n", "not valid UTF-8"),
        (b"\xff\xfe\x00\x00garbage", "not valid UTF-8"),
        (bytes(range(256)) * 8, "not valid UTF-8"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not valid UTF-8"),
    ],
)
def test_non_utf8_and_binary_files(tmp_path, content, message):
    for loader, kind, error in (
        (forecast.load_model, "model", ModelError),
        (forecast.load_scenario, "scenario", EvidenceError),
        (forecast.load_evidence, "evidence", EvidenceError),
    ):
        path = tmp_path / f"{kind}.yaml"
        path.write_bytes(content)
        with pytest.raises(error, match=message):
            loader(path)


def test_model_from_text_rejects_what_is_not_text():
    with pytest.raises(ModelError, match="YAML text"):
        forecast.model_from_text(None)
    with pytest.raises(ModelError, match="YAML text"):
        forecast.model_from_text(12)
    with pytest.raises(ModelError, match="UTF-8"):
        forecast.model_from_text(b"id: caf\xe9\n")
    assert forecast.model_from_text(TINY_TEXT.encode("utf-8")).id == "tiny"  # UTF-8 bytes are fine


def test_yaml_tags_never_construct_objects(tmp_path, cli):
    bomb = f"!!python/object/apply:os.system ['touch {MARKER}']\n"
    for loader, error in (
        (forecast.load_model, ModelError),
        (forecast.load_scenario, EvidenceError),
        (forecast.load_evidence, EvidenceError),
    ):
        path = tmp_path / "tagged.yaml"
        path.write_text(bomb, encoding="utf-8")
        with pytest.raises(error, match="python/object"):
            loader(path)
    code, _, err = cli("query", TINY, "--scenario", path)
    assert_one_line_error(code, err)
    assert not MARKER.exists()


# ---------------------------------------------------------------- evidence and scenario files

GOOD_ITEM = {
    "id": "r1",
    "date": "2017-05-01",
    "title": "t",
    "source": "s",
    "node": "rain",
    "likelihood": {"no": 0.5, "yes": 1.0},
}
MALFORMED_SCENARIOS = {
    "empty": ("", "empty"),
    "a list": ("- a\n- b\n", "mapping"),
    "unknown field": ("name: s\nhardd: {rain: yes}\n", "unknown field"),
    "hard not a mapping": ("name: s\nhard: rain\n", "hard"),
    "likelihood a list": ("name: s\nlikelihood: {rain: [1, 2]}\n", "likelihood"),
    "NaN weight": ("name: s\nlikelihood: {rain: {no: .nan, yes: 1}}\n", "finite"),
    "infinite weight": ("name: s\nlikelihood: {rain: {no: .inf, yes: 1}}\n", "finite"),
    "text weight": ("name: s\nfixed: {rain: {no: half, yes: 0.5}}\n", "number"),
    "name escaping the folder": ("name: ../../etc/passwd\n", "name"),
    "absolute name": ("name: /etc/passwd\n", "name"),
    "billion laughs": (laughs(mapping=True) + "name: s\nlikelihood: *l39\n", "refusing to expand"),
    "deep nesting": ("name: s\nhard: " + "[" * 20_000 + "]" * 20_000 + "\n", "nesting"),
    "items not a list": ("name: s\nitems: 5\n", "items"),
    "unknown item": ("name: s\nitems: [nope]\n", "unknown evidence item"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(MALFORMED_SCENARIOS))
def test_malformed_scenario_files(tmp_path, case, cli):
    text, message = MALFORMED_SCENARIOS[case]
    folder = tmp_path / "evidence" / "scenarios"
    folder.mkdir(parents=True)
    (tmp_path / "evidence" / "items.yaml").write_text(yaml.safe_dump(GOOD_ITEM), encoding="utf-8")
    path = folder / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        forecast.load_scenario(path)
    assert message.lower() in str(info.value).lower() and "\n" not in str(info.value)
    code, _, err = cli("query", TINY, "--scenario", path)
    assert_one_line_error(code, err)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"date": "2017-13-45"}, "date"),
        ({"date": 5}, "date"),
        ({"likelihood": {"no": -1, "yes": 1}}, "negative"),
        ({"likelihood": {"no": 0, "yes": 0}}, "all weights are zero"),
        ({"likelihood": {"no": 1}}, "every state"),
        ({"likelihood": {"no": 1, "yes": 1, "maybe": 1}}, "unknown state"),
        ({"node": "snow"}, "unknown node"),
        ({"id": "has space"}, "id"),
        ({"likelihood": "strong"}, "likelihood"),
    ],
)
def test_malformed_evidence_items(tmp_path, tiny, change, message, cli):
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump([{**GOOD_ITEM, **change}]), encoding="utf-8")
    with pytest.raises(EvidenceError, match=message):
        tiny.evidence(items=forecast.load_evidence(path))
    code, _, err = cli("timeline", TINY, path)
    assert_one_line_error(code, err)


def test_duplicate_evidence_ids_and_empty_folder(tmp_path, cli):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD_ITEM), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(GOOD_ITEM), encoding="utf-8")
    with pytest.raises(EvidenceError, match="duplicate"):
        forecast.load_evidence(tmp_path)
    code, _, err = cli("timeline", TINY, tmp_path / "missing")
    assert_one_line_error(code, err)


def test_contradictory_or_impossible_evidence(tiny, deterministic):
    with pytest.raises(EvidenceError, match="both hard and fixed"):
        tiny.posteriors(hard={"rain": "yes"}, fixed={"rain": {"no": 0.5, "yes": 0.5}})
    with pytest.raises(EvidenceError, match="impossible"):
        deterministic.posteriors(hard={"a": "x", "b": "y"})
    with pytest.raises(EvidenceError, match="sums to"):
        tiny.posteriors(fixed={"rain": {"no": 0.5, "yes": 0.6}})


# ---------------------------------------------------------------- command-line arguments

BAD_ARGUMENTS = [
    ["query", TINY, "--hard", "rain"],
    ["query", TINY, "--hard", "=yes"],
    ["query", TINY, "--hard", "rain="],
    ["query", TINY, "--hard", "rain=maybe"],
    ["query", TINY, "--hard", "snow=yes"],
    ["query", TINY, "--likelihood", "rain=no:nan,yes:1"],
    ["query", TINY, "--likelihood", "rain=no:inf,yes:1"],
    ["query", TINY, "--likelihood", "rain=no:1e999,yes:1"],
    ["query", TINY, "--likelihood", "rain=no:-1,yes:2"],
    ["query", TINY, "--likelihood", "rain=no:1,no:2"],
    ["query", TINY, "--likelihood", "rain=no"],
    ["query", TINY, "--fixed", "rain=no:0.5,yes:0.6"],
    ["query", TINY, "--fixed", "rain=no:1.5,yes:-0.5"],
    ["query", TINY, "--hard", "rain=yes", "--fixed", "rain=no:0.5,yes:0.5"],
    ["query", TINY, "--target", "snow"],
    ["query", TINY, "--scenario", "/nonexistent/s.yaml"],
    ["query", "/nonexistent/model.yaml"],
    ["query", FIXTURES],
    ["query", TINY, "--format", "pdf"],
    ["query", TINY, "--output", "out.pdf"],
    ["query"],
    ["frobnicate"],
    ["run", TINY],
    ["history", "--db", FIXTURES],
    ["score", "--only", "everything"],
]


@pytest.mark.parametrize(
    "args", BAD_ARGUMENTS, ids=[" ".join(map(str, a[:1] + a[2:]))[:60] for a in BAD_ARGUMENTS]
)
def test_bad_cli_arguments_exit_2_with_one_line(args, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*args)
    assert_one_line_error(code, err)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_bad_memory_budget_setting(monkeypatch, cli):
    monkeypatch.setenv("FORECAST_MEMORY_BUDGET", "lots")
    code, _, err = cli("validate", TINY)
    assert_one_line_error(code, err)
    assert "memory budget" in err


@pytest.mark.parametrize(
    "args",
    [
        ["query", TINY, "--hard", "rain=maybe"],
        ["query", TINY, "--format", "csv"],  # fails below: the output's folder is a file
        ["run", TINY, "/nonexistent.yaml"],
        ["nodes", "/nonexistent.yaml"],
        ["history", "--db", "/"],
    ],
)
def test_failed_commands_leave_output_files_untouched(args, tmp_path, cli):
    target = tmp_path / "result.csv"
    target.write_text("previous results\n", encoding="utf-8")
    if args[-1] == "csv" and args[0] == "query":
        code, _, err = cli(*args, "--output", target / "inner.csv")  # a path under a file
    else:
        code, _, err = cli(*args, "--output", target)
    assert_one_line_error(code, err)
    assert target.read_text(encoding="utf-8") == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]  # no temporary files left


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["--hard", "--likelihood", "--fixed", "--target"]), min_size=1, max_size=3
    ),
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30),
        min_size=3,
        max_size=3,
    ),
)
def test_fuzzed_evidence_options_never_crash(cli, flags, values):
    args = ["query", TINY]
    for flag, value in zip(flags, values, strict=False):
        args += [flag, value]
    code, out, err = cli(*args)
    if code == 0:
        assert err == "" and "nan" not in out.lower()
    else:
        assert_one_line_error(code, err)


# ---------------------------------------------------------------- property-based: the model loader

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(data, prefix=()):
    """Every path into a nested dict/list structure."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


TINY_PATHS = [p for p in _paths(TINY_DATA) if p]


def _replace(data, path, value):
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _check_model_or_error(make):
    try:
        model = make()
    except ForecastError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    table = model.posteriors()
    assert table["probability"].between(0, 1).all()
    sums = table.groupby("node")["probability"].sum()
    assert ((sums - 1).abs() < 1e-9).all()


@pytest.mark.slow
@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(TINY_PATHS), JUNK), min_size=1, max_size=3))
def test_mutated_models_load_or_fail_clearly(mutations):
    data = TINY_DATA
    for path, value in mutations:
        try:
            data = _replace(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    text = yaml.safe_dump(data, sort_keys=False)
    _check_model_or_error(lambda: forecast.model_from_text(text))


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text_loads_or_fails_clearly(text):
    _check_model_or_error(lambda: forecast.model_from_text(text))


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_files_fail_clearly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "model.yaml"
    path.write_bytes(data)
    _check_model_or_error(lambda: forecast.load_model(path))
    with contextlib.suppress(EvidenceError):
        forecast.load_scenario(path)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["rain", "sprinkler", "outcome", "snow", ""]),
        st.one_of(JUNK, st.sampled_from(["no", "yes", "on", "off", "good", "bad"])),
        max_size=3,
    ),
    st.dictionaries(
        st.sampled_from(["rain", "sprinkler", "outcome", "snow"]),
        st.one_of(
            JUNK,
            st.dictionaries(
                st.sampled_from(["no", "yes", "on", "off", "good", "bad", "x"]), JUNK, max_size=3
            ),
        ),
        max_size=2,
    ),
    st.dictionaries(
        st.sampled_from(["rain", "sprinkler", "outcome"]),
        st.dictionaries(
            st.sampled_from(["no", "yes", "on", "off", "good", "bad"]),
            st.floats(min_value=-1, max_value=2),
            max_size=2,
        ),
        max_size=2,
    ),
)
def test_arbitrary_evidence_gives_probabilities_or_an_evidence_error(hard, likelihood, fixed):
    model = forecast.load_model(TINY)
    try:
        table = model.posteriors(hard=hard, likelihood=likelihood, fixed=fixed)
    except EvidenceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert not table["probability"].isna().any()
    assert ((table.groupby("node")["probability"].sum() - 1).abs() < 1e-9).all()


# ---------------------------------------------------------------- hostile files under a memory cap

HOSTILE_PROBE = """
import io, json, resource, sys, contextlib
from forecast.cli import main
def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0
cap = vm_bytes() + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
results = {}
for path in sys.argv[2:]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(["validate", path])
        except SystemExit as exc:
            code = exc.code
    results[path] = [code, err.getvalue()]
print(json.dumps(results))
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_hostile_files_fail_within_a_memory_cap(tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the address space")
    paths, expected = [], {}
    cases = [
        *sorted(MEMORY_HOSTILE),
        "huge state count",
        "deep nesting",
        "billion laughs (lists)",
        "billion laughs (mappings)",
        "binary garbage",
        "over the size limit",
    ]
    for i, case in enumerate(cases):
        path = tmp_path / f"h{i}.yaml"
        path.write_text(MALFORMED_MODELS[case][0], encoding="utf-8")
        paths.append(str(path))
        expected[str(path)] = MALFORMED_MODELS[case][1]
    states = tmp_path / "states.yaml"  # 64 states and 6 parents of 64 states: 64**7 entries
    data = {
        "id": "big",
        "nodes": [
            {
                "id": f"p{i}",
                "states": [f"s{k}" for k in range(64)],
                "cpt": {"rows": [{"probabilities": [1 / 64] * 64}]},
            }
            for i in range(6)
        ],
    }
    data["nodes"].append(
        {
            "id": "c",
            "states": [f"s{k}" for k in range(64)],
            "parents": [f"p{i}" for i in range(6)],
            "cpt": {"type": "ranked", "weights": {f"p{i}": 1 for i in range(6)}},
        }
    )
    states.write_text(yaml.safe_dump(data), encoding="utf-8")
    paths.append(str(states))
    expected[str(states)] = "memory budget"
    extra = 768 * 1024 * 1024  # the whole run may grow by 768 MiB at most
    proc = subprocess.run(
        [sys.executable, "-c", HOSTILE_PROBE, str(extra), *paths],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    for path in paths:
        code, err = results[path]
        assert_one_line_error(code, err)
        assert expected[path].lower() in err.lower(), err


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_console_command_prints_no_traceback(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(MALFORMED_MODELS["billion laughs (mappings)"][0], encoding="utf-8")
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(random.Random(3).randrange(256) for _ in range(2000)))
    for path in (bomb, garbage):
        proc = subprocess.run(
            [sys.executable, "-m", "forecast.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=110,
        )
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- no unsafe deserialisation anywhere

UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "shelve", "marshal", "cloudpickle", "joblib"}
UNSAFE_ATTRS = {
    "unsafe_load",
    "full_load",
    "load_all",
    "read_pickle",
    "to_pickle",
    "system",
    "popen",
}


def _package_sources():
    files = sorted((ROOT / "forecast").rglob("*.py"))
    if (ROOT / "app.py").exists():
        files.append(ROOT / "app.py")
    return files


def test_no_pickle_eval_exec_or_unsafe_yaml_in_the_package():
    problems = []
    for path in _package_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                problems += [
                    f"{where} imports {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in UNSAFE_MODULES
                ]
            elif (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in UNSAFE_MODULES
            ):
                problems.append(f"{where} imports from {node.module}")
            elif isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                if isinstance(func, ast.Name) and name in UNSAFE_CALLS:
                    if name == "__import__" and all(
                        isinstance(a, ast.JoinedStr | ast.Constant) for a in node.args[:1]
                    ):
                        continue  # importing our own command modules by fixed name
                    problems.append(f"{where} calls {name}()")
                if isinstance(func, ast.Attribute) and name in UNSAFE_ATTRS:
                    problems.append(f"{where} calls .{name}()")
                if (
                    isinstance(func, ast.Attribute)
                    and name == "load"
                    and getattr(func.value, "id", "") == "yaml"
                ):
                    loader = [k.value for k in node.keywords if k.arg == "Loader"]
                    if not loader or getattr(
                        loader[0], "id", getattr(loader[0], "attr", "")
                    ) not in ("_Loader", "SafeLoader", "CSafeLoader"):
                        problems.append(f"{where} calls yaml.load without a safe loader")
                if name in ("load", "loads") and any(
                    k.arg == "allow_pickle" for k in node.keywords
                ):
                    problems.append(f"{where} allows pickle")
                if any(
                    k.arg == "shell" and getattr(k.value, "value", False) is True
                    for k in node.keywords
                ):
                    problems.append(f"{where} runs a shell")
    assert problems == []


def test_the_yaml_loader_is_a_safe_loader():
    from forecast import yamlio

    assert issubclass(
        yamlio._Loader, yaml.SafeLoader | getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    assert not issubclass(yamlio._Loader, yaml.FullLoader | yaml.UnsafeLoader)
    with pytest.raises(ModelError, match="python/name"):
        yamlio.parse_yaml("!!python/name:os.system\n", "t", "model", ModelError)


# ---------------------------------------------------------------- the app's rules, tested on package code


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "../../etc/passwd",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "..",
        ".hidden",
        "",
        " ",
        "x" * 101,
        "bad\nname",
        "nul\x00",
        "~user",
    ],
)
def test_scenario_names_cannot_escape_the_scenarios_folder(tmp_path, name):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario = forecast.Scenario.model_construct(
        name=name,
        description="",
        hard={"rain": "yes"},
        likelihood={},
        fixed={},
        items=[],
        resolved_items=[],
    )
    with pytest.raises(EvidenceError):
        save_scenario(scenario, folder)
    with pytest.raises(Exception) as info:  # validation refuses the name as well
        forecast.Scenario(name=name)
    assert isinstance(info.value, ValueError)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_scenario_saving_stays_in_the_folder_and_never_clobbers(tmp_path, tiny):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    ev = tiny.evidence(hard={"rain": "yes"})
    path = save_scenario(ev.to_scenario("wet.v2"), folder)
    assert path.parent == folder and path.name == "wet.v2.yaml"
    assert forecast.load_scenario(path).hard == {"rain": "yes"}
    with pytest.raises(EvidenceError, match="already exists"):
        save_scenario(ev.to_scenario("wet.v2"), folder)


@pytest.mark.parametrize(
    "name, head, comment",
    [
        ("big.yaml", "id: x\nnodes: []\n", "# "),
        ("big.bif", "network x {}\n", "// "),
        ("big.xml", "<?xml version='1.0'?>\n<BIF VERSION='0.3'><NETWORK><NAME>x</NAME>", "<!-- "),
    ],
)
def test_uploads_over_the_size_limit_are_refused_before_parsing(name, head, comment):
    """One upload limit for every format (issue 10: a 6 MiB BIF used to be accepted)."""
    text = head + comment + "x" * MAX_UPLOAD_BYTES
    with pytest.raises(ModelError, match="5 MiB upload limit"):
        forecast.model_from_text(text, name=name)


def test_the_app_serves_on_localhost_with_an_upload_limit():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert 0 < config["server"]["maxUploadSize"] <= math.ceil(MAX_UPLOAD_BYTES / 2**20)
    from forecast.ui import workspace

    assert workspace.MAX_UPLOAD_MB <= config["server"]["maxUploadSize"]


def _make_app_address(tmp_path, env_address):
    """Run `make app` with a stand-in streamlit that prints the address it was given."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "streamlit"
    fake.write_text('#!/bin/sh\necho "address=$STREAMLIT_SERVER_ADDRESS"\n')
    fake.chmod(0o755)
    (venv / "bin" / "python").symlink_to(sys.executable)
    stamp = venv / ".installed"
    stamp.touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (later, later))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    if env_address:
        env["STREAMLIT_SERVER_ADDRESS"] = env_address
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "-o", str(stamp), "app", f"VENV={venv}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.startswith("address=")][-1]


@pytest.mark.slow
def test_make_app_listens_on_localhost_unless_told_otherwise(tmp_path):
    if subprocess.run(["which", "make"], capture_output=True).returncode != 0:
        pytest.skip("make is not installed")
    assert _make_app_address(tmp_path / "a", None) == "address=127.0.0.1"
    assert _make_app_address(tmp_path / "b", "0.0.0.0") == "address=0.0.0.0"


# ---------------------------------------------------------------- second round (issue 17)


@pytest.mark.parametrize(
    "text, message",
    [
        ("id: a\nid: b\nnodes: []\n", r"line 2.*duplicate key 'id' \(first given on line 1\)"),
        (
            TINY_TEXT.replace("    label: Rain\n", "    label: Rain\n    label: Snow\n", 1),
            "duplicate key 'label'",
        ),
        (
            TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.3, no: 0.1}", 1),
            "duplicate key 'no'",
        ),
        ("id: x\nnodes: !!binary aGVsbG8=\n", r"tag '!!binary' is not allowed"),
        ("id: x\nnodes: !!set {a, b}\n", r"tag '!!set' is not allowed"),
        ("id: x\ntitle: !shout hello\nnodes: []\n", r"tag '!shout' is not allowed"),
        ("id: x\nas_of: !!timestamp 2017-01-01\nnodes: []\n", r"tag '!!timestamp'"),
    ],
)
def test_strict_yaml_refuses_duplicates_and_tags(text, message):
    with pytest.raises(ModelError, match=message) as info:
        forecast.model_from_text(text, name="m.yaml")
    assert "\n" not in str(info.value)


def test_dates_stay_text_except_where_a_date_is_expected(tmp_path):
    data = copy.deepcopy(TINY_DATA)
    data["nodes"][0]["label"] = "2017-03-01"  # a label that looks like a date stays a label
    data["nodes"][0]["states"] = ["2017-03-01", "later"]
    data["nodes"][0]["cpt"] = {"rows": [{"probabilities": {"2017-03-01": 0.7, "later": 0.3}}]}
    data["nodes"][1]["cpt"]["rows"][0]["when"] = {"rain": "2017-03-01"}
    data["nodes"][1]["cpt"]["rows"][1]["when"] = {"rain": "later"}
    data["nodes"][2]["cpt"]["parent_scores"] = {}
    text = yaml.safe_dump(data, sort_keys=False).replace("'2017-03-01'", "2017-03-01")
    model = forecast.model_from_text(text, name="m.yaml")
    assert model.node("rain").label == "2017-03-01"
    assert model.node("rain").states[0] == "2017-03-01"
    assert str(model.spec.as_of) == "2018-01-31"  # a date where the schema wants one


def _save_race(folder: Path, tiny) -> list[str]:
    import threading

    barrier = threading.Barrier(2)
    results: list[str] = []

    def save(value: str) -> None:
        scenario = tiny.evidence(hard={"rain": value}).to_scenario("race")
        barrier.wait()
        try:
            save_scenario(scenario, folder)
            results.append(f"saved {value}")
        except EvidenceError as exc:
            assert "already exists" in str(exc)
            results.append("refused")

    threads = [threading.Thread(target=save, args=(v,)) for v in ("yes", "no")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_do_not_overwrite_saves_give_one_success_and_one_refusal(
    tmp_path, tiny, monkeypatch
):
    import forecast.yamlio as yamlio

    # widen the window between the existence check and the move into place, as a slow disk would
    real_chmod = os.chmod

    def slow_chmod(*args, **kwargs):
        import time

        time.sleep(0.01)
        return real_chmod(*args, **kwargs)

    monkeypatch.setattr(yamlio.os, "chmod", slow_chmod)
    for trial in range(15):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        results = _save_race(folder, tiny)
        assert sorted(r.split()[0] for r in results) == ["refused", "saved"], results
        saved = next(r for r in results if r.startswith("saved")).split()[1]
        assert forecast.load_scenario(folder / "race.yaml").hard == {"rain": saved}
        assert sorted(p.name for p in folder.iterdir()) == ["race.yaml"]  # no temporary files left


def test_create_if_absent_refuses_a_symlink_or_file_that_appeared(tmp_path):
    from forecast.errors import OutputExistsError
    from forecast.yamlio import atomic_write_text

    target = tmp_path / "out.txt"
    target.symlink_to(tmp_path / "elsewhere.txt")  # dangling: still a name that is taken
    with pytest.raises(OutputExistsError, match="already exists"):
        atomic_write_text(target, "x", overwrite=False)
    assert not (tmp_path / "elsewhere.txt").exists()
    target.unlink()
    atomic_write_text(target, "first", overwrite=False)
    with pytest.raises(OutputExistsError):
        atomic_write_text(target, "second", overwrite=False)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize(
    "args",
    [
        ["query", TINY, "--output", "{d}/out.csv"],
        ["query", TINY, "--output", "{d}/out.xlsx"],
        ["query", TINY, "--output", "{d}/out.html"],
        ["describe", TINY, "--output", "{d}/out.md"],
        ["export-model", TINY, "--output", "{d}/out.bif"],
    ],
)
def test_a_full_disk_is_one_clear_line_and_leaves_nothing(args, tmp_path, monkeypatch, cli):
    import errno

    import openpyxl

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)
    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(openpyxl.Workbook, "save", full)
    code, _, err = cli(*[str(a).format(d=tmp_path) for a in args])
    assert_one_line_error(code, err)
    assert "the disk is full" in err
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_on_standard_output_is_one_clear_line():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "forecast.cli", "query", str(TINY)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "the disk is full" in proc.stderr, proc.stderr


def test_readers_open_only_regular_files(tmp_path):
    """A symlink to /dev/zero is refused, not read until memory runs out; a FIFO does not hang."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(EvidenceError, match="device; only regular files"):
        forecast.load_evidence(folder)
    (folder / "zero.yaml").unlink()
    os.mkfifo(folder / "pipe.yaml")
    with pytest.raises(EvidenceError, match="FIFO"):
        forecast.load_evidence(folder)
    with pytest.raises(EvidenceError, match="FIFO"):
        forecast.load_scenario(folder / "pipe.yaml")
    os.mkfifo(tmp_path / "model.bif")
    with pytest.raises(ModelError, match="FIFO"):
        forecast.load_model(tmp_path / "model.bif")
    (tmp_path / "model.yaml").symlink_to("/dev/zero")
    with pytest.raises(ModelError, match="device"):
        forecast.load_model(tmp_path / "model.yaml")


def test_a_fifo_swapped_in_after_the_check_does_not_hang(tmp_path, monkeypatch):
    """The open is non-blocking and the descriptor is checked again."""
    import forecast.safeio as safeio

    path = tmp_path / "item.yaml"
    os.mkfifo(path)
    real_stat = os.stat
    monkeypatch.setattr(
        safeio.os,
        "stat",
        lambda p, *a, **k: real_stat(TINY) if str(p) == str(path) else real_stat(p),
    )
    with pytest.raises(EvidenceError, match="FIFO"):
        forecast.load_evidence(path)


def test_gzip_is_capped_while_inflating(tmp_path):
    import gzip

    from forecast.safeio import read_bytes_bounded

    bomb = tmp_path / "bomb.bif.gz"
    bomb.write_bytes(gzip.compress(b" " * (MAX_FILE_BYTES + 1)))
    with pytest.raises(ModelError, match="limit when decompressed"):
        forecast.load_model(bomb)
    two = tmp_path / "two.gz"
    two.write_bytes(gzip.compress(b"a" * 60) + gzip.compress(b"b" * 60))
    assert read_bytes_bounded(two, 120, decompress=True) == b"a" * 60 + b"b" * 60
    with pytest.raises(ForecastError, match="limit when decompressed"):
        read_bytes_bounded(two, 119, decompress=True)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"x" * 1000)[:-12])
    with pytest.raises(ForecastError, match="truncated"):
        read_bytes_bounded(cut, 10_000, decompress=True)


def test_a_file_over_the_limit_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    import forecast.safeio as safeio

    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES * 4)  # sparse: costs no disk
    monkeypatch.setattr(safeio, "_CHUNK", 1 << 20)
    with pytest.raises(ModelError, match="16 MiB limit"):
        forecast.load_model(big)


# ---------------------------------------------------------------- untrusted text in the page

PLAIN_OPTIONS = {  # elements whose text Streamlit shows as plain text or data, never as Markdown
    "vega_lite_chart",
    "arrow_vega_lite_chart",
    "dataframe",
    "arrow_data_frame",
    "graphviz_chart",
    "download_button",
    "selectbox",
    "multiselect",
    "select_slider",
    "file_uploader",
    "text_input",
    "text_area",
    "number_input",
    "date_input",
}
LIVE_MARKUP = re.compile(r"(?<!\\)(!\[|\]\(|<img|<script|<a\b|:red\[|\$x)")
# A widget's id (built from its key) is an identifier Streamlit never renders; every
# field that is shown (label, help, body, caption, options, cells) is still checked.
WIDGET_ID = re.compile(r'^id: ".*"$', re.MULTILINE)


def _walk(node):
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _walk(child)


def test_model_evidence_and_scenario_text_is_shown_as_text(monkeypatch, tmp_path):
    """Markdown images, links, HTML and Streamlit directives from files reach the page escaped."""
    from conftest import write_hostile_workspace
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FORECAST_DB", str(tmp_path / "journal.sqlite"))
    paths = write_hostile_workspace(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setattr(
        sys,
        "argv",
        ["app.py", "--model", str(paths["model"]), "--evidence", str(paths["evidence"])],
    )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    seen = 0
    from forecast.ui.workspace import TABS

    for label, _draw in TABS:
        at.session_state["workspace_tab"] = label
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        for node in _walk(at._tree):
            if getattr(node, "type", None) in PLAIN_OPTIONS or getattr(node, "proto", None) is None:
                continue
            shown = WIDGET_ID.sub("", str(node.proto))
            seen += "beacon" in shown
            assert not LIVE_MARKUP.search(shown), (label, node.type, shown[:300])
        assert not [e.value for e in at.error if "unexpected problem" in e.value]
    assert seen >= 10  # the hostile text did reach the page, escaped


def test_graph_labels_and_titles_cannot_inject_markup_or_attributes(tmp_path):
    from conftest import write_hostile_workspace

    from forecast.graph import network_dot

    paths = write_hostile_workspace(tmp_path, "http://127.0.0.1:9")
    model = forecast.load_model(paths["model"])
    sneaky = model.spec.model_copy(
        update={
            "nodes": [
                n.model_copy(update={"label": 'x"]; evil [URL="http://127.0.0.1:9/u" label="y'})
                if n.id == "outcome"
                else n
                for n in model.spec.nodes
            ]
        }
    )
    dot = network_dot(forecast.Model(sneaky), forecast.Model(sneaky).posteriors())
    for label in re.findall(r"label=<(.*?)>, fillcolor", dot):  # HTML-like labels: only our tags
        assert set(re.findall(r"</?(\w+)", label)) <= {"b", "br", "font"}, label
    assert "&lt;img" in dot  # the text is there, as text
    assert "URL=" not in dot.replace('URL=\\"', "").replace("URL=&quot;", "")
    for line in dot.splitlines():  # every quoted string closes on its line: no attribute breaks out
        assert len(re.findall(r'(?<!\\)"', line)) % 2 == 0, line


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://h/b.png)",
        "<img src=x>",
        "[a](b)",
        ":red[x]",
        "$x$",
        "# head",
        "- item",
        "1. one",
    ],
)
def test_plaintext_escapes_what_markdown_would_interpret(text):
    from forecast.plaintext import md, md_inline

    for escaped in (md(text), md_inline(text)):
        assert escaped != text
        # removing the backslashes gives the text back: nothing else was changed
        assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert md_inline("Will it rain by 2020? my_view") == "Will it rain by 2020? my_view"


def test_html_text_is_inert_as_html_and_as_markdown():
    """React Flow renders node content as Markdown with raw HTML: neither may read the text."""
    import html

    from forecast.plaintext import html_text

    text = "![x](http://h/b.png) <img src=x> [a](b) :red[x] $x$ **b** `c` | t |\n\n# head \"q\" 's'"
    escaped = html_text(text)
    assert not re.search(r"[<>\[\]()!:$*`|#\n\"']", escaped.replace("&#", "").replace(";", ""))
    assert html.unescape(escaped) == text  # the browser shows the text as written


# ---------------------------------------------------------------- uploads in a worker process


def test_an_upload_is_read_in_a_worker_that_is_killed_at_the_time_limit():
    import multiprocessing as mp

    from forecast.ui.upload import load_upload

    model = load_upload(TINY_TEXT.encode(), "tiny.yaml")  # a compiled Model comes back
    assert model.id == "tiny" and model.content_hash == forecast.load_model(TINY).content_hash
    assert not model.posteriors().empty
    with pytest.raises(ModelError, match=r"longer than 0\.001 s, the limit for uploads"):
        load_upload(wide_node(16).encode(), "slow.yaml", seconds=0.001)
    assert [p for p in mp.active_children() if p.is_alive()] == []  # the worker was killed


def test_an_upload_that_needs_too_much_memory_stops_the_worker_not_the_server():
    from forecast.ui.upload import load_upload

    with pytest.raises(ModelError, match="an upload may use|memory budget") as info:
        load_upload(wide_node(20).encode(), "wide.yaml", seconds=60, memory=48 << 20)
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match="duplicate key") as info:  # errors come back as errors
        load_upload(b"id: a\nid: b\n", "dup.yaml")


def test_uploads_are_remembered_per_session_and_only_the_latest():
    from forecast.ui import upload

    session: dict = {}
    first = upload.session_model(session, TINY_TEXT.encode(), "tiny.yaml")
    assert upload.session_model(session, TINY_TEXT.encode(), "tiny.yaml") is first  # no new worker
    other = TINY_TEXT.replace("id: tiny", "id: tiny2", 1).encode()
    second = upload.session_model(session, other, "tiny2.yaml")
    assert second.id == "tiny2"
    assert list(session) == [upload.SESSION_KEY] and session[upload.SESSION_KEY][1] is second
    with pytest.raises(ModelError, match="duplicate key"):
        upload.session_model(session, b"id: a\nid: b\n", "dup.yaml")
    assert not any(isinstance(v[1], forecast.Model) for v in session.values())  # the old one went
    other_session: dict = {}
    assert upload.session_model(other_session, other, "tiny2.yaml") is not second  # not shared


def test_the_app_has_no_upload_cache_shared_by_all_sessions():
    source = (ROOT / "forecast" / "ui" / "workspace.py").read_text(encoding="utf-8")
    assert "model_from_text" not in source and "model_from_bytes" not in source  # via upload.py
    assert "upload_worker.session_model" in source


# ---------------------------------------------------------------- numbers that mislead


def test_strong_items_that_cancel_out_are_not_impossible(tiny):
    import datetime

    from forecast.evidence import EvidenceItem

    def item(i: str, no: float, yes: float) -> EvidenceItem:
        return EvidenceItem(
            id=i,
            date=datetime.date(2018, 1, 1),
            title=i,
            source="src1",
            node="rain",
            likelihood={"no": no, "yes": yes},
        )

    items = [item(f"a{k}", 1.0, 1e-200) for k in range(4)] + [
        item(f"b{k}", 1e-200, 1.0) for k in range(4)
    ]
    items = [x for pair in zip(items[:4], items[4:], strict=True) for x in pair]
    table = tiny.posteriors(items=items, targets=["rain"])
    assert dict(zip(table["state"], table["probability"], strict=True)) == pytest.approx(
        dict(
            zip(
                *[tiny.posteriors(targets=["rain"])[c] for c in ("state", "probability")],
                strict=True,
            )
        )
    )
    one_way = tiny.posteriors(items=items[::2], targets=["rain"])  # all four pointing to "no"
    assert one_way.loc[one_way["state"] == "no", "probability"].item() == pytest.approx(1.0)


@pytest.mark.parametrize("confidence", [1e-2, 3e-4, 1e-6])
def test_low_confidence_widens_the_intervals_instead_of_collapsing_them(confidence):
    from forecast.analysis import uncertainty

    data = copy.deepcopy(TINY_DATA)
    data["default_confidence"] = confidence
    model = forecast.model_from_text(yaml.safe_dump(data), "low.yaml")
    table = uncertainty(model, 2000, 0, targets=["rain"])
    row = table[table["state"] == "no"].iloc[0]
    assert row["p95"] - row["p05"] > 0.9, row.to_dict()  # almost anything is possible
    assert table[["p05", "p50", "p95"]].notna().all().all()


def test_a_sum_just_off_one_shows_the_digits_that_differ():
    text = TINY_TEXT.replace("{no: 0.7, yes: 0.3}", "{no: 0.7, yes: 0.3000015}", 1)
    with pytest.raises(ModelError, match=r"sums to 1\.0000015, not 1"):
        forecast.model_from_text(text, "off.yaml")


def test_a_new_model_saved_while_another_program_creates_the_file_is_refused(
    tmp_path, monkeypatch, tiny
):
    from forecast import writer

    target = tmp_path / "new_model.yaml"
    real_render = writer.render

    def render_then_someone_else_saves(*args, **kwargs):
        text = real_render(*args, **kwargs)
        target.write_text("id: theirs\n", encoding="utf-8")  # another program, meanwhile
        return text

    monkeypatch.setattr(writer, "render", render_then_someone_else_saves)
    with pytest.raises(writer.FileChangedError, match="created by someone else meanwhile"):
        writer.save_model(tiny.spec, target)
    assert target.read_text(encoding="utf-8") == "id: theirs\n"  # theirs is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new_model.yaml"]
