"""Derive an edit's expected text lines from the shipped files as they are now (not from one edition)."""

import re

_CELL = re.compile(r"(\"?)([A-Za-z_][\w]*)\1:\s*(-?\d+(?:\.\d+)?)")


def row_line(text: str, node: str) -> str:
    """The first `probabilities:` line of the CPT of `node` (a list item `- id: node`) in `text`."""
    lines = text.splitlines()
    start = lines.index(f"  - id: {node}")
    return next(line for line in lines[start + 1 :] if "probabilities: {" in line)


def shifted(probabilities: dict[str, float], amount: float) -> dict[str, float]:
    """Move `amount` from the largest cell to the next one: two cells change, the row still sums to 1."""
    order = sorted(probabilities, key=lambda s: -probabilities[s])
    first, second = order[0], order[1]
    new = dict(probabilities)
    new[first] = round(new[first] - amount, 6)
    new[second] = round(new[second] + amount, 6)
    return new


def with_values(line: str, values: dict[str, float]) -> str:
    """`line`'s flow mapping with the numbers of `values`, each written with the decimals it had."""

    def cell(m: re.Match[str]) -> str:
        old = m.group(3)
        decimals = len(old.split(".")[1]) if "." in old else 0
        new = values[m.group(2)]
        written = f"{new:.{decimals}f}" if decimals else f"{new:g}"
        return f"{m.group(1)}{m.group(2)}{m.group(1)}: {written}"

    return _CELL.sub(cell, line)
