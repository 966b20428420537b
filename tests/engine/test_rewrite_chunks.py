"""The order and size of the chunks `migrate`'s rewrite workers take (engine.rewrite_chunks).

A worker takes the next chunk when it is free. The files the analysis read (the ones rewritten) come first, largest
first, in chunks that shrink with the work left, so that the workers run out of work together and the parent, which
parses each rewritten text as it comes back, has little left to parse once they are done; the files no analysis read
(nothing to rewrite) come after, in large chunks.
"""

from __future__ import annotations

import itertools

from codemods import engine


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
