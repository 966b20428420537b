"""Staged migrations (`--only GLOB`): rewrite part of a project and leave a tree that still runs.

The whole project is analysed and colored as for a one-shot migration. The unit of a stage is the file:
awaitify renames `Session` file-wide, so a file migrates completely or not at all. Files the one-shot
migration would change are coupled when migrating one without the other would break the program:

- hard couplings: a call, reference (`add_task(f, db)`), callback, generator use or override between a
  function that becomes async (or does session I/O it cannot await) and another file, constructing a class
  whose `__init__` does such I/O, and a use of another file's session global (a sessionmaker, an engine, an
  `Annotated[Session, Depends(...)]` alias). Both files migrate, or neither;
- dependency couplings: a `Depends(get_db)` (parameter default, the file's own alias) where `get_db`
  becomes async. The provider cannot migrate while a sync user remains; a migrating user whose provider
  stays sync is switched to the project's async twin provider (an `async def` generator yielding an
  `AsyncSession`, as teams keep beside the sync one during a migration), or stays sync when there is none.

The files that migrate are the largest set of in-scope files closed under these rules (a greatest fixed
point: files are only ever removed); files the one-shot migration leaves unchanged take part as well, since
what they call and what their dependencies provide must stay consistent. In-scope files left out are
byte-identical and reported with AWT215.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from codemods import edits as E
from codemods import sqla_names as N
from codemods.coloring import Coloring, override_families
from codemods.edits import Edit, FilePlan, ImportName
from codemods.function_facts import FunctionFacts
from codemods.model import FileOutcome, FileStats, Finding
from codemods.project import Project
from codemods.scope import in_scope
from codemods.spans import SpanMaker
from codemods.symbols import ModuleSymbols
from codemods.types import ASYNC_SESSION

log = logging.getLogger(__name__)

BLOCKED_CODE = "AWT215"
_SESSION_API = (
    N.SYNC_SESSIONMAKERS | N.SYNC_CREATE_ENGINE | N.SYNC_SESSION_CLASSES | N.SCOPED_SESSION | N.FASTAPI_DEPENDS
)


class StagedFile(Protocol):
    """What the staging needs of one parsed file (the engine's parsed files have it)."""

    path: str
    text: str
    symbols: ModuleSymbols

    @property
    def tree(self) -> ast.Module: ...


@dataclass(frozen=True, order=True)
class Coupling:
    """Two files that must migrate together (hard) or a dependency user and its provider's file."""

    user: str
    other: str
    user_line: int
    other_line: int
    what: str
    provider: str = ""  # a dependency coupling: the provider's qualname (else hard)
    span: tuple[int, int, int, int] = (0, 0, 0, 0)  # the provider expression inside `Depends(...)`
    local: str = ""  # how the user's file names the provider there


@dataclass
class Stage:
    migrating: set[str] = field(default_factory=set)
    blocked: dict[str, Finding] = field(default_factory=dict)
    # file -> (span of the provider name inside `Depends(...)`, the twin's import, the local name it replaces)
    swaps: dict[str, list[tuple[tuple[int, int, int, int], ImportName, str]]] = field(default_factory=dict)


def plan_stage(
    files: Mapping[str, StagedFile],
    project: Project,
    facts_by_path: Mapping[str, list[FunctionFacts]],
    coloring: Coloring,
    changing: set[str],
    only: tuple[str, ...],
) -> Stage:
    """Which of the `changing` files (those the one-shot migration rewrites) migrate in this stage.

    Files the one-shot migration leaves as they are take part too: their text needs no change, but what
    they call and what their `Depends` provide must be what the one-shot migration gives them."""
    file_of = {fact.qualname: path for path, facts in facts_by_path.items() for fact in facts}
    couplings = _couplings(files, project, facts_by_path, coloring, set(files), file_of)
    twins = _async_twins(project, facts_by_path)
    consistent = {path for path in files if path not in changing or in_scope(path, only)}
    why: dict[str, tuple[Coupling, str]] = {}
    removed = True
    while removed:
        removed = False
        for coupling in couplings:
            for here, there in _removals(coupling, consistent, twins, only):
                consistent.discard(here)
                why[here] = (coupling, there)
                removed = True
    stage = Stage(migrating=consistent & changing)
    for path in sorted(changing - consistent):
        if in_scope(path, only):
            stage.blocked[path] = _blocked_finding(path, why, only)
    for coupling in couplings:
        if coupling.provider and coupling.user in consistent and coupling.other not in consistent:
            twin = twins[coupling.provider]
            assert twin is not None  # else _removals took the user out
            module, _, name = twin.rpartition(".")
            stage.swaps.setdefault(coupling.user, []).append((coupling.span, ImportName(module, name), coupling.local))
            stage.migrating.add(coupling.user)  # a file with nothing else to change may still need the switch
    log.info("staged run: %d file(s) migrate, %d in scope blocked", len(stage.migrating), len(stage.blocked))
    return stage


def _removals(
    coupling: Coupling, consistent: set[str], twins: Mapping[str, str | None], only: tuple[str, ...]
) -> list[tuple[str, str]]:
    user, other = coupling.user, coupling.other
    if not coupling.provider:
        if user in consistent and other not in consistent:
            return [(user, other)]
        if other in consistent and user not in consistent:
            return [(other, user)]
        return []
    if other in consistent and user not in consistent:
        return [(other, user)]  # the provider would hand an AsyncSession to a sync user
    switchable = twins.get(coupling.provider) is not None and in_scope(user, only)
    if user in consistent and other not in consistent and not switchable:
        return [(user, other)]  # no async provider to switch to, or the file is not ours to switch
    return []


def restrict_to_stage(
    jobs: list[tuple[str, str, FilePlan]],
    outcomes: dict[str, FileOutcome],
    files: Mapping[str, StagedFile],
    project: Project,
    facts_by_path: Mapping[str, list[FunctionFacts]],
    coloring: Coloring,
    only: tuple[str, ...],
) -> list[tuple[str, str, FilePlan]]:
    """The rewrites of this stage: other files come back unchanged, in-scope ones with why (AWT215)."""
    stage = plan_stage(files, project, facts_by_path, coloring, {path for path, _, _ in jobs}, only)
    kept = []
    planned = {path: (text, plan) for path, text, plan in jobs}
    for path in sorted(stage.migrating):
        text, plan = planned.get(path) or (files[path].text, FilePlan(files[path].symbols.name))
        apply_swaps(stage, path, plan.edits, plan.imports, plan.removable)
        kept.append((path, text, plan))
    for path, outcome in outcomes.items():
        if path in stage.migrating or outcome.error is not None:
            continue
        if path in stage.blocked:
            outcome.findings = [stage.blocked[path]]
        elif not in_scope(path, only):
            outcome.findings = []  # out of scope: not this stage's business
        outcome.stats, outcome.async_reasons = FileStats(), {}
    return kept


def apply_swaps(stage: Stage, path: str, edits: list[Edit], imports: set[ImportName], removable: set[str]) -> None:
    """Point a migrating file's `Depends(sync provider)` at the async twin."""
    for span, import_name, replaced in stage.swaps.get(path, []):
        edits.append(Edit(E.REPLACE_EXPR, span, text=import_name.local))
        imports.add(import_name)
        removable.add(replaced)


# ---- couplings ---------------------------------------------------------------------------------


def _def_line(fact: FunctionFacts | None) -> int:
    if fact is None or not fact.def_key:
        return 1
    return int(fact.def_key.split(":", 1)[0])


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def _couplings(
    files: Mapping[str, StagedFile],
    project: Project,
    facts_by_path: Mapping[str, list[FunctionFacts]],
    coloring: Coloring,
    changing: set[str],
    file_of: Mapping[str, str],
) -> list[Coupling]:
    facts = {fact.qualname: fact for path_facts in facts_by_path.values() for fact in path_facts}
    found: set[Coupling] = set()

    def couple(path: str, line: int, callee: str, what: str) -> None:
        other = file_of.get(callee)
        if other is not None and other != path and path in changing and other in changing:
            found.add(Coupling(path, other, line, _def_line(facts.get(callee)), what))

    for path in sorted(changing):
        for fact in facts_by_path.get(path, []):
            caller = _short(fact.qualname)
            for site in fact.calls:
                for callee in site.callees:
                    if callee in coloring.newly_async or _stuck_with_io(facts.get(callee), coloring):
                        couple(path, site.line, callee, f"{caller} calls {_short(callee)}()")
            for _span, line, qualname in fact.callback_refs:
                if qualname in coloring.newly_async:
                    couple(path, line, qualname, f"{caller} passes {_short(qualname)} as a callback")
            for use in fact.generator_uses:
                if use.qualname in coloring.newly_async:
                    couple(path, use.span[0], use.qualname, f"{caller} uses the generator {_short(use.qualname)}()")
    for method, relatives in sorted(override_families(project, set(facts)).items()):
        if method in coloring.newly_async:
            for relative in sorted(relatives):
                method_file = file_of.get(method)
                if method_file is not None:
                    line = _def_line(facts.get(method))
                    couple(method_file, line, relative, f"{_short(method)} overrides {relative}")
    session_globals = _session_globals(files, project)
    for path in sorted(changing):
        if path in files:
            found |= _reference_couplings(files[path], project, coloring, changing, file_of, session_globals, facts)
    return sorted(found)


def _stuck_with_io(fact: FunctionFacts | None, coloring: Coloring) -> bool:
    """A function that does session I/O but cannot become async (AWT204 markers): it uses its caller's session."""
    return fact is not None and fact.qualname not in coloring.async_functions and bool(fact.async_edits)


def _session_globals(files: Mapping[str, StagedFile], project: Project) -> dict[str, tuple[str, int]]:
    """Module-level names whose value involves the session machinery -> the file and line defining them."""
    out: dict[str, tuple[str, int]] = {}
    grew = True
    while grew:
        grew = False
        for path, item in sorted(files.items()):
            for name, value in item.symbols.global_values.items():
                qualname = f"{item.symbols.name}.{name}"
                if qualname in out:
                    continue
                for node in ast.walk(value):
                    if isinstance(node, ast.Name | ast.Attribute):
                        target = project.resolve_expr(item.symbols.name, node)
                        if target is not None and (project.canonical(target) in _SESSION_API or target in out):
                            out[qualname] = (path, value.lineno)
                            grew = True
                            break
    return out


def _reference_couplings(
    item: StagedFile,
    project: Project,
    coloring: Coloring,
    changing: set[str],
    file_of: Mapping[str, str],
    session_globals: Mapping[str, tuple[str, int]],
    facts: Mapping[str, FunctionFacts],
) -> set[Coupling]:
    module = item.symbols.name
    spans = SpanMaker(item.text)
    found: set[Coupling] = set()
    provider_refs: set[int] = set()  # `get_db` in `Depends(get_db)`: a dependency coupling, not a plain reference
    for node in ast.walk(item.tree):
        if isinstance(node, ast.Call) and node.args and project.resolve_expr(module, node.func) in N.FASTAPI_DEPENDS:
            provider_refs.add(id(node.args[0]))
            provider = project.resolve_expr(module, node.args[0])
            other = file_of.get(provider or "")
            if provider in coloring.newly_async and other in changing and other != item.path:
                what = f"`Depends({_short(provider or '')})`"
                if isinstance(node.args[0], ast.Name):
                    # what it provides goes to this file's code, or to files using this file's session
                    # globals (an `Annotated[Session, Depends(...)]` alias), which are coupled to it
                    span, local = spans.span(node.args[0]), node.args[0].id
                    line = _def_line(facts.get(provider or ""))
                    found.add(Coupling(item.path, other, node.lineno, line, what, provider or "", span, local))
                else:
                    line = _def_line(facts.get(provider or ""))
                    found.add(Coupling(item.path, other, node.lineno, line, f"{what} through an attribute"))
        elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
            target = project.resolve_expr(module, node) or ""
            other = file_of.get(target)
            handed_over = target in coloring.newly_async and id(node) not in provider_refs
            if handed_over and other in changing and other != item.path:  # `add_task(record, db)`: no call site
                line = _def_line(facts.get(target))
                found.add(Coupling(item.path, other, node.lineno, line, f"refers to {_short(target)}()"))
            other, line = session_globals.get(target, (None, 1))
            if other is not None and other != item.path and other in changing:
                found.add(Coupling(item.path, other, node.lineno, line, f"uses `{_short(target)}`"))
            constructor = f"{target}.__init__"  # `Repo(db)`: no call site records it
            other = file_of.get(constructor)
            stuck = target in project.classes and _stuck_with_io(facts.get(constructor), coloring)
            if stuck and other in changing and other != item.path:
                line = _def_line(facts.get(constructor))
                found.add(Coupling(item.path, other, node.lineno, line, f"constructs `{_short(target)}`"))
    return found


def _async_twins(project: Project, facts_by_path: Mapping[str, list[FunctionFacts]]) -> dict[str, str | None]:
    """Each sync session provider -> the async one to depend on instead (same module first, else the only one)."""
    async_providers: list[str] = []
    sync_providers: list[str] = []
    for facts in facts_by_path.values():
        for fact in facts:
            symbols = project.functions.get(fact.qualname)
            if symbols is None or not symbols.is_generator:
                continue
            if fact.is_async and project.return_type(symbols) == ASYNC_SESSION:
                async_providers.append(fact.qualname)
            elif not fact.is_async:
                sync_providers.append(fact.qualname)
    twins: dict[str, str | None] = {}
    for provider in sorted(sync_providers):
        module = provider.rpartition(".")[0]
        same_module = [q for q in async_providers if q.rpartition(".")[0] == module]
        candidates = same_module or async_providers
        twins[provider] = candidates[0] if len(candidates) == 1 else None
    return twins


def _blocked_finding(path: str, why: Mapping[str, tuple[Coupling, str]], only: tuple[str, ...]) -> Finding:
    """Why an in-scope file stays as it is: the chain of couplings down to a file out of scope."""
    first_coupling, _ = why[path]
    line = first_coupling.user_line if first_coupling.user == path else first_coupling.other_line
    chain: list[str] = []
    current, seen = path, set()
    while current in why and current not in seen:
        seen.add(current)
        coupling, there = why[current]
        if coupling.provider and coupling.user == current:
            no_twin = " and no async twin provider exists" if in_scope(current, only) else ""
            chain.append(f"{current} gets {coupling.what} from {there}, which stays sync{no_twin}")
            break
        verb = "used by" if coupling.provider else "coupled to"
        chain.append(f"{verb} {there} ({coupling.what}, {coupling.user}:{coupling.user_line})")
        current = there
    tail = "" if in_scope(current, only) else f"; {current} is out of scope"
    message = f"not migrated in this stage: {' -> '.join(chain)}{tail}"
    return Finding(path, line, 1, BLOCKED_CODE, message)
