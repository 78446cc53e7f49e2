"""Value sets as data: which (code system, code) pairs belong to which value set.

Frames carry a ``key`` column (``system|code``, system as the short key of ``carenet_desktop.codes``);
membership is then one vectorised ``isin``.

Expansions are held by (url, version): ``version`` is a pair (business version, expansion identity), both
'' when unknown, so that every year's list of a value set lives beside the others. A measure version
reads the value sets through ``ValueSetIndex.pinned(manifest)``: the expansion its manifest names, or the
closest one loaded (see ``choose_version``).

A coded element with several codings (an Encounter with a SNOMED and a CPT type, a medication with an
RxNorm and an NDC code) holds every one of them in the same cell, joined by ``MULTI_SEP``: CQL matches a
value set when *any* coding is in it, so every membership test goes through ``key_hits``, which tests the
distinct cells and, for the few that hold several keys, each key.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..codes import system_key
from .memo import ANY_PERIOD, remember

#: between the keys of one cell that holds several codings (the record separator: never in a code)
MULTI_SEP = "\x1e"
#: the memo question whose answer is {cell: its keys} (``MultiKeys``)
_SPLITS = "valuesets.split-cells"


def code_key(system: str | None, code: str | None) -> str:
    return f"{system_key(system) or ''}|{(code or '').strip()}"


def key_series(systems: pd.Series, codes: pd.Series) -> pd.Series:
    """Vectorised ``code_key`` for two columns of stored (already short-key) systems and codes."""
    return systems.fillna("").astype(str) + "|" + codes.fillna("").astype(str)


#: (business version, expansion identity) of one stored expansion; ('', '') when the file said nothing
VersionKey = tuple[str, str]


def choose_version(loaded: Sequence[VersionKey], wanted: VersionKey | None) -> VersionKey:
    """Which of the loaded expansions of one value set a measure version reads.

    Without a wish (network measures, no manifest entry) the newest expansion; else the exact one; else,
    among those with the wanted business version (or among all when none has it), the newest expansion not
    later than the wanted one, or failing that the earliest later one. Expansion identities are
    timestamps, compared as text ('' - the shipped catalogue - sorts first).
    """
    if not loaded:
        raise KeyError("no expansion loaded")
    if wanted is None:
        return max(loaded, key=lambda k: (k[1], k[0]))
    if wanted in loaded:
        return wanted
    same = [k for k in loaded if k[0] == wanted[0]] or list(loaded)
    earlier = [k for k in same if k[1] <= wanted[1]]
    if earlier:
        return max(earlier, key=lambda k: (k[1], k[0]))
    return min(same, key=lambda k: (k[1], k[0]))


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
        # the cells' keys, split once per evaluation: subsets of one frame share their cells (metrics.memo)
        splits: dict[str, list[str]] = remember((), _SPLITS, dict, period=ANY_PERIOD)
        lists = [splits.get(cell) or splits.setdefault(cell, cell.split(MULTI_SEP)) for cell in idx[multi].astype(object)]
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
    """Value sets by canonical URL, OID or name, each a frozenset of ``system|code`` keys per version.

    ``keys``/``mask`` read, for each URL, the expansion this index is pinned to (``pinned``), else the
    newest loaded one.
    """

    def __init__(self, sets: Mapping[str, Iterable[tuple[str, str]]] | None = None) -> None:
        self._versions: dict[str, dict[VersionKey, frozenset[str]]] = {}
        self._aliases: dict[str, str] = {}
        self._manifest: Mapping[str, VersionKey] | None = None
        self._chosen: dict[str, frozenset[str]] = {}
        self._pinned: dict[tuple[tuple[str, VersionKey], ...], ValueSetIndex] = {}
        self._root: ValueSetIndex | None = None
        for url, pairs in (sets or {}).items():
            self.add(url, pairs)

    def add(self, url: str, pairs: Iterable[tuple[str, str]], *, aliases: Iterable[str] = (),
            version: str = "", expansion: str = "") -> None:
        if self._root is not None:
            self._root.add(url, pairs, aliases=aliases, version=version, expansion=expansion)
            return
        keys = frozenset(code_key(s, c) for s, c in pairs)
        versions = self._versions.setdefault(url, {})
        key = (version or "", expansion or "")
        versions[key] = versions.get(key, frozenset()) | keys
        for alias in (*aliases, url.rsplit("/", 1)[-1]):
            if alias:
                self._aliases[alias] = url
        self._forget()

    def _forget(self) -> None:
        self._chosen.clear()
        for view in self._pinned.values():
            view._chosen.clear()

    def pinned(self, manifest: Mapping[str, VersionKey] | None) -> ValueSetIndex:
        """A view of the same expansions that reads, per URL, the expansion ``manifest`` names (or the
        closest loaded one). Views are remembered per manifest, so repeated calls give the same object
        (caches keyed on the index see one identity per measure version)."""
        root = self._root or self
        if not manifest:
            return root
        signature = tuple(sorted(manifest.items()))
        view = root._pinned.get(signature)
        if view is None:
            view = ValueSetIndex()
            view._root = root
            view._versions = self._versions  # shared: a set loaded later is seen by every view
            view._aliases = self._aliases
            view._manifest = dict(manifest)
            root._pinned[signature] = view
        return view

    def versions(self, ref: str) -> list[VersionKey]:
        """The loaded (version, expansion) pairs of a value set."""
        return sorted(self._versions.get(self.resolve(ref), {}))

    def version_in_use(self, ref: str) -> VersionKey:
        """The (version, expansion) this index reads for ``ref``."""
        url = self.resolve(ref)
        wanted = self._manifest.get(url) if self._manifest is not None else None
        return choose_version(list(self._versions[url]), wanted)

    def resolve(self, ref: str) -> str:
        if ref in self._versions:
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

    def _codes(self, url: str) -> frozenset[str]:
        hit = self._chosen.get(url)
        if hit is None:
            hit = self._versions[url][self.version_in_use(url)]
            self._chosen[url] = hit
        return hit

    def keys(self, *refs: str) -> frozenset[str]:
        """The union of the codes of the given value sets (unknown value sets contribute nothing)."""
        out: frozenset[str] = frozenset()
        for ref in refs:
            if self.has(ref):
                out |= self._codes(self.resolve(ref))
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
        return len(self._versions)

    @property
    def urls(self) -> list[str]:
        return sorted(self._versions)
