"""Value sets as data: loading FHIR ValueSet resources into the store and reading them for the engine."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..codes import system_key
from ..metrics.valuesets import ValueSetIndex
from ..models import DataImport, ValueSet, ValueSetCode, utcnow
from ..models.changes import mark_practice_changed
from ..models.database import Database
from ..resources import resource
from . import audit
from .changes import Area, Change, writes
from .context import ServiceContext, ServiceError
from .permissions import require

_OID = re.compile(r"^\d+(\.\d+)+$")
VS_TABLE = cast(Table, ValueSet.__table__)  # mapped to a Table; SQLAlchemy types it as any FromClause
CODE_TABLE = cast(Table, ValueSetCode.__table__)


@dataclass
class ValueSetLoadResult:
    files: int = 0
    loaded: int = 0  # value sets added or replaced
    codes: int = 0
    skipped: list[str] = field(default_factory=list)  # "file: reason"
    #: loaded, but worth a look: e.g. an expansion that stops short of its total (a paged export)
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        text = f"{self.loaded} value set(s) with {self.codes} code(s) from {self.files} file(s)"
        return text + (f"; {len(self.skipped)} skipped" if self.skipped else "")

    @property
    def change(self) -> Change:
        """The expansions every measure reads, and the import history, when any set was loaded."""
        return Change.of(Area.VALUESETS, Area.IMPORTS) if self.loaded else Change.nothing()


@dataclass
class ParsedValueSet:
    url: str
    oid: str | None
    name: str | None
    version: str | None
    codes: list[tuple[str, str, str | None]]  # (system key, code, display)
    expansion: str = ""  # the expansion's timestamp (else its identifier); '' for a compose-only set
    total: int | None = None  # expansion.total: how many codes the full expansion has

    @property
    def key(self) -> tuple[str, str, str]:
        """How the store tells expansions apart: (url, version, expansion)."""
        return (self.url, self.version or "", self.expansion)


def iter_valuesets(document: Any) -> Iterator[dict[str, Any]]:
    """ValueSet resources of a Bundle (nested bundles included), a list, or a single ValueSet."""
    if isinstance(document, list):
        for item in document:
            yield from iter_valuesets(item)
    elif isinstance(document, dict):
        rtype = document.get("resourceType")
        if rtype == "ValueSet":
            yield document
        elif rtype == "Bundle":
            for entry in document.get("entry") or []:
                if isinstance(entry, dict) and entry.get("resource") is not None:
                    yield from iter_valuesets(entry["resource"])


def parse_valueset(vs: dict[str, Any]) -> ParsedValueSet:
    """The codes of a ValueSet: its expansion, else the concepts listed in compose.include."""
    oid = None
    for ident in vs.get("identifier") or []:
        value = str(ident.get("value", "")) if isinstance(ident, dict) else ""
        value = value.removeprefix("urn:oid:")
        if _OID.match(value):
            oid = value
    vid = vs.get("id")
    if oid is None and isinstance(vid, str) and _OID.match(vid):
        oid = vid
    url = vs.get("url") or (f"urn:oid:{oid}" if oid else None) or (f"urn:carenet:valueset:{vid}" if vid else None)
    if not url:
        raise ValueError("ValueSet without url or id")
    codes: dict[tuple[str, str], str | None] = {}
    expansion = vs.get("expansion") or {}
    identity = ""
    if isinstance(expansion, dict) and expansion.get("contains"):
        identity = str(expansion.get("timestamp") or expansion.get("identifier") or "")[:64]
    if isinstance(expansion, dict) and expansion.get("contains"):
        for item in _walk_contains(expansion["contains"]):
            if item.get("code") and item.get("abstract") is not True:
                codes[(system_key(item.get("system")) or "", str(item["code"]).strip())] = item.get("display")
    else:
        for include in (vs.get("compose") or {}).get("include") or []:
            system = system_key(include.get("system")) or ""
            for concept in include.get("concept") or []:
                if concept.get("code"):
                    codes[(system, str(concept["code"]).strip())] = concept.get("display")
    return ParsedValueSet(
        url=str(url)[:255],
        oid=oid,
        name=(vs.get("name") or vs.get("title")),
        version=str(vs["version"])[:64] if vs.get("version") else None,
        codes=[(s, c, (d[:255] if isinstance(d, str) else None)) for (s, c), d in codes.items()],
        expansion=identity,
        total=expansion.get("total") if isinstance(expansion, dict) and isinstance(expansion.get("total"), int) else None,
    )


def _walk_contains(items: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _walk_contains(item.get("contains") or [])


@writes(Area.VALUESETS, Area.IMPORTS)
def load_valuesets(ctx: ServiceContext, paths: Sequence[str | Path], *, source: str = "user",
                   only_new: bool = False) -> ValueSetLoadResult:
    """Load ValueSet files (Bundles or single resources).

    An expansion replaces the stored one with the same (url, version, expansion); other versions of the
    URL stay beside it (each measure year reads its own). With ``only_new`` expansions already in the
    store are left alone (the default catalogue).
    Loading the shipped catalogue into a store that lacks it (``source="catalogue"``) is open to every
    user; anything else changes what every measure counts and is for administrators.
    """
    if source != "catalogue":
        require(ctx, "catalogue.manage")
    result = ValueSetLoadResult()
    parsed: list[ParsedValueSet] = []
    for raw in paths:
        path = Path(raw)
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise
        except ValueError as exc:
            raise ServiceError(f"{path}: not valid JSON") from exc
        result.files += 1
        found = 0
        for resource_ in iter_valuesets(document):
            try:
                parsed.append(parse_valueset(resource_))
                found += 1
                last = parsed[-1]
                if last.total is not None and last.total > len(last.codes):
                    result.warnings.append(f"{path.name}: {last.name or last.url} has {len(last.codes)} of its "
                                           f"{last.total} codes (the expansion stops short; load the full one)")
            except (ValueError, TypeError, AttributeError) as exc:
                result.skipped.append(f"{path}: {exc}")
        if not found:
            result.skipped.append(f"{path}: no ValueSet resources")
    with ctx.db.session() as s:
        existing = {(url, version or "", expansion or ""): vid for url, version, expansion, vid in s.execute(
            select(VS_TABLE.c.url, VS_TABLE.c.version, VS_TABLE.c.expansion, VS_TABLE.c.id)).all()}
        now = utcnow()
        for vs in parsed:
            if only_new and vs.key in existing:
                continue
            values = {"oid": vs.oid, "name": vs.name[:255] if vs.name else None, "version": vs.version or "",
                      "expansion": vs.expansion, "source": source, "updated_at": now}
            vid = existing.get(vs.key)
            if vid is not None:
                s.execute(VS_TABLE.update().where(VS_TABLE.c.id == vid).values(**values))
                s.execute(delete(CODE_TABLE).where(CODE_TABLE.c.value_set_id == vid))
            else:
                vid = s.execute(insert(VS_TABLE).values(url=vs.url, **values).returning(VS_TABLE.c.id)).scalar_one()
                existing[vs.key] = vid
            if vs.codes:
                s.execute(insert(CODE_TABLE), [
                    {"value_set_id": vid, "code_system": sys, "code": code[:64], "display": display}
                    for sys, code, display in vs.codes
                ])
            result.loaded += 1
            result.codes += len(vs.codes)
        if result.loaded:
            mark_practice_changed(s, [None])  # every result may depend on the value sets
            batch = DataImport(kind="valueset", file_name=", ".join(Path(p).name for p in paths)[:500],
                               username=ctx.username, status="done", finished_at=utcnow(),
                               added=result.loaded, detail={"codes": result.codes, "skipped": result.skipped[:100]})
            s.add(batch)
            s.flush()
            audit.record(s, ctx.username, "import", "value_set", batch.id,
                         summary=f"Value sets loaded: {result.summary}")
    return result


def catalogue_dir() -> Path:
    return resource("valuesets")


def ensure_default_catalogue(ctx: ServiceContext, folder: Path | None = None) -> ValueSetLoadResult:
    """Load every ``resources/valuesets/*.json`` whose value sets are not in the store yet."""
    folder = folder or catalogue_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return ValueSetLoadResult()
    try:
        return load_valuesets(ctx, files, source="catalogue", only_new=True)
    except IntegrityError:  # another connection loaded the same lists meanwhile: what is left is new to us
        return load_valuesets(ctx, files, source="catalogue", only_new=True)


def load_index(db: Database) -> ValueSetIndex:
    """Every value set of the store, each of its versions, as a ``ValueSetIndex`` (URL, plus OID and id
    tail as aliases)."""
    index = ValueSetIndex()
    with db.engine.connect() as conn:
        sets = conn.execute(select(VS_TABLE.c.id, VS_TABLE.c.url, VS_TABLE.c.oid, VS_TABLE.c.version,
                                   VS_TABLE.c.expansion)).all()
        codes: dict[int, list[tuple[str, str]]] = {row[0]: [] for row in sets}
        for vid, system, code in conn.exec_driver_sql(
            "SELECT value_set_id, code_system, code FROM value_set_code"
        ):
            codes.setdefault(vid, []).append((system, code))
    for vid, url, oid, version, expansion in sets:
        index.add(url, codes.get(vid, []), aliases=[oid] if oid else [], version=version or "",
                  expansion=expansion or "")
    return index
