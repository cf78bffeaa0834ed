"""Exports by suffix (.csv .xlsx .md .json .html): valid files, the report's content, atomic writes."""

import html
import importlib
import json
import pathlib
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import forecast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"  # dated items; scenarios/ below

export_module = importlib.import_module("forecast.export")  # `forecast.export` is the function


@pytest.fixture
def table(tiny):
    return tiny.posteriors(likelihood={"sprinkler": {"off": 0.2, "on": 1.0}})


@pytest.fixture
def run_table(tiny):
    scenarios = [
        forecast.load_scenario(p) for p in sorted((TINY_EVIDENCE / "scenarios").glob("*.yaml"))
    ]
    return forecast.run(tiny, scenarios)


def test_csv_round_trips_with_exactly_the_api_columns(table, run_table, tmp_path):
    for t in (table, run_table):
        path = forecast.export(t, tmp_path / "out.csv")
        back = pd.read_csv(path)
        assert list(back.columns) == list(t.columns)
        assert (
            back[["node", "state", "words"]]
            .astype(str)
            .equals(t[["node", "state", "words"]].astype(str))
        )
        np.testing.assert_allclose(
            back["probability"], t["probability"], rtol=0, atol=1e-12
        )  # exports round to 6 decimals
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == [
        "scenario",
        "node",
        "state",
        "probability",
        "words",
    ]


def test_json_has_metadata_and_rows(table, tmp_path):
    path = forecast.export(table, tmp_path / "out.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["metadata"]["model_id"] == "tiny"
    assert data["metadata"]["as_of"] == "2018-01-31"
    assert len(data["rows"]) == len(table)
    assert list(data["rows"][0]) == ["node", "state", "probability", "words"]
    np.testing.assert_allclose(
        [r["probability"] for r in data["rows"]],
        table["probability"],
        atol=1e-12,  # JSON rounds to 12 decimals
    )


def test_json_of_a_timeline_has_no_nan(tiny, tmp_path):
    timeline = forecast.timeline(tiny, forecast.load_evidence(TINY_EVIDENCE))
    text = forecast.export(timeline, tmp_path / "t.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "NaT" not in text
    rows = json.loads(text)["rows"]
    assert rows[0]["date"] is None and rows[-1]["date"] == "2018-03-01"


def sheet_text(sheet) -> list[str]:
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


def test_xlsx_report_sheet_is_readable(table, tmp_path):
    path = forecast.export(table, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "Report"
    assert {"Report", "Data", "Evidence", "Resolution"} <= set(book.sheetnames)
    cells = sheet_text(book["Report"])
    assert "Will the outcome be good by 2020?" in cells  # the question
    assert "tiny" in cells and "2018-01-31" in cells  # model id and as-of date
    assert "Rain" in cells and "Wet grass" in cells  # labels, not only ids
    rain_yes = table.loc[(table.node == "rain") & (table.state == "yes"), "probability"].iloc[0]
    numbers = [c for row in book["Report"].iter_rows() for c in row if isinstance(c.value, float)]
    assert rain_yes == pytest.approx(
        next(c.value for c in numbers if abs(c.value - rain_yes) < 1e-6), abs=1e-6
    )
    assert {c.number_format for c in numbers} >= {"0.0%"}  # percentages stored as numbers
    assert "likely" in cells or "unlikely" in cells  # estimative words
    evidence = sheet_text(book["Evidence"])
    assert "Reported weights" in evidence and "Sprinkler" in evidence  # named, not ids
    data = pd.read_excel(path, sheet_name="Data")
    assert list(data.columns) == list(table.columns)
    np.testing.assert_allclose(
        data["probability"], table["probability"], atol=5e-7
    )  # exports round to 6 decimals


def test_markdown_is_a_paste_ready_table(table, tmp_path):
    text = forecast.export(table, tmp_path / "out.md").read_text(encoding="utf-8")
    assert text.startswith("# Tiny test model")
    assert "Will the outcome be good by 2020?" in text
    results = text.split("## Results")[1].strip().splitlines()
    assert results[0].startswith("|") and "Probability" in results[0] and "In words" in results[0]
    assert set(results[1].replace("|", "").strip()) <= set("-: ")
    assert len(results) == 2 + len(table)
    assert "70.0%" in text or "%" in results[2]
    # a report for people: labels and readable states, never the ids
    assert "| Wet grass" in results[-1] and "| Bad " in results[-1] and "outcome" not in results[-1]
    assert "Sprinkler" in text.split("## Evidence used")[1] and "sprinkler" not in text
    assert "**Wet grass: Good**: It is good." in text  # resolution criteria by name


def test_reports_show_changes_in_points_and_sources_by_name(tiny):
    ev = forecast.Evidence(hard={"rain": "yes"})
    table = tiny.posteriors(scenario=ev)
    base = tiny.posteriors().set_index(["node", "state"])["probability"]
    table["baseline"] = [base[(n, s)] for n, s in zip(table["node"], table["state"], strict=True)]
    table["delta_probability"] = table["probability"] - table["baseline"]
    table.attrs["source_labels"] = {"src1": "Someone (2017)"}
    shown = export_module.readable_table(table)
    good = shown[(shown["Node"] == "Wet grass") & (shown["State"] == "Good")].iloc[0]
    delta = 100 * float(
        table.loc[(table.node == "outcome") & (table.state == "good"), "delta_probability"].iloc[0]
    )
    assert good["Change from the model's belief"] == f"{delta:+.1f} pts".replace("-", "−")
    assert "%" not in good["Change from the model's belief"]
    md = export_module.render(table, "md")
    assert (
        "| Definite state | Rain" in md and "| Yes " in md
    )  # the evidence: kind, node and state by name
    assert (
        export_module.points(-0.077) == "−7.7 pts" and export_module.points(0.0001) == "no change"
    )
    evidence = export_module.readable_evidence(
        {
            **table.attrs,
            "evidence": [
                {
                    "kind": "item",
                    "node": "sprinkler",
                    "date": "2018-02-01",
                    "title": "A report",
                    "weights": {"off": 0.2, "on": 1.0},
                    "source": "src1",
                }
            ],
        }
    )
    assert evidence.iloc[0].to_dict() == {
        "Kind": "Evidence item",
        "Bears on": "Sprinkler",
        "Detail": "2018-02-01 A report (Off: 0.2, On: 1)",
        "Source": "Someone (2017)",
    }


class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)
        self._in_cell = tag in ("td", "th", "dd", "dt")

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        if self._in_cell and data.strip():
            self.cells.append(data.strip())


def test_html_is_well_formed_and_self_contained(table, tmp_path):
    text = forecast.export(table, tmp_path / "out.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.stack == []
    assert "table" in checker.tags and "script" not in checker.tags
    assert "src=" not in text and "href=" not in text  # no external resources
    assert "Will the outcome be good by 2020?" in checker.cells
    assert "Wet grass" in checker.cells


def test_html_escapes_model_text(tmp_path):
    text = (TINY_EVIDENCE.parent / "tiny.yaml").read_text(encoding="utf-8")
    model = forecast.model_from_text(
        text.replace("label: Rain", 'label: "<b>Rain</b> & co"'), "x.yaml"
    )
    html = forecast.export(model.posteriors(), tmp_path / "x.html").read_text(encoding="utf-8")
    assert "<b>Rain</b>" not in html and "&lt;b&gt;Rain&lt;/b&gt; &amp; co" in html


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".md", ".json", ".html"])
def test_every_suffix_writes_a_file(table, tmp_path, suffix):
    path = forecast.export(table, tmp_path / f"out{suffix}")
    assert path.exists() and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out{suffix}"]  # no temporary files left


def test_unknown_suffix_is_a_clear_error(table, tmp_path):
    with pytest.raises(forecast.ForecastError) as info:
        forecast.export(table, tmp_path / "out.pdf")
    assert "'.pdf'" in str(info.value) and ".xlsx" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(forecast.ForecastError, match="DataFrame"):
        forecast.export({"node": ["a"]}, tmp_path / "out.csv")


def test_failed_xlsx_write_leaves_no_file_and_keeps_the_old_one(table, tmp_path, monkeypatch):
    def broken(t):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "xlsx_bytes", broken)
    with pytest.raises(RuntimeError):
        forecast.export(table, tmp_path / "new.xlsx")
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old.xlsx"
    old.write_bytes(b"the previous report")
    with pytest.raises(RuntimeError):
        forecast.export(table, old)
    assert old.read_bytes() == b"the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["old.xlsx"]


@pytest.mark.parametrize("suffix", [".csv", ".md", ".json", ".html"])
def test_failed_text_write_leaves_no_file_and_keeps_the_old_one(
    table, tmp_path, monkeypatch, suffix
):
    old = tmp_path / f"report{suffix}"
    old.write_text("the previous report", encoding="utf-8")
    real_write_text = pathlib.Path.write_text

    def half_then_fail(self, data, *args, **kwargs):
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_fail)
    with pytest.raises(
        forecast.ForecastError, match=rf"cannot write .*report\{suffix}: .*disk is full"
    ):
        forecast.export(table, old)
    with pytest.raises(forecast.ForecastError, match="disk is full"):
        forecast.export(table, tmp_path / f"new{suffix}")
    monkeypatch.undo()
    assert old.read_text(encoding="utf-8") == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == [old.name]


def test_exports_into_a_new_folder(table, tmp_path):
    path = forecast.export(table, tmp_path / "reports" / "2018" / "out.csv")
    assert path.exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_new_report_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(
    table, tmp_path, suffix
):
    """The temporary file of the atomic write is private (0600); the report must not stay so."""
    import os

    old_mask = os.umask(0o022)
    try:
        new = forecast.export(table, tmp_path / f"new{suffix}")
        assert new.stat().st_mode & 0o777 == 0o644
        os.chmod(new, 0o640)
        forecast.export(table, new)
        assert new.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old_mask)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".md", ".json", ".html"])
def test_timeline_and_run_tables_export_in_every_format(tiny, run_table, tmp_path, suffix):
    timeline = forecast.timeline(tiny, forecast.load_evidence(TINY_EVIDENCE))
    for name, t in (("timeline", timeline), ("run", run_table)):
        path = forecast.export(t, tmp_path / f"{name}{suffix}")
        if suffix == ".xlsx":
            assert len(pd.read_excel(path, sheet_name="Data")) == len(t)
        else:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\b(nan|nat)\b", text, re.IGNORECASE)


def _every_key_table(tiny):
    """A table whose attrs carry every declared metadata key (forecast.results.KEYS)."""
    from forecast.analysis import with_intervals
    from forecast.results import KEYS

    intervals = with_intervals(
        tiny.posteriors(hard={"rain": "yes"}),
        forecast.uncertainty(tiny, samples=20, hard={"rain": "yes"}),
    )
    table = forecast.explain_sequence(tiny, "outcome=good", hard={"rain": "yes"})
    table.attrs = {
        **table.attrs,
        "interval_settings": intervals.attrs["interval_settings"],
        "scenario": "Rainy day",
        "scenarios": ["a", "b"],
        "target_nodes": ["outcome"],
        "baseline": 0.5,
        "target_entropy_bits": 0.9,
        "seed": 0,
        "draws_used": 20,
        "samples": 20,
    }
    assert set(KEYS) <= set(table.attrs), sorted(set(KEYS) - set(table.attrs))
    return table


def test_every_writer_renders_every_declared_metadata_key(tiny, tmp_path):
    from forecast.naming import RENDERERS, Naming
    from forecast.results import KEYS
    from forecast.results import __doc__ as declared

    assert set(RENDERERS) == set(KEYS)
    for key in KEYS:
        assert key in declared  # documented in the one place keys are declared
    table = _every_key_table(tiny)
    naming = Naming.of(table.attrs)
    shown = naming.header(table.attrs)
    assert {label for label, _ in RENDERERS.values() if label} <= {label for label, _ in shown}
    md = forecast.export(table, tmp_path / "t.md").read_text(encoding="utf-8")
    page = forecast.export(table, tmp_path / "t.html").read_text(encoding="utf-8")
    book = openpyxl.load_workbook(forecast.export(table, tmp_path / "t.xlsx"))
    cells = sheet_text(book["Report"])
    meta = json.loads(forecast.export(table, tmp_path / "t.json").read_text(encoding="utf-8"))
    for label, text in shown:
        assert f"**{label}:**" in md and export_module.md_text(text) in md, label
        assert html.escape(text) in page, label
        assert label in cells and text in cells, label
    assert set(KEYS) <= set(meta["metadata"])
    # no id leaks through a summary: the target is named, the numbers are the analysis's
    summary = dict(shown)["Summary"]
    assert "outcome=good" not in summary and summary.startswith("Wet grass: Good")
    assert "Rain" in md.split("## Evidence used")[1] and "rain" not in summary


def test_a_batch_run_export_puts_the_side_by_side_table_first(run_table, tmp_path):
    md = forecast.export(run_table, tmp_path / "run.md").read_text(encoding="utf-8")
    assert md.index("## Side by side") < md.index("## Evidence used") < md.index("## Every row")
    header = next(
        line for line in md.split("## Side by side")[1].splitlines() if line.startswith("|")
    )
    assert "| Rainy |" in header or "rainy" in header.lower()
    book = openpyxl.load_workbook(forecast.export(run_table, tmp_path / "run.xlsx"))
    assert book.sheetnames[0] == "Side by side"
    values = [c for row in book["Side by side"].iter_rows(min_row=2) for c in row[2:]]
    assert values and all(
        isinstance(c.value, int | float) and c.number_format == "0.0%" for c in values
    )
    page = forecast.export(run_table, tmp_path / "run.html").read_text(encoding="utf-8")
    assert page.index("Side by side") < page.index("Evidence used")


def test_a_comparison_lists_a_shared_evidence_item_once(tiny, tmp_path):
    items = forecast.load_evidence(TINY_EVIDENCE)
    evs = [tiny.evidence(items=items), tiny.evidence(hard={"sprinkler": "on"}, items=items)]
    table = forecast.run(tiny, evs, names=["Items only", "Sprinkler on"])
    md = forecast.export(table, tmp_path / "c.md").read_text(encoding="utf-8")
    evidence = md.split("## Evidence used")[1].split("## ")[0]
    for it in items:
        assert evidence.count(it.title) == 1
    assert "every scenario" in evidence and "| Sprinkler on | Definite state |" in evidence
