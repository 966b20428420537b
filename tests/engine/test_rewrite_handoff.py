"""While the rewrite workers run, the parent lets the analysis go and parses the rewritten texts ahead.

`migrate` analyses the rewritten project again to prove a second run changes nothing. With `ParseMemo(parse_ahead=
True)` (the runner's), the parent, idle while its forked rewrite workers work, puts each rewritten text's tree in
the memo in place of the old one; the proof then parses nothing again. Should the workers fail once the parent
has let the analysis go, the run starts again in one process: same outcomes either way.
"""

from __future__ import annotations

import logging
import os
import weakref
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

import pytest

from codemods import engine, interrupts
from codemods.model import EngineOptions, FileOutcome, FileStatus

SESSION = """from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""

CRUD = """from sqlalchemy.orm import Session

from app.models import Item{n}


def add_{n}(db: Session, name: str) -> Item{n}:
    item = Item{n}(name=name)
    db.add(item)
    db.commit()
    db.refresh(item)
    return item
"""

MODELS = "\n\n".join(f"class Item{n}:\n    def __init__(self, name):\n        self.name = name\n" for n in range(10))
PLAIN = '"""Nothing to do with a database."""\n\n\ndef slug(text: str) -> str:\n    return text.lower()\n'


def _sources() -> dict[str, str]:
    sources = {"app/__init__.py": "", "app/db.py": SESSION, "app/models.py": MODELS, "app/text.py": PLAIN}
    sources |= {f"app/crud_{n}.py": CRUD.format(n=n) for n in range(10)}
    return sources


def _texts(outcomes: dict[str, FileOutcome]) -> dict[str, tuple[FileStatus, str]]:
    return {path: (outcome.status, outcome.new_text) for path, outcome in outcomes.items()}


def test_the_rewritten_texts_are_parsed_ahead_and_reused() -> None:
    sources = _sources()
    memo = engine.ParseMemo(parse_ahead=True)
    first = engine.migrate_sources(sources, EngineOptions(jobs=2), memo=memo)
    changed = {path for path, outcome in first.items() if outcome.status is FileStatus.CHANGED}
    assert len(changed) >= engine._PARALLEL_THRESHOLD, "enough rewrites for the workers"
    assert set(memo._ahead) == changed
    assert all(memo._ahead[path].text == first[path].new_text for path in changed)
    assert not changed & set(memo._parsed), "the old trees of rewritten files are let go"
    ahead_trees = {path: memo._ahead[path].tree for path in changed}

    rewritten = {path: outcome.new_text for path, outcome in first.items()}
    second = engine.migrate_sources(rewritten, EngineOptions(jobs=2), memo=memo)
    assert all(memo._parsed[path].tree is ahead_trees[path] for path in changed), "parsed once, not again"
    assert all(outcome.status is FileStatus.UNCHANGED for outcome in second.values())
    assert _texts(second) == _texts(engine.migrate_sources(rewritten, EngineOptions(jobs=1)))
    assert _texts(first) == _texts(engine.migrate_sources(sources, EngineOptions(jobs=1)))


def test_the_first_analysis_is_let_go_before_the_rewritten_texts_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Else both trees of every rewritten file would be alive at once (the peak memory this must not raise)."""
    analyses: list[weakref.ref[object]] = []
    alive_while_parsing: list[bool] = []
    real_analyse, real_replace = engine._analyse, engine.ParseMemo.replace

    def analyse(*args: object, **kwargs: object) -> object:
        analysis = real_analyse(*args, **kwargs)  # type: ignore[arg-type]
        analyses.append(weakref.ref(analysis))
        return analysis

    def replace(memo: engine.ParseMemo, path: str, text: str, file_timeout: float | None) -> None:
        alive_while_parsing.append(analyses[-1]() is not None)
        real_replace(memo, path, text, file_timeout)

    monkeypatch.setattr(engine, "_analyse", analyse)
    monkeypatch.setattr(engine.ParseMemo, "replace", replace)
    engine.migrate_sources(_sources(), EngineOptions(jobs=2), memo=engine.ParseMemo(parse_ahead=True))
    assert len(alive_while_parsing) >= engine._PARALLEL_THRESHOLD
    assert not any(alive_while_parsing), "the analysis was still referenced while the new texts were parsed"


def test_a_memo_that_does_not_parse_ahead_keeps_only_what_it_read() -> None:
    memo = engine.ParseMemo()
    engine.migrate_sources(_sources(), EngineOptions(jobs=2), memo=memo)
    assert not memo._ahead


def _worker_dies(paths: list[str]) -> list[FileOutcome]:
    os._exit(3)


def _worker_without_planner(paths: list[str]) -> list[FileOutcome]:
    raise engine._NoPlanner("started after the analysis was let go")


@pytest.mark.parametrize("failure", [_worker_dies, _worker_without_planner])
def test_rewrite_workers_lost_after_the_handoff_start_the_run_again_in_one_process(
    failure: object, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sources = _sources()
    expected = _texts(engine.migrate_sources(sources, EngineOptions(jobs=1)))
    monkeypatch.setattr(engine, "_rewrite_in_worker", failure)
    with caplog.at_level(logging.WARNING, logger="codemods.engine"):
        outcomes = engine.migrate_sources(sources, EngineOptions(jobs=2), memo=engine.ParseMemo(parse_ahead=True))
    assert "parallel rewrite unavailable" in caplog.text and "analysing and rewriting in this process" in caplog.text
    assert _texts(outcomes) == expected


def test_a_pool_that_cannot_start_rewrites_in_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sources = _sources()
    expected = _texts(engine.migrate_sources(sources, EngineOptions(jobs=1)))

    def no_pool(*args: object, **kwargs: object) -> None:
        raise OSError("no fork today")

    monkeypatch.setattr(interrupts, "ProcessPoolExecutor", no_pool)
    with caplog.at_level(logging.WARNING, logger="codemods.engine"):
        outcomes = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert "rewriting in this process" in caplog.text and "analysing and rewriting" not in caplog.text
    assert _texts(outcomes) == expected


def test_a_run_over_the_engines_own_output_plans_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof of stability expects no plan at all: forking rewrite workers to plan every file cost more than
    planning them here (`ParseMemo.served_rewritten`). The first run, and a run over texts of its own, fork them."""
    pools: list[int] = []
    real_pool = ProcessPoolExecutor

    def counting_pool(max_workers: int, mp_context: BaseContext | None = None, **options: Any) -> ProcessPoolExecutor:
        pools.append(max_workers)
        return real_pool(max_workers=max_workers, mp_context=mp_context, **options)

    monkeypatch.setattr(interrupts, "ProcessPoolExecutor", counting_pool)
    sources = _sources()
    memo = engine.ParseMemo(parse_ahead=True)
    first = engine.migrate_sources(sources, EngineOptions(jobs=2), memo=memo)
    assert len(pools) == 1 and not memo.served_rewritten
    rewritten = {path: outcome.new_text for path, outcome in first.items()}
    second = engine.migrate_sources(rewritten, EngineOptions(jobs=2), memo=memo)
    assert memo.served_rewritten and len(pools) == 1, "the proof forked no rewrite workers"
    assert all(outcome.status is FileStatus.UNCHANGED for outcome in second.values())
    again = engine.migrate_sources(sources, EngineOptions(jobs=2), memo=memo)
    assert not memo.served_rewritten and len(pools) == 2
    assert _texts(again) == _texts(first)


def test_a_plan_in_a_run_over_the_engines_own_output_is_still_rewritten() -> None:
    """Planned here, a file of the second run that would change again still comes back changed (the runner then
    reports it as not stable)."""
    sources = _sources()
    memo = engine.ParseMemo(parse_ahead=True)
    first = engine.migrate_sources(sources, EngineOptions(jobs=2), memo=memo)
    rewritten = {path: outcome.new_text for path, outcome in first.items()}
    # a file the first run did not touch now holds sync session I/O: the second run must rewrite it
    rewritten["app/text.py"] = CRUD.format(n=0).replace("add_0", "add_again")
    second = engine.migrate_sources(rewritten, EngineOptions(jobs=2), memo=memo)
    assert memo.served_rewritten
    assert second["app/text.py"].status is FileStatus.CHANGED
    assert "await db.commit()" in second["app/text.py"].new_text
