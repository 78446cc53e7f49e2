"""The digest of the measure definitions in force that every cache of computed results is keyed on.

Built-in measures are code (the results cache also keys on a digest of ``metrics/``); their versions, the
years each applies to, library editions and value-set manifests, and network measures defined as data
(``resources/measures``, ``$CARENET_MEASURES``, the user's folder, which can change between two runs
without any code changing) are all in ``Catalogue.digest`` - of the catalogue the context carries
(``ctx.catalogue``, built by ``catalogue_source``), the same value the measures are computed with.
Value-set expansions live in the store: the change journal covers them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..metrics.catalogue import Catalogue


def definitions_digest(catalogue: Catalogue, measure_ids: Sequence[str] | None = None) -> str:
    """Every version of the measures ``measure_ids`` of ``catalogue`` (None: all; a trend may cross a
    version boundary), shortened for file names."""
    return catalogue.digest(None, measure_ids)[:16]


__all__ = ["definitions_digest"]
