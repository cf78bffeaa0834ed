"""Estimative language: the words analysts' reports attach to probabilities.

Bands (probability p as a fraction):

| words                | range             |
|----------------------|-------------------|
| almost no chance     | p < 0.05          |
| very unlikely        | 0.05 <= p < 0.20  |
| unlikely             | 0.20 <= p < 0.45  |
| roughly even chance  | 0.45 <= p <= 0.55 |
| likely               | 0.55 < p <= 0.80  |
| very likely          | 0.80 < p <= 0.95  |
| almost certain       | p > 0.95          |

The nominal bands start at 1% and end at 99%; values beyond them take the
nearest band.  Edges below one half belong to the band above them, edges above
one half to the band below, so the scale is symmetric: p and 1 - p get
mirror-image words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BANDS: list[tuple[str, float, float]] = [
    ("almost no chance", 0.00, 0.05),
    ("very unlikely", 0.05, 0.20),
    ("unlikely", 0.20, 0.45),
    ("roughly even chance", 0.45, 0.55),
    ("likely", 0.55, 0.80),
    ("very likely", 0.80, 0.95),
    ("almost certain", 0.95, 1.00),
]


def words(p: float) -> str:
    """The estimative phrase for a probability in [0, 1]."""
    value = float(p)
    if not (-1e-9 <= value <= 1 + 1e-9):  # also rejects NaN
        raise ValueError(f"a probability must lie in [0, 1], got {p!r}")
    return str(words_array(np.asarray([value]))[0])


def words_array(p: np.ndarray | pd.Series) -> np.ndarray:
    """Vectorised `words`."""
    return _NAMES.take(band_index(p))


def band_index(p: np.ndarray | pd.Series) -> np.ndarray:
    """Index into BANDS for each probability."""
    # Rounding first keeps the scale symmetric in floating point: 1 - 0.8 is
    # 0.19999999999999996, which must read like 0.2 (the mirror of 0.8).
    p = np.round(np.asarray(p, dtype=float), 12)
    # band index = how many band edges p has passed (lower edges inclusive below one half,
    # upper edges inclusive above it)
    band = (
        (p >= 0.05).astype(np.intp)
        + (p >= 0.20)
        + (p >= 0.45)
        + (p > 0.55)
        + (p > 0.80)
        + (p > 0.95)
    )
    return band


_NAMES = np.asarray([b[0] for b in BANDS], dtype=object)
