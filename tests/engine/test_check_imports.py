"""`check` analyses with the stdlib `ast` alone: LibCST (~0.15 s to import) is imported only to rewrite (or to
tell a syntax error from syntax newer than this Python)."""

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
    engine.migrate_sources(sources, EngineOptions())
    print("libcst" in sys.modules)
    """
)


def test_check_does_not_import_libcst() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"], done.stderr
