"""A process holds parsed trees within a budget (`--max-tree-mb`): the others are let go and parsed again when asked
for, at most once more per module by the process that analyses it, and the results are the same."""

from __future__ import annotations

import ast
import gc
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemods import engine, project_analysis
from codemods import returned_entities as RE
from codemods.model import EngineOptions
from codemods.symbols import NOT_A_CALL, collect_symbols
from codemods.tree_budget import TREE_BYTES_PER_SOURCE_BYTE, TreeBudget, mb_to_bytes
from tests.engine.test_released_trees import HINTED_AND_PLAIN, results
from tests.engine.trees import REPO, python_files


class Holder:
    """A stand-in for the engine's `_Parsed`: a path, a text and a tree it can let go."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.text = path, "x" * size
        self.holds_tree = True

    def release_tree(self) -> None:
        self.holds_tree = False


def _held(holders: list[Holder]) -> list[str]:
    return [holder.path for holder in holders if holder.holds_tree]


def test_the_trees_parsed_first_are_held_while_they_fit() -> None:
    holders = [Holder(f"m{i}.py", 10) for i in range(5)]
    budget = TreeBudget(25 * TREE_BYTES_PER_SOURCE_BYTE)
    for holder in holders:
        budget.admit(holder)
    assert _held(holders) == ["m0.py", "m1.py"]
    assert budget.size == 20 * TREE_BYTES_PER_SOURCE_BYTE
    assert budget.released == 3


def test_a_tree_read_again_lets_go_of_those_read_longest_ago_but_not_the_pinned_one() -> None:
    first, second, third = (Holder(f"m{i}.py", 10) for i in range(3))
    budget = TreeBudget(20 * TREE_BYTES_PER_SOURCE_BYTE)
    budget.admit(first)
    budget.admit(second)
    budget.read(first)  # first is now the most recent: second goes first
    third.holds_tree = True
    budget.read(third)
    assert (first.holds_tree, second.holds_tree, third.holds_tree) == (True, False, True)
    with budget.pinned(first):
        fourth = Holder("m3.py", 10)
        budget.read(fourth)
    assert (first.holds_tree, third.holds_tree, fourth.holds_tree) == (True, False, True)


def test_a_tree_in_use_is_held_whatever_its_size() -> None:
    small, big = Holder("small.py", 10), Holder("big.py", 1_000)
    budget = TreeBudget(20 * TREE_BYTES_PER_SOURCE_BYTE)
    budget.admit(small)
    budget.read(big)
    assert (small.holds_tree, big.holds_tree) == (False, True)


def test_two_holders_of_one_path_are_two_trees() -> None:
    """While a file is rewritten, the holder of its old text and that of its new one are both alive."""
    old, new = Holder("m.py", 10), Holder("m.py", 10)
    budget = TreeBudget(15 * TREE_BYTES_PER_SOURCE_BYTE)
    budget.read(old)
    budget.admit(new)  # does not fit beside the old one
    assert (old.holds_tree, new.holds_tree) == (True, False)
    new.holds_tree = True
    budget.read(new)
    assert (old.holds_tree, new.holds_tree) == (False, True)
    assert budget.size == 10 * TREE_BYTES_PER_SOURCE_BYTE


def test_without_a_limit_nothing_is_let_go() -> None:
    holders = [Holder(f"m{i}.py", 10_000) for i in range(50)]
    budget = TreeBudget(None)
    for holder in holders:
        budget.admit(holder)
        budget.read(holder)
    assert all(holder.holds_tree for holder in holders)
    assert budget.released == 0


def test_a_holder_dropped_by_its_owner_is_freed_and_leaves_the_count() -> None:
    budget = TreeBudget(None)
    holder = Holder("m.py", 10)
    budget.admit(holder)
    gone = weakref.ref(holder)
    del holder
    assert gone() is None
    assert budget.size == 0


def test_whoever_keeps_answers_by_node_is_told_when_trees_are_let_go() -> None:
    told: list[str] = []

    class Cache:
        def forget(self) -> None:
            told.append("forget")

    cache = Cache()
    budget = TreeBudget(10 * TREE_BYTES_PER_SOURCE_BYTE)
    budget.on_release = weakref.WeakMethod(cache.forget)
    first, second = Holder("a.py", 10), Holder("b.py", 10)
    budget.read(first)
    assert told == []
    budget.read(second)
    assert told == ["forget"]
    with budget.pinned(second):
        budget.read(Holder("big.py", 100))  # over the limit, with nothing it may let go: nothing to tell
    assert told == ["forget"]
    del cache
    budget.read(Holder("c.py", 10))  # the cache is gone: nothing to tell, no error
    assert told == ["forget"]


def test_megabytes_to_bytes() -> None:
    assert mb_to_bytes(None) is None
    assert mb_to_bytes(1.5) == 1_500_000


# -- the engine under a budget -------------------------------------------------------------------------------------
TINY = EngineOptions(max_tree_bytes=1)  # no tree fits: each is held only while it is read


@pytest.mark.parametrize("project", ["hinted", "target_backend", "generated"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_tiny_budget_changes_no_result(
    project: str, jobs: int, generated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    sources = {
        "hinted": HINTED_AND_PLAIN,
        "target_backend": python_files(REPO / "target_backend"),
        "generated": generated,
    }[project]
    unlimited = results(sources, EngineOptions(jobs=jobs, max_tree_bytes=None))
    assert results(sources, EngineOptions(jobs=jobs, max_tree_bytes=1)) == unlimited
    outcomes = unlimited[0]
    assert isinstance(outcomes, dict)
    assert any(outcome[1] != sources[path] for path, outcome in outcomes.items())  # it did migrate something


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How many times each module's tree is parsed again, in this process."""
    counted: Counter[str] = Counter()
    parse_again = project_analysis._Parsed._parse_again

    def counting(self: project_analysis._Parsed) -> ast.Module:
        counted[self.path] += 1
        return parse_again(self)

    monkeypatch.setattr(project_analysis._Parsed, "_parse_again", counting)
    yield counted


def test_the_findings_parse_nothing_again(parses: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a tiny budget the analysis parses again what it reads; the findings, after it, read no tree."""
    after_the_analysis: list[int] = []
    findings = engine._findings

    def counting_findings(*args: object, **kwargs: object) -> object:
        after_the_analysis.append(parses.total())
        return findings(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_findings", counting_findings)
    engine.check_sources(python_files(REPO / "target_backend"), TINY)
    assert after_the_analysis[0] > 0
    assert parses.total() == after_the_analysis[0]


def test_a_hint_round_reads_the_trees_of_the_modules_it_analyses_again_only(parses: Counter[str]) -> None:
    engine.check_sources(HINTED_AND_PLAIN, TINY)
    # app/service.py hands a session to app/paging.py, and asks for its facts: both are analysed again in the
    # second round; app/db.py, whose facts cannot change, is not read again. app/paging.py is not analysed in the
    # first round: the def of it service.py asks for then is parsed alone (see `codemods.def_parse`)
    assert (parses["app/service.py"], parses["app/paging.py"]) == (2, 1)
    assert parses["app/db.py"] == 1


def test_the_trees_held_after_the_analysis_stay_within_the_budget() -> None:
    sources = python_files(REPO / "target_backend")
    limit = max(len(text) for text in sources.values()) * TREE_BYTES_PER_SOURCE_BYTE * 3
    analysis = project_analysis._analyse(sources, EngineOptions(max_tree_bytes=limit))
    held = [item for item in analysis.parsed.values() if item.holds_tree]
    assert 0 < sum(TreeBudget.cost(item) for item in held) <= limit
    assert project_analysis._trees.size <= limit


def test_answers_kept_by_node_are_dropped_with_the_trees() -> None:
    """The project's cache of names resolved by node keeps its nodes alive: it is emptied as trees are let go."""
    sources = python_files(REPO / "target_backend")
    unlimited = project_analysis._analyse(sources, EngineOptions(max_tree_bytes=None)).project._node_cache
    tiny = project_analysis._analyse(sources, TINY).project._node_cache
    assert len(tiny) < len(unlimited) / 4


def test_out_of_memory_parsing_a_tree_again_fails_that_file_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing a tree again happens only under a budget; on a machine out of memory, the file is left alone and
    reported, like one that does not parse, and the run goes on."""
    parse_again = project_analysis._Parsed._parse_again

    def out_of_memory_for_one(self: project_analysis._Parsed) -> ast.Module:
        if self.path == "app/service.py":
            raise MemoryError
        return parse_again(self)

    monkeypatch.setattr(project_analysis._Parsed, "_parse_again", out_of_memory_for_one)
    outcomes = engine.migrate_sources(HINTED_AND_PLAIN, TINY)
    failed = outcomes.pop("app/service.py")
    assert failed.status == "failed" and failed.error is not None and "out of memory" in failed.error
    assert failed.new_text in (None, HINTED_AND_PLAIN["app/service.py"])
    assert {o.status for o in outcomes.values()} == {"unchanged"}  # paging.py is made async only for service.py
    findings = engine.check_sources(HINTED_AND_PLAIN, TINY)["app/service.py"]
    assert [(f.code, "out of memory" in f.message) for f in findings] == [("AWT000", True)]


def test_the_lines_of_a_module_go_with_its_tree() -> None:
    from codemods import analyze

    sources = python_files(REPO / "target_backend")
    analysis = project_analysis._analyse(sources, EngineOptions(max_tree_bytes=None))
    with_lines = {name for name, spans in analyze._SPANS.items() if "_lines" in vars(spans)}
    assert with_lines  # the analysis split the lines of the modules it asked spans of, and kept them
    analysis = project_analysis._analyse(sources, TINY)
    for item in analysis.parsed.values():
        assert item.holds_tree or "_lines" not in vars(analyze._SPANS[item.symbols.name]), item.path
    assert any(not item.holds_tree for item in analysis.parsed.values())


def test_a_released_module_is_freed_without_the_collector() -> None:
    """Its symbols find their defs through it, weakly: no cycle, so a dropped analysis does not wait for the
    collector, which the engine pauses."""
    item = project_analysis._parse("app/codec.py", "def encode(value):\n    return str(value)\n", None)
    assert not isinstance(item, str)
    item.release_tree()
    symbols = item.symbols
    gone = weakref.ref(item)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del item
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
    node = symbols.functions["app.codec.encode"].node  # the symbols outlived it: they parse on their own
    assert isinstance(node, ast.FunctionDef)
    assert (node.name, node.lineno) == ("encode", 1)


def test_symbols_keep_of_a_returned_value_only_what_the_analysis_reads() -> None:
    text = (
        "def build(db):\n    return Service(db, cache=Cache(), names=[n.upper() for n in NAMES])\n\n"
        "def plain(x):\n    return {'x': x}\n\n"
        "def chained(self, db, key):\n"
        "    if key:\n        return self.repo.get(key)\n    return db.query(User).filter_by(key=key).first()\n"
    )
    symbols = collect_symbols("app/m.py", ast.parse(text), text)
    (built,) = symbols.functions["app.m.build"].return_values
    assert isinstance(built, ast.Call)
    assert ast.unparse(built) == "Service()"
    assert (built.func.lineno, built.func.col_offset) == (2, 11)  # the callee as it was parsed
    assert symbols.functions["app.m.plain"].return_values == [NOT_A_CALL]
    # a query of one entity is kept as its session, entity and terminal only (`returned_entities`)
    kept = symbols.functions["app.m.chained"].return_values
    assert sorted(ast.unparse(value) for value in kept) == ["db.query(User).first()", "self.repo.get()"]
    # any other call of a call's result resolves to nothing (`astwalk.dotted_name`): nothing of it is kept
    text = "def other(db):\n    return db.session().thing(1).first()\n"
    symbols = collect_symbols("app/m.py", ast.parse(text), text)
    assert symbols.functions["app.m.other"].return_values == [NOT_A_CALL]
    # `return None` is told apart from a value kept as nothing: beside mapped objects it means `Optional[User]`
    text = "def maybe(db, key):\n    if key:\n        return None\n    return {}\n"
    symbols = collect_symbols("app/m.py", ast.parse(text), text)
    kept = symbols.functions["app.m.maybe"].return_values
    assert sum(RE.is_none_returned(value) for value in kept) == 1
    assert sum(value is NOT_A_CALL for value in kept) == 1


FACTORIES = {
    "app/__init__.py": "",
    "app/services.py": (
        "class TrackService:\n    def __init__(self, db):\n        self.db = db\n\n\n"
        "def make(db):\n    return TrackService(db)\n\n\n"
        "def first(db, Track):\n    return db.query(Track).first()\n"
    ),
}


@pytest.mark.parametrize("project", ["factories", "target_backend", "generated"])
def test_what_the_symbols_keep_of_returned_values_infers_the_same_types(
    project: str, generated: dict[str, str]
) -> None:
    """Every function's return type, inferred from the values as written and from what the symbols keep."""
    from codemods import symbols as symbols_module
    from codemods.project import Project

    sources = {"factories": FACTORIES, "generated": generated}.get(project) or python_files(REPO / "target_backend")

    def return_types(keep: object) -> dict[str, object]:
        original = symbols_module._callee_only
        symbols_module._callee_only = keep  # type: ignore[assignment]
        try:
            modules = [collect_symbols(path, ast.parse(text), text) for path, text in sources.items()]
        finally:
            symbols_module._callee_only = original
        built = Project(modules)
        return {name: built.return_type(func) for name, func in built.functions.items()}

    kept = return_types(symbols_module._callee_only)
    assert kept == return_types(lambda value, _call_of: value)
    if project == "factories":  # a type that comes from a returned call alone: keeping none would lose it
        assert str(kept["app.services.make"]) == "Instance(qualname='app.services.TrackService')"
        assert return_types(lambda value, _call_of: symbols_module.NOT_A_CALL)["app.services.make"] is None


def test_the_budget_comes_from_the_command_line_and_the_config(tmp_path: Path) -> None:
    from codemods.runner import RunOptions, prepare

    (tmp_path / "pyproject.toml").write_text("[tool.awaitify]\nmax-tree-mb = 64\n", encoding="utf-8")
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    configured = prepare(RunOptions(paths=(tmp_path,)), cwd=tmp_path)
    assert configured.engine_options.max_tree_bytes == 64_000_000
    flagged = prepare(RunOptions(paths=(tmp_path,), max_tree_mb=0), cwd=tmp_path)
    assert flagged.engine_options.max_tree_bytes is None  # 0: no limit
    (tmp_path / "pyproject.toml").unlink()
    assert prepare(RunOptions(paths=(tmp_path,)), cwd=tmp_path).engine_options.max_tree_bytes == 512_000_000
