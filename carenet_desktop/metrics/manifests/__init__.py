"""Value-set manifests of the measure years: for each value-set URL, the expansion a year's measure versions
were published with, as (business version, expansion timestamp).

A measure version reads the value sets through its manifest (``ValueSetIndex.pinned``), so a store that
holds several years' expansions of a URL gives each version its own list. A new year is a new module here
(generated from that year's published ValueSet bundles) beside the year's measure modules.
"""

from __future__ import annotations

from collections.abc import Mapping

from .y2025 import MANIFEST as Y2025
from .y2026 import MANIFEST as Y2026

MANIFESTS: dict[int, Mapping[str, tuple[str, str]]] = {2025: Y2025, 2026: Y2026}

__all__ = ["MANIFESTS", "Y2025", "Y2026"]
