"""`check` analyses with the stdlib `ast` alone: LibCST (~0.15 s to import) is imported only to rewrite (or to
tell a syntax error from syntax newer than this Python). A rewrite imports it only for the files the
statement-level path cannot rewrite by text (here: the engine module, which gains a helper)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from codemods import engine
    from codemods.model import EngineOptions

    sources = {
        "app/crud.py": "from sqlalchemy.orm import Session\\n\\n\\ndef save(db: Session, x):\\n    db.add(x)\\n"
        "    db.commit()\\n",
    }
    findings = engine.check_sources(sources, EngineOptions())
    assert [f.code for f in findings["app/crud.py"]] == ["AWT303"], findings
    print("libcst" in sys.modules)
    outcomes = engine.migrate_sources(sources, EngineOptions())
    assert "from sqlalchemy.ext.asyncio import AsyncSession" in outcomes["app/crud.py"].new_text
    print("libcst" in sys.modules)
    sources["app/db.py"] = (
        "import os\\n\\nfrom sqlalchemy import create_engine\\n\\nengine = create_engine(os.environ['URL'])\\n"
    )
    outcomes = engine.migrate_sources(sources, EngineOptions())
    assert "def _awaitify_async_url(url):" in outcomes["app/db.py"].new_text
    print("libcst" in sys.modules)
    """
)


def test_check_does_not_import_libcst_and_a_rewrite_only_where_needed() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True"], done.stderr


SLOW_LIBCST_SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys
    import time

    from codemods import engine
    from codemods.model import EngineOptions


    class SlowLibCST(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "libcst":
                time.sleep(1.0)  # LibCST's import, made longer than the per-file limit
            return None


    sys.meta_path.insert(0, SlowLibCST())
    db = "import os\\n\\nfrom sqlalchemy import create_engine\\n\\nengine = create_engine(os.environ['URL'])\\n"
    sources = {"app/db.py": db}  # a rewrite through LibCST (a helper is added)
    outcome = engine.migrate_sources(sources, EngineOptions(jobs=1, file_timeout=0.5))["app/db.py"]
    print(outcome.status.value, outcome.error)
    """
)


def test_importing_libcst_does_not_count_against_the_first_file_that_needs_it() -> None:
    """The import (~0.15 s, once per process) runs on a stopped clock: it made the first file rewritten through
    LibCST fail a sub-second --file-timeout."""
    done = subprocess.run(
        [sys.executable, "-c", SLOW_LIBCST_SCRIPT], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["changed", "None"], done.stdout + done.stderr
