"""What the lists' search boxes share: the text as typed, made one form, and a prefix match
both databases answer from an index (a range, not LIKE)."""

from __future__ import annotations

from typing import Any

LONGEST = 32  # a search box's text: longer is cut


def typed(raw: str | None) -> str:
    """The box's text: trimmed, cut to LONGEST."""
    return (raw or "").strip()[:LONGEST]


def as_plate(text: str) -> str:
    """A plate as stored: upper case, no spaces (浙f 88888 is 浙F88888)."""
    return text.upper().replace(" ", "")


def starts_with(column: Any, text: str) -> Any:
    """`column` begins with `text`: a range on the column's index."""
    return (column >= text) & (column < text + "\U0010ffff")
