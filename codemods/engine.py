"""The engine's public entry points: pure text in, text and findings out (no file I/O here).

`sources` maps a POSIX path relative to the project root (``pkg/mod.py``) to the file's decoded text.
The path gives the module name used to resolve imports across files.
"""

from __future__ import annotations

import ast
import logging
import multiprocessing
import re
import sys
from collections.abc import Mapping
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from codemods import (
    analyze,
    interrupts,
    sqlmodel_api,
    teardown,
)
from codemods import edits as E
from codemods.alembic_scripts import is_alembic_script
from codemods.async_urls import ASYNC_URL_HELPER
from codemods.blocking_callees import blocking_callee
from codemods.blocking_callees import path_text as block_path_text
from codemods.blocking_calls import THREAD_ADVICE
from codemods.check_cache import cached_findings
from codemods.coloring import Coloring, color_call_graph
from codemods.deadline import FileTimeout, file_deadline, import_untimed
from codemods.dependency_factories import returned_as_dependency
from codemods.edits import Edit, FilePlan, ImportName, Span, TransformError
from codemods.function_facts import HELD_DROPPED, CallSite, FunctionFacts, GeneratorUse
from codemods.gc_pause import collector_paused
from codemods.helpers_src import ASYNC_URL_HELPER_SOURCE, NEXT_CLOSED_HELPER_SOURCE
from codemods.model import EngineOptions, FileOutcome, FileStats, FileStatus, Finding
from codemods.module_edits import session_type_edits
from codemods.project import Project
from codemods.project_analysis import ParseMemo, _analyse, _Analysis, _Parsed
from codemods.source_lines import source_lines
from codemods.spans import SpanMaker
from codemods.staging import restrict_to_stage
from codemods.verify import verify_rewrite

__all__ = ["ParseMemo", "apply_plan", "check_sources", "migrate_sources"]

log = logging.getLogger(__name__)

# Candidates only: an import is added when the rewritten module uses the name (see update_imports).
CORE_NAMES = frozenset(ImportName("sqlalchemy", n) for n in ("select", "func", "delete", "update"))
REVIEW_MARKER = re.compile(r"#\s*awaitify:\s*review\s+(AWT\d{3})\s*((?:(?!#\s*awaitify:).)*)")


# == migrate ========================================================================================
def migrate_sources(
    sources: Mapping[str, str],
    options: EngineOptions,
    left_alone: Mapping[str, str] | None = None,
    memo: ParseMemo | None = None,
) -> dict[str, FileOutcome]:
    """Rewrite every file of the project; files that need no change come back UNCHANGED.

    A file whose rewrite fails (or runs out of time) is left as it was, and the rest is planned again
    without it, so that no other file awaits a function that stayed sync. `left_alone` (path -> why): files
    to leave as they are from the start (FAILED, with that reason), as the caller's verification decided.
    `memo`: the parses of an earlier analysis of this project, to reuse (see ParseMemo)."""
    left_alone = dict(left_alone or {})
    memo = memo if memo is not None else ParseMemo()
    while True:
        with collector_paused():
            outcomes = _migrate_once(sources, options, left_alone, memo)
        newly_failed = {
            path: outcome.error or "failed"
            for path, outcome in outcomes.items()
            if outcome.status is FileStatus.FAILED and path not in left_alone and path in sources
        }
        if not newly_failed:
            return outcomes
        log.info("planning again without %d file(s) that could not be rewritten", len(newly_failed))
        left_alone |= newly_failed


def _migrate_once(
    sources: Mapping[str, str], options: EngineOptions, left_alone: Mapping[str, str], memo: ParseMemo
) -> dict[str, FileOutcome]:
    try:
        try:
            return _migrate_analysed(_analyse(sources, options, left_alone, memo), sources, options, left_alone, memo)
        except _RewriteWorkersLost as exc:  # the analysis is gone with them (see _plan_and_rewrite): start again
            log.warning("parallel rewrite unavailable (%s); analysing and rewriting in this process", exc)
            analyze.reset_caches()
            single = replace(options, jobs=1)
            return _migrate_analysed(_analyse(sources, single, left_alone, memo), sources, single, left_alone, memo)
    finally:
        analyze.reset_caches()  # the facts of every function: not needed once the files are planned


def _migrate_analysed(
    analysis: _Analysis,
    sources: Mapping[str, str],
    options: EngineOptions,
    left_alone: Mapping[str, str],
    memo: ParseMemo,
) -> dict[str, FileOutcome]:
    coloring = color_call_graph(analysis.project, analysis.functions)
    outcomes: dict[str, FileOutcome] = {}
    for path, message in {**left_alone, **analysis.failures}.items():
        outcomes[path] = FileOutcome(path, FileStatus.FAILED, sources[path], sources[path], error=message)
    paths = [path for path in analysis.parsed if path not in left_alone]
    planner = _Planner(analysis, coloring, options)
    if options.only or memo.served_rewritten:
        # plan here, then rewrite the files that have a plan: a stage is decided from every file's plan; and a
        # second run over this engine's own output (the proof of stability) expects none, so forking rewrite
        # workers to plan every file would cost more than planning them here
        jobs: list[tuple[str, str, FilePlan]] = []
        for path in paths:
            outcome, plan = planner.outcome_and_plan(path)
            outcomes[path] = outcome
            if plan is not None:
                jobs.append((path, outcome.old_text, plan))
        if options.only:
            jobs = restrict_to_stage(
                jobs, outcomes, analysis.parsed, analysis.project, analysis.facts_by_path, coloring, options.only
            )
        for path, new_text, error in _apply_plans(jobs, options.jobs, options.file_timeout):
            _record_rewrite(outcomes[path], new_text, error)
    else:
        handoff = [planner]
        del planner, coloring, analysis  # the rewrite lets them go once its workers have them (_plan_and_rewrite)
        outcomes.update(_plan_and_rewrite(paths, handoff, sources, options, memo))
    return dict(sorted(outcomes.items()))


class _Planner:
    """Every file's plan and the outcome it announces, from the analysis and the coloring of the project."""

    def __init__(self, analysis: _Analysis, coloring: Coloring, options: EngineOptions) -> None:
        self.analysis, self.coloring, self.options = analysis, coloring, options

    def outcome_and_plan(self, path: str) -> tuple[FileOutcome, FilePlan | None]:
        """The file's outcome before any rewrite, and its plan (None: nothing to rewrite)."""
        item = self.analysis.parsed[path]
        plan, findings, stats, reasons = _plan_file(item, self.analysis, self.coloring, self.options)
        if plan.is_empty() and not findings:
            return FileOutcome(item.path, FileStatus.UNCHANGED, item.text, item.text), None
        if _only_present_markers(plan, item.text):
            # a second run over migrated code: nothing to rewrite, every review marker already there
            codes = {f.code for f in findings}
            outcome = FileOutcome(
                item.path, FileStatus.UNCHANGED, item.text, item.text, findings=_review_findings(path, item.text, codes)
            )
            return outcome, None
        outcome = FileOutcome(
            item.path,
            FileStatus.UNCHANGED,
            item.text,
            item.text,
            findings=findings,
            stats=stats,
            async_reasons=reasons,
        )
        return outcome, plan

    def rewritten(self, path: str) -> FileOutcome:
        """The file planned, rewritten and verified (the work of one rewrite worker: verifying there, the
        compile of each rewritten file is shared between the workers too)."""
        outcome, plan = self.outcome_and_plan(path)
        if plan is not None:
            job = (path, outcome.old_text, plan, self.options.file_timeout)
            _, new_text, error = _apply_one(job, self.analysis.parsed[path].tree)  # the analysis' tree of the text
            if error is None and new_text != outcome.old_text:
                error = verify_rewrite(outcome.old_text, new_text, path)
            _record_rewrite(outcome, new_text, error)
            outcome.verified = outcome.status is FileStatus.CHANGED
        return outcome


def _record_rewrite(outcome: FileOutcome, new_text: str, error: str | None) -> None:
    if error is not None:
        outcome.status, outcome.error = FileStatus.FAILED, error
        return
    if new_text != outcome.old_text:
        outcome.status, outcome.new_text = FileStatus.CHANGED, new_text
    if outcome.findings:
        # report review items where the user will find them: the marker lines of the new text
        outcome.findings = _review_findings(outcome.path, new_text, {f.code for f in outcome.findings})


_PARALLEL_THRESHOLD = 8  # below this many files to rewrite, worker start-up costs more than it saves
_PLANNER: _Planner | None = None  # the planner of the run in progress, for forked rewrite workers


class _RewriteWorkersLost(Exception):
    """The rewrite workers failed after this process let the analysis go: `_migrate_once` starts again."""


def _plan_and_rewrite(
    paths: list[str],
    handoff: list[_Planner],
    sources: Mapping[str, str],
    options: EngineOptions,
    memo: ParseMemo,
) -> dict[str, FileOutcome]:
    """Plan and rewrite every file, in forked workers that share the analysis (planning a file costs a tenth of
    rewriting it, and a forked worker gets the analysis for free); the text each sends back only when changed.

    `handoff` holds the only reference to the planner, and through it to the analysis: once the workers are
    forked (each holds its own copy), this process lets both go, and while it waits for the workers it puts each
    rewritten text's tree in `memo` in place of the old one (see ParseMemo.replace): the proof of stability
    then parses nothing, and the old trees are freed as the new ones are built, not on top of them. Should the
    workers fail after that, `_RewriteWorkersLost` tells the caller to start again."""
    global _PLANNER
    context = _fork_context()
    if options.jobs > 1 and len(paths) >= _PARALLEL_THRESHOLD and context is not None:
        _PLANNER = handoff[0]
        try:
            with interrupts.process_pool(options.jobs, context) as pool:
                size = max(1, len(paths) // (options.jobs * 8))
                chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
                futures = [pool.submit(_rewrite_in_worker, chunk) for chunk in chunks]  # the first forks them all
                _PLANNER = None
                handoff.clear()
                analyze.reset_caches()
                done: dict[str, FileOutcome] = {}
                for future in as_completed(futures):  # parse ahead what is done, whichever worker did it
                    for outcome in future.result():
                        done[outcome.path] = _with_texts(outcome, sources[outcome.path])
                        if outcome.status is FileStatus.CHANGED:
                            memo.replace(outcome.path, outcome.new_text, options.file_timeout)
            return done
        except (OSError, BrokenProcessPool, _NoPlanner) as exc:
            if not handoff:
                raise _RewriteWorkersLost(f"{type(exc).__name__}: {exc}") from exc
            log.warning("parallel rewrite unavailable (%s); rewriting in this process", exc)
        finally:
            _PLANNER = None
    planner = handoff[0]
    return {path: planner.rewritten(path) for path in paths}


class _NoPlanner(Exception):
    """A rewrite worker started after this process let the analysis go (see _plan_and_rewrite)."""


def _rewrite_in_worker(paths: list[str]) -> list[FileOutcome]:
    if _PLANNER is None:
        raise _NoPlanner("a rewrite worker was started after the analysis was let go")
    outcomes = [_PLANNER.rewritten(path) for path in paths]
    for outcome in outcomes:
        outcome.old_text = ""  # the parent has it: not sent back
        if outcome.status is not FileStatus.CHANGED:
            outcome.new_text = ""
    return outcomes


def _with_texts(outcome: FileOutcome, old_text: str) -> FileOutcome:
    outcome.old_text = old_text
    if outcome.status is not FileStatus.CHANGED:
        outcome.new_text = old_text
    return outcome


def _fork_context() -> multiprocessing.context.BaseContext | None:
    return multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def _apply_plans(
    jobs: list[tuple[str, str, FilePlan]], workers: int, file_timeout: float | None
) -> list[tuple[str, str, str | None]]:
    """The LibCST rewrites, the costly part, in worker processes; results in input order."""
    timed_jobs = [(path, text, plan, file_timeout) for path, text, plan in jobs]
    if workers > 1 and len(jobs) >= _PARALLEL_THRESHOLD:
        context = _fork_context()
        try:
            with interrupts.process_pool(workers, context) as pool:
                return list(pool.map(_apply_one, timed_jobs, chunksize=max(1, len(jobs) // (workers * 4))))
        except (OSError, BrokenProcessPool) as exc:
            log.warning("parallel rewrite unavailable (%s); rewriting in this process", exc)
    return [_apply_one(job) for job in timed_jobs]


def apply_plan(text: str, plan: FilePlan, tree: ast.Module | None = None) -> str:
    """The file rewritten (codemods.statement_rewrite.apply_plan, imported on first use: `check` never needs it;
    LibCST itself only for the files that need it). `tree`: the text's `ast` tree, when the caller has it (it is
    not parsed again)."""
    import_untimed("codemods.statement_rewrite")  # its first import is no file's work (see codemods.deadline)
    from codemods.statement_rewrite import apply_plan as rewrite

    return rewrite(text, plan, tree)


def _apply_one(
    job: tuple[str, str, FilePlan, float | None], tree: ast.Module | None = None
) -> tuple[str, str, str | None]:
    path, text, plan, file_timeout = job
    try:
        with file_deadline(file_timeout):
            return path, apply_plan(text, plan, tree), None
    except FileTimeout as exc:
        return path, text, str(exc)
    except TransformError as exc:
        return path, text, str(exc)
    except Exception as exc:
        if not isinstance(exc, (RecursionError, *_libcst_errors())):
            raise
        return path, text, f"rewrite failed: {type(exc).__name__}: {exc}"


def _libcst_errors() -> tuple[type[Exception], ...]:
    """LibCST's parse and validation errors, when LibCST is loaded (a rewrite that never imported it cannot
    have raised them: asked once the rewrite has failed)."""
    libcst = sys.modules.get("libcst")
    return (libcst.ParserSyntaxError, libcst.CSTValidationError) if libcst is not None else ()


def _plan_file(
    item: _Parsed, analysis: _Analysis, coloring: Coloring, options: EngineOptions
) -> tuple[FilePlan, list[Finding], FileStats, dict[str, list[str]]]:
    plan = FilePlan(item.symbols.name)
    stats = FileStats()
    reasons: dict[str, list[str]] = {}
    disabled = options.disabled_rules
    spans = SpanMaker(item.text)
    for fact in analysis.facts_by_path.get(item.path, []):
        _plan_function(fact, analysis, coloring, plan, spans, item.symbols.uses_sqlalchemy)
    if item.symbols.uses_sqlalchemy and not is_alembic_script(item.symbols):  # Alembic's sync `Session` stays
        module_edits = session_type_edits(analysis.project, item.symbols, lambda: item.tree, spans, item.text)
        plan.edits.extend(module_edits.edits)
        plan.imports |= module_edits.imports
        plan.removable |= module_edits.removable
        plan.force_remove |= module_edits.force_remove
    if not is_alembic_script(item.symbols):  # Alembic runs its scripts on a sync connection: they stay sync
        plan.edits.extend(_sqlmodel_reviews(analysis.project, item))
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


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def _sync_wrapper_review(decorator: str, decorated: str, wrappers_made_async: list[str]) -> str:
    if wrappers_made_async:  # dispatch's `@background_task`: its wrapper opens and closes a session itself
        return (
            f"AWT213 @{decorator}'s {_short(wrappers_made_async[0])}() became async (it does I/O itself) and so did "
            f"{_short(decorated)}(): the wrapper calls it without await, returns its coroutine unawaited and does "
            "what it does around the call (try/except, closing a session) before it runs; await the call there"
        )
    return (
        f"AWT213 @{decorator} is a sync decorator and {_short(decorated)}() became async: its wrapper "
        "gets a coroutine, so what it does around the call (try/except, retries, using the result) no "
        "longer applies; make the wrapper async"
    )


def _path_text(path: list[str]) -> str:
    return " -> ".join(p.rsplit(".", 1)[-1] if i < len(path) - 1 else p for i, p in enumerate(path))


def _plan_function(
    fact: FunctionFacts,
    analysis: _Analysis,
    coloring: Coloring,
    plan: FilePlan,
    spans: SpanMaker,
    uses_sqlalchemy: bool,
) -> None:
    plan.edits.extend(fact.edits)
    plan.edits.extend(fact.reviews)
    plan.imports |= {ImportName(m, n) for m, n in fact.imports}
    plan.removable |= fact.replaced_names
    if any(e.kind == E.QUERY for e in fact.edits):
        plan.imports |= CORE_NAMES
    if fact.helpers:
        for helper in sorted(fact.helpers):
            if helper == ASYNC_URL_HELPER and ASYNC_URL_HELPER_SOURCE not in plan.helpers:
                plan.helpers.append(ASYNC_URL_HELPER_SOURCE)
    is_async = fact.qualname in coloring.async_functions
    in_migration = fact.qualname in coloring.newly_async or _touches_the_session(fact, uses_sqlalchemy)
    if not fact.is_async:
        plan.edits.extend(fact.lazy_reads)
    if is_async:
        if fact.qualname in coloring.newly_async:
            plan.async_defs.add(fact.qualname)
            if fact.async_decorator is not None:  # a test function: pytest must run it on an event loop
                plan.added_decorators[fact.qualname] = fact.async_decorator
                plan.imports.add(ImportName("", fact.async_decorator.split(".", 1)[0]))
            if fact.async_fixture_edit is not None:  # a fixture: pytest-asyncio must drive it
                plan.edits.append(fact.async_fixture_edit)
                plan.imports.add(ImportName("", "pytest_asyncio"))
            if fact.is_contextmanager:
                plan.async_contextmanagers.add(fact.qualname)
                plan.imports.add(ImportName("contextlib", "asynccontextmanager"))
                plan.removable.add("contextmanager")
            for span, decorator, nested in fact.sync_wrappers:
                made_async = [q for q in nested if q in coloring.async_functions]
                plan.edits.append(Edit(E.REVIEW, span, text=_sync_wrapper_review(decorator, fact.qualname, made_async)))
            for span, async_text, reason, removable in fact.blocking_calls:
                if async_text is None:
                    plan.edits.append(Edit(E.REVIEW, span, text=reason))
                    continue
                plan.edits.append(Edit(E.REPLACE_EXPR, span, text=async_text))  # `await asyncio.sleep(x)`
                plan.imports.add(ImportName("", "asyncio"))
                if removable:
                    plan.removable.add(removable)
        plan.edits.extend(fact.async_edits)
        plan.imports |= {ImportName(m, n) for m, n in fact.async_imports}
        plan.removable |= fact.removable_names
        if any(e.kind == E.QUERY for e in fact.async_edits):
            plan.imports |= CORE_NAMES
    else:
        reason = fact.boundary or "this function stays sync"
        for edit in fact.async_edits:
            if edit.kind in {E.AWAIT, E.QUERY, E.REPLACE_EXPR, E.REPLACE_STMT, E.ASYNC_WITH, E.ASYNC_FOR, E.ASYNC_COMP}:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        edit.span,
                        text=f"AWT204 database I/O that cannot be awaited here ({reason})",
                    )
                )
    if analysis.left_alone and (is_async or fact.async_edits or fact.edits):
        plan.edits.extend(_calls_into_files_left_alone(fact, analysis.left_alone))
    if fact.qualname in coloring.newly_async:
        for site in fact.constructions:  # `CoverArtClient()` whose `__init__` blocks
            _plan_blocking_call(site, fact, analysis, coloring, plan)
    for site in fact.calls:
        targets = [c for c in site.callees if c in coloring.async_functions]
        if not targets and fact.qualname in coloring.newly_async:
            _plan_blocking_call(site, fact, analysis, coloring, plan)
        if not targets or site.awaited or site.context == "task_arg":
            continue
        unsure = _unsure_call_review(site, targets)
        if unsure is not None:
            if any(t in coloring.newly_async for t in targets):
                plan.edits.append(unsure)
            continue
        if not any(t in coloring.newly_async for t in targets) and (not is_async or not in_migration):
            # a call between functions that were already async, in code that has nothing to do with the
            # session (asyncpg, redis...): a coroutine stored for later or returned by a lambda is deliberate
            continue
        callee = analysis.functions.get(targets[0])
        path = coloring.reasons.get(targets[0], [targets[0]])
        if site.context == "main_entry":
            plan.edits.append(Edit(E.REPLACE_EXPR, site.span, text=f"asyncio.run({site.source})"))
            plan.imports.add(ImportName("", "asyncio"))
            continue
        is_generator = bool(callee and callee.is_generator and not callee.is_contextmanager)
        is_cm = bool(callee and callee.is_contextmanager)
        if (is_generator or is_cm) and not any(t in coloring.newly_async for t in targets):
            continue  # an async generator or context manager that was already one is already used correctly
        if is_generator and site.context == "assigned":
            continue  # `gen = get_db()`: next(gen) / gen.close() are rewritten where they are used
        if is_generator and site.context == "async_iterable_arg":
            continue  # `StreamingResponse(export_lines(db))` iterates an async generator as well
        if is_generator:
            if site.context == "for_iter" and is_async and site.stmt_span is not None:
                plan.edits.append(Edit(E.ASYNC_FOR, site.stmt_span))
            elif site.context == "comp_iter" and is_async:
                plan.edits.append(Edit(E.ASYNC_COMP, site.span))
            else:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        site.span,
                        text=f"AWT213 {_short(targets[0])}() became an async generator: iterate it with `async for`"
                        f" ({_path_text(path)})",
                    )
                )
            continue
        if is_cm:
            if site.context == "with_item" and is_async and site.stmt_span is not None:
                plan.edits.append(Edit(E.ASYNC_WITH, site.stmt_span, text=f"{site.span[0]}:{site.span[1]}"))
            else:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        site.span,
                        text=f"AWT213 {_short(targets[0])}() became an async context manager ({_path_text(path)})",
                    )
                )
            continue
        if site.context in {"lambda", "genexp"} or not is_async:
            where = {"lambda": "inside a lambda", "genexp": "inside a generator expression"}.get(
                site.context,
                f"in {fact.qualname.rsplit('.', 1)[-1]}, which cannot be async ({fact.boundary})",
            )
            plan.edits.append(
                Edit(
                    E.REVIEW,
                    site.span,
                    text=f"AWT213 calls async {targets[0].rsplit('.', 1)[-1]}() {where}; path: {_path_text(path)}",
                )
            )
            continue
        plan.edits.append(Edit(E.AWAIT, site.span))
    if fact.qualname in coloring.newly_async:
        for span, callees in fact.yield_froms:
            async_source = any(
                c in coloring.async_functions
                and analysis.functions.get(c) is not None
                and analysis.functions[c].is_generator
                for c in callees
            )
            plan.edits.append(Edit(E.YIELD_FROM, span, text="async" if async_source else "sync"))
    for use in fact.generator_uses:
        if use.qualname in coloring.newly_async and not use.awaited:
            _plan_generator_use(use, is_async, coloring, plan)
    offloaded = {function: (call, direct, imported) for function, call, direct, imported in fact.offloads}
    rewritten_offloads: set[Span] = set()
    for span, _line, qualname in fact.callback_refs:
        if qualname in coloring.newly_async and span in offloaded and is_async:
            # `await run_in_threadpool(fn, x)` -> `await fn(x)` (see thread_offloads)
            call, direct, imported = offloaded[span]
            plan.edits.append(Edit(E.REPLACE_EXPR, call, text=direct))
            rewritten_offloads.add(call)
            if imported:
                plan.removable.add(imported)
        elif qualname in coloring.newly_async and not _returned_as_dependency(analysis, fact.qualname, qualname, span):
            plan.edits.append(
                Edit(
                    E.REVIEW,
                    span,
                    text=f"AWT213 {qualname.rsplit('.', 1)[-1]}() became async and is passed as a callback",
                )
            )
    _drop_unused_loops(fact, rewritten_offloads, plan)
    for span, dependency in fact.opaque_overrides:
        if dependency in coloring.newly_async:
            text = (
                f"AWT213 overrides {_short(dependency)}(), which became async: check that this override hands out "
                "an AsyncSession (awaitify cannot follow it)"
            )
            plan.edits.append(Edit(E.REVIEW, span, text=text))


def _drop_unused_loops(fact: FunctionFacts, rewritten_offloads: set[Span], plan: FilePlan) -> None:
    """`loop = asyncio.get_running_loop()` whose every read was a `loop.run_in_executor(...)` rewritten to
    `await fn(...)`: the assignment goes (an unused local otherwise, ruff F841)."""
    served: dict[Span, list[tuple[Span, int, str]]] = {}
    for call, assignment, reads, getter in fact.offload_loops:
        served.setdefault(assignment, []).append((call, reads, getter))
    for assignment, calls in served.items():
        if all(call in rewritten_offloads for call, _, _ in calls) and len(calls) == calls[0][1]:
            plan.edits.append(Edit(E.REPLACE_STMT, assignment, text=""))
            plan.removable.add(calls[0][2])


def _returned_as_dependency(analysis: _Analysis, factory: str, returned: str, span: Span) -> bool:
    """`return role_checker` in a factory used only as `Depends(check_role([...]))`: FastAPI awaits it."""
    modules = (
        (parsed.symbols.name, parsed.text, lambda parsed=parsed: parsed.tree) for parsed in analysis.parsed.values()
    )
    return returned_as_dependency(analysis.project, modules, factory, returned, span)


def _plan_blocking_call(
    site: CallSite, fact: FunctionFacts, analysis: _Analysis, coloring: Coloring, plan: FilePlan
) -> None:
    """A call, in a function made async, of a project function that stays sync and blocks: run in a worker thread
    as the sync function ran it, or flagged where it cannot be moved so (see `blocking_callees`)."""
    callee = blocking_callee(site, coloring.blocking)
    if callee is None:
        return
    facts = analysis.functions.get(callee)
    later = facts is not None and (facts.is_generator or facts.is_contextmanager)
    if site.thread_text is not None and not later:
        plan.edits.append(Edit(E.REPLACE_EXPR, site.span, text=site.thread_text))
        plan.imports.add(ImportName("", "asyncio"))
        return
    if later:
        advice = (
            "it blocks when iterated or entered, not when called: do that in a worker thread, or use an async client"
        )
    else:
        advice = THREAD_ADVICE
    called = _short(callee.removesuffix(".__init__"))  # a constructor: the class's name
    text = (
        f"AWT220 {called}() blocks the event loop now that {_short(fact.qualname)}() is async (sync, it ran "
        f"in a worker thread): {block_path_text(coloring.blocking[callee])}; {advice}"
    )
    plan.edits.append(Edit(E.REVIEW, site.span, text=text))


def _unsure_call_review(site: CallSite, targets: list[str]) -> Edit | None:
    """A call that may or may not return a coroutine: it runs one of several functions, some async and some not
    (`repo.count()` of `for repo in [UserRepo(db), ItemRepo(db)]`), or a parameter holding an async function or what
    some caller hands it instead (`loader=load_user`, a caller passing a lambda). Neither an await nor none is right
    for every case: flagged, never awaited."""
    if site.context == "uncertain":
        text = (
            f"AWT213 calls a parameter that holds {_callee_names(targets, site.callees)} (async) or what a caller "
            "passes instead: awaitify cannot tell whether it returns a coroutine"
        )
        return Edit(E.REVIEW, site.span, text=text)
    if len(targets) == len(site.callees):
        return None
    synced = _callee_names([c for c in site.callees if c not in targets], site.callees)
    text = (
        f"AWT213 calls one of {_callee_names(targets, site.callees)} (async) and {synced} (sync): awaitify cannot "
        "tell which it runs"
    )
    return Edit(E.REVIEW, site.span, text=text)


def _callee_names(qualnames: list[str], among: tuple[str, ...]) -> str:
    """`count()`; `UserRepo.count()` where the candidates share the name (methods of several classes)."""
    shared = len({_short(c) for c in among}) < len(among)
    return ", ".join(f"{'.'.join(q.rsplit('.', 2)[-2:]) if shared else _short(q)}()" for q in qualnames)


def _plan_generator_use(use: GeneratorUse, is_async: bool, coloring: Coloring, plan: FilePlan) -> None:
    """`next(gen)`, `gen.close()`... of a generator that became async: awaited in a function that is async,
    flagged elsewhere (an inline `next(get_db())` like the call making any generator there)."""
    if is_async:
        if use.needs_next_closed_helper and NEXT_CLOSED_HELPER_SOURCE not in plan.helpers:
            plan.helpers.append(NEXT_CLOSED_HELPER_SOURCE)
        if not _draw_as_query_session(use, plan):
            plan.edits.append(Edit(E.REPLACE_EXPR, use.span, text=use.async_text))
        if use.lifetime == HELD_DROPPED:
            plan.edits.append(Edit(E.REVIEW, use.span, text=_HELD_DROPPED_REVIEW.format(name=_short(use.qualname))))
        return
    if use.made_here is not None:
        path = _path_text(coloring.reasons.get(use.qualname, [use.qualname]))
        text = f"AWT213 {_short(use.qualname)}() became an async generator: iterate it with `async for` ({path})"
        plan.edits.append(Edit(E.REVIEW, use.made_here, text=text))
        return
    text = f"AWT213 {_short(use.qualname)}() became an async generator; this function cannot await it"
    plan.edits.append(Edit(E.REVIEW, use.span, text=text))


_HELD_DROPPED_REVIEW = (
    "AWT223 this {name}() generator is never closed here: the sync one was closed when this function returned, the "
    "async one is closed later by the event loop, while its session may be in use again (IllegalStateChangeError): "
    "close it here (`try: ... finally: await gen.aclose()`)"
)


def _draw_as_query_session(use: GeneratorUse, plan: FilePlan) -> bool:
    """`next(get_db()).query(User).all()`: the query's rewrite holds the session expression, so the draw is
    rewritten as its session (`(await _awaitify_next_closed(get_db())).scalars(...)`)."""
    for index, edit in enumerate(plan.edits):
        spec = edit.query
        if edit.kind != E.QUERY or spec is None or spec.session_src != use.source or not use.source:
            continue
        if edit.span[:2] <= use.span[:2] and use.span[2:] <= edit.span[2:]:
            plan.edits[index] = replace(edit, query=replace(spec, session_src=f"({use.async_text})"))
            return True
    return False


def _touches_the_session(fact: FunctionFacts, uses_sqlalchemy: bool) -> bool:
    """Whether a function is this migration's business even if nothing it calls became async.

    An already-async function missing an await is fixed (and reported by check) only where it works with the
    session (half-migrated code: `async def endpoint(db: Session)` calling an async service without await)
    or in a module that uses SQLAlchemy; async code with no session in it (asyncpg, redis) is left alone."""
    return uses_sqlalchemy or bool(fact.edits or fact.async_edits)


def _calls_into_files_left_alone(fact: FunctionFacts, left_alone: Mapping[str, str]) -> list[Edit]:
    found = []
    for site in fact.calls:
        for callee in site.callees:
            module = next((m for m in left_alone if callee.startswith(m + ".")), None)
            if module is not None:
                text = f"AWT216 {_short(callee)}() is in {module}, left sync: {left_alone[module]}"
                found.append(Edit(E.REVIEW, site.span, text=text))
                break
    return found


# == check ==========================================================================================
def check_sources(sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    """Sync leftovers per file (AWT3xx), with review markers left by a previous migrate.

    With `options.cache_dir`, a tree already checked (same texts, same options, same awaitify) is answered
    from the cache (see codemods.check_cache)."""

    def analysed() -> dict[str, list[Finding]]:
        with collector_paused():
            return _check_sources(sources, options)

    return cached_findings(sources, options, analysed)


def _check_sources(sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    try:
        analysis = _analyse(sources, options)
        teardown.keep(analysis)  # the console script exits without freeing it (see codemods.teardown)
        return _findings(analysis, sources, options)
    finally:
        analyze.reset_caches()  # the facts of every function: not needed once the findings are out


def _findings(analysis: _Analysis, sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    declared_async = {q for q, f in analysis.functions.items() if f.is_async}
    out: dict[str, list[Finding]] = {}
    for path in sorted(sources):
        if path in analysis.failures:
            out[path] = [Finding(path, 1, 1, "AWT000", analysis.failures[path])]
            continue
        item = analysis.parsed[path]
        found: set[Finding] = set()
        for fact in analysis.facts_by_path.get(path, []):
            for line, col, code, message in fact.findings:
                if line:
                    found.add(Finding(path, line, col, code, message))
            if not _touches_the_session(fact, item.symbols.uses_sqlalchemy):
                continue  # async code with no session in it: its coroutines are not this migration's business
            for site in fact.calls:
                targets = [c for c in site.callees if c in declared_async]
                if not targets or site.awaited or site.context in {"task_arg", "main_entry"}:
                    continue
                callee = analysis.functions[targets[0]]
                if callee.is_generator or callee.is_contextmanager:
                    continue
                found.add(
                    Finding(
                        path,
                        site.span[0],
                        site.span[1] + 1,
                        "AWT304",
                        f"`{targets[0].rsplit('.', 1)[-1]}()` is async but its result is never awaited",
                    )
                )
        found |= _sync_api_findings(analysis.project, item)
        markers = _marker_findings(path, item.text)
        # a line with a review marker is reported once, by its marker (a multi-line statement's marker ends it)
        covered = _lines_covered_by_markers({f.line for f in markers}, item)
        found = {f for f in found if f.line not in covered} | markers
        out[path] = sorted(f for f in found if f.code not in options.disabled_rules)
    return out


def _sync_api_findings(project: Project, item: _Parsed) -> set[Finding]:
    from codemods import sqla_names as N

    found: set[Finding] = set()
    # a name that can resolve to one is one of these (see `names_of`): the others need no resolution
    if is_alembic_script(item.symbols):
        return found  # Alembic runs it on a sync connection: its sync imports are no leftover
    names = project.names_of(N.SYNC_API)
    for line, column, module, imported in item.symbols.from_imports:  # kept by the symbols: no tree needed
        for name in imported:
            if name in names and project.canonical(f"{module}.{name}") in N.SYNC_API:
                found.add(
                    Finding(item.path, line, column + 1, "AWT303", f"sync SQLAlchemy API `{name}` is still imported")
                )
    for use in sqlmodel_api.sqlmodel_sync_uses(project, item.symbols, item.transient_tree):
        found.add(Finding(item.path, use.line, use.column + 1, "AWT303", sqlmodel_api.check_message(use)))
    return found


def _only_present_markers(plan: FilePlan, text: str) -> bool:
    """True when the plan is nothing but review markers the text already carries on their lines."""
    if plan.async_defs or plan.helpers or any(e.kind != E.REVIEW for e in plan.edits):
        return False
    lines = source_lines(text)
    return all(
        e.span[0] <= len(lines)
        and any(f"awaitify: review {e.text.split()[0]}" in line for line in lines[e.span[0] - 1 : e.span[2] + 1])
        for e in plan.edits
    )


def _review_findings(path: str, text: str, codes: set[str]) -> list[Finding]:
    """One finding per review marker of `codes` in `text` (1-based line and column of the marker)."""
    found = []
    for number, line in enumerate(source_lines(text), start=1):
        for match in REVIEW_MARKER.finditer(line):
            if match.group(1) in codes:
                reason = match.group(2).strip()
                found.append(Finding(path, number, match.start() + 1, match.group(1), reason))
    return sorted(found)


def _lines_covered_by_markers(marked_lines: set[int], item: _Parsed) -> set[int]:
    """The marked lines, every line of a simple statement whose last line carries a marker, and the lines of a
    function's header over several lines up to its marker (`def read(\n    session: SessionDep,\n) -> int:  # ...`:
    the marker ends the header) (one walk)."""
    covered = set(marked_lines)
    if not marked_lines:
        return covered
    for node in ast.walk(item.transient_tree()):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            header = [line for line in marked_lines if node.lineno <= line < node.body[0].lineno]
            if header:
                covered.update(range(node.lineno, max(header) + 1))
        elif isinstance(node, ast.stmt) and not hasattr(node, "body"):
            end = node.end_lineno or node.lineno
            if end in marked_lines:
                covered.update(range(node.lineno, end + 1))
    return covered


def _marker_findings(path: str, text: str) -> set[Finding]:
    found: set[Finding] = set()
    if "awaitify" not in text:
        return found
    for number, line in enumerate(source_lines(text), start=1):
        match = REVIEW_MARKER.search(line)
        if match:
            found.add(
                Finding(
                    path,
                    number,
                    match.start() + 1,
                    "AWT307",
                    f"review marker {match.group(1)}: {match.group(2).strip()}",
                )
            )
    return found
