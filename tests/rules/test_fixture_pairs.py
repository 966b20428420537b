"""The engine meets the spec: every fixture pair's before text migrates to its expected text exactly, and a
second migration of the expected text changes nothing (idempotency).

The fixtures are proven correct independently of the engine by test_run_pairs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fixture_harness import RUNTIME, Pair, discover_pairs

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, FileStatus

PAIRS = discover_pairs()
MODELS_TEXT = (RUNTIME / "models.py").read_text()


def _migrate(text: str) -> str:
    outcomes = migrate_sources({"models.py": MODELS_TEXT, "case.py": text}, EngineOptions())
    outcome = outcomes["case.py"]
    assert outcome.status is not FileStatus.FAILED, outcome.error
    return outcome.new_text


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.id)
def test_before_migrates_to_expected(pair: Pair) -> None:
    assert _migrate(pair.before.read_text()) == pair.expected.read_text()


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.id)
def test_expected_is_a_fixed_point(pair: Pair) -> None:
    expected = pair.expected.read_text()
    assert _migrate(expected) == expected


def test_models_file_is_left_alone() -> None:
    outcomes = migrate_sources({"models.py": MODELS_TEXT}, EngineOptions())
    assert outcomes["models.py"].new_text == MODELS_TEXT


FIXTURE_FILES = [p for pair in PAIRS for p in (pair.before, pair.expected)]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(RUNTIME.parent)))
def test_fixture_file_parses(path: Path) -> None:
    ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.family == "review"], ids=lambda p: p.id)
def test_review_fixture_has_a_marker(pair: Pair) -> None:
    assert "# awaitify: review AWT2" in pair.expected.read_text()
