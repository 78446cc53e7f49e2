"""The import wizard's work and choices, apart from its pages: plain functions the pages run on worker
threads (no widgets), and the plan the steps fill in."""

from __future__ import annotations

import dataclasses

from ..interchange.tabular import Preview
from ..services.context import Progress, ServiceContext
from ..services.intake import ImportResult, import_file, preview_file
from ..services.intake_mapping import FileMapping, inspect_file
from ..services.practices import PracticeSummary, list_practices

#: rows of the file shown in the check step
SHOWN_ROWS = 100


# --- work done on the worker threads (plain functions, no widgets) ---------------------------------------

def _ctx(ctx: ServiceContext, progress: Progress) -> ServiceContext:
    return dataclasses.replace(ctx, progress=progress)


def inspect_job(progress: Progress, ctx: ServiceContext, path: str, kind: str, practice: str | None,
                profile: str | None) -> FileMapping:
    return inspect_file(_ctx(ctx, progress), path, kind, practice_code=practice, profile=profile)


def preview_job(progress: Progress, ctx: ServiceContext, path: str, kind: str, practice: str | None,
                mapping: dict[str, str]) -> Preview:
    return preview_file(_ctx(ctx, progress), path, kind, practice_code=practice, mapping=mapping,
                        max_rows=SHOWN_ROWS)


def import_job(progress: Progress, ctx: ServiceContext, path: str, kind: str, practice: str | None,
               mapping: dict[str, str], valid_rows_only: bool, save_as: str | None) -> ImportResult:
    return import_file(_ctx(ctx, progress), path, kind, practice_code=practice, mapping=mapping,
                       valid_rows_only=valid_rows_only, save_profile_as=save_as)


def practices_job(progress: Progress, ctx: ServiceContext) -> list[PracticeSummary]:
    return list_practices(_ctx(ctx, progress))


# --- what the steps share ----------------------------------------------------------------------------

@dataclasses.dataclass
class ImportPlan:
    """The choices made so far; each step reads the earlier ones."""

    path: str = ""
    kind: str = "encounters"
    practice: str | None = None
    inspected: FileMapping | None = None
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    save_as: str | None = None
    preview: Preview | None = None
    valid_rows_only: bool = False
    result: ImportResult | None = None


