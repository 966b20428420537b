"""What `check` reports of an analysed project, and the review markers a migrated text carries.

`_findings` turns the analysis into each file's findings: what the facts found, async functions called without
an await, the sync SQLAlchemy / SQLModel API still imported or named (AWT303), and the review markers left by a
previous `migrate` (AWT307), which stand for the findings on the lines they cover. The markers' readers
(`_review_findings`, `_only_present_markers`) serve `migrate` too: a file's review findings are reported where its
new text carries them. Apart from the engine's entry points so that `check_sources` reads as orchestration only.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping

from codemods import edits as E
from codemods import sqlmodel_api
from codemods.edits import FilePlan
from codemods.function_plans import _touches_the_session
from codemods.model import EngineOptions, Finding
from codemods.project import Project
from codemods.project_analysis import _Analysis, _Parsed
from codemods.run_sync_targets import KeptSync, used_only_within
from codemods.source_lines import source_lines

REVIEW_MARKER = re.compile(r"#\s*awaitify:\s*review\s+(AWT\d{3})\s*((?:(?!#\s*awaitify:).)*)")


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
    kept = project.kept_sync(item.symbols)
    if kept.whole_module:
        return found  # Alembic runs it on a sync connection: its sync imports are no leftover
    names = project.names_of(N.SYNC_API)
    only_in_run_sync_helpers: Callable[[str], bool] | None = None  # made once, when an import asks
    for line, column, module, imported in item.symbols.from_imports:  # kept by the symbols: no tree needed
        for name in imported:
            if name in names and project.canonical(f"{module}.{name}") in N.SYNC_API:
                if only_in_run_sync_helpers is None:
                    only_in_run_sync_helpers = _only_in_run_sync_helpers(kept, item)
                if only_in_run_sync_helpers(name):
                    continue  # what run_sync() hands its sync helpers (see codemods.run_sync_targets)
                found.add(
                    Finding(item.path, line, column + 1, "AWT303", f"sync SQLAlchemy API `{name}` is still imported")
                )
    for use in sqlmodel_api.sqlmodel_sync_uses(project, item.symbols, item.transient_tree):
        found.add(Finding(item.path, use.line, use.column + 1, "AWT303", sqlmodel_api.check_message(use)))
    return found


def _only_in_run_sync_helpers(kept: KeptSync, item: _Parsed) -> Callable[[str], bool]:
    """Whether every use of a name is in a function that stays sync, one `run_sync()` calls synchronously (see
    `KeptSync`; the module's tree is asked for only when the module has one)."""
    trees: list[ast.Module] = []

    def tree() -> ast.Module:
        if not trees:
            trees.append(item.transient_tree())
        return trees[0]

    ranges = list(kept.ranges)
    lines = source_lines(item.text)

    def only_within(name: str) -> bool:
        if not ranges or _used_outside(lines, name, ranges):
            return False  # a read outside them in the text: no tree needed (an event listener's `Engine` target)
        return used_only_within(tree(), name, ranges)

    return only_within


# a line that may be part of an import statement: `from a import (`, `import b`, `    Session,` or `)`
_IMPORT_LIKE = re.compile(r"^\s*(from\s|import\s|[\w\s,]*\)?\s*$)")


def _used_outside(lines: list[str], name: str, ranges: list[tuple[int, int]]) -> bool:
    """A line outside `ranges` holds `name` in code that is no import: the name is read there (an approximation
    on the safe side: a name in a string or comment there counts as a read, so it is reported as before)."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    return any(
        word.search(line) and not _IMPORT_LIKE.match(line) and not any(start <= n <= end for start, end in ranges)
        for n, line in enumerate(lines, start=1)
    )


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
