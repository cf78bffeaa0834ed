"""docs/model.md is generated from the model file and must not go stale."""

from pathlib import Path

import forecast
from forecast.cli import main
from forecast.describe import describe_model, mermaid

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "russia_iran.yaml"
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"


def test_committed_model_doc_is_current():
    """Regenerate with `make docs` (forecast describe MODEL --output docs/model.md) when this fails."""
    committed = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    fresh = describe_model(forecast.load_model(DEFAULT_MODEL))
    assert committed.strip() == fresh.strip(), "docs/model.md is stale: run `make docs`"


def test_describe_lists_every_node_source_and_the_question():
    model = forecast.load_model(DEFAULT_MODEL)
    text = describe_model(model)
    assert model.spec.question.text.split()[0] in text
    for node in model.nodes:
        assert f"(`{node}`)" in text
        assert model.node(node).rationale.split()[0] in text
    for source in model.spec.sources:
        assert f"`{source.id}`" in text


def test_mermaid_has_an_edge_per_parent():
    tiny = forecast.load_model(TINY)
    graph = mermaid(tiny)
    assert graph.startswith("```mermaid")
    edges = [line for line in graph.splitlines() if "-->" in line]
    assert len(edges) == sum(len(tiny.parents(n)) for n in tiny.nodes)
    assert "  rain --> outcome" in edges


def test_describe_command_writes_the_file(tmp_path):
    out = tmp_path / "model.md"
    assert main(["describe", str(TINY), "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Tiny test model")


def test_model_text_cannot_become_live_markdown_or_html():
    text = (ROOT / "tests" / "fixtures" / "tiny.yaml").read_text(encoding="utf-8")
    text = text.replace("title: Tiny test model", 'title: "<script>x</script>"').replace(
        "rationale: a coin with a bias", 'rationale: "![b](http://127.0.0.1/b.png) | <img src=x>"'
    )
    md = describe_model(forecast.model_from_text(text, "hostile.yaml"))
    assert "<script>" not in md and "<img" not in md and "![b](" not in md
    row = next(line for line in md.splitlines() if line.startswith("| rationale"))
    assert row.count(" | ") == 1  # the escaped '|' stays inside its cell
