"""Names, numbers and chart ranges for people: one rule for every surface."""

import math

from forecast.present import Names, clip, percent, points, span, whole_percent, zoom


def test_percent_one_decimal_and_tiny_values_keep_two():
    assert percent(0.1234) == "12.3%"
    assert percent(0.0004) == "0.04%"
    assert percent(0) == "0.0%"
    assert percent(None) == "" and percent(math.nan) == "" and percent(math.inf) == ""


def test_points_say_no_change_for_zero_and_use_a_true_minus():
    assert points(0.042) == "+4.2 pts"
    assert points(-0.003) == "−0.3 pts"
    assert points(0.0) == points(0.0004) == "no change"
    assert points(None) == "" and span(0.125) == "12.5 pts" and span(math.nan) == ""


def test_whole_percent_for_small_spaces():
    assert whole_percent(0.634) == "63%"
    assert whole_percent(0.001) == "<1%" and whole_percent(0.999) == ">99%"
    assert whole_percent(1.0) == "100%" and whole_percent(0.0) == "0%"


def test_clip_marks_the_cut():
    assert clip("short", 10) == "short"
    assert clip("a long label", 6) == "a lon…" and len(clip("a long label", 6)) == 6


def test_zoom_widens_by_fifteen_percent_of_the_span_within_zero_and_one():
    lo, hi = zoom([0.4, 0.6])
    assert math.isclose(lo, 0.37) and math.isclose(hi, 0.63)
    assert zoom([0.5, 0.5]) == (0.48, 0.52)  # at least the pad
    assert zoom([0.0, 1.0]) == (0.0, 1.0)


def test_names_fall_back_to_readable_ids():
    names = Names(nodes={"a": "Alpha"}, states={"a": {"x": "Ex"}}, sources={"s": "Someone (2017)"})
    assert names.node("a") == "Alpha" and names.node("some_node") == "Some node"
    assert names.state("a", "x") == "Ex" and names.state("a", "not_set") == "Not set"
    assert names.pair("a", "x") == "Alpha: Ex"
    assert names.source("s") == "Someone (2017)" and names.source("other") == "other"
    assert Names.from_attrs(names.attrs()) == names


def test_the_app_zooms_its_range_charts_like_the_reports(tiny):
    """The app's tornado and parameter charts use present.zoom, as the HTML report's bars do."""
    import forecast
    from forecast.ui.analysis import parameter_chart, parameter_data, tornado_chart, tornado_data

    sens = forecast.sensitivity(tiny, "outcome=good", hard={"rain": "yes"})
    data = tornado_data(tiny, sens)
    base = float(sens.attrs["baseline"])
    domain = tornado_chart(data, base).to_dict()["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain == list(zoom([*data["low"], *data["high"], base]))
    params = forecast.parameter_sensitivity(tiny, "outcome=good")
    pdata = parameter_data(tiny, params)
    pbase = float(params["base"].iloc[0])
    chart = parameter_chart(pdata, pbase).to_dict()
    assert chart["layer"][0]["encoding"]["x"]["scale"]["domain"] == list(
        zoom([*pdata["low"], *pdata["high"], pbase])
    )
