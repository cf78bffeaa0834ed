"""Structured scenario forecasting with Bayesian networks.

import forecast
model = forecast.load_model("models/russia_iran.yaml")
model.posteriors(hard={"assad_question": "negotiated_exit"})
"""

from . import elicitation as elicitation  # the team-elicitation module (docs/api.md)
from .analysis import (
    explain,
    explain_sequence,
    indicators,
    parameter_sensitivity,
    sensitivity,
    uncertainty,
)
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
from .journal import history, record, resolve, score
from .model import Model, load_model, model_from_text
from .runs import run, timeline
from .sweep import sweep, sweep_uncertainty
from .words import words

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
    "Scenario",
    "ensemble",
    "explain",
    "explain_sequence",
    "export",
    "history",
    "indicators",
    "load_evidence",
    "load_model",
    "load_scenario",
    "load_scenarios",
    "model_from_text",
    "parameter_sensitivity",
    "record",
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
]
