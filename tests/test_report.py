"""The report an analyst hands in (forecast.reporting + forecast.writers): every format, its content and its safety."""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import docx
import openpyxl
import pytest

import forecast
from forecast.cli import main
from forecast.language import band_text, lint
from forecast.reporting import build_report
from forecast.safety import FORMULA_START
from forecast.words import words
from forecast.writers import report_bytes, to_html, to_markdown, write_report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"
FORMATS = ("docx", "xlsx", "html", "md", "csv", "json")


@pytest.fixture(scope="module")
def model():
    return forecast.load_model(TINY)


@pytest.fixture(scope="module")
def items():
    return forecast.load_evidence(TINY_EVIDENCE / "items.yaml")


@pytest.fixture(scope="module")
def driven(model, items):
    """A report with a driver set (sprinkler on) and every dated item."""
    return forecast.report(model, {"hard": {"sprinkler": "on"}}, items=items, author="A. Analyst")


def test_judgements_come_from_the_numbers(model, items, driven):
    ev = model.evidence(hard={"sprinkler": "on"}, items=items)
    now = model.posteriors(scenario=ev)
    (j,) = driven.judgements
    outcome = now[now["node"] == "outcome"].set_index("state")["probability"]
    assert j.state == outcome.idxmax() and j.probability == pytest.approx(outcome.max())
    phrase, band = band_text(j.probability)
    assert phrase == words(j.probability)
    assert f"{phrase} ({band})" in j.likelihood_sentence
    assert f"{100 * j.probability:.1f}%" in j.likelihood_sentence
    assert "confidence" not in j.likelihood_sentence
    assert j.confidence in j.confidence_sentence and "90% interval" in j.confidence_sentence
    assert j.low <= j.probability <= j.high
    # the movers are the evidence-impact analysis's largest contributions
    exp = forecast.explain(model, f"outcome={j.state}", scenario=ev)
    biggest = exp.loc[exp["delta_probability"].abs().idxmax()]
    assert j.movers[0].change == pytest.approx(float(biggest["delta_probability"]))
    assert "What would change the judgement" in j.watch_sentence
    assert j.indicators and j.indicators[0].name in ("Rain",)  # the only unobserved node


def test_no_evidence_says_so(model):
    rep = forecast.report(model)
    assert "No evidence is applied" in rep.judgements[0].movers_sentence
    assert rep.issue.scenario.startswith("The model's own beliefs")
    assert rep.issue.cutoff == model.spec.as_of


def test_issue_record(model, items, driven, monkeypatch):
    issue = driven.issue
    assert issue.author == "A. Analyst" and issue.model_id == "tiny"
    assert issue.model_hash == model.content_hash and issue.model_modified is not None
    assert issue.cutoff == max(it.date for it in items)
    assert issue.question == model.spec.question.text and issue.horizon
    assert {c.state for c in issue.resolution} == {"Good", "Bad"}
    monkeypatch.setenv("FORECAST_AUTHOR", "Env Author")
    assert forecast.report(model).issue.author == "Env Author"
    cites = [c.text for c in driven.bibliography]
    assert cites == ["Someone, A source, 2017-01-01."]  # full citation, not 'Someone (2017)'


def _docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_docx_has_judgements_issue_record_tables_and_images(driven, tmp_path):
    path = write_report(driven, tmp_path / "report.docx")
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["Key judgements", "Wet grass"]
    for j in driven.judgements:
        assert j.paragraph in paragraphs  # the key-judgement paragraph of each outcome
    text = _docx_text(document)
    for field, value in driven.issue.rows():
        if value:
            assert field in text and value in text  # the issue record
    assert len(document.tables) >= 3
    outcome_table = next(t for t in document.tables if t.rows[0].cells[0].text == "Outcome")
    assert {r.cells[1].text for r in outcome_table.rows[1:]} == {"Good", "Bad"}  # readable labels
    assert len(document.inline_shapes) >= 2  # the outcome chart and the timeline, as images
    assert "Someone, A source, 2017-01-01." in paragraphs  # the bibliography
    assert "Sprinkler seen running" in text  # the evidence used


def _numbers(book):
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, float):
                    yield sheet.title, cell


def test_xlsx_percentages_are_numbers_and_nothing_has_float_noise(driven, tmp_path):
    book = openpyxl.load_workbook(write_report(driven, tmp_path / "r.xlsx"))
    assert book.sheetnames[:2] == ["Report", "Data"]
    report_cells = [c for title, c in _numbers(book) if title == "Report"]
    percents = [c for c in report_cells if c.number_format == "0.0%"]
    assert percents and all(0 <= c.value <= 1 for c in percents)
    j = driven.judgements[0]
    assert any(abs(c.value - j.probability) < 1e-6 for c in percents)
    for _, cell in _numbers(book):
        assert round(cell.value, 6) == cell.value, cell.value  # at most 6 decimals
    texts = [c.value for row in book["Report"].iter_rows() for c in row if isinstance(c.value, str)]
    assert j.paragraph in texts and not any(re.fullmatch(r"\d+\.\d%", t) for t in texts)
    data = book["Data"]
    header = [c.value for c in data[1]]
    assert header[:3] == ["scenario", "node", "state"]
    assert {c.value for c in data["B"][1:]} == {"rain", "sprinkler", "outcome"}  # ids
    assert "Charts" in book.sheetnames and book["Charts"]._images


def test_csv_and_json_are_tidy(driven):
    rows = list(csv.DictReader(io.StringIO(report_bytes(driven, "csv").decode())))
    assert {r["node"] for r in rows} == {"rain", "sprinkler", "outcome"}
    assert list(rows[0])[:5] == ["scenario", "node", "state", "probability", "words"]
    assert all(len(r["probability"].split(".")[-1]) <= 6 for r in rows)
    data = json.loads(report_bytes(driven, "json"))
    assert data["issue"]["author"] == "A. Analyst"
    assert data["judgements"][0]["paragraph"] == driven.judgements[0].paragraph
    assert {r["kind"] for r in data["evidence"]} == {"hard", "item"}


def test_markdown_puts_judgements_first(driven):
    md = to_markdown(driven)
    heads = re.findall(r"^## (.+)$", md, flags=re.M)
    assert heads[:2] == ["Key judgements", "Issue record"]
    assert md.index("we judge") < md.index("| Outcome")


def test_html_is_self_contained_with_a_policy(driven):
    page = to_html(driven)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower() and "http://" not in page.replace("http://www.w3.org", "")
    assert page.index("Key judgements") < page.index("Issue record") < page.index("<svg")


def test_comparison_puts_the_side_by_side_table_first(model, tmp_path):
    scenarios = [
        forecast.load_scenario(p) for p in sorted((TINY_EVIDENCE / "scenarios").glob("*.yaml"))
    ]
    rep = forecast.report(model, scenarios[0], compare=scenarios[1:])
    main_tables = [t.title for t in rep.tables if not t.appendix]
    assert main_tables[0] == "Side by side"
    assert [c.header for c in rep.tables[0].columns][2:] == [s.display for s in scenarios]
    assert any(t.appendix and t.title.startswith("All scenarios") for t in rep.tables)
    md = to_markdown(rep)
    assert md.index("## Side by side") < md.index("## Outcomes") < md.index("## Appendix")
    assert set(rep.data["scenario"]) == {s.display for s in scenarios}


# ---------------------------------------------------------------- language rules


def test_linter_fails_on_a_sentence_mixing_likelihood_and_confidence():
    problems = lint("We judge a rupture likely with high confidence.")
    assert problems and "confidence" in problems[0]
    assert lint("We judge a rupture likely (55–80%). Our confidence is high.") == []


def test_linter_fails_on_the_other_row_and_on_wrong_bands():
    assert any("mixes the two ICD 203 word rows" in p for p in lint("Likely here. Probable there."))
    assert any("second ICD 203 word row" in p for p in lint("A rupture is highly probable."))
    assert any("55–80%" in p for p in lint("A rupture is likely (80–95%)."))
    assert any("outside the estimative scale" in p for p in lint("It might perhaps happen."))
    assert lint("Remote regions are likely (55–80%).", names=["Remote regions"]) == []


def test_every_generated_report_passes_the_linter(model, items, driven):
    reports = [
        driven,
        forecast.report(model),
        forecast.report(model, {"hard": {"rain": "yes"}}),
        forecast.report(forecast.load_model(FIXTURES / "deterministic.yaml")),
    ]
    for rep in reports:
        for j in rep.judgements:
            assert lint(j.paragraph, rep.names) == [], j.paragraph
        assert lint(to_markdown(rep).replace("\\", ""), rep.names) == []


# ---------------------------------------------------------------- hostile text


def _hostile(text: str) -> forecast.Model:
    return forecast.model_from_text(
        text.replace("label: Rain", 'label: "=HYPERLINK(\\"http://x.test/\\",\\"Rain\\")"')
        .replace("label: Wet grass", 'label: "@SUM(1+1)"')
        .replace("label: Sprinkler", 'label: "<script>alert(1)</script> | -2+3"')
        .replace("title: Tiny test model", 'title: "+cmd|calc"'),
        "hostile.yaml",
    )


def _live(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def test_labels_that_look_like_formulas_never_become_live_cells(items, tmp_path):
    model = _hostile(TINY.read_text(encoding="utf-8"))
    rep = forecast.report(model, {"hard": {"sprinkler": "on"}}, items=items)
    table = model.posteriors(hard={"sprinkler": "on"})
    for path in (
        write_report(rep, tmp_path / "r.xlsx"),
        forecast.export(table, tmp_path / "t.xlsx"),
    ):
        book = openpyxl.load_workbook(path)
        cells = [c.value for s in book.worksheets for row in s.iter_rows() for c in row]
        assert not [v for v in cells if _live(v)]
        assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in cells)
        assert any(isinstance(v, float) for v in cells)  # numbers stay numbers
    exported = forecast.export(table, tmp_path / "t.csv").read_text(encoding="utf-8")
    for text in (report_bytes(rep, "csv").decode(), exported):
        for row in csv.reader(io.StringIO(text)):
            for value in row:
                if _live(value):
                    float(value)  # only a number may start with '-' or '+'


def _same_columns(md: str) -> None:
    """Every row of every Markdown table has its header's number of cells (no stray '|')."""
    cells = None
    for line in md.splitlines():
        if not line.startswith("|"):
            cells = None
            continue
        n = len(re.findall(r"(?<!\\)\|", line))
        cells = n if cells is None else cells
        assert n == cells, line


def test_markdown_escapes_html_and_table_syntax(items, tmp_path):
    model = _hostile(TINY.read_text(encoding="utf-8"))
    rep = forecast.report(model, {"hard": {"sprinkler": "on"}}, items=items)
    table = model.posteriors(hard={"sprinkler": "on"})
    exported = forecast.export(table, tmp_path / "t.md").read_text(encoding="utf-8")
    for md in (to_markdown(rep), exported):
        assert "<script" not in md and "&lt;script&gt;" in md
        _same_columns(md)
    page = to_html(rep)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


# ---------------------------------------------------------------- files


def test_a_killed_xlsx_export_leaves_no_temporary_file(tmp_path):
    code = (
        "import forecast, sys\n"
        f"model = forecast.load_model({str(TINY)!r})\n"
        "rep = forecast.report(model)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        f"    forecast.write_report(rep, {str(tmp_path / 'r.xlsx')!r})\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while not (tmp_path / "r.xlsx").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.7)  # many exports in a loop: the kill lands in the middle of one
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
    openpyxl.load_workbook(tmp_path / "r.xlsx")  # and the file in place is whole


def test_every_format_writes_one_file_and_replaces_an_old_one(driven, tmp_path):
    for fmt in FORMATS:
        path = tmp_path / f"r.{fmt}"
        path.write_text("old", encoding="utf-8")
        write_report(driven, path)
        assert path.read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"r.{f}" for f in FORMATS)


def test_cli_report(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.docx"
    monkeypatch.setenv("FORECAST_AUTHOR", "From Env")
    code = main(
        [
            "report",
            str(TINY),
            "--scenario",
            str(TINY_EVIDENCE / "scenarios" / "analyst_view.yaml"),
            "--author",
            "C. Analyst",
            "--output",
            str(out),
        ]
    )
    assert code == 0 and out.exists()
    text = _docx_text(docx.Document(str(out)))
    assert "C. Analyst" in text and "From Env" not in text and "Analyst view" in text
    assert main(["report", str(TINY), "--output", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("forecast: error:") and "'.pdf'" in err[-1]
    assert not (tmp_path / "r.pdf").exists()


def test_build_report_refuses_what_is_not_a_model():
    with pytest.raises(forecast.ForecastError, match="Model"):
        build_report("models/russia_iran.yaml")  # type: ignore[arg-type]


def test_the_timeline_table_ends_at_the_outcome_table_under_a_driver_setting(model, driven):
    outcomes = next(t for t in driven.tables if t.title == "Outcomes")
    timeline = next(t for t in driven.tables if t.title.startswith("Timeline"))
    last = dict(zip([c.header for c in timeline.columns], timeline.rows[-1], strict=True))
    for row in outcomes.rows:
        assert last[f"{row[0]}: {row[1]}"] == pytest.approx(row[2])
    assert timeline.rows[0][1] == "Before any item"
    # the first row is the driver setting alone, not the model without evidence
    alone = model.posteriors(hard={"sprinkler": "on"}, targets="outcome")
    good = float(alone.loc[alone["state"] == "good", "probability"].iloc[0])
    assert timeline.rows[0][2] == pytest.approx(good)


def test_a_comparison_lists_what_each_scenario_sets_once(model):
    scenarios = [
        forecast.load_scenario(p) for p in sorted((TINY_EVIDENCE / "scenarios").glob("*.yaml"))
    ]
    rep = forecast.report(model, scenarios[0], compare=scenarios[1:])
    settings = next(t for t in rep.tables if t.title == "What each scenario sets")
    assert [r[0] for r in settings.rows] == [s.display for s in scenarios]
    assert settings.rows[0][2] == len(scenarios[0].items)


@pytest.mark.slow
def test_the_default_model_report_in_every_format_obeys_the_language_rules(tmp_path):
    root = Path(__file__).resolve().parents[1]
    model = forecast.load_model(root / "models" / "russia_iran.yaml")
    items = forecast.load_evidence(root / "evidence")
    rep = forecast.report(
        model, {"hard": {"us_russia_detente": "broad"}}, items=items, author="A. Analyst"
    )
    assert [j.node for j in rep.judgements] == model.default_targets
    texts = {fmt: report_bytes(rep, fmt) for fmt in ("md", "html", "docx")}
    document = docx.Document(io.BytesIO(texts["docx"]))
    words_of = {
        "md": texts["md"].decode().replace("\\", ""),
        "html": re.sub(r"<[^>]+>", " ", texts["html"].decode().split("<h2>Issue record")[0]),
        "docx": "\n".join(p.text for p in document.paragraphs[:12]),
    }
    for fmt, text in words_of.items():
        assert lint(text, rep.names) == [], fmt
    for j in rep.judgements:
        assert j.paragraph in words_of["docx"]
    cited = {it.source for it in items}
    assert {
        c.id for c in rep.bibliography[: len(cited & {c.id for c in rep.bibliography})]
    } <= cited
    assert all(c.title and c.author for c in rep.bibliography)  # full citations


def test_a_report_judges_the_targets_asked_for_and_at_most_a_dozen(model, tmp_path, monkeypatch):
    rep = forecast.report(model, targets=["sprinkler"])
    assert [j.node for j in rep.judgements] == ["sprinkler"] and rep.note == ""
    with pytest.raises(forecast.ForecastError, match="no node 'nope'"):
        forecast.report(model, targets=["nope"])
    from forecast import reporting

    monkeypatch.setattr(reporting, "MAX_JUDGEMENTS", 1)
    rep = forecast.report(model, targets=["outcome", "rain"])
    assert [j.node for j in rep.judgements] == ["outcome"]
    assert "judges the first 1" in rep.note and rep.note in to_markdown(rep)
    out = tmp_path / "r.md"
    assert main(["report", str(TINY), "--target", "rain", "--output", str(out)]) == 0
    assert "### Rain" in out.read_text(encoding="utf-8")
