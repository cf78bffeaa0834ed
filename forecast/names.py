"""Names for people: readable state ids and short source citations.

Reports and the app show these; CSV, JSON and data sheets keep the ids.
"""

from __future__ import annotations

from .spec import Source


def humanise(name: str) -> str:
    """'marriage_of_convenience' -> 'Marriage of convenience'; names with capitals keep them."""
    text = str(name).replace("_", " ").replace("-", " ").strip()
    if not text:
        return str(name)
    return text[0].upper() + text[1:] if text == text.lower() else text


def cite(source: Source) -> str:
    """A source as 'author (year)', falling back to its title."""
    who = source.author.split("(")[0].strip() or source.title
    year = str(source.date)[:4]
    return f"{who} ({year})" if year.isdigit() else who
