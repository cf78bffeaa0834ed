"""Estimative words: the bands, their edges, and the symmetry between p and 1 - p."""

import numpy as np
import pytest

from forecast.words import BANDS, words, words_array

MIRROR = {
    "almost no chance": "almost certain",
    "very unlikely": "very likely",
    "unlikely": "likely",
    "roughly even chance": "roughly even chance",
}
MIRROR.update({v: k for k, v in MIRROR.items()})


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "almost no chance"),
        (0.01, "almost no chance"),
        (0.0499, "almost no chance"),
        (0.05, "very unlikely"),  # edges below one half belong to the band above
        (0.1999, "very unlikely"),
        (0.2, "unlikely"),
        (0.4499, "unlikely"),
        (0.45, "roughly even chance"),
        (0.5, "roughly even chance"),
        (0.55, "roughly even chance"),  # edges above one half belong to the band below
        (0.5501, "likely"),
        (0.8, "likely"),
        (0.8001, "very likely"),
        (0.95, "very likely"),
        (0.9501, "almost certain"),
        (0.99, "almost certain"),
        (1.0, "almost certain"),
    ],
)
def test_bands_and_edges(p, expected):
    assert words(p) == expected


@pytest.mark.parametrize(
    "p", [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.55, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0]
)
def test_symmetry(p):
    # 1 - 0.8 is 0.19999999999999996 in floating point; it must still read like 0.2
    assert words(1 - p) == MIRROR[words(p)]


def test_symmetry_on_a_fine_grid():
    grid = np.linspace(0, 1, 2001)
    assert [MIRROR[w] for w in words_array(grid)] == list(words_array(1 - grid))


def test_words_array_matches_words_and_every_band_is_used():
    grid = np.linspace(0, 1, 1001)
    out = words_array(grid)
    assert list(out) == [words(p) for p in grid]
    assert set(out) == {b[0] for b in BANDS}
    # bands appear in order along the scale
    firsts = [list(out).index(b[0]) for b in BANDS]
    assert firsts == sorted(firsts)


def test_round_off_beyond_zero_and_one():
    assert words(1 + 1e-12) == "almost certain"
    assert words(-1e-15) == "almost no chance"


@pytest.mark.parametrize("bad", [float("nan"), 1.5, -0.2])
def test_not_a_probability(bad):
    with pytest.raises(ValueError, match="probability"):
        words(bad)
