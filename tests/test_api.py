"""The public API: `forecast.__all__` is exactly what the package exports and what docs/api.md lists."""

import inspect
import re
import types
from pathlib import Path

import forecast

DOC = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
TABLES = "\n".join(
    line for line in DOC.splitlines() if line.startswith("| `")
)  # the reference rows


def public_names() -> set[str]:
    # dir(): the package imports its names on first use (forecast/__init__.py, PEP 562)
    return {
        name
        for name in dir(forecast)
        if not name.startswith("_") and not isinstance(getattr(forecast, name), types.ModuleType)
    }


def test_all_is_every_public_name_and_nothing_else():
    assert sorted(forecast.__all__) == sorted(public_names())
    assert len(forecast.__all__) == len(set(forecast.__all__))


def test_the_reference_lists_every_name_in_all_and_no_other():
    documented = set(re.findall(r"`forecast\.([A-Za-z_]\w*)", TABLES))
    assert documented == set(forecast.__all__)


def test_the_reference_lists_every_public_model_member():
    members = {n for n, _ in inspect.getmembers(forecast.Model) if not n.startswith("_")}
    members |= {"spec", "path", "memory_budget", "nodes"}  # set in __init__
    documented = set(re.findall(r"`Model\.([A-Za-z_]\w*)", TABLES))
    assert documented == members


def test_evidence_is_the_same_keyword_everywhere():
    """Every query takes scenario= and the hard/likelihood/fixed keywords (they once moved about)."""
    queries = [
        forecast.Model.posteriors,
        forecast.sensitivity,
        forecast.parameter_sensitivity,
        forecast.indicators,
        forecast.explain,
        forecast.explain_sequence,
        forecast.uncertainty,
    ]
    for fn in queries:
        params = inspect.signature(fn).parameters
        assert "scenario" in params, fn.__name__
        assert params["scenario"].kind is not inspect.Parameter.POSITIONAL_ONLY
        kwargs = [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
        assert kwargs and "EvidenceKeywords" in str(kwargs[0].annotation), fn.__name__
    assert "targets" in inspect.signature(forecast.timeline).parameters
    assert "scenario" in inspect.signature(forecast.timeline).parameters


def test_keyword_evidence_gives_the_same_answer_in_every_form(tiny):
    hard = {"rain": "yes"}
    a = tiny.posteriors(hard=hard)
    b = tiny.posteriors(scenario={"hard": hard})
    c = tiny.posteriors(scenario=tiny.evidence(hard=hard))
    assert a["probability"].tolist() == b["probability"].tolist() == c["probability"].tolist()
    left = forecast.explain(tiny, "outcome=good", scenario=tiny.evidence(hard=hard))
    right = forecast.explain(tiny, "outcome=good", hard=hard)
    assert left["delta_probability"].tolist() == right["delta_probability"].tolist()
