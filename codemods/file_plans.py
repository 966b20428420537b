"""A file's plan: the edits of each of its functions and of the module, its review findings and its statistics.

`_plan_file` gathers what `function_plans` plans for every function of the file, the module's own edits (the
session type names, SQLModel's sync API), drops the reviews of disabled rules, and counts what the plan does.
Apart from the engine's entry points so that `migrate` (which rewrites by the plan) reads as orchestration only.
"""

from __future__ import annotations

from dataclasses import replace

from codemods import edits as E
from codemods import sqlmodel_api
from codemods.coloring import Coloring
from codemods.edits import Edit, FilePlan
from codemods.engine_annotations import engine_annotation_edits
from codemods.function_plans import _plan_function
from codemods.model import EngineOptions, FileStats, Finding
from codemods.module_edits import ModuleEdits, session_type_edits
from codemods.project import Project
from codemods.project_analysis import _Analysis, _Parsed
from codemods.reexports import reexported
from codemods.run_sync_targets import LineRange, within
from codemods.spans import SpanMaker
from codemods.type_comments import type_comment_edits


def _plan_file(
    item: _Parsed, analysis: _Analysis, coloring: Coloring, options: EngineOptions, *, reexports: bool = True
) -> tuple[FilePlan, list[Finding], FileStats, dict[str, list[str]]]:
    """`reexports`: keep the imports other modules of the project import from this one (see codemods.reexports);
    False when planning such an importer for that decision."""
    plan = FilePlan(item.symbols.name)
    stats = FileStats()
    reasons: dict[str, list[str]] = {}
    disabled = options.disabled_rules
    spans = SpanMaker(item.text)
    for fact in analysis.facts_by_path.get(item.path, []):
        _plan_function(fact, analysis, coloring, plan, spans, item.symbols.uses_sqlalchemy)
    kept = analysis.project.kept_sync(item.symbols)
    if item.symbols.uses_sqlalchemy and not kept.whole_module:  # Alembic's sync `Session` stays
        kept_sync = list(kept.ranges)
        for edits_of in (session_type_edits, engine_annotation_edits, type_comment_edits):
            module_edits = edits_of(analysis.project, item.symbols, lambda: item.tree, spans, item.text)
            if kept_sync:
                _keep_annotations_of(kept_sync, module_edits)
            plan.edits.extend(module_edits.edits)
            plan.imports |= module_edits.imports
            plan.removable |= module_edits.removable
            plan.force_remove |= module_edits.force_remove
    if not kept.whole_module:  # Alembic runs its scripts on a sync connection: they stay sync
        plan.edits.extend(_sqlmodel_reviews(analysis.project, item))
    if reexports and plan.removable:
        importer_plans: dict[str, FilePlan] = {}

        def plan_of(importer: _Parsed) -> FilePlan:
            if importer.path not in importer_plans:
                importer_plans[importer.path] = _plan_file(importer, analysis, coloring, options, reexports=False)[0]
            return importer_plans[importer.path]

        plan.removable -= reexported(item, analysis, plan.removable, plan_of)
    plan.edits = [_one_line(e) for e in plan.edits if not (e.kind == E.REVIEW and e.text.split()[0] in disabled)]
    plan.edits = _dedupe(plan.edits)
    for qualname in sorted(plan.async_defs):
        reasons[qualname] = coloring.reasons.get(qualname, [])
    stats.functions_made_async = len(plan.async_defs)
    stats.awaits_added = sum(1 for e in plan.edits if e.kind == E.AWAIT)
    stats.queries_rewritten = sum(
        1 for e in plan.edits if e.kind == E.QUERY and e.query and e.query.terminal != "builder"
    )
    findings = sorted(
        Finding(item.path, e.span[0], e.span[1] + 1, e.text.split()[0], e.text.split(" ", 1)[1])
        for e in plan.edits
        if e.kind == E.REVIEW
    )
    return plan, findings, stats, reasons


def _sqlmodel_reviews(project: Project, item: _Parsed) -> list[Edit]:
    """An AWT221 marker on each line importing or naming SQLModel's sync `Session` / `create_engine`."""
    by_line: dict[int, list[sqlmodel_api.SqlModelUse]] = {}
    for use in sqlmodel_api.sqlmodel_sync_uses(project, item.symbols, lambda: item.tree):
        by_line.setdefault(use.line, []).append(use)
    return [
        Edit(
            E.REVIEW,
            (line, uses[0].column, line, uses[0].column),
            text=sqlmodel_api.review_reason(uses),
        )
        for line, uses in by_line.items()
    ]


def _one_line(edit: Edit) -> Edit:
    """A review's reason goes into a comment: one line, whatever source it quotes (`(\\n self\\n ).db`)."""
    if edit.kind != E.REVIEW or ("\n" not in edit.text and "\r" not in edit.text):
        return edit
    return replace(edit, text=" ".join(edit.text.split()))


def _dedupe(edits: list[Edit]) -> list[Edit]:
    seen: set[tuple[str, tuple[int, int, int, int], str]] = set()
    out = []
    for edit in edits:
        key = (edit.kind, edit.span, edit.text if edit.kind != E.QUERY else repr(edit.query))
        if key in seen:
            continue
        seen.add(key)
        out.append(edit)
    return out


def _keep_annotations_of(ranges: list[LineRange], module_edits: ModuleEdits) -> None:
    """Drop the module-wide renames (`Session` -> `AsyncSession`, `Connection` -> `AsyncConnection`) inside
    `ranges`; without any left, the async class is not imported for them."""
    kept = [edit for edit in module_edits.edits if not within(edit.span[0], ranges)]
    if not kept and len(kept) != len(module_edits.edits):
        module_edits.imports = {name for name in module_edits.imports if name.module != "sqlalchemy.ext.asyncio"}
    module_edits.edits = kept
