"""The analysis split between processes (codemods.parallel_analysis) decides exactly what one process decides.

Every project here is small, so the threshold that keeps small projects in one process is lowered to 1.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import multiprocessing.connection
import os
import sys
import time
from pathlib import Path

import pytest

from codemods import engine, parallel_analysis, project_analysis
from codemods.function_facts import FunctionFacts
from codemods.model import EngineOptions
from codemods.project import Project
from codemods.relevance import Relevance
from codemods.symbols import collect_symbols

REPO_ROOT = Path(__file__).resolve().parents[2]
COLORING = REPO_ROOT / "fixtures" / "coloring"


def _sources(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.py"))}


def _generated_repo(dest: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_generate_repo", REPO_ROOT / "fixtures/bench/generate_repo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.generate(dest, domains=6, seed=7)
    return dest


PROJECTS = [
    *sorted(path.parent.name for path in COLORING.glob("*/before")),
    "target_backend",
    "generated",
]


def _project(name: str, tmp_path: Path) -> dict[str, str]:
    if name == "target_backend":
        return _sources(REPO_ROOT / "target_backend")
    if name == "generated":
        return _sources(_generated_repo(tmp_path / "generated"))
    return _sources(COLORING / name / "before")


@pytest.fixture
def parallel_for_any_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every project analysed in parallel; each analysis records the process that did it in a file."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    record = tmp_path / "analysed-by"
    real_run_round = parallel_analysis._Share.run_round

    def recording_run_round(share: parallel_analysis._Share, hints: object, more: list[str]) -> object:
        with record.open("a") as out:
            out.write(f"{os.getpid()} {len(share.paths) + len(more)}\n")
        return real_run_round(share, hints, more)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel_analysis._Share, "run_round", recording_run_round)
    return record


def relevant_paths(sources: dict[str, str]) -> set[str]:
    """The modules the analysis looks at (see codemods.relevance)."""
    symbols = {path: collect_symbols(path, ast.parse(text)) for path, text in sources.items()}
    return Relevance(Project(symbols.values()), symbols).paths()


def _processes_with_modules(record: Path) -> set[str]:
    return {line.split()[0] for line in record.read_text().splitlines() if int(line.split()[1]) > 0}


@pytest.mark.parametrize("name", PROJECTS)
def test_same_migration_and_findings_as_one_process(name: str, tmp_path: Path, parallel_for_any_size: Path) -> None:
    sources = _project(name, tmp_path)
    one = engine.migrate_sources(sources, EngineOptions(jobs=1))
    assert not parallel_for_any_size.exists(), "one job must not fork"
    split = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert {p: (o.status, o.new_text, o.findings, o.error) for p, o in split.items()} == {
        p: (o.status, o.new_text, o.findings, o.error) for p, o in one.items()
    }
    assert engine.check_sources(sources, EngineOptions(jobs=2)) == engine.check_sources(sources, EngineOptions(jobs=1))
    if len(relevant_paths(sources)) > 1:
        assert _processes_with_modules(parallel_for_any_size) - {str(os.getpid())}, "a worker analysed modules"
        assert str(os.getpid()) in _processes_with_modules(parallel_for_any_size), "this process analysed some"


def test_hints_cross_from_one_process_to_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_for_any_size: Path
) -> None:
    """`api.py` hands its session to `crud.get_user(db, ...)`, whose parameter has no annotation: only that hint
    makes crud's functions async. The two modules go to different processes, so the hint reaches crud's process
    between rounds."""
    sources = _project("untyped_session_params", tmp_path)

    def api_and_crud_apart(paths: list[str], sizes: dict[str, int], count: int, links: object) -> list[list[str]]:
        rest = [p for p in paths if p not in {"crudapp/api.py", "crudapp/crud.py"}]
        return [["crudapp/api.py", *rest], ["crudapp/crud.py"]]

    monkeypatch.setattr(parallel_analysis, "shares", api_and_crud_apart)
    split = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert "async def get_user(db" in split["crudapp/crud.py"].new_text
    assert split == engine.migrate_sources(sources, EngineOptions(jobs=1))


def test_a_lost_worker_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    monkeypatch.setattr(parallel_analysis, "_worker_main", lambda *_args: os._exit(3))
    sources = _project("services_across_modules", tmp_path)
    with caplog.at_level(logging.WARNING, logger="codemods.project_analysis"):
        split = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert "parallel analysis unavailable" in caplog.text
    assert split == engine.migrate_sources(sources, EngineOptions(jobs=1))


# `util.py` uses no SQLAlchemy and imports nothing: only the hint of round 1 (service hands `save` a session) makes
# it relevant, from round 2 on
HINT_ADDS_A_MODULE = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import Session, sessionmaker\n\nSessionLocal = sessionmaker()\n",
    "app/util.py": "def save(db, obj):\n    db.add(obj)\n    db.commit()\n    return obj\n",
    "app/service.py": (
        "from sqlalchemy.orm import Session\n"
        "\n"
        "from app.util import save\n"
        "\n"
        "\n"
        "def create(db: Session, obj):\n"
        "    return save(db, obj)\n"
    ),
}


def test_a_worker_lost_after_a_round_added_modules_falls_back_to_one_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The analysis in one process starts over from the modules relevant at the start: a module a hint added in a
    round of the failed split is added again by its own rounds (it was left out, its functions left sync)."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    parent = os.getpid()
    real_run_round = parallel_analysis._Share.run_round
    rounds: list[int] = []

    def dies_in_round_two(share: parallel_analysis._Share, hints: object, more: list[str]) -> object:
        rounds.append(1)
        if os.getpid() != parent and len(rounds) == 2:
            os._exit(137)  # as the kernel's OOM killer would end it
        return real_run_round(share, hints, more)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel_analysis._Share, "run_round", dies_in_round_two)
    assert "app/util.py" not in relevant_paths(HINT_ADDS_A_MODULE)
    with caplog.at_level(logging.WARNING, logger="codemods.project_analysis"):
        split = engine.migrate_sources(HINT_ADDS_A_MODULE, EngineOptions(jobs=2))
    assert "parallel analysis unavailable (an analysis worker stopped: EOFError)" in caplog.text
    assert "async def save(db, obj):" in split["app/util.py"].new_text
    monkeypatch.undo()
    assert split == engine.migrate_sources(HINT_ADDS_A_MODULE, EngineOptions(jobs=1))


def test_a_worker_gone_before_its_first_message_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker that died before the parent's first send shows as a broken pipe there (it was an internal error
    when the worker happened to be gone already: seen under pytest-xdist)."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)

    real_send = multiprocessing.connection.Connection.send

    def broken_pipe(connection: multiprocessing.connection.Connection, message: object) -> None:
        if message is None:  # the stop message still reaches the (here living) worker
            return real_send(connection, message)
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(multiprocessing.connection.Connection, "send", broken_pipe)
    sources = _project("services_across_modules", tmp_path)
    with caplog.at_level(logging.WARNING, logger="codemods.project_analysis"):
        split = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert "parallel analysis unavailable (an analysis worker stopped: [Errno 32] Broken pipe)" in caplog.text
    monkeypatch.undo()
    assert split == engine.migrate_sources(sources, EngineOptions(jobs=1))


def test_shares_balance_sizes_and_keep_path_order() -> None:
    sizes = {"a.py": 50, "b.py": 40, "c.py": 30, "d.py": 20, "e.py": 10}
    shares = parallel_analysis.shares(list(sizes), sizes, 2)
    assert sorted(p for share in shares for p in share) == sorted(sizes)
    loads = [sum(sizes[p] for p in share) for share in shares]
    assert max(loads) - min(loads) <= 10
    assert all(share == sorted(share) for share in shares)


def test_shares_keep_a_module_with_the_modules_it_imports() -> None:
    """Forty domains of a router, a service and a repository, each importing the next, all the repositories
    importing `db`, the sizes varied: each domain lands in one share (by size alone, most would be split), and the
    shares stay balanced."""
    layers = ["routers", "services", "repos"]
    links: dict[str, set[str]] = {"app/db.py": set()}
    sizes = {"app/db.py": 100}
    for n in range(40):
        links[f"app/routers/d{n}.py"] = {f"app/services/d{n}.py"}
        links[f"app/services/d{n}.py"] = {f"app/repos/d{n}.py", "app/db.py"}
        links[f"app/repos/d{n}.py"] = {"app/db.py"}
        for index, layer in enumerate(layers):
            sizes[f"app/{layer}/d{n}.py"] = 100 + (n * 37 + index * 53) % 90
    paths = sorted(links)

    def domains_split(shares: list[list[str]]) -> int:
        domains = [{f"app/{layer}/d{n}.py" for layer in layers} for n in range(40)]
        return sum(1 for domain in domains if not any(domain <= set(share) for share in shares))

    assert domains_split(parallel_analysis.shares(paths, sizes, 2)) > 10  # what the test would catch
    shares = parallel_analysis.shares(paths, sizes, 2, links)
    assert domains_split(shares) == 0, shares
    assert sorted(p for share in shares for p in share) == paths
    assert all(share == sorted(share) for share in shares)
    loads = [sum(sizes[p] for p in share) for share in shares]
    assert max(loads) - min(loads) <= sum(sizes.values()) / 2 / parallel_analysis.GROUPS_PER_SHARE


def test_a_module_everything_imports_does_not_make_one_share() -> None:
    """Links through a module all import would tie the project into one group: groups stay small enough to
    balance, so both shares get modules."""
    links = {f"m{n:02}.py": {"base.py"} for n in range(40)} | {"base.py": set()}
    paths = sorted(links)
    sizes = dict.fromkeys(paths, 100)
    shares = parallel_analysis.shares(paths, sizes, 2, links)
    loads = [sum(sizes[p] for p in share) for share in shares]
    assert max(loads) - min(loads) <= 100


def test_a_workers_facts_come_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A round's facts cross one part at a time (the receiving process never holds the whole round's pickle), and
    the parts make up exactly what one process finds."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    monkeypatch.setattr(parallel_analysis, "MODULES_PER_PART", 2)
    parts: list[int] = []
    real_recv = multiprocessing.connection.Connection.recv

    def recording_recv(connection: multiprocessing.connection.Connection) -> object:
        message = real_recv(connection)
        if isinstance(message, tuple) and message[0] == "facts":
            parts.append(len(message[1]))
        return message

    monkeypatch.setattr(multiprocessing.connection.Connection, "recv", recording_recv)
    sources = _project("generated", tmp_path)
    split = engine.check_sources(sources, EngineOptions(jobs=2))
    assert len(parts) > 1, "the worker's facts came in one message"
    assert max(parts) == 2
    monkeypatch.undo()
    assert split == engine.check_sources(sources, EngineOptions(jobs=1))


def test_analysis_costs_count_functions_parses_again_and_callees_not_analysed() -> None:
    """A module's estimate: its size, FUNCTION_BYTES a function, REPARSE_SHARE more when its tree was let go, and
    its share of the modules it imports that are not analysed for themselves (split among their importers)."""
    shape = parallel_analysis.ModuleShape
    shapes = {
        "a.py": shape(size=1000, functions=2, holds_tree=True),
        "b.py": shape(size=1000, functions=0, holds_tree=False),
        "util.py": shape(size=600, functions=1, holds_tree=False),  # not analysed: its functions are, for a and b
    }
    links = {"a.py": {"util.py", "b.py"}, "b.py": {"util.py"}}
    per_function, again = parallel_analysis.FUNCTION_BYTES, 1 + parallel_analysis.REPARSE_SHARE
    util = round((600 + per_function) * again)
    assert parallel_analysis.analysis_costs(["a.py", "b.py"], shapes, links) == {
        "a.py": 1000 + 2 * per_function + util // 2,
        "b.py": round(1000 * again) + util // 2,
        "util.py": util,
    }


def _loads_with_duplicates(shares: list[list[str]], sizes: dict[str, int], links: dict[str, set[str]]) -> list[float]:
    """Each share's estimate, and DUPLICATE_SHARE of each module of another share its modules import."""
    share_of = {path: index for index, share in enumerate(shares) for path in share}
    loads = []
    for index, share in enumerate(shares):
        elsewhere = {other for path in share for other in links.get(path, ()) if share_of[other] != index}
        loads.append(
            sum(sizes[p] for p in share) + parallel_analysis.DUPLICATE_SHARE * sum(sizes[p] for p in elsewhere)
        )
    return loads


def test_shares_count_what_a_share_analyses_again_of_the_modules_it_imports_from_another() -> None:
    """Twenty modules of one size, too big to group; half of the first ten import one of the last ten each. By
    the estimates alone, the importers land in one share and what they import in the other, which pays their
    callees again: counted, the loads balance."""
    sizes = {f"m{n:02}.py": 1000 for n in range(20)}
    links = {f"m{n:02}.py": {f"m{19 - n:02}.py"} for n in range(0, 10, 2)}
    paths = sorted(sizes)
    shares = parallel_analysis.shares(paths, sizes, 2, links)
    assert sorted(p for share in shares for p in share) == paths
    assert all(share == sorted(share) for share in shares)
    loads = _loads_with_duplicates(shares, sizes, links)
    assert max(loads) - min(loads) <= parallel_analysis.DUPLICATE_SHARE * 1000, (shares, loads)


def test_this_process_reads_a_workers_facts_while_the_worker_is_still_analysing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker sends each part as soon as it is full, and this process reads it between two of its own
    modules: here the worker waits after its first part until this process has read it (or 10 s), mid-round."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    monkeypatch.setattr(parallel_analysis, "MODULES_PER_PART", 2)
    parent, read_first_part = os.getpid(), tmp_path / "read-first-part"
    seen: list[tuple[bool, bool]] = []  # (facts read, the worker's round over), when the first part came
    real_add, real_read_sent = parallel_analysis._Parts.add, parallel_analysis._read_sent

    def waits_after_its_first_part(parts: parallel_analysis._Parts, path: str, facts: list[FunctionFacts]) -> None:
        real_add(parts, path, facts)
        if os.getpid() != parent and not parts.part:
            deadline = time.monotonic() + 10
            while not read_first_part.exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    def reads_when_the_first_part_is_there(receivers: list[parallel_analysis._Receiver]) -> None:
        if not seen and receivers[0].connection.poll(10):
            real_read_sent(receivers)
            seen.append((bool(receivers[0].changed), receivers[0].rest is not None))
            read_first_part.touch()
        real_read_sent(receivers)

    monkeypatch.setattr(parallel_analysis._Parts, "add", waits_after_its_first_part)
    monkeypatch.setattr(parallel_analysis, "_read_sent", reads_when_the_first_part_is_there)
    sources = _project("generated", tmp_path)
    split = engine.check_sources(sources, EngineOptions(jobs=2))
    assert seen == [(True, False)]
    monkeypatch.undo()
    assert split == engine.check_sources(sources, EngineOptions(jobs=1))
