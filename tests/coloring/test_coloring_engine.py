"""The engine on the coloring fixture projects: exact expected trees, idempotence, determinism, `check`.

Each expected tree is the reviewed output of the migration. A file the engine gets wrong is a strict xfail
named in the case's `case.json` (the expected text stays the correct one), so that the test flips when fixed.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from coloring_harness import (
    ROOT,
    Case,
    check_tree,
    copy_tree,
    discover_cases,
    migrate_tree,
    read_tree,
    review_marker_lines,
)

from codemods.model import FileOutcome, FileStatus

CASES = discover_cases()


def _file_params() -> list[object]:
    params = []
    for case in CASES:
        for relpath in read_tree(case.before):
            reason = case.migrate_xfail(relpath)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, relpath, id=f"{case.name}/{relpath}", marks=marks))
    return params


def _case_params(test: str) -> list[object]:
    return [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail(test))] if case.xfail(test) else [],
        )
        for case in CASES
    ]


@functools.cache
def _migrated(case_name: str) -> dict[str, FileOutcome]:
    """The engine's output for a case, computed once per worker: several tests compare against it."""
    case = next(c for c in CASES if c.name == case_name)
    outcomes = migrate_tree(read_tree(case.before))
    assert all(o.error is None for o in outcomes.values()), {p: o.error for p, o in outcomes.items() if o.error}
    return outcomes


def _migrated_tree(case: Case) -> dict[str, str]:
    return {path: outcome.new_text for path, outcome in _migrated(case.name).items()}


def test_there_are_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=str)
def test_expected_tree_has_the_files_of_the_before_tree(case: Case) -> None:
    assert sorted(read_tree(case.expected)) == sorted(read_tree(case.before))
    assert (case.before / "entry.py").exists() or case.run is None, "a runnable case needs an entry.py"


@pytest.mark.parametrize(("case", "relpath"), _file_params())
def test_migrate_gives_the_expected_file(case: Case, relpath: str) -> None:
    assert _migrated_tree(case)[relpath] == read_tree(case.expected)[relpath]


@pytest.mark.parametrize("case", _case_params("idempotent"), ids=str)
def test_second_migration_is_a_no_op(case: Case) -> None:
    expected = read_tree(case.expected)
    outcomes = migrate_tree(expected)
    changed = sorted(p for p, o in outcomes.items() if o.new_text != expected[p] or o.status != FileStatus.UNCHANGED)
    assert changed == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unchanged_files_are_byte_identical_and_reported_unchanged(case: Case) -> None:
    before, expected = read_tree(case.before), read_tree(case.expected)
    outcomes = _migrated(case.name)
    for path, text in before.items():
        if expected[path] == text and case.migrate_xfail(path) is None:  # known engine bugs: xfailed above
            assert outcomes[path].status == FileStatus.UNCHANGED, path
            assert outcomes[path].new_text.encode() == text.encode(), path


@pytest.mark.parametrize("case", CASES, ids=str)
def test_file_order_and_jobs_do_not_change_the_output(case: Case) -> None:
    sources = read_tree(case.before)
    reference = _migrated_tree(case)  # jobs=1, files in sorted order
    reversed_order = dict(reversed(list(sources.items())))
    assert {p: o.new_text for p, o in migrate_tree(reversed_order, jobs=1).items()} == reference
    shuffled = {p: o.new_text for p, o in migrate_tree(sources, jobs=2, shuffle_seed=len(case.name)).items()}
    assert shuffled == reference, "output depends on file order or on jobs"


@pytest.mark.parametrize("case", _case_params("check"), ids=str)
def test_check_reports_only_the_review_markers(case: Case) -> None:
    expected = read_tree(case.expected)
    assert check_tree(expected) == review_marker_lines(expected)


@pytest.mark.parametrize("case_name", ["fastapi_routers"])
def test_cli_migrate_writes_the_expected_tree(case_name: str, tmp_path: Path) -> None:
    """The CLI over a copy of the before tree writes the expected tree (same engine, real file I/O)."""
    case = next(c for c in CASES if c.name == case_name)
    tree = copy_tree(case.before, tmp_path / "project")
    proc = subprocess.run(
        [sys.executable, "-m", "codemods", "migrate", str(tree)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert read_tree(tree) == read_tree(case.expected)


def test_the_readme_lists_every_case() -> None:
    readme = (CASES[0].path.parent / "README.md").read_text()
    assert [case.name for case in CASES if f"| `{case.name}` |" not in readme] == []
