"""Structured scenario forecasting with Bayesian networks.

import forecast
model = forecast.load_model("models/russia_iran.yaml")
model.posteriors(hard={"assad_question": "negotiated_exit"})
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .ensemble import Ensemble, ensemble
from .errors import EvidenceError, ForecastError, JournalError, MemoryBudgetError, ModelError
from .evidence import (
    Evidence,
    EvidenceItem,
    Scenario,
    load_evidence,
    load_scenario,
    load_scenarios,
    save_scenario,
)
from .export import export
from .formats import write_model_file
from .model import Model, load_model, model_from_text
from .reporting import Report, report
from .runs import evidence_as_of, run, timeline
from .sweep import sweep, sweep_uncertainty
from .words import words
from .writers import write_report

# The heavier parts (the journal's storage and scoring, team elicitation, the analyses) are
# imported on first use (PEP 562), so a command that does not use them does not pay for them.
# (Names that are also submodule names, such as `words` or `export`, are imported above: a
# submodule imported later would otherwise take their place in the package.)
_LAZY = {
    "audit": ".claims",
    "load_claims": ".claims",
    "model_warnings": ".checks",
    "elicitation": ".elicitation",
    "explain": ".analysis",
    "explain_sequence": ".analysis",
    "indicators": ".analysis",
    "parameter_sensitivity": ".analysis",
    "sensitivity": ".analysis",
    "uncertainty": ".analysis",
    "history": ".journal",
    "record": ".journal",
    "resolve": ".journal",
    "score": ".journal",
}

if _TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from . import elicitation as elicitation
    from .analysis import (
        explain,
        explain_sequence,
        indicators,
        parameter_sensitivity,
        sensitivity,
        uncertainty,
    )
    from .checks import model_warnings
    from .claims import audit, load_claims
    from .journal import history, record, resolve, score


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'forecast' has no attribute '{name}'")
    mod = _importlib.import_module(module, __name__)
    value = mod if name == "elicitation" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Ensemble",
    "Evidence",
    "EvidenceError",
    "EvidenceItem",
    "ForecastError",
    "JournalError",
    "MemoryBudgetError",
    "Model",
    "ModelError",
    "Report",
    "Scenario",
    "audit",
    "ensemble",
    "evidence_as_of",
    "explain",
    "explain_sequence",
    "export",
    "history",
    "indicators",
    "load_claims",
    "load_evidence",
    "load_model",
    "load_scenario",
    "load_scenarios",
    "model_from_text",
    "model_warnings",
    "parameter_sensitivity",
    "record",
    "report",
    "resolve",
    "run",
    "save_scenario",
    "score",
    "sensitivity",
    "sweep",
    "sweep_uncertainty",
    "timeline",
    "uncertainty",
    "words",
    "write_model_file",
    "write_report",
]
