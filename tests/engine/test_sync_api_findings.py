"""AWT303 (a sync SQLAlchemy API still imported) resolves only the imported names that can be one, and finds the
rest, re-exports under another name included. The imports come from the symbols: no tree is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods import engine, project_analysis
from codemods.model import EngineOptions
from tests.engine.trees import REPO, generated_repo, python_files

ALIASED = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import sessionmaker as make, Session\n\nSessionLocal = make()\n",
    "app/factory.py": "from app.db import make\n\nfactory = make()\n",
    "app/plain.py": "import os\n\nHOME = os.environ.get('HOME')\n",
}


def _awt303(sources: dict[str, str]) -> dict[str, list[int]]:
    found = engine.check_sources(sources, EngineOptions())
    return {path: [f.line for f in findings if f.code == "AWT303"] for path, findings in found.items() if findings}


class _EveryName:
    def __contains__(self, name: object) -> bool:
        return True


def _every_module_read(monkeypatch: pytest.MonkeyPatch, sources: dict[str, str]) -> dict[str, list[int]]:
    """The findings with the name filter off (every imported name is resolved)."""
    with monkeypatch.context() as patched:
        patched.setattr(project_analysis.Project, "names_of", lambda self, targets: _EveryName())
        return _awt303(sources)


def test_the_findings_need_no_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        project_analysis._Parsed, "transient_tree", lambda self: pytest.fail("a tree was parsed for AWT303")
    )
    assert _awt303(ALIASED)["app/factory.py"] == [1]


def test_an_import_under_another_name_is_found() -> None:
    found = _awt303(ALIASED)
    assert found["app/factory.py"] == [1]  # `make` is sessionmaker: the text never says "sessionmaker"
    assert found["app/db.py"] == [1, 1]  # sessionmaker and Session
    assert "app/plain.py" not in found


def test_the_same_findings_as_reading_every_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = generated_repo(tmp_path / "generated", domains=4)
    for sources in (ALIASED, python_files(REPO / "target_backend"), python_files(dest)):
        expected = _every_module_read(monkeypatch, sources)
        assert any(expected.values())
        assert _awt303(sources) == expected
