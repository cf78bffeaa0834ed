"""The language rules of a report (ICD 203), and a linter that checks generated text.

ICD 203 offers two rows of estimative words for the same seven bands; a report
uses one.  Ours is the first row, the one in `forecast.words`:

| band | our row (used) | the other row (never used) |
|---|---|---|
| 1-5% | almost no chance | remote |
| 5-20% | very unlikely | highly improbable |
| 20-45% | unlikely | improbable |
| 45-55% | roughly even chance | roughly even odds |
| 55-80% | likely | probable |
| 80-95% | very likely | highly probable |
| 95-99% | almost certain | nearly certain |

Likelihood (how probable an outcome is) and confidence (how sound the
judgement is) are said in separate sentences: a confidence word never appears
in a sentence that carries a likelihood word.  `lint` enforces these rules on
every generated report (the tests run it); names from the model are masked
first, so a node called "Remote regions" is not mistaken for an estimative word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .words import BANDS, words

ROW_ONE = tuple(b[0] for b in BANDS)  # the scale reports use
ROW_TWO = (
    "remote",
    "highly improbable",
    "improbable",
    "improbably",
    "roughly even odds",
    "probable",
    "probably",
    "highly probable",
    "nearly certain",
)
OFF_SCALE = ("possibly", "perhaps", "maybe", "might", "doubtful", "plausibly", "conceivably")
CONFIDENCE = ("confidence", "confident")
CONFIDENCE_LEVELS = ("low", "moderate", "high")
NOMINAL = {  # the ICD 203 band edges as printed: the scale starts at 1% and ends at 99%
    "almost no chance": (1, 5),
    "very unlikely": (5, 20),
    "unlikely": (20, 45),
    "roughly even chance": (45, 55),
    "likely": (55, 80),
    "very likely": (80, 95),
    "almost certain": (95, 99),
}
assert tuple(NOMINAL) == ROW_ONE


def band_text(p: float) -> tuple[str, str]:
    """The estimative words for `p` and their band as printed: ('very likely', '80–95%')."""
    phrase = words(p)
    lo, hi = NOMINAL[phrase]
    return phrase, f"{lo}–{hi}%"


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(
        terms, key=len, reverse=True
    )  # 'very unlikely' before 'unlikely' before 'likely'
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in ordered) + r")\b", re.IGNORECASE)


_ONE, _TWO, _OFF, _CONF = (
    _pattern(ROW_ONE),
    _pattern(ROW_TWO),
    _pattern(OFF_SCALE),
    _pattern(CONFIDENCE),
)
_RANGE = re.compile(
    r"\b("
    + "|".join(re.escape(t) for t in sorted(ROW_ONE, key=len, reverse=True))
    + r")\s*\((\d+)\s*[–-]\s*(\d+)%\)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """The text split into sentences (on '.', '!' or '?' followed by a capital)."""
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def _mask(text: str, names: Iterable[str]) -> str:
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(re.escape(name), "NAME", text, flags=re.IGNORECASE)
    return text


def lint(text: str, names: Iterable[str] = ()) -> list[str]:
    """Every breach of the report's language rules in `text` (empty when it is clean).

    Rules: only the first ICD 203 row (never the second, never both); no
    off-scale hedges; no confidence word in a sentence with a likelihood word;
    a band printed after a word, as in 'likely (55–80%)', must be that word's band.
    """
    masked = _mask(text, names)
    problems = []
    row_one = {m.group(1).lower() for m in _ONE.finditer(masked)}
    row_two = {m.group(1).lower() for m in _TWO.finditer(masked)}
    if row_two:
        what = "mixes the two ICD 203 word rows" if row_one else "uses the second ICD 203 word row"
        problems.append(f"{what}: {', '.join(sorted(row_two))} (use {', '.join(ROW_ONE)})")
    off = {m.group(1).lower() for m in _OFF.finditer(masked)}
    if off:
        problems.append(f"uses words outside the estimative scale: {', '.join(sorted(off))}")
    for sentence in sentences(masked):
        likely = _ONE.search(sentence) or _TWO.search(sentence)
        confident = _CONF.search(sentence)
        if likely and confident:
            problems.append(
                f"a likelihood word ('{likely.group(1)}') and a confidence word ('{confident.group(1)}') "
                f"in one sentence: {sentence!r}"
            )
    for m in _RANGE.finditer(masked):
        phrase, lo, hi = m.group(1).lower(), int(m.group(2)), int(m.group(3))
        if NOMINAL[phrase] != (lo, hi):
            a, b = NOMINAL[phrase]
            problems.append(f"'{m.group(0)}': {phrase} means {a}–{b}%, not {lo}–{hi}%")
    return problems
