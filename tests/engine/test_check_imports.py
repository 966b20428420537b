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
