"""The error hierarchy: every user-facing failure is a ForecastError with a readable message."""

from __future__ import annotations


class ForecastError(ValueError):
    """Base class: the CLI and the app show its message, never a traceback.

    `problems` lists every problem found (the app shows them one per line);
    the message itself is a single line.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        message = one_line(message)
        super().__init__(message)
        self.problems = [one_line(p) for p in problems] if problems else [message]


_BREAKS: dict[int, str] = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """`text` with its line breaks written as escapes (a name from a hostile file may hold one)."""
    return text.translate(_BREAKS)


class ModelError(ForecastError):
    """A model file (or model object) is invalid."""


class EvidenceError(ForecastError):
    """Evidence is unknown, malformed, or impossible under the model."""


class MemoryBudgetError(ModelError):
    """Compiling or querying the model would need more memory than the budget allows."""


class JournalError(ForecastError):
    """The forecast journal cannot be read or written."""


class OutputExistsError(ForecastError):
    """An output that must not replace an existing file found one there (perhaps just created by another save)."""


class ArgumentError(EvidenceError):
    """A setting of a public function is out of range (`samples=1`, `delta=2`).

    `argument` names the parameter, so a shell can word the message with its own
    option name (`renamed`): the CLI says "--intervals 1", not "samples 1".
    """

    def __init__(self, argument: str, value: object, rule: str) -> None:
        super().__init__(f"{argument} {value!r} {rule}")
        self.argument, self.value, self.rule = argument, value, rule

    def renamed(self, argument: str) -> ArgumentError:
        return ArgumentError(argument, self.value, self.rule)

    @classmethod
    def check_whole(cls, argument: str, value: object, minimum: int) -> int:
        """`value` as an int if it is a whole number of at least `minimum` (not a bool)."""
        if (
            isinstance(value, bool)
            or not hasattr(value, "__index__")
            or value.__index__() < minimum
        ):
            rule = (
                "a non-negative whole number"
                if minimum == 0
                else f"a whole number of at least {minimum}"
            )
            raise cls(argument, value, f"must be {rule}")
        return value.__index__()

    @classmethod
    def check_fraction(cls, argument: str, value: object) -> float:
        """`value` as a float if it is a number above 0 and at most 1 (not a bool)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise cls(argument, value, "must be a number above 0 and at most 1")
        return float(value)
