"""A digest of the measure definitions in force, part of every cache key of computed results.

Built-in measures are code: the results cache already keys on a digest of ``metrics/``. Network measures
are data (``resources/measures``, ``$CARENET_MEASURES``, the user's folder) and can change between two
runs without any code changing, so their parsed definitions — and each measure's version — go into this
digest too. Value sets live in the store: the change journal covers them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..metrics.definition import Measure


def definitions_digest(measures: Sequence[Measure]) -> str:
    digest = hashlib.sha256()
    for measure in sorted(measures, key=lambda m: m.id):
        parts = (measure.id, type(measure).__module__, type(measure).__qualname__,
                 str(getattr(measure, "version", "")), repr(getattr(measure, "definition", None)))
        digest.update("\x1f".join(parts).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


__all__ = ["definitions_digest"]
