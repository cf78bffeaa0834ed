"""Shared fixtures: the small models in tests/fixtures/, a helper that writes YAML files, and
the one harness that runs the `forecast` command line in-process."""

import contextlib
import io
import textwrap
from pathlib import Path

import pytest

import forecast
from forecast.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


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


class Cli:
    """The `forecast` command line run in-process.

    cli(*args) -> (exit status, stdout, stderr); argparse's exits count as statuses.
    It captures with its own buffers (not capsys), so it also works inside
    hypothesis tests.  cli.ok(*args) -> stdout, asserting the command succeeded.
    """

    def __call__(self, *args: object) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue(), err.getvalue()

    def ok(self, *args: object) -> str:
        code, out, err = self(*args)
        assert code == 0, err
        return out


@pytest.fixture
def cli() -> Cli:
    return Cli()
