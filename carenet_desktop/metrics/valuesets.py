"""Value sets as data: which (code system, code) pairs belong to which value set.

Frames carry a ``key`` column (``system|code``, system as the short key of ``carenet_desktop.codes``);
membership is then one vectorised ``isin``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..codes import system_key


def code_key(system: str | None, code: str | None) -> str:
    return f"{system_key(system) or ''}|{(code or '').strip()}"


def key_series(systems: pd.Series, codes: pd.Series) -> pd.Series:
    """Vectorised ``code_key`` for two columns of stored (already short-key) systems and codes."""
    return systems.fillna("").astype(str) + "|" + codes.fillna("").astype(str)


class ValueSetIndex:
    """Value sets by canonical URL, OID or name, each a frozenset of ``system|code`` keys."""

    def __init__(self, sets: Mapping[str, Iterable[tuple[str, str]]] | None = None) -> None:
        self._sets: dict[str, frozenset[str]] = {}
        self._aliases: dict[str, str] = {}
        for url, pairs in (sets or {}).items():
            self.add(url, pairs)

    def add(self, url: str, pairs: Iterable[tuple[str, str]], *, aliases: Iterable[str] = ()) -> None:
        keys = frozenset(code_key(s, c) for s, c in pairs)
        self._sets[url] = self._sets.get(url, frozenset()) | keys
        for alias in (*aliases, url.rsplit("/", 1)[-1]):
            if alias:
                self._aliases[alias] = url

    def resolve(self, ref: str) -> str:
        if ref in self._sets:
            return ref
        if ref in self._aliases:
            return self._aliases[ref]
        tail = ref.rsplit("/", 1)[-1]
        if tail in self._aliases:
            return self._aliases[tail]
        raise KeyError(f"Value set not loaded: {ref}")

    def has(self, ref: str) -> bool:
        try:
            self.resolve(ref)
        except KeyError:
            return False
        return True

    def keys(self, *refs: str) -> frozenset[str]:
        """The union of the codes of the given value sets (unknown value sets contribute nothing)."""
        out: frozenset[str] = frozenset()
        for ref in refs:
            if self.has(ref):
                out |= self._sets[self.resolve(ref)]
        return out

    def mask(self, frame: pd.DataFrame, *refs: str, key_column: str = "key") -> np.ndarray:
        """Boolean mask of the rows of ``frame`` whose code is in any of the value sets."""
        if frame.empty:
            return np.zeros(0, dtype=bool)
        return frame[key_column].isin(self.keys(*refs)).to_numpy()

    def __contains__(self, ref: str) -> bool:
        return self.has(ref)

    def __len__(self) -> int:
        return len(self._sets)

    @property
    def urls(self) -> list[str]:
        return sorted(self._sets)
