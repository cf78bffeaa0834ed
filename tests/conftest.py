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
