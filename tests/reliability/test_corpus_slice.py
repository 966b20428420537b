"""No collateral changes: a deterministic slice of the venv's site-packages (code nobody here wrote).

The whole of site-packages is `make corpus-check` (.ci/corpus_check.py); this slice keeps the same
promises in the normal suite: no crash, what parsed still parses, files that do not use SQLAlchemy come
out byte-identical, and the failures are exactly the files that did not parse (or cannot be decoded).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rel_helpers import (
    SITE_PACKAGES,
    assert_no_crash,
    awaitify,
    copy_files,
    load_result,
    make_project,
    mentions_sqlalchemy,
    parses,
    run_once,
    sample_site_packages,
    save_result,
    shared_base,
    tree_bytes,
)

SLICE_SIZE = 300
SQLALCHEMY_FILES = 40


@pytest.fixture(scope="module")
def migrated_slice(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes], dict]:
    """(before, after, report) of one `migrate` over the slice, copied under `corpus/` (once per session)."""
    files = sample_site_packages(SLICE_SIZE, SQLALCHEMY_FILES)

    def build(directory: Path) -> None:
        root = make_project(directory / "proj")
        copy_files(files, SITE_PACKAGES, root / "corpus")
        argv = ["migrate", "corpus", "--allow-dirty", "-q", "--jobs", "2", "--report", "report.json"]
        save_result(directory, awaitify(*argv, cwd=root))

    directory = run_once(shared_base(tmp_path_factory), "corpus-slice", build)
    assert_no_crash(load_result(directory))
    root = directory / "proj"
    before = {rel: (SITE_PACKAGES / rel).read_bytes() for rel in files}
    report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    return before, tree_bytes(root / "corpus"), report


def test_slice_is_what_we_think(migrated_slice) -> None:
    before, _after, report = migrated_slice
    assert len(before) == SLICE_SIZE
    assert sum(1 for rel in before if rel.startswith("sqlalchemy/")) == SQLALCHEMY_FILES
    assert report["summary"]["scanned"] > 0


def test_no_new_files_and_none_lost(migrated_slice) -> None:
    before, after, _report = migrated_slice
    assert sorted(after) == sorted(before)


def test_what_parsed_still_parses(migrated_slice) -> None:
    before, after, _report = migrated_slice
    broken = [rel for rel, data in before.items() if parses(data) and not parses(after[rel])]
    assert broken == []


def test_files_without_sqlalchemy_are_byte_identical(migrated_slice) -> None:
    before, after, _report = migrated_slice
    touched = [rel for rel, data in before.items() if not mentions_sqlalchemy(rel, data) and after[rel] != data]
    assert touched == []


def test_only_unparsable_files_fail(migrated_slice) -> None:
    before, _after, report = migrated_slice
    failed = {f["path"].removeprefix("corpus/"): f["error"] for f in report["files"] if f["status"] == "failed"}
    unexpected = {rel: error for rel, error in failed.items() if parses(before[rel])}
    assert unexpected == {}
    for rel, error in failed.items():
        assert error and "\n" not in error and "Traceback" not in error, (rel, error)


def test_failed_files_are_untouched(migrated_slice) -> None:
    before, after, report = migrated_slice
    failed = [f["path"].removeprefix("corpus/") for f in report["files"] if f["status"] == "failed"]
    assert [rel for rel in failed if after[rel] != before[rel]] == []


def test_report_agrees_with_the_disk(migrated_slice) -> None:
    before, after, report = migrated_slice
    changed_on_disk = {rel for rel in before if after[rel] != before[rel]}
    changed_in_report = {f["path"].removeprefix("corpus/") for f in report["files"] if f["status"] == "changed"}
    assert changed_on_disk == changed_in_report


def test_second_run_changes_nothing(migrated_slice, tmp_path: Path) -> None:
    _before, after, _report = migrated_slice
    root = make_project(tmp_path / "proj")
    for rel, data in after.items():
        (root / "corpus" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "corpus" / rel).write_bytes(data)
    result = awaitify("migrate", "corpus", "--allow-dirty", "-q", "--jobs", "2", cwd=root)
    assert_no_crash(result)
    assert tree_bytes(root / "corpus") == after
