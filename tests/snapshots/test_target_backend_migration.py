"""The converted target_backend/, file by file, and the migration report, held as reviewed snapshots.

Any change of awaitify's output on the backend shows up here as a diff to review
(`pytest tests/snapshots --snapshot-update` records the new output once it has been read).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from codemods.engine import check_sources, migrate_sources
from codemods.model import EngineOptions, FileOutcome, FileStatus

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "target_backend"
BACKEND_FILES = sorted(p.relative_to(BACKEND).as_posix() for p in BACKEND.rglob("*.py"))

# The traps target_backend carries on purpose (target-backend.md): each must come out as a review item.
DELIBERATE_REVIEW_ITEMS = {
    ("backend/api/models/artists_model.py", "AWT204"),  # a @property doing database I/O
    ("backend/api/routers/genres_api.py", "AWT201"),  # a lazy relationship read away from its query
    ("backend/api/services/covers_service.py", "AWT203"),  # asyncio.gather over one session
}


@pytest.fixture(scope="module")
def migration() -> dict[str, FileOutcome]:
    sources = {path: (BACKEND / path).read_text(encoding="utf-8") for path in BACKEND_FILES}
    return migrate_sources(sources, EngineOptions())


@pytest.mark.parametrize("path", BACKEND_FILES)
def test_converted_file(path: str, migration: dict[str, FileOutcome], snapshot: SnapshotAssertion) -> None:
    outcome = migration[path]
    assert outcome.status is not FileStatus.FAILED, outcome.error
    assert outcome.new_text == snapshot


def test_migration_report(migration: dict[str, FileOutcome], snapshot: SnapshotAssertion) -> None:
    report = {
        path: {
            "status": outcome.status.value,
            "functions_made_async": outcome.stats.functions_made_async,
            "awaits_added": outcome.stats.awaits_added,
            "queries_rewritten": outcome.stats.queries_rewritten,
            "review_items": [f"{f.line}:{f.col} {f.code} {f.message}" for f in outcome.findings],
            "made_async_because": outcome.async_reasons,
        }
        for path, outcome in migration.items()
        if outcome.status is not FileStatus.UNCHANGED or outcome.findings
    }
    assert json.dumps(report, indent=2, sort_keys=True) == snapshot


def test_review_items_are_exactly_the_deliberate_traps(migration: dict[str, FileOutcome]) -> None:
    found = {(path, f.code) for path, outcome in migration.items() for f in outcome.findings}
    assert found == DELIBERATE_REVIEW_ITEMS


def test_check_on_the_migrated_tree_reports_only_the_trap_markers(migration: dict[str, FileOutcome]) -> None:
    findings = check_sources({p: o.new_text for p, o in migration.items()}, EngineOptions())
    reported = {(path, f.code, f.message.split(":")[0]) for path, items in findings.items() for f in items}
    expected = {(path, "AWT307", f"review marker {code}") for path, code in DELIBERATE_REVIEW_ITEMS}
    assert reported == expected


def test_check_on_the_original_lists_its_leftovers() -> None:
    sources = {path: (BACKEND / path).read_text(encoding="utf-8") for path in BACKEND_FILES}
    codes = {f.code for items in check_sources(sources, EngineOptions()).values() for f in items}
    # sync queries, the sync Session API, and the un-awaited async service calls of tracks_api.py
    assert {"AWT301", "AWT303", "AWT304"} <= codes


def test_second_run_changes_nothing(migration: dict[str, FileOutcome]) -> None:
    again = migrate_sources({p: o.new_text for p, o in migration.items()}, EngineOptions())
    changed = [path for path, outcome in again.items() if outcome.new_text != migration[path].new_text]
    assert changed == []
