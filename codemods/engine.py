"""The engine's public entry points: pure text in, text and findings out (no file I/O here).

`sources` maps a POSIX path relative to the project root (``pkg/mod.py``) to the file's decoded text.
The path gives the module name used to resolve imports across files.

Here: `migrate`'s orchestration (plan again without a file whose rewrite fails; plan and rewrite in forked workers
that share the analysis) and `check`'s. What they share lives apart: the parsed files and the analysis of a
project (`project_analysis`), a file's and a function's plan (`file_plans`, `function_plans`), and `check`'s
findings and the review markers' lines (`check_findings`).
"""

from __future__ import annotations

import ast
import logging
import multiprocessing
import sys
from collections.abc import Collection, Container, Mapping
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from codemods import analyze, interrupts, teardown
from codemods.check_cache import cached_findings
from codemods.check_findings import _findings, _only_present_markers, _review_findings
from codemods.coloring import Coloring, color_call_graph
from codemods.deadline import FileTimeout, file_deadline, import_untimed
from codemods.edits import FilePlan, TransformError
from codemods.file_plans import _plan_file
from codemods.function_facts import FunctionFacts
from codemods.gc_pause import collector_paused
from codemods.model import EngineOptions, FileOutcome, FileStatus, Finding
from codemods.project_analysis import ParseMemo, _analyse, _Analysis
from codemods.staging import restrict_to_stage
from codemods.verify import verify_rewrite

__all__ = ["ParseMemo", "apply_plan", "check_sources", "migrate_sources"]

log = logging.getLogger(__name__)


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
                analysed = handoff[0].analysis.facts_by_path
                sizes = {path: len(sources[path]) for path in paths}
                chunks = rewrite_chunks(paths, sizes, analysed, options.jobs, _with_helpers(analysed))
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


# The files an analysis read are the ones rewritten (796 of the 1,063 the generated 2,131-file repository's analysis
# reads; none of the others): each chunk of them is at least this share of their work, per worker.
SMALLEST_CHUNK_SHARE = 1 / 24
# The files no analysis read are planned in no time (nothing to rewrite): this many to a chunk.
UNREAD_PER_CHUNK = 256


def rewrite_chunks(
    paths: list[str], sizes: Mapping[str, int], analysed: Container[str], jobs: int, full: Collection[str] = ()
) -> list[list[str]]:
    """The rewrite workers' chunks of `paths`, in the order they are handed out (a worker takes the next when it is
    free). The files the analysis read come first, largest first, in chunks that shrink with the work left
    (guided scheduling: a chunk is 1/(2 * jobs) of what is left, at least SMALLEST_CHUNK_SHARE of a worker's part),
    so that the workers run out of work together and the last results, which this process parses (see
    `ParseMemo.replace`), are few; the other files after them, in large chunks.

    `full`: files known to need the full LibCST rewrite (see `_with_helpers`), before all the others, a chunk each:
    the worker that takes one imports LibCST (~0.15-0.2 s, the first time) while the others rewrite by text. Handed
    out by size, the session module of the generated 195-file tree (its one such file) came in the last chunks,
    and the other worker waited for that import at the end of the rewrite."""
    first = sorted((path for path in paths if path in full), key=lambda path: (-sizes[path], path))
    chunks: list[list[str]] = [[path] for path in first]
    paths = [path for path in paths if path not in full]
    read = sorted((path for path in paths if path in analysed), key=lambda path: (-sizes[path], path))
    unread = [path for path in paths if path not in analysed]
    left = sum(sizes[path] for path in read)
    smallest = left / jobs * SMALLEST_CHUNK_SHARE
    chunk: list[str] = []
    weight = 0
    for path in read:
        if not chunk:
            target = max(smallest, left / (2 * jobs))
        chunk.append(path)
        weight += sizes[path]
        if weight >= target:
            chunks.append(chunk)
            left -= weight
            chunk, weight = [], 0
    if chunk:
        chunks.append(chunk)
    chunks.extend(unread[start : start + UNREAD_PER_CHUNK] for start in range(0, len(unread), UNREAD_PER_CHUNK))
    return chunks


def _with_helpers(facts_by_path: Mapping[str, list[FunctionFacts]]) -> set[str]:
    """The files one of whose functions adds a helper to the module (an async URL's): their rewrite is the full
    LibCST one (`statement_rewrite.try_apply` declines a plan with helpers)."""
    return {path for path, facts in facts_by_path.items() if any(fact.helpers for fact in facts)}


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
