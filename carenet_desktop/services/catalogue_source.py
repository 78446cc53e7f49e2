"""Where the measure catalogue comes from: the measure files read here, the ``Catalogue`` value built here.

``metrics`` reads no file and no environment: this module reads the network's measure files
(``resources/measures`` shipped with the application, the folders of ``$CARENET_MEASURES`` - os.pathsep
separated - and ``measures/`` in the user's configuration folder), builds a ``metrics.catalogue.Catalogue``
from them, and every ``ServiceContext`` carries one (``ctx.catalogue``). A file edited later reaches the
next catalogue built (``load_catalogue`` reads the files each time; ``reload`` puts a fresh one on a
context); the caches key on ``ctx.catalogue.digest``, so they follow.

Invalid files are skipped and named in ``Catalogue.file_problems``, never raised: one bad file must not hide
the other measures.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import tomllib
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..metrics.catalogue import Catalogue
from ..metrics.custom import (
    TARGETS_FILE,
    CustomDefinition,
    MeasureFileError,
    Targets,
    check_measure,
    decode_document,
    parse_targets,
    with_measure_targets,
)

if TYPE_CHECKING:
    from .context import ServiceContext

log = logging.getLogger(__name__)

_MEASURE_SUFFIXES = (".json", ".toml")


def measure_dirs() -> list[Path]:
    """Where measure files are read from: ``resources/measures`` (shipped), the folders listed in
    ``$CARENET_MEASURES`` (os.pathsep-separated), and ``measures/`` in the user's configuration folder."""
    import platformdirs

    from ..resources import resource

    dirs = [resource("measures")]
    env = os.environ.get("CARENET_MEASURES")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(Path(platformdirs.user_config_dir("CareNetDesktop", appauthor=False)) / "measures")
    return dirs


def measure_files(dirs: Iterable[Path]) -> list[Path]:
    """The measure files of ``dirs`` (JSON or TOML; not the targets file), folder by folder, by name."""
    out: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir()
                          if p.suffix.lower() in _MEASURE_SUFFIXES and p.stem.lower() != "targets")
    return out


def validate_measure_file(path: str | Path, known_valuesets: Collection[str] | None = None) -> list[str]:
    """Problems of a measure file, one readable line per field at fault (empty: the file is valid)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return [f"file not found: {path}"]
    return check_measure(raw, str(path), known_valuesets)[1]


def parse_measure_file(path: str | Path) -> CustomDefinition:
    """Parse and validate a measure file; ``MeasureFileError`` lists every problem."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise MeasureFileError(str(path), [f"file not found: {path}"]) from None
    definition, problems = check_measure(raw, str(path))
    if definition is None:
        raise MeasureFileError(str(path), problems)
    return definition


def read_definitions(dirs: Iterable[Path]) -> tuple[list[CustomDefinition], list[str]]:
    """The valid definitions of the measure files in ``dirs``, and "file: problem" for the others."""
    return _parse(_read(measure_files(dirs)))


_lock = threading.Lock()
_last: tuple[str, Catalogue] | None = None  # the newest catalogue built, by the digest of its files


def load_catalogue(dirs: Sequence[Path] | None = None) -> Catalogue:
    """The catalogue of the built-in measures and the measure files of ``dirs`` (default ``measure_dirs()``)
    as they are now. The files are read every time; an unchanged set of files gives the same value back."""
    global _last
    files = _read(measure_files(measure_dirs() if dirs is None else dirs))
    key = hashlib.sha256(repr([(str(p), hashlib.sha256(raw).hexdigest()) for p, raw in files]).encode()).hexdigest()
    with _lock:
        if _last is not None and _last[0] == key:
            return _last[1]
    definitions, problems = _parse(files)
    catalogue = Catalogue.build(definitions, problems)
    if catalogue.file_problems or catalogue.problems:
        log.warning("%d problem(s) in custom measure files; those files were skipped",
                    len(catalogue.file_problems) + len(catalogue.problems))
    with _lock:
        _last = (key, catalogue)
    return catalogue


def reload(ctx: ServiceContext) -> Catalogue:
    """Read the measure files again and put the catalogue they give on ``ctx`` (a ``ServiceContext``):
    what a session does after the network's measure files were edited."""
    catalogue = load_catalogue()
    ctx.catalogue = catalogue
    return catalogue


def load_targets(catalogue: Catalogue, path: str | Path | None = None) -> Targets:
    """Targets from ``targets.json`` (default: ``resources/measures/targets.json``), completed by the
    ``target`` of the catalogue's network measures (the file wins). An invalid file raises ``MeasureFileError``."""
    from ..resources import resource

    p = Path(path) if path is not None else resource("measures", TARGETS_FILE)
    targets = Targets()
    if p.is_file():
        try:
            document = decode_document(p.read_bytes(), str(p))
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise MeasureFileError(str(p), [f"not valid JSON: {exc}"]) from None
        targets, problems = parse_targets(document)
        if problems:
            raise MeasureFileError(str(p), problems)
    return with_measure_targets(targets, catalogue.all())


def _read(paths: Iterable[Path]) -> list[tuple[Path, bytes]]:
    out: list[tuple[Path, bytes]] = []
    for path in paths:
        try:
            out.append((path, path.read_bytes()))
        except OSError as exc:  # a file removed or unreadable since the folder was listed
            log.warning("Measure file %s could not be read (%s)", path.name, type(exc).__name__)
    return out


def _parse(files: Iterable[tuple[Path, bytes]]) -> tuple[list[CustomDefinition], list[str]]:
    definitions: list[CustomDefinition] = []
    problems: list[str] = []
    for path, raw in files:
        definition, found = check_measure(raw, str(path))
        if definition is not None:
            definitions.append(definition)
        problems += [f"{path.name}: {p}" for p in found]
    return definitions, problems


__all__ = ["load_catalogue", "load_targets", "measure_dirs", "measure_files", "parse_measure_file",
           "read_definitions", "reload", "validate_measure_file"]
