"""Structured scenario forecasting with Bayesian networks.

    import forecast
    model = forecast.load_model("models/russia_iran.yaml")
    model.posteriors(hard={"assad_question": "negotiated_exit"})
"""

from .errors import EvidenceError, ForecastError, JournalError, MemoryBudgetError, ModelError
from .evidence import Evidence, EvidenceItem, Scenario, load_evidence, load_scenario, load_scenarios
from .model import Model, load_model, model_from_text
from .words import words

__all__ = [
    "Evidence",
    "EvidenceError",
    "EvidenceItem",
    "ForecastError",
    "JournalError",
    "MemoryBudgetError",
    "Model",
    "ModelError",
    "Scenario",
    "load_evidence",
    "load_model",
    "load_scenario",
    "load_scenarios",
    "model_from_text",
    "words",
]
