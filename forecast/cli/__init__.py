"""The `forecast` command line: a thin shell over the package API.

Each concern registers its sub-commands from its own module.  Every
ForecastError (and any bad argument) ends as one line on stderr with exit
status 2; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import warnings
from collections.abc import Iterator, Sequence

from ..errors import ForecastError
from ..yamlio import os_error_reason
from . import analytics, audit, common, core, diff, edit, elicit, journal, report

COMMAND_MODULES = [core, analytics, journal, elicit, diff, edit, report, audit]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


@contextlib.contextmanager
def _format_warnings() -> Iterator[None]:
    """What a file format could not carry, as 'forecast: warning: ...' lines on stderr.

    Printed once the command has succeeded: a command that fails says only why.
    """
    from ..formats import FormatWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FormatWarning)
        yield
    for w in caught:
        if issubclass(w.category, FormatWarning):
            sys.stderr.write(f"forecast: warning: {w.message}\n")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="forecast", description="Scenario forecasting with Bayesian networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _format_warnings():
            return int(args.func(args) or 0)
    except ForecastError as exc:
        return common.fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("forecast: interrupted\n")
        return 130
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        where = f"{exc.filename}: " if exc.filename else "cannot write the output: " if full else ""
        return common.fail(f"{where}{os_error_reason(exc)}")
    except MemoryError:
        return common.fail("out of memory; lower FORECAST_MEMORY_BUDGET or simplify the model")
    except Exception as exc:  # a bug, not bad input: still one line, unless debugging
        if os.environ.get("FORECAST_DEBUG"):
            raise
        sys.stderr.write(
            f"forecast: internal error: {type(exc).__name__}: {exc} (set FORECAST_DEBUG=1 for details)\n"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
