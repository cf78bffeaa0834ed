"""Shared fixtures: the small models in tests/fixtures/, a helper that writes YAML files, and
the one harness that runs the `forecast` command line in-process."""

import contextlib
import io
import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

import forecast
from forecast.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TIMELINE_COLUMNS = ["date", "item", "weight", "node", "state", "probability", "words"]
"""The columns of `forecast.timeline`, as the API and `forecast timeline` give them."""


@pytest.fixture
def tiny() -> forecast.Model:
    """Three nodes: rain -> sprinkler, (rain, sprinkler) -> outcome (a ranked node)."""
    return forecast.load_model(FIXTURES / "tiny.yaml")


@pytest.fixture
def deterministic() -> forecast.Model:
    """b copies a; c never takes state w when a is x (for impossible evidence)."""
    return forecast.load_model(FIXTURES / "deterministic.yaml")


@pytest.fixture
def write_yaml(tmp_path):
    """write_yaml(text, name="model.yaml") -> path of a file holding the dedented text."""

    def write(text: str, name: str = "model.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


class Cli:
    """The `forecast` command line run in-process.

    cli(*args) -> (exit status, stdout, stderr), also as .code, .out and .err;
    argparse's exits count as statuses.
    It captures with its own buffers (not capsys), so it also works inside
    hypothesis tests.  cli.ok(*args) -> stdout, asserting the command succeeded.
    """

    def __call__(self, *args: object) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code
        return CliResult(code, out.getvalue(), err.getvalue())

    def ok(self, *args: object) -> str:
        code, out, err = self(*args)
        assert code == 0, err
        return out


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the session (tests/pg.py); fails with how to install it."""
    import pg

    bindir = pg.find_bin()
    if bindir is None:
        pytest.fail(pg.INSTALL_HINT, pytrace=False)
    server = pg.Server(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_db(request, tmp_path):
    """A new journal on each backend: an SQLite file, or a fresh schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "journal.sqlite3"
    return request.getfixturevalue("pg_server").url()


def hostile_text(url: str) -> str:
    """Markdown and HTML that would fetch `url` (or change the page) if rendered rather than shown."""
    return (
        f'![beacon]({url}/md.png) <img src="{url}/img.png"> [link]({url}/link) '
        f"<script>fetch('{url}/js')</script> :red[red] $x^2$ **bold** `code` | a | b |"
    )


def write_hostile_workspace(folder: Path, url: str) -> dict[str, Path]:
    """A model, an evidence item and a scenario whose every free-text field carries `hostile_text(url)`.

    Names (ids, states) cannot hold a URL with a port (no ':' allowed), so they carry
    a protocol-relative image instead.
    """
    text = hostile_text(url)
    q = repr(text).replace("\\'", "''")  # a YAML single-quoted scalar
    state = "![s](//127.0.0.1/s.png)"
    model = folder / "hostile.yaml"
    model.write_text(
        textwrap.dedent(
            f"""\
            id: hostile
            title: {q}
            description: {q}
            as_of: 2018-01-31
            question:
              text: {q}
              horizon: {q}
              resolution:
                outcome:
                  good: {q}
                  bad: {q}
            sources:
              - {{id: src1, title: {q}, author: {q}}}
            nodes:
              - id: rain
                label: {q}
                description: {q}
                rationale: {q}
                role: driver
                states: ['{state}', dry]
                sources: [src1]
                cpt:
                  rows:
                    - probabilities: ['0.7', '0.3']
              - id: outcome
                label: {q}
                description: {q}
                role: outcome
                states: [good, bad]
                parents: [rain]
                cpt:
                  rows:
                    - when: {{rain: '{state}'}}
                      probabilities: [0.8, 0.2]
                    - when: {{rain: dry}}
                      probabilities: [0.3, 0.7]
            """
        ).replace("['0.7', '0.3']", "[0.7, 0.3]"),
        encoding="utf-8",
    )
    evidence = folder / "evidence"
    (evidence / "scenarios").mkdir(parents=True)
    (evidence / "items.yaml").write_text(
        textwrap.dedent(
            f"""\
            - id: item1
              date: 2018-01-01
              title: {q}
              rationale: {q}
              source: src1
              node: rain
              likelihood: {{'{state}': 1.0, dry: 0.5}}
            """
        ),
        encoding="utf-8",
    )
    (evidence / "scenarios" / "s1.yaml").write_text(
        f"name: s1\ndescription: {q}\nhard:\n  rain: dry\n", encoding="utf-8"
    )
    return {"model": model, "evidence": evidence}
