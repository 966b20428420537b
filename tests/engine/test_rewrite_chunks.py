"""The order and size of the chunks `migrate`'s rewrite workers take (engine.rewrite_chunks).

A worker takes the next chunk when it is free. The files the analysis read (the ones rewritten) come first, largest
first, in chunks that shrink with the work left, so that the workers run out of work together and the parent, which
parses each rewritten text as it comes back, has little left to parse once they are done; the files no analysis read
(nothing to rewrite) come after, in large chunks.
"""

from __future__ import annotations

import itertools

from codemods import engine
from codemods.model import EngineOptions


def _flat(chunks: list[list[str]]) -> list[str]:
    return [path for chunk in chunks for path in chunk]


def test_every_file_is_in_exactly_one_chunk_read_files_first_largest_first() -> None:
    sizes = {f"m{n:03}.py": 100 + (n * 37) % 500 for n in range(300)}
    paths = sorted(sizes)
    analysed = {path for n, path in enumerate(paths) if n % 3 == 0}
    chunks = engine.rewrite_chunks(paths, sizes, analysed, jobs=2)
    flat = _flat(chunks)
    assert sorted(flat) == paths
    read = [path for path in flat if path in analysed]
    assert flat[: len(read)] == read
    assert read == sorted(analysed, key=lambda path: (-sizes[path], path))
    assert flat[len(read) :] == [path for path in paths if path not in analysed]  # the others in path order


def test_chunks_of_read_files_shrink_with_the_work_left_down_to_a_floor() -> None:
    sizes = {f"m{n:03}.py": 1000 for n in range(480)}
    paths = sorted(sizes)
    chunks = engine.rewrite_chunks(paths, sizes, set(paths), jobs=2)
    weights = [sum(sizes[path] for path in chunk) for chunk in chunks]
    total = sum(weights)
    assert weights[0] == total // 4  # a quarter of the work: 1 / (2 * jobs) of it
    assert weights[1] == (total - weights[0]) // 4
    assert all(later <= earlier for earlier, later in itertools.pairwise(weights))
    smallest = total / 2 * engine.SMALLEST_CHUNK_SHARE
    assert all(weight >= smallest for weight in weights[:-1])  # the last takes what is left
    assert len(chunks) < 40  # not one file a chunk: a chunk is a round trip between processes


def test_unread_files_go_in_large_chunks() -> None:
    paths = [f"plain_{n:04}.py" for n in range(600)]
    chunks = engine.rewrite_chunks(paths, dict.fromkeys(paths, 50), set(), jobs=2)
    assert [len(chunk) for chunk in chunks] == [engine.UNREAD_PER_CHUNK, engine.UNREAD_PER_CHUNK, 88]
    assert _flat(chunks) == paths


def test_no_files_no_chunks() -> None:
    assert engine.rewrite_chunks([], {}, set(), jobs=2) == []


def test_files_needing_the_full_rewrite_come_first_a_chunk_each_largest_first() -> None:
    sizes = {f"m{n:03}.py": 100 + (n * 37) % 500 for n in range(300)}
    paths = sorted(sizes)
    analysed = {path for n, path in enumerate(paths) if n % 3 == 0}
    full = {"m003.py", "m001.py", "m200.py"}
    chunks = engine.rewrite_chunks(paths, sizes, analysed, 2, full)
    assert chunks[:3] == [[path] for path in sorted(full, key=lambda path: (-sizes[path], path))]
    rest = [path for path in paths if path not in full]
    assert chunks[3:] == engine.rewrite_chunks(rest, sizes, analysed, 2)


DB = """import os

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(os.getenv("DATABASE_URL", "postgresql://localhost/app"))
SessionLocal = sessionmaker(bind=engine)
"""

SERVICE = '''from sqlalchemy.orm import Session

from app.db import SessionLocal

# {padding}


def save_{n}(db: Session) -> None:
    """Commit the session."""
    db.commit()


def run_{n}() -> None:
    with SessionLocal() as db:
        save_{n}(db)
'''


def test_the_session_module_whose_url_needs_a_helper_is_rewritten_first(monkeypatch) -> None:
    """Its rewrite is LibCST's (a plan with a helper): the worker that takes it first imports LibCST while the other
    rewrites by text, where, handed out by size (it is the smallest file here), it came last."""
    sources = {"app/__init__.py": "", "app/db.py": DB}
    sources |= {f"app/service_{n}.py": SERVICE.format(n=n, padding="x" * 200) for n in range(10)}
    real = engine.rewrite_chunks
    handed_out: list[list[list[str]]] = []

    def recording(*args: object) -> list[list[str]]:
        handed_out.append(real(*args))  # type: ignore[arg-type]
        return handed_out[-1]

    monkeypatch.setattr(engine, "rewrite_chunks", recording)
    outcomes = engine.migrate_sources(sources, EngineOptions(jobs=2))
    assert "def _awaitify_async_url(" in outcomes["app/db.py"].new_text  # the helper
    assert handed_out[0][0] == ["app/db.py"]
