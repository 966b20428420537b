"""A rewrite that fails the runner's verification is left as it was, and the project is planned without it.

The runner checks every rewritten file (it must compile, and a second run must change nothing). A file that
fails is left untouched; were the rest kept as first planned, other files would await its functions, which
stayed sync. So the project is planned again with that file left alone, and calls into it get AWT216.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods import engine
from codemods.model import FileStatus
from codemods.report import MigrateReport
from codemods.runner import RunOptions, prepare, run_migrate
from tests.engine.test_files_left_alone import SOURCES


def _project(root: Path) -> Path:
    for relative, text in SOURCES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    return root


def _migrate(root: Path) -> MigrateReport:
    return run_migrate(prepare(RunOptions(paths=(root,), jobs=1), cwd=root), write=True)


def _assert_crud_left_alone(root: Path, report: MigrateReport, why: str) -> None:
    crud = report.outcomes["app/crud.py"]
    assert crud.status is FileStatus.FAILED
    assert why in (crud.error or "")
    assert (root / "app" / "crud.py").read_text(encoding="utf-8") == SOURCES["app/crud.py"]
    api = (root / "app" / "api.py").read_text(encoding="utf-8")
    assert "await crud.get_user" not in api  # get_user stayed sync: awaiting it would fail at run time
    assert "crud.get_user(db, user_id)  # awaitify: review AWT216 get_user() is in app.crud, left sync" in api
    assert "    await db.commit()" in api
    assert [f.code for f in report.outcomes["app/api.py"].findings] == ["AWT216"]


def test_a_rewrite_that_does_not_compile_is_left_alone_and_planned_around(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = engine.apply_plan

    def apply_breaking_crud(text: str, plan: engine.FilePlan, tree: object = None) -> str:
        new_text = real_apply(text, plan, tree)
        return new_text + "\nawait db\n" if plan.module_name == "app.crud" else new_text

    monkeypatch.setattr(engine, "apply_plan", apply_breaking_crud)
    root = _project(tmp_path)
    _assert_crud_left_alone(root, _migrate(root), "rewrite does not compile")


def test_a_rewrite_a_second_run_would_change_is_left_alone_and_planned_around(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = engine.apply_plan
    crud_rewrites: list[str] = []

    def apply_forgetting_an_await(text: str, plan: engine.FilePlan, tree: object = None) -> str:
        new_text = real_apply(text, plan, tree)
        if plan.module_name == "app.crud" and not crud_rewrites:
            # the first rewrite compiles, but lacks an await that the second run then adds
            crud_rewrites.append(new_text)
            return new_text.replace("return await db.get(", "return db.get(")
        return new_text

    monkeypatch.setattr(engine, "apply_plan", apply_forgetting_an_await)
    root = _project(tmp_path)
    _assert_crud_left_alone(root, _migrate(root), "rewrite is not stable")
    assert len(crud_rewrites) == 1


def test_the_engine_verifies_its_rewrites_where_it_makes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compile check runs in the rewrite worker (in parallel); the runner does not compile the text again."""
    from codemods import runner
    from codemods.model import EngineOptions

    outcomes = engine.migrate_sources(SOURCES, EngineOptions())
    changed = {path for path, outcome in outcomes.items() if outcome.status is FileStatus.CHANGED}
    assert changed and all(outcomes[path].verified for path in changed)
    assert not any(o.verified for o in outcomes.values() if o.status is not FileStatus.CHANGED)

    compiled: list[str] = []
    real_verify = runner.verify_rewrite
    monkeypatch.setattr(
        runner, "verify_rewrite", lambda old, new, key: compiled.append(key) or real_verify(old, new, key)
    )
    root = _project(tmp_path)
    report = _migrate(root)
    assert {p for p, o in report.outcomes.items() if o.status is FileStatus.CHANGED} >= changed
    assert compiled == []
