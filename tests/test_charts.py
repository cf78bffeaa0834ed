"""Every chart the app draws reads only fields its data has.

Vega-Lite quietly draws an empty tooltip or axis for a field the data lacks (the
timeline's tooltip once read `title`, so "Item" was always blank); this walks
each chart's spec and checks every encoded field against the rows it is given.
"""

import pytest
from conftest import FIXTURES

import forecast
from forecast.analysis import explain_sequence, indicators, parameter_sensitivity, sensitivity
from forecast.analysis import uncertainty as draw_intervals
from forecast.ui import analysis, charts, report


@pytest.fixture(scope="module")
def items():
    return forecast.load_evidence(FIXTURES / "tiny_evidence")


def _fields(encoding: dict) -> set[str]:
    out: set[str] = set()
    for channel in encoding.values():
        for enc in channel if isinstance(channel, list) else [channel]:
            if isinstance(enc, dict) and "field" in enc:
                out.add(enc["field"])
    return out


def _views(spec: dict, data_name: str | None = None):
    """(data name, encoded fields, fields made by transforms) for every view in the spec."""
    name = (spec.get("data") or {}).get("name", data_name)
    made = {t["as"] for t in spec.get("transform", []) if isinstance(t.get("as"), str)}
    if "encoding" in spec and "mark" in spec:
        yield name, _fields(spec["encoding"]), made
    for sub in spec.get("layer", []):
        for view_name, fields, sub_made in _views(sub, name):
            yield view_name, fields, made | sub_made


def missing_fields(spec: dict) -> list[tuple[str, str]]:
    datasets = spec.get("datasets", {})
    problems = []
    for name, fields, made in _views(spec):
        rows = datasets.get(name)
        assert rows, f"a view draws data {name!r} that the spec does not carry"
        columns = set().union(*(r.keys() for r in rows))
        problems += [(name, f) for f in sorted(fields - columns - made)]
    return problems


def test_the_outcome_chart_reads_only_its_columns(tiny):
    current = tiny.posteriors()
    rows = report.outcome_rows(tiny, "outcome", current, current, current)
    assert missing_fields(charts.outcome_chart(rows).to_dict()) == []
    assert missing_fields(charts.outcome_spec(rows)) == []


def test_the_timeline_reads_only_its_columns_and_names_the_items(tiny, items):
    steps = report.timeline_steps(tiny, items)
    spec = charts.timeline_chart(steps[steps["node"] == "outcome"]).to_dict()
    assert missing_fields(spec) == []
    tooltip = {t["field"] for t in spec["encoding"]["tooltip"]}
    assert "item" in tooltip  # the item's title on hover
    assert spec["encoding"]["x"]["type"] == "temporal"  # a date axis, not steps


def test_the_analysis_charts_read_only_their_columns(tiny, items):
    ev = tiny.evidence(hard={"rain": "yes"}, items=items)
    sens = sensitivity(tiny, "outcome=good", scenario=ev)
    params = parameter_sensitivity(tiny, "outcome=good", 0.1, scenario=ev)
    ind = indicators(tiny, "outcome", scenario=tiny.evidence())
    seq = analysis.named(tiny, explain_sequence(tiny, "outcome=good", scenario=ev))
    unc = draw_intervals(tiny, 200, 0, scenario=ev)
    built = [
        analysis.tornado_chart(analysis.tornado_data(tiny, sens), sens.attrs["baseline"]),
        analysis.parameter_chart(analysis.parameter_data(tiny, params), params.attrs["baseline"]),
        analysis.indicator_chart(analysis.indicator_ranking(tiny, ind)),
        analysis.waterfall_chart(analysis.waterfall_data(seq)),
        analysis.interval_chart(analysis.interval_data(tiny, unc)),
    ]
    for chart in built:
        assert missing_fields(chart.to_dict()) == [], chart


def test_the_check_catches_a_missing_field(tiny, items):
    steps = report.timeline_steps(tiny, items).drop(columns="item")
    spec = charts.timeline_chart(steps[steps["node"] == "outcome"]).to_dict()
    assert missing_fields(spec) == [(spec["data"]["name"], "item")]
