"""`check`'s cache: an unchanged tree is answered from it, any change of text or options is a miss."""

from __future__ import annotations

from pathlib import Path

from codemods import engine
from codemods.engine import check_sources
from codemods.model import EngineOptions

SOURCES = {
    "app/models.py": "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n",
    "app/service.py": (
        "from sqlalchemy.orm import Session\n\n\ndef count(db: Session, model):\n    return db.query(model).count()\n"
    ),
}


def test_unchanged_tree_is_served_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    assert first["app/service.py"], "the sync leftovers must be found"

    def analysis_must_not_run(*args, **kwargs):
        raise AssertionError("a cache hit must not analyse the tree again")

    monkeypatch.setattr(engine, "_check_sources", analysis_must_not_run)
    assert check_sources(SOURCES, options) == first


def test_a_changed_file_or_option_is_a_miss(tmp_path: Path) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    changed = dict(SOURCES, **{"app/service.py": SOURCES["app/service.py"] + "\n\nx = 1\n"})
    assert check_sources(changed, options) == check_sources(changed, EngineOptions())
    disabled = EngineOptions(cache_dir=str(tmp_path), disabled_rules=frozenset({"AWT301", "AWT303"}))
    assert check_sources(SOURCES, disabled) != first


def test_a_damaged_entry_is_recomputed(tmp_path: Path) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json")
    assert check_sources(SOURCES, options) == first


def test_an_unwritable_cache_is_only_slower(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    options = EngineOptions(cache_dir=str(blocker / "cache"))
    assert check_sources(SOURCES, options) == check_sources(SOURCES, EngineOptions())


def test_other_awaitify_code_is_a_miss(tmp_path: Path, monkeypatch) -> None:
    """A development tree changes the engine without changing the version: its cache entries must not serve."""
    from codemods import check_cache

    options = EngineOptions(cache_dir=str(tmp_path))
    key = check_cache.CheckCache.key(SOURCES, options)
    monkeypatch.setattr(check_cache, "_code_digest", lambda: "another build of awaitify")
    assert check_cache.CheckCache.key(SOURCES, options) != key


def test_a_cache_hit_does_not_import_the_engine(tmp_path: Path) -> None:
    """The cached re-run is startup-bound: the engine (and LibCST) are imported only on a miss."""
    import subprocess
    import sys

    project = tmp_path / "project"
    for path, text in SOURCES.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    script = (
        "import sys\n"
        "from codemods.cli import main\n"
        "try:\n"
        f"    main(['check', '-q', {str(project)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('engine' if 'codemods.engine' in sys.modules or 'libcst' in sys.modules else 'no engine')\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env) for _ in range(2)]
    assert [run.stdout.strip().splitlines()[-1] for run in runs] == ["engine", "no engine"]
