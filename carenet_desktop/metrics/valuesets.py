"""Value sets as data: which (code system, code) pairs belong to which value set.

Frames carry a ``key`` column (``system|code``, system as the short key of ``carenet_desktop.codes``);
membership is then one vectorised ``isin``.

Expansions are held by (url, version): ``version`` is a pair (business version, expansion identity), both
'' when unknown, so that every year's list of a value set lives beside the others. A measure version
reads the value sets through ``ValueSetIndex.pinned(manifest)``: the expansion its manifest names, or the
closest one loaded (see ``choose_version``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..codes import system_key


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
        return frame[key_column].isin(self.keys(*refs)).to_numpy()

    def __contains__(self, ref: str) -> bool:
        return self.has(ref)

    def __len__(self) -> int:
        return len(self._versions)

    @property
    def urls(self) -> list[str]:
        return sorted(self._versions)
