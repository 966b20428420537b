"""The proof of the expected outputs: each pair's hand-written before code on a sync `Session` and its
expected code on an `AsyncSession` return the same thing and leave the same rows, on SQLite and PostgreSQL.

Independent of the engine: this shows the spec is right. test_fixture_pairs shows the engine meets it.
"""

from __future__ import annotations

import pytest
from fixture_harness import (
    BACKENDS,
    RUNNABLE_FAMILIES,
    Database,
    Pair,
    discover_pairs,
    entry_point,
    load_module,
    orphan_expected_files,
    run_pair,
)

PAIRS = discover_pairs()
RUNNABLE = [pair for pair in PAIRS if entry_point(pair.expected) is not None]


def _params() -> list[object]:
    return [
        pytest.param(pair, backend, id=f"{pair.id}[{backend}]")
        for pair in RUNNABLE
        for backend in BACKENDS
        if backend in pair.backends()
    ]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # "coroutine ... was never awaited"
@pytest.mark.parametrize(("pair", "backend"), _params())
async def test_pair_behaves_the_same(pair: Pair, backend: str, database: Database) -> None:
    entry = entry_point(pair.before)
    assert entry == entry_point(pair.expected), "before and expected define different entry points"
    assert entry is not None
    before, after = await run_pair(load_module(pair.before), load_module(pair.expected), entry, database)
    assert before.raised == pair.declared_raise(), "the before code must raise only what it declares"
    assert after.raised == before.raised
    assert after.result == before.result
    assert after.database == before.database


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.family in RUNNABLE_FAMILIES], ids=lambda p: p.id)
def test_rewrite_fixture_has_an_entry_point(pair: Pair) -> None:
    assert pair.expected.exists(), f"{pair.expected} is missing"
    assert entry_point(pair.before) is not None, "a rewrite fixture must be runnable (run or run_url)"


def test_every_expected_file_has_a_before_file() -> None:
    assert orphan_expected_files() == []


def test_there_are_fixtures() -> None:
    assert len(PAIRS) >= 100
