"""A forked helper parses about half of a big project's files (codemods.parse_helper): the same results, and
this process never holds more trees than its budget while it parses the rest.

The projects here are small, so the threshold that keeps small projects' parse in one process is lowered to 1.
"""

from __future__ import annotations

import ast
import logging
import multiprocessing.context
import os
import time
from collections.abc import Callable

import pytest

from codemods import engine, parse_helper, project_analysis, relevance
from codemods.model import EngineOptions
from tests.engine.test_released_trees import results
from tests.engine.trees import REPO, python_files

COLORING = REPO / "fixtures" / "coloring"
PROJECTS = [*sorted(path.parent.name for path in COLORING.glob("*/before")), "target_backend", "generated"]
NEVER = 10**9


def _project(name: str, generated: dict[str, str]) -> dict[str, str]:
    if name == "generated":
        return generated
    return python_files(REPO / name if name == "target_backend" else COLORING / name / "before")


@pytest.fixture
def helped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every project's parse shared with a helper; the paths this process got back from it, in order."""
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", 1)
    received: list[str] = []
    real = project_analysis._parsed_elsewhere

    def recording(path: str, text: str, symbols: object) -> project_analysis._Parsed:
        received.append(path)
        return real(path, text, symbols)  # type: ignore[arg-type]

    monkeypatch.setattr(project_analysis, "_parsed_elsewhere", recording)
    return received


@pytest.mark.parametrize("name", PROJECTS)
def test_same_migration_and_findings_with_a_parse_helper(
    name: str, generated: dict[str, str], helped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _project(name, generated)
    with_helper = results(sources, EngineOptions(jobs=2))
    theirs = project_analysis.parse_shares(sorted(sources), sources)[1]
    assert helped[: len(theirs)] == theirs  # the first analysis': every one of the helper's files parses
    assert len(theirs) < len(sources)
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", NEVER)
    helped.clear()
    assert results(sources, EngineOptions(jobs=2)) == with_helper
    assert not helped


def test_one_job_parses_in_one_process(helped: list[str]) -> None:
    results(python_files(REPO / "target_backend"), EngineOptions(jobs=1))
    assert not helped


def test_a_def_the_helper_parsed_is_found_again_where_it_starts(helped: list[str]) -> None:
    sources = python_files(REPO / "target_backend")
    paths = sorted(sources)
    parses = project_analysis._parse_all(paths, sources, EngineOptions(jobs=2), {}, lambda item: item)
    assert list(parses) == paths and helped
    checked = 0
    for path in helped:
        item = parses[path]
        assert isinstance(item, project_analysis._Parsed) and not item.holds_tree
        for func in item.symbols.functions.values():
            assert func.def_node is None  # came without its body: found again when asked for
            node = func.node
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), func.qualname
            assert (node.name, node.lineno) == (func.name, func.lineno)
            checked += 1
    assert checked > 10
    mine = project_analysis.parse_shares(paths, sources)[0]
    assert all(isinstance(parses[path], project_analysis._Parsed) and parses[path].holds_tree for path in mine[:5])


def test_a_file_that_does_not_parse_fails_the_same_in_the_helper(
    helped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {
        "app/a.py": "from sqlalchemy.orm import Session\n\n\ndef get(db: Session):\n    return db.get(int, 1)\n",
        "app/b.py": "x = 1\n",
        "app/zz_broken.py": "def broken(:\n    pass\n",  # last in path order: the helper's
    }
    with_helper = results(sources, EngineOptions(jobs=2))
    assert "app/zz_broken.py" not in helped  # a failure comes back as its message
    assert "app/zz_broken.py" in project_analysis.parse_shares(sorted(sources), sources)[1]
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", NEVER)
    assert results(sources, EngineOptions(jobs=2)) == with_helper
    check = with_helper[1]
    assert isinstance(check, dict)
    assert [f.code for f in check["app/zz_broken.py"]] == ["AWT000"]


@pytest.mark.parametrize(
    ("breakage", "warning"),
    [
        ("dies", "the parse helper stopped: EOFError;"),
        ("raises", "the parse helper failed: RuntimeError: no symbols today"),
        ("cannot start", "cannot start the parse helper: [Errno 11] Resource temporarily unavailable"),
    ],
)
def test_a_lost_helper_leaves_its_files_to_this_process(
    breakage: str, warning: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sources = python_files(REPO / "target_backend")
    expected = results(sources, EngineOptions(jobs=2))
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", 1)
    if breakage == "dies":
        monkeypatch.setattr(parse_helper, "_helper_main", lambda *_args: os._exit(3))
    elif breakage == "raises":

        def no_symbols(item: object) -> object:
            raise RuntimeError("no symbols today")

        monkeypatch.setattr(project_analysis, "_portable", no_symbols)  # called in the helper only
    else:

        def cannot_fork(process: object) -> None:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", cannot_fork)
    with caplog.at_level(logging.WARNING, logger="codemods.project_analysis"):
        assert results(sources, EngineOptions(jobs=2)) == expected
    assert warning in caplog.text


def test_a_helper_whose_symbols_do_not_pickle_leaves_its_files_to_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """A module-level value nested deeper than pickle goes (an 800-term sum: the symbol table keeps it) fails the
    helper's whole result: it says so, as a failure, with no traceback of its own on the terminal."""
    sources = python_files(REPO / "target_backend")
    sources["zz_deep.py"] = "TOTAL = " + " + ".join(["1"] * 800) + "\n"
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", NEVER)
    expected = results(sources, EngineOptions(jobs=2))
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", 1)
    assert "zz_deep.py" in project_analysis.parse_shares(sorted(sources), sources)[1]
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, logger="codemods.project_analysis"):
        assert results(sources, EngineOptions(jobs=2)) == expected
    assert "the parse helper failed: RecursionError" in caplog.text
    assert "Traceback" not in capfd.readouterr().err


def test_this_process_holds_no_more_trees_than_its_budget_while_it_parses(
    generated: dict[str, str], helped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's tree is held or let go as soon as it is parsed (with a budget of one tree, at most one other
    is held when the next is parsed), not once the helper's part is in."""
    made: list[project_analysis._Parsed] = []
    most_held = 0
    real = project_analysis._parse

    def watched(path: str, text: str, file_timeout: float | None) -> project_analysis._Parsed | str:
        nonlocal most_held
        if os.getpid() == parent:
            most_held = max(most_held, sum(item.holds_tree for item in made))
        item = real(path, text, file_timeout)
        if isinstance(item, project_analysis._Parsed) and os.getpid() == parent:
            made.append(item)
        return item

    parent = os.getpid()
    monkeypatch.setattr(project_analysis, "_parse", watched)
    project_analysis._analyse(generated, EngineOptions(jobs=2, max_tree_bytes=1))
    assert len(made) > 10 and helped
    assert most_held <= 1


def test_split_gives_the_helper_the_last_paths_and_about_its_share_of_the_bytes() -> None:
    paths = [f"m{index:02}.py" for index in range(20)]
    sizes = {path: 100 for path in paths}
    mine, theirs = parse_helper.split(paths, sizes)
    assert mine + theirs == paths
    assert len(theirs) == round(20 * parse_helper.HELPER_SHARE)
    sizes["m00.py"] = 10_000  # one big file is this process' whole share
    mine, theirs = parse_helper.split(paths, sizes)
    assert mine == ["m00.py"] and theirs == paths[1:]
    assert parse_helper.split([], {}) == ([], [])


def test_split_gives_the_helper_the_files_not_kept_here_first() -> None:
    """Files the analysis will read stay here (their trees with them), in path order on both sides; when they are
    more than this process' share, the helper takes the last of them too."""
    paths = [f"m{index:02}.py" for index in range(20)]
    sizes = {path: 100 for path in paths}
    read = {path for index, path in enumerate(paths) if index % 4 == 0}  # 5 of 20: a quarter of the bytes
    mine, theirs = parse_helper.split(paths, sizes, read.__contains__)
    assert read <= set(mine) and mine == sorted(mine) and theirs == sorted(theirs)
    assert len(theirs) == round(20 * parse_helper.HELPER_SHARE) and set(mine) | set(theirs) == set(paths)
    others_here = ["m01.py", "m02.py", "m03.py", "m05.py", "m06.py", "m07.py"]  # the first of the others fill the share
    assert mine == sorted([*read, *others_here])
    most = set(paths[:18])
    mine, theirs = parse_helper.split(paths, sizes, most.__contains__)
    assert theirs == ["m11.py", "m12.py", "m13.py", "m14.py", "m15.py", "m16.py", "m17.py", "m18.py", "m19.py"]


@pytest.mark.parametrize(
    ("path", "text", "likely"),
    [
        ("app/schemas/user.py", "from pydantic import BaseModel\n\nclass User(BaseModel):\n    name: str\n", False),
        ("app/utils/text.py", "def slug(value: str) -> str:\n    return value.lower()\n", False),
        ("app/services/user.py", "from sqlalchemy.orm import Session\n", True),
        ("app/routers/user.py", "def read(db=Depends(get_db)):\n    return crud.read(db)\n", True),
        ("app/jobs.py", "async def tick():\n    pass\n", True),
        ("tests/test_user.py", "def test_it():\n    assert True\n", True),
        ("conftest.py", "import pytest\n", True),
    ],
)
def test_likely_analysed_guesses_from_the_text(path: str, text: str, likely: bool) -> None:
    assert relevance.likely_analysed(path, text) is likely


def test_the_helper_parses_what_the_analysis_is_least_likely_to_read(generated: dict[str, str]) -> None:
    """On the generated repository the helper's share holds every schema, DTO, parser and utility module, and this
    process' every model, router and report module (the services fill the rest of both shares)."""
    mine, theirs = project_analysis.parse_shares(sorted(generated), generated)
    for folder in ("schemas", "dto", "parsers", "utils"):
        assert all(path in theirs for path in generated if f"/{folder}/" in path and not path.endswith("__init__.py"))
    for folder in ("models", "routers", "reports"):
        assert all(path in mine for path in generated if f"/{folder}/" in path and not path.endswith("__init__.py"))


def test_a_file_out_of_time_in_the_helper_fails_the_same(helped: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-file limit holds in the helper (a forked process' only thread is its main thread)."""
    sources = {f"app/m{index}.py": f"VALUE = {index}\n" for index in range(6)} | {"app/zz_slow.py": "x = 1\n"}
    real = project_analysis.collect_symbols

    def slow_for_one(path: str, *args: object) -> object:
        while path == "app/zz_slow.py":
            pass
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(project_analysis, "collect_symbols", slow_for_one)
    options = EngineOptions(jobs=2, file_timeout=0.05)
    with_helper = engine.check_sources(sources, options)
    assert helped and "app/zz_slow.py" in project_analysis.parse_shares(sorted(sources), sources)[1]
    assert [(f.code, f.message) for f in with_helper["app/zz_slow.py"]] == [
        ("AWT000", "gave up after 0.05 s (the per-file limit; raise it with --file-timeout)")
    ]
    monkeypatch.setattr(project_analysis, "PARALLEL_PARSE_MIN_FILES", NEVER)
    assert engine.check_sources(sources, options) == with_helper


def test_an_interrupt_while_this_process_parses_ends_the_helper(
    helped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = python_files(REPO / "target_backend")
    helpers: list[parse_helper.Helper[object]] = []
    real_init = parse_helper.Helper.__init__

    def recording(self: parse_helper.Helper[object], work: Callable[[], object]) -> None:
        real_init(self, work)
        helpers.append(self)

    parent = os.getpid()
    real_parse = project_analysis._parse

    def interrupted(path: str, text: str, file_timeout: float | None) -> project_analysis._Parsed | str:
        if os.getpid() != parent:
            time.sleep(60)  # the helper would still be parsing when the interrupt comes
        elif path == project_analysis.parse_shares(sorted(sources), sources)[0][1]:  # this process' second file
            raise KeyboardInterrupt
        return real_parse(path, text, file_timeout)

    monkeypatch.setattr(parse_helper.Helper, "__init__", recording)
    monkeypatch.setattr(project_analysis, "_parse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        project_analysis._analyse(sources, EngineOptions(jobs=2))
    assert len(helpers) == 1
    assert not helpers[0]._process.is_alive()
