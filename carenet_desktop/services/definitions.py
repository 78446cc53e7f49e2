"""The digest of the measure definitions in force that every cache of computed results is keyed on.

Built-in measures are code (the results cache also keys on a digest of ``metrics/``); their versions, the
years each applies to, library editions and value-set manifests, and network measures defined as data
(``resources/measures``, ``$CARENET_MEASURES``, the user's folder, which can change between two runs
without any code changing) are all in ``catalogue.definitions_digest``. Value-set expansions live in the
store: the change journal covers them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..metrics.catalogue import definitions_digest as _catalogue_digest
from ..metrics.definition import Measure


def definitions_digest(measures: Sequence[Measure]) -> str:
    """Every version of ``measures`` (a trend may cross a version boundary), shortened for file names."""
    return _catalogue_digest(None, [m.id for m in measures])[:16]


__all__ = ["definitions_digest"]
