"""What a measure counts, in words, for its tooltip and for Help ▸ What's this? (Shift+F1, then a click on a
measure anywhere: the scorecard, a measure's detail, a patient's measures): a short text from the measure's
written specification."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

from ..metrics.catalogue import Catalogue

#: the parts of a specification What's this? shows (the tooltip shows every part)
SHORT_PARTS = ("denominator", "numerator", "exclusions")


def describe(measure: Any, parts: tuple[str, ...] | None = None) -> str:
    """The measure's id, title and description, the parts of its specification (``parts``; None: every
    one) and its direction, as rich text."""
    spec = getattr(measure, "specification", {}) or {}
    lines = [f"<b>{escape(measure.id)}: {escape(measure.title)}</b>"]
    if measure.description:
        lines.append(escape(str(measure.description)))
    lines += [f"<b>{escape(k.capitalize())}:</b> {escape(str(v))}" for k, v in spec.items()
              if parts is None or k.lower() in parts]
    lines.append("<b>Lower is better</b> (an inverse measure)." if measure.improvement == "decrease"
                 else "Higher is better.")
    return f"<p style='white-space:pre-wrap; max-width: 520px'>{'<br>'.join(lines)}</p>"


@lru_cache(maxsize=4)  # by catalogue (a session keeps one; a reload of the measure files makes another)
def short_texts(catalogue: Catalogue) -> dict[str, str]:
    """{measure id: the short description What's this? shows} for the measures of ``catalogue``."""
    return {m.id: describe(m, SHORT_PARTS) for m in catalogue.all()}


def whats_this(measure_id: str, catalogue: Catalogue) -> str | None:
    """The short description What's this? shows for ``measure_id`` (None: not a measure of the catalogue)."""
    return short_texts(catalogue).get(measure_id)
