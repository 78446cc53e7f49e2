"""Value sets as data: which (code system, code) pairs belong to which value set.

Frames carry a ``key`` column (``system|code``, system as the short key of ``carenet_desktop.codes``);
membership is then one vectorised ``isin``.

A coded element with several codings (an Encounter with a SNOMED and a CPT type, a medication with an
RxNorm and an NDC code) holds every one of them in the same cell, joined by ``MULTI_SEP``: CQL matches a
value set when *any* coding is in it, so every membership test goes through ``key_hits``, which tests the
distinct cells and, for the few that hold several keys, each key.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..codes import system_key

#: between the keys of one cell that holds several codings (the record separator: never in a code)
MULTI_SEP = "\x1e"


def code_key(system: str | None, code: str | None) -> str:
    return f"{system_key(system) or ''}|{(code or '').strip()}"


def key_series(systems: pd.Series, codes: pd.Series) -> pd.Series:
    """Vectorised ``code_key`` for two columns of stored (already short-key) systems and codes."""
    return systems.fillna("").astype(str) + "|" + codes.fillna("").astype(str)


def split_keys(value: object) -> list[str]:
    """The keys of one cell (one or several codings)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return str(value).split(MULTI_SEP)


class MultiKeys:
    """The cells of a key column's distinct values that hold several keys, split once: ``owner[i]`` is
    the position (among the values) of the cell that key ``parts[i]`` belongs to."""

    __slots__ = ("owner", "parts")

    def __init__(self, values: pd.Index | pd.Series | np.ndarray) -> None:
        idx = pd.Index(values)
        multi = np.flatnonzero(multi_cells(idx))
        if not len(multi):
            self.owner, self.parts = np.zeros(0, dtype=np.int64), pd.Index([], dtype=object)
            return
        lists = [_split(cell) for cell in idx[multi].astype(object)]
        self.owner = np.repeat(multi, np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)))
        self.parts = pd.Index(list(itertools.chain.from_iterable(lists)), dtype=object)

    def __len__(self) -> int:
        return len(self.owner)


def key_hits(values: pd.Index | pd.Series | np.ndarray, keys: frozenset[str] | set[str],
             multi: MultiKeys | None = None) -> np.ndarray:
    """For each value (a cell of a key column): is any of its keys in ``keys``?

    Call it on the distinct values of a column (its factorisation), not on every row: the cells holding
    several keys are split (``MultiKeys``, which may be given when cached with a factorisation), their
    keys tested with one ``isin`` and reduced with ``any`` per cell.
    """
    idx = pd.Index(values)
    hits = np.asarray(idx.isin(keys), dtype=bool)
    if not len(idx):
        return hits
    if multi is None:
        multi = MultiKeys(idx)
    if len(multi):
        hits[multi.owner[np.asarray(multi.parts.isin(keys), dtype=bool)]] = True
    return hits


_SPLITS: dict[str, list[str]] = {}  # cell -> its keys: subsets of one frame share their cells
_SPLITS_MAX = 500_000


def _split(cell: str) -> list[str]:
    keys = _SPLITS.get(cell)
    if keys is None:
        keys = cell.split(MULTI_SEP)
        if len(_SPLITS) >= _SPLITS_MAX:
            _SPLITS.clear()
        _SPLITS[cell] = keys
    return keys


def multi_cells(values: pd.Index | pd.Series) -> np.ndarray:
    """Which values hold several keys."""
    idx = pd.Index(values)
    if not len(idx) or idx.dtype.kind not in "OSU" and not pd.api.types.is_string_dtype(idx.dtype):
        return np.zeros(len(idx), dtype=bool)
    sep = MULTI_SEP
    cells = idx.to_numpy(dtype=object)
    try:
        joined = "".join(cells)  # distinct values of a factorisation: all text
    except TypeError:  # a missing value among them
        joined = "".join(v for v in cells if isinstance(v, str))
    if sep not in joined:  # the usual case, one scan in C: no cell holds several keys
        return np.zeros(len(idx), dtype=bool)
    return np.fromiter((isinstance(v, str) and sep in v for v in cells), dtype=bool, count=len(idx))


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
        codes, uniques = pd.factorize(frame[key_column], use_na_sentinel=True)
        return np.append(key_hits(uniques, self.keys(*refs)), False)[codes]

    def __contains__(self, ref: str) -> bool:
        return self.has(ref)

    def __len__(self) -> int:
        return len(self._sets)

    @property
    def urls(self) -> list[str]:
        return sorted(self._sets)
