"""A quiet run that has nothing to print (`-q`, no failure, no review item: `make bench`'s `migrate`) does not import
rich: its console, log handler and tables are built where something is printed (codemods.cli._stdout)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SOURCES = {
    "app/__init__.py": "",
    "app/crud.py": "from sqlalchemy.orm import Session\n\n\ndef save(db: Session):\n    db.commit()\n",
    "app/api.py": "from app import crud\n\n\ndef handler(db):\n    crud.save(db)\n",
}

# the command line in a fresh interpreter, then which rich modules it imported and what it printed
RUN = """
import contextlib, io, sys
from codemods import cli
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        cli.main(sys.argv[1:], prog_name="awaitify")
    except SystemExit as exc:
        code = exc.code
rich = sorted(name for name in sys.modules if name.split(".")[0] == "rich")
print(code, ",".join(rich), repr(out.getvalue() + err.getvalue()), sep=" | ")
"""


def _run(tree: Path, *args: str) -> str:
    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", RUN, *args]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(repo)})
    return done.stdout.strip()


def _project(tmp_path: Path) -> Path:
    for path, text in SOURCES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def test_a_quiet_migrate_with_nothing_to_say_imports_no_rich(tmp_path: Path) -> None:
    tree = _project(tmp_path)
    assert _run(tree, "-q", "migrate", "--allow-dirty", "--jobs", "1", ".") == "0 |  | ''"
    assert "async def save" in (tree / "app/crud.py").read_text()


def test_a_run_that_logs_still_logs_through_rich(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, rich, printed = _run(tmp_path, "migrate", "--diff", "--jobs", "1", "empty").split(" | ")
    assert code == "0"
    assert "rich.logging" in rich.split(",")
    assert "no Python files found under empty" in printed
