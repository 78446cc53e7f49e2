"""Counts in words: "1 patient", "2,345 patients" (never "1 patients")."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is one (``plural`` when it is irregular)."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
