"""The error hierarchy: every user-facing failure is a ForecastError with a readable message."""

from __future__ import annotations


class ForecastError(ValueError):
    """Base class: the CLI and the app show its message, never a traceback.

    `problems` lists every problem found (the app shows them one per line);
    the message itself is a single line.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


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
