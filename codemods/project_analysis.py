"""A project's files parsed and analysed: what `migrate` and `check` both start from.

`_Parsed` is a file's text, tree and symbols; its tree can be let go and parsed again, within the budget of the
analysis under way (`_trees`). `_analyse` parses every file (a forked helper parses about half of a big project),
builds the `Project` and the facts of each function of the modules that can matter, in rounds until what callers
pass is stable (split between processes for many modules), and keeps the parses in a `ParseMemo` for the next
analysis of the same project. Apart from the engine's entry points because it is the part they share; the budget
and the shared expressions are rebound by each analysis (`global` in `_analyse`) and read by `_Parsed`, `_parse`
and `ParseMemo`, so they live here with all of them, as one object each.
"""

from __future__ import annotations

import ast
import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from codemods import analyze, argument_hints, astwalk, parallel_analysis, parse_helper
from codemods.argument_hints import HintState
from codemods.deadline import FileTimeout, file_deadline
from codemods.def_parse import def_alone
from codemods.function_facts import FunctionFacts
from codemods.model import EngineOptions
from codemods.parallel_analysis import AnalyseModule, MoreModules
from codemods.project import Project
from codemods.relevance import Relevance, cannot_matter, likely_analysed, name_parts
from codemods.symbols import ModuleSymbols, SharedExpressions, collect_symbols, may_read_state
from codemods.tree_budget import TreeBudget

log = logging.getLogger(__name__)


class _Parsed:
    """A file's text, tree and symbols. The tree can be let go (`release_tree`): it is most of the memory a
    project's analysis holds, and is parsed again if asked for, within the process' budget (see `tree_budget`).
    A def statement asked for while the tree is let go is parsed alone (see `_def_at`)."""

    __slots__ = ("__weakref__", "_defs", "_defs_alone", "_tree", "analysed", "path", "symbols", "text")

    def __init__(self, path: str, text: str, tree: ast.Module | None, symbols: ModuleSymbols) -> None:
        self.path, self.text, self.symbols = path, text, symbols
        self._tree: ast.Module | None = tree
        self._defs: dict[tuple[int, int], ast.FunctionDef | ast.AsyncFunctionDef] | None = None
        # some of its functions hold a def statement parsed alone, not a node of `_tree` (see `_def_at`)
        self._defs_alone = False
        # the analysis under way analyses the module: it reads the whole tree, in which a def asked for is found
        self.analysed = False

    @property
    def tree(self) -> ast.Module:
        if self._tree is None:
            # defs parsed alone stay as they are (a function's analysis under way may read its node again): they
            # go with this tree, when it is let go
            self._tree = self._parse_again()
        _trees.read(self)
        return self._tree

    @property
    def holds_tree(self) -> bool:
        """It holds its tree, or def statements parsed alone (counted in the budget as the tree)."""
        return self._tree is not None or self._defs_alone

    def transient_tree(self) -> ast.Module:
        """The tree for one look (the findings' few lines): a tree let go is parsed again for it, not kept."""
        return self._tree if self._tree is not None else self._parse_again()

    def _parse_again(self) -> ast.Module:
        return ast.parse(self.text, filename=self.path)  # it parsed once: it parses again, the same way

    def release_tree(self) -> None:
        """Let go of the tree and of every function's def statement (their bodies are the tree's bulk); the
        symbols keep the small expressions they hold (annotations, defaults, bases, values)."""
        if not self.holds_tree:
            return
        self._tree, self._defs, self._defs_alone = None, None, False
        _trees.forget(self)
        analyze.forget_lines(self.symbols.name)
        self._release_defs()

    def _release_defs(self) -> None:
        finder = _DefFinder(self)
        for func in self.symbols.functions.values():
            func.release_def(finder)

    def _def_at(self, start: tuple[int, int], lines: tuple[int, int]) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The def statement starting at `start` (line, column) and spanning `lines`: in the tree if it is held,
        else parsed from its own lines (see `codemods.def_parse`; the tree parsed again if that is in doubt).
        The budget counts it as the module's tree, which it was found in before: when the budget lets that go,
        the defs parsed alone go with it. A module the analysis reads whole (`analysed`) is parsed whole at once:
        on the generated 2,131-file repository its defs asked for first were parsed alone for nothing, ~0.02 s of
        CPU per process (the module's analysis is in the same process: modules linked by imports share one)."""
        if self._tree is None and not self.analysed:
            node = def_alone(self.text, self.path, start, lines)
            if node is not None:
                self._defs_alone = True
                _trees.read(self)
                return node
        if self._defs is None:
            self._defs = _defs_of(self.tree)
        return self._defs[start]


def _parsed_elsewhere(path: str, text: str, symbols: ModuleSymbols) -> _Parsed:
    """A file the parse helper parsed (see `codemods.parse_helper`): its symbols, and no tree here yet."""
    item = _Parsed(path, text, None, symbols)
    finder = _DefFinder(item)
    for func in symbols.functions.values():
        func.find_def_with(finder)
    return item


def _portable(item: _Parsed | str) -> ModuleSymbols | str:
    """What the parse helper sends back of a file: its symbols, the def statements let go (or why it failed)."""
    if isinstance(item, str):
        return item
    for func in item.symbols.functions.values():
        func.release_def(None)
    return item.symbols


def _defs_of(tree: ast.Module) -> dict[tuple[int, int], ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every def statement of the tree, by (line, column)."""
    return {
        (node.lineno, node.col_offset): node
        for node in astwalk.statements(tree)  # a def is a statement: no need to walk expressions
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


class _DefFinder:
    """Finds a def statement let go: parsed from its own lines, or in its `_Parsed`'s tree parsed again (see
    `_Parsed._def_at`: one parse serves the analysis of the module and its defs). It refers to the `_Parsed` weakly: the
    symbols that hold it are the `_Parsed`'s own, so a strong reference would make each a cycle, freed only by the
    collector, which the engine pauses (a dropped analysis would stay in memory to the end of the run). Symbols that
    outlive their `_Parsed` parse on their own."""

    __slots__ = ("_owner", "_path", "_text")

    def __init__(self, owner: _Parsed) -> None:
        self._owner = weakref.ref(owner)
        self._path, self._text = owner.path, owner.text

    def __call__(self, start: tuple[int, int], lines: tuple[int, int]) -> ast.FunctionDef | ast.AsyncFunctionDef:
        owner = self._owner()
        if owner is not None:
            return owner._def_at(start, lines)
        node = def_alone(self._text, self._path, start, lines)
        return node if node is not None else _defs_of(ast.parse(self._text, filename=self._path))[start]


# The trees this process holds, within the budget of the analysis under way (see `_analyse`; a module global, not
# an attribute of each `_Parsed`: it holds them, and they would hold it, a cycle left to a paused collector).
_trees = TreeBudget(None)
# The expressions the symbol tables of the analysis under way keep, one node per text (see `SharedExpressions`).
_shared = SharedExpressions()


@dataclass
class _Analysis:
    project: Project
    parsed: dict[str, _Parsed]
    failures: dict[str, str]
    facts_by_path: dict[str, list[FunctionFacts]]
    functions: dict[str, FunctionFacts]
    # Modules left as they are because their rewrite failed: module name -> why. Their functions have no
    # facts (nothing is made async or awaited for them); calls into them are flagged for review.
    left_alone: dict[str, str]


class ParseMemo:
    """The previous analysis' parse and symbols of each file, for the next analysis of the same project.

    `migrate` analyses the project again to prove that a second run changes nothing (and again after a file is
    left alone), and most files come out of the first run unchanged. Trees and symbols are not modified once
    built, so an entry serves any later analysis of the same text. The caller owns the memo and drops it when
    the run is over: it holds every file's tree."""

    def __init__(self, *, parse_ahead: bool = False) -> None:
        """`parse_ahead`: another analysis of the rewritten project follows (`migrate`'s proof that a second run
        changes nothing): parse each rewritten text while the rewrite workers run (see `replace`)."""
        self._parsed: dict[str, _Parsed] = {}
        self._ahead: dict[str, _Parsed] = {}  # rewritten texts, parsed while the rewrite workers ran
        self.parses_ahead = parse_ahead
        # the last `take` served rewritten texts parsed ahead: the analysis is of the engine's own output
        self.served_rewritten = False

    def take(self, sources: Mapping[str, str]) -> dict[str, _Parsed]:
        """The entries whose file still has the same text; the others are dropped (and their trees freed)."""
        reusable = {path: known for path, known in self._parsed.items() if sources.get(path) == known.text}
        self.served_rewritten = False
        for path, ahead in self._ahead.items():
            if path not in reusable and sources.get(path) == ahead.text:
                reusable[path] = ahead
                self.served_rewritten = True
        self._parsed.clear()
        self._ahead.clear()
        return reusable

    def keep(self, parsed: Mapping[str, _Parsed]) -> None:
        self._parsed.update(parsed)

    def replace(self, path: str, text: str, file_timeout: float | None) -> None:
        """A file rewritten to `text`: its old tree is dropped (freed, once the analysis that built it is let go)
        and the new text parsed, for the analysis that proves the rewrite stable, while this process would
        otherwise wait for the rewrite workers. Text that does not parse is left to that analysis, which parses
        it again and reports why."""
        if not self.parses_ahead:
            return
        self._parsed.pop(path, None)
        item = _parse(path, text, file_timeout)
        if not isinstance(item, str):
            self._ahead[path] = item
            _trees.admit(item)  # within the budget of the analysis that planned the rewrite


def _parse(path: str, text: str, file_timeout: float | None) -> _Parsed | str:
    """The file's tree and symbols, or why it cannot be analysed."""
    try:
        with file_deadline(file_timeout):
            tree = ast.parse(text, filename=path)
            symbols = collect_symbols(path, tree, text, _shared)
            symbols.reads_state = may_read_state(text)
    except FileTimeout as exc:
        return str(exc)
    except SyntaxError as exc:
        return _parse_error(path, text, exc)
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot parse: {type(exc).__name__}: {exc}"
    return _Parsed(path, text, tree, symbols)


_PARSER_LIMITS = ("too many nested", "Exceeds the limit", "too many statically nested", "recursion")


def _parse_error(path: str, text: str, exc: SyntaxError) -> str:
    if any(limit in (exc.msg or "") for limit in _PARSER_LIMITS):
        return f"beyond the Python parser's limits at line {exc.lineno}: {exc.msg}"
    import libcst  # here only: `check` has no other use for it (importing it costs ~0.15 s)

    try:
        libcst.parse_module(text)
    except Exception:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    return f"syntax newer than this Python can analyse (line {exc.lineno}): {exc.msg}"


def _analyse(
    sources: Mapping[str, str],
    options: EngineOptions,
    left_alone: Mapping[str, str] | None = None,
    memo: ParseMemo | None = None,
) -> _Analysis:
    """Pass 1 and the per-function facts. Files in `left_alone` (path -> why) are indexed, not analysed."""
    global _trees, _shared
    left_alone = left_alone or {}
    parsed: dict[str, _Parsed] = {}
    failures: dict[str, str] = {}
    reusable = memo.take(sources) if memo is not None else {}
    _trees = TreeBudget(options.max_tree_bytes)
    _shared = SharedExpressions()
    # the trees of modules that cannot matter are let go as soon as their symbols are out (see `_Parsed`)
    project_parts = None if ANALYSE_EVERY_MODULE or options.session_factories else name_parts(sources)

    def settled(item: _Parsed | str) -> _Parsed | str:
        """A file just parsed, its tree held if it fits in the budget and its module can matter (or why it failed)."""
        if isinstance(item, str):
            return item
        if project_parts is not None and cannot_matter(item.symbols, project_parts):
            item.release_tree()
        else:
            _trees.admit(item)  # held if it fits in the budget, let go otherwise
        return item

    parses = _parse_all(sorted(sources), sources, options, reusable, settled)
    for path in sorted(sources):
        item = parses[path]
        if isinstance(item, str):
            failures[path] = item
            continue
        parsed[path] = item
    if memo is not None:
        memo.keep(parsed)
    project = Project((p.symbols for p in parsed.values()), options.session_factories)
    _trees.on_release = weakref.WeakMethod(project.forget_resolved_nodes)  # weakly: the analysis may end first
    project.pytest_asyncio = options.pytest_asyncio
    analyze.reset_caches()
    for item in parsed.values():
        analyze.register_source(item.symbols.name, item.text)
    candidates = [path for path in parsed if path not in failures and path not in left_alone]
    relevance = Relevance(project, {path: item.symbols for path, item in parsed.items()})
    relevant = set(candidates) if ANALYSE_EVERY_MODULE else relevance.paths()
    for path, item in parsed.items():
        item.analysed = path in relevant
        if not item.analysed:
            item.release_tree()  # parsed again should a hint make the module relevant after all

    def more_modules(hints: HintState) -> list[str]:
        """Modules a hint makes relevant (and their importers), to analyse from the next round on."""
        added = relevance.add_functions(argument_hints.hinted_functions(hints))
        new = [path for path in candidates if path in added and path not in relevant]
        relevant.update(new)
        for path in new:  # (in this process: a worker, forked before, parses alone the defs it asks for of these)
            parsed[path].analysed = True
        return new

    def analyse_module(path: str) -> list[FunctionFacts] | str:
        item = parsed[path]
        try:
            with file_deadline(options.file_timeout), _trees.pinned(item):
                return analyze.analyze_module(project, item.symbols, lambda: item.tree)
        except RecursionError:
            return "expression nesting too deep to analyse"
        except FileTimeout as exc:
            return str(exc)
        except MemoryError:  # a tree let go and parsed again (see `tree_budget`), on a machine out of memory
            return "out of memory while analysing it (a smaller --max-tree-mb holds fewer trees)"

    relevant_at_start = set(relevant), set(relevance.relevant)

    def start_over() -> None:
        """The analysis split between processes failed part-way: the one in this process starts from the first
        round, as with one job: no hints, and only the modules relevant then (the rounds add the others again)."""
        relevant.clear()
        relevant.update(relevant_at_start[0])
        relevance.relevant = set(relevant_at_start[1])
        analyze.reset_caches(keep_hints=False)
        for item in parsed.values():
            analyze.register_source(item.symbols.name, item.text)

    to_analyse = [path for path in candidates if path in relevant]
    facts_by_path, analysis_failures = _facts(
        to_analyse, parsed, analyse_module, more_modules, options.jobs, relevance.import_links, start_over
    )
    failures.update(analysis_failures)
    functions: dict[str, FunctionFacts] = {}
    for facts in facts_by_path.values():
        for fact in facts:
            if not fact.qualname.endswith(".<module>"):
                functions[fact.qualname] = fact
    modules_left_alone = {parsed[p].symbols.name: why for p, why in {**left_alone, **failures}.items() if p in parsed}
    for path in failures:
        parsed.pop(path, None)
    return _Analysis(project, parsed, failures, facts_by_path, functions, modules_left_alone)


# Below this many files to parse, forking a helper to parse some of them costs more than it saves.
PARALLEL_PARSE_MIN_FILES = 64


def parse_shares(paths: list[str], sources: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(the files this process parses, the parse helper's), when the parse is shared (see `parse_helper.split`)."""
    sizes = {path: len(sources[path]) for path in paths}
    return parse_helper.split(paths, sizes, lambda path: likely_analysed(path, sources[path]))


def _parse_all(
    paths: list[str],
    sources: Mapping[str, str],
    options: EngineOptions,
    reusable: Mapping[str, _Parsed],
    settled: Callable[[_Parsed | str], _Parsed | str],
) -> dict[str, _Parsed | str]:
    """Each file's parse (or why it failed), `settled` as soon as it is made (its tree held within the budget or
    let go: never all of them at once), in path order; a forked helper parses about half when there are many."""
    timeout = options.file_timeout
    to_parse = [path for path in paths if path not in reusable]
    helper: parse_helper.Helper[list[tuple[str, ModuleSymbols | str]]] | None = None
    theirs: list[str] = []
    if options.jobs > 1 and len(to_parse) >= PARALLEL_PARSE_MIN_FILES and parallel_analysis.fork_available():
        _mine, theirs = parse_shares(to_parse, sources)

    def helpers_part() -> list[tuple[str, ModuleSymbols | str]]:
        return [(path, _portable(_parse(path, sources[path], timeout))) for path in theirs]

    if theirs:
        try:
            helper = parse_helper.Helper(helpers_part)
        except parse_helper.HelperLost as exc:
            log.warning("%s; parsing in this process", exc)
            theirs = []
    elsewhere = set(theirs)
    parses: dict[str, _Parsed | str] = {}
    try:
        for path in paths:
            if path not in elsewhere:
                parses[path] = settled(reusable.get(path) or _parse(path, sources[path], timeout))
    except BaseException:  # an interrupt, a timeout of the whole run: the helper goes too
        if helper is not None:
            helper.kill()
        raise
    if helper is not None:
        try:
            for path, found in helper.result():
                parses[path] = settled(
                    found if isinstance(found, str) else _parsed_elsewhere(path, sources[path], found)
                )
        except parse_helper.HelperLost as exc:
            log.warning("%s; parsing its files in this process", exc)
            for path in theirs:
                parses[path] = settled(_parse(path, sources[path], timeout))
    return {path: parses[path] for path in paths}


# Below this many modules to analyse, a single process is quicker than forking workers. (It was 200 until
# 2026-12-06: `migrate --diff --jobs 2` of a generated 195-file, 17k-line tree took 1.53 s with 200 and 1.33 s with
# 16, 3 runs each; target_backend/, 59 files, 0.68 s and 0.62 s.)
PARALLEL_ANALYSIS_MIN_MODULES = 32
# Analyse every module, not only those that can matter (see codemods.relevance): for tests that compare both.
ANALYSE_EVERY_MODULE = False


def _facts(
    paths: list[str],
    parsed: Mapping[str, _Parsed],
    analyse_module: AnalyseModule,
    more_modules: MoreModules,
    jobs: int,
    import_links: Callable[[], dict[str, set[str]]],
    start_over: Callable[[], None],
) -> tuple[dict[str, list[FunctionFacts]], dict[str, str]]:
    """Every module's facts once the hints are stable, and the modules whose analysis failed (path -> why).
    `import_links`: path -> the paths it imports names from, asked for only when the analysis is split.
    `start_over`: undoes what a split analysis that failed did (hints, modules made relevant), for one process."""
    if jobs > 1 and len(paths) >= PARALLEL_ANALYSIS_MIN_MODULES and parallel_analysis.fork_available():
        links = import_links()
        costs = parallel_analysis.analysis_costs(paths, _shapes(parsed), links)
        try:
            return parallel_analysis.analyse_in_parallel(paths, costs, analyse_module, more_modules, jobs, links)
        except parallel_analysis.WorkerLost as exc:
            log.warning("parallel analysis unavailable (%s); analysing in this process", exc)
            start_over()
    return _facts_in_one_process(paths, analyse_module, more_modules)


def _shapes(parsed: Mapping[str, _Parsed]) -> dict[str, parallel_analysis.ModuleShape]:
    return {
        path: parallel_analysis.ModuleShape(len(item.text), len(item.symbols.functions), item.holds_tree)
        for path, item in parsed.items()
    }


def _facts_in_one_process(
    paths: list[str], analyse_module: AnalyseModule, more_modules: MoreModules
) -> tuple[dict[str, list[FunctionFacts]], dict[str, str]]:
    failures: dict[str, str] = {}
    facts_by_path: dict[str, list[FunctionFacts]] = {}
    previous_hints = None
    # Queries and sessions handed to functions type their parameters: analyse again until stable.
    for _round in range(parallel_analysis.MAX_ROUNDS):
        facts_by_path = {}
        for path in paths:
            if path in failures:
                continue
            result = analyse_module(path)
            if isinstance(result, str):
                failures[path] = result
                continue
            facts_by_path[path] = result
        hints = argument_hints.hint_snapshot()
        added = more_modules(argument_hints.hint_state())
        if not added and (hints == previous_hints or not any(hints)):
            break
        paths = sorted([*paths, *added])
        previous_hints = hints
        analyze.start_next_round()
    return facts_by_path, failures
