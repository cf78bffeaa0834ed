"""One naming object for every writer: result metadata (forecast.results) in words.

Every writer (terminal, Markdown, HTML, XLSX, DOCX, the app) renders a table's
attrs through `Naming`, so the same id gets the same name everywhere and no
writer parses a sentence.  `RENDERERS` says, for every declared metadata key,
how it appears in a report header (or that it is used elsewhere: labels feed
the names, evidence its own section).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .present import Names, humanise, percent, points, span
from .results import KEYS, evidence_list

__all__ = ["ANALYSIS_TITLES", "KIND_LABELS", "RENDERERS", "Naming", "percent", "points", "span"]


KIND_LABELS = {
    "hard": "Definite state",
    "likelihood": "Reported weights",
    "fixed": "Analyst's probabilities",
    "item": "Evidence item",
    "prior": "",
}

ANALYSIS_TITLES = {
    "sensitivity": "Sensitivity to each node (tornado)",
    "parameter_sensitivity": "Sensitivity to each CPT entry",
    "indicators": "Indicators to watch (value of information)",
    "explain": "Evidence impact (each piece left out)",
    "explain_sequence": "Evidence impact (added in date order)",
    "uncertainty": "Uncertainty in the numbers (Dirichlet Monte Carlo)",
    "timeline": "Timeline: the forecast after each dated evidence item, in date order",
}


@dataclass(frozen=True)
class Naming(Names):
    """forecast.present.Names plus the rendering of every declared metadata key.

    Node, state and source names come from present.Names (one home for names);
    this adds what only result metadata needs: targets, evidence records,
    summaries, settings and the report header.
    """

    @classmethod
    def of(cls, attrs: Mapping[Any, Any]) -> Naming:
        return cls(
            attrs.get("labels") or {},
            attrs.get("state_labels") or {},
            attrs.get("source_labels") or {},
        )

    def weights(self, node: str, weights: Mapping[str, float], as_percent: bool = False) -> str:
        """'Muted: 0.5, Acute: 1' (fixed probabilities as percentages)."""
        return ", ".join(
            f"{self.state(node, s)}: {percent(w) if as_percent else f'{float(w):g}'}"
            for s, w in weights.items()
        )

    # ---------------------------------------------------------- metadata keys

    def target(self, attrs: Mapping[str, Any]) -> str:
        """An analysis target for people: 'Label: State', or the nodes' labels."""
        node, state = attrs.get("target_node"), attrs.get("target_state")
        if node:
            return self.pair(str(node), str(state)) if state else self.node(str(node))
        nodes = attrs.get("target_nodes") or []
        return ", ".join(self.node(str(n)) for n in nodes)

    def evidence(self, record: Mapping[str, Any]) -> dict[str, str]:
        """One evidence record for people: kind, what it bears on, detail, source."""
        kind, node = str(record.get("kind", "")), str(record.get("node", ""))
        weights = record.get("weights") or {}
        if kind == "hard":
            detail = self.state(node, str(record.get("state", "")))
        elif kind in ("likelihood", "fixed"):
            detail = self.weights(node, weights, as_percent=kind == "fixed")
        elif kind == "item":
            detail = f"{record.get('date', '')} {record.get('title', '')} ({self.weights(node, weights)})"
        else:
            detail = str(record.get("detail", ""))
        return {
            "Kind": KIND_LABELS.get(kind, kind),
            "Bears on": self.node(node) if node else "",
            "Detail": detail.strip(),
            "Source": self.source(str(record.get("source") or "")),
        }

    def evidence_title(self, record: Mapping[str, Any]) -> str:
        """A piece of evidence named in one phrase (analysis rows, key judgements)."""
        kind, node = str(record.get("kind", "")), str(record.get("node", ""))
        if kind == "prior":
            return "The model without evidence"
        if kind == "hard":
            return self.pair(node, str(record.get("state", "")))
        if kind in ("likelihood", "fixed"):
            what = "reported weights" if kind == "likelihood" else "analyst's probabilities"
            return f"{self.node(node)}, {what} ({self.weights(node, record.get('weights') or {}, kind == 'fixed')})"
        return str(record.get("title") or record.get("item") or "")

    def summary(self, attrs: Mapping[str, Any]) -> str:
        """What an analysis found, in one sentence built from its structured keys."""
        kind = attrs.get("analysis_kind")
        what = self.target(attrs)
        p = attrs.get("target_probability")
        if kind == "sensitivity" and p is not None:
            return f"{what}: {percent(p)} under the evidence"
        if kind == "parameter_sensitivity" and p is not None:
            delta = (attrs.get("settings") or {}).get("delta")
            return f"{what}: {percent(p)}; each CPT entry moved by ±{delta:g}, the rest of its row rescaled"
        if kind == "explain" and p is not None:
            n = attrs.get("pieces", 0)
            pieces = "its one piece of evidence" if n == 1 else f"all {n} pieces of evidence"
            return f"{what}: {percent(p)} with {pieces}"
        if kind == "explain_sequence" and p is not None:
            return f"{what}: {percent(attrs.get('prior_probability'))} without evidence, {percent(p)} with it"
        if kind == "indicators" and isinstance(attrs.get("baseline"), Mapping):
            node = str(attrs.get("target_node"))
            now = ", ".join(
                f"{self.state(node, s)} {percent(v)}" for s, v in attrs["baseline"].items()
            )
            return f"{self.node(node)} now: {now}"
        if kind == "uncertainty":
            return f"{attrs.get('draws_used')} of {attrs.get('samples')} draws; 90% intervals"
        return ""

    def settings(self, attrs: Mapping[str, Any]) -> str:
        """An analysis's settings in words: 'Delta: 0.2; Node confidence: Rain 10'."""

        def show(value: Any) -> str:
            if isinstance(value, Mapping):
                return (
                    ", ".join(f"{self.node(str(k))} {show(v)}" for k, v in value.items()) or "none"
                )
            if isinstance(value, float):
                return f"{value:g}"
            return str(value)

        return "; ".join(
            f"{humanise(str(k))}: {show(v)}" for k, v in (attrs.get("settings") or {}).items()
        )

    def header(self, attrs: Mapping[Any, Any]) -> list[tuple[str, str]]:
        """(field, value) pairs describing where a table came from, in RENDERERS order."""
        rows = []
        for key, (label, render) in RENDERERS.items():
            if label and render is not None and attrs.get(key) not in (None, "", [], {}):
                text = render(self, attrs)
                if text:
                    rows.append((label, text))
                if key == "target" and self.summary(attrs):
                    rows.append(("Summary", self.summary(attrs)))
        return rows


def _text(key: str) -> Callable[[Naming, Mapping[str, Any]], str]:
    return lambda _n, attrs: str(attrs.get(key) or "")


def _json(key: str) -> Callable[[Naming, Mapping[str, Any]], str]:
    return lambda _n, attrs: json.dumps(attrs.get(key), default=str)


def _analysis(_n: Naming, attrs: Mapping[str, Any]) -> str:
    kind = str(attrs.get("analysis_kind") or "")
    return ANALYSIS_TITLES.get(kind, humanise(kind))


def _scenarios(_n: Naming, attrs: Mapping[str, Any]) -> str:
    return ", ".join(str(s) for s in attrs.get("scenarios") or [])


def _evidence_count(_n: Naming, attrs: Mapping[str, Any]) -> str:
    n = len(evidence_list(attrs))
    return f"{n} piece{'s' if n != 1 else ''} (listed below)"


def _skip(_n: Naming, _attrs: Mapping[str, Any]) -> str:
    return ""


def _interval(n: Naming, attrs: Mapping[str, Any]) -> str:
    s = attrs.get("interval_settings") or {}
    return f"{s.get('samples')} draws, seed {s.get('seed')}, {s.get('interval', '5%-95%')}"


# Every declared key: (header label, renderer).  A label of '' means the key is
# used elsewhere (names, evidence and resolution sections, column formats).
Renderer = Callable[[Naming, Mapping[str, Any]], str]
RENDERERS: dict[str, tuple[str, Renderer | None]] = {
    "model_title": ("Model", _text("model_title")),
    "model_id": ("Model id", _text("model_id")),
    "as_of": ("As of", _text("as_of")),
    "question": ("Question", _text("question")),
    "horizon": ("Horizon", _text("horizon")),
    "analysis_kind": ("Analysis", _analysis),
    "target": ("Target", lambda n, a: n.target(a)),
    "settings": ("Settings", lambda n, a: n.settings(a)),
    "scenario": ("Scenario", _text("scenario")),
    "scenarios": ("Scenarios", _scenarios),
    "evidence": ("Evidence", _evidence_count),
    "interval_settings": ("Intervals", _interval),
    "model_hash": ("Model file SHA-256", _text("model_hash")),
    # used by other sections or by the names themselves
    "resolution": ("", _skip),  # the resolution-criteria section
    "labels": ("", _skip),
    "state_labels": ("", _skip),
    "source_labels": ("", _skip),
    "target_node": ("", _skip),  # rendered through "target"
    "target_state": ("", _skip),
    "target_nodes": ("", _skip),
    "target_probability": ("", _skip),  # in the "Summary" row after "Analysis"
    "prior_probability": ("", _skip),
    "baseline": ("", _skip),
    "pieces": ("", _skip),
    "target_entropy_bits": ("", _skip),
    "seed": ("", _skip),  # in "Settings"
    "draws_used": ("", _skip),
    "samples": ("", _skip),
    "percent_columns": ("", _skip),  # column formats
    "decimals": ("", _skip),
}

assert set(RENDERERS) == set(KEYS), sorted(set(KEYS) ^ set(RENDERERS))


def summary_for(attrs: Mapping[str, Any]) -> str:
    return Naming.of(attrs).summary(attrs)


def generated() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
