"""The migrated copy of `target_backend/`, built once per test run and shared by every suite that serves it.

`tests/backend/` (the behaviour suite) and `tests/faults/` (the converted backend under faults) both run the
tree that `python -m codemods migrate` produces from a copy of `target_backend/`; the copy is made once per
run (a file lock serialises the xdist workers) and reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_TREE = REPO_ROOT / "target_backend"


def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by all xdist workers of this run (and private to the run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def migrated_tree(shared_dir: Path | None = None) -> Path:
    """Copy `target_backend/` and convert it with `python -m codemods migrate`, once per run (file lock)."""
    shared = shared_dir or Path(tempfile.gettempdir()) / f"awaitify-migrated-{os.getuid()}"
    shared.mkdir(parents=True, exist_ok=True)
    copy_dir = shared / "migrated_target_backend"
    status_file = shared / "migrated_target_backend.json"
    with open(shared / "migrated_target_backend.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if status_file.exists():
            status = json.loads(status_file.read_text())
        else:
            shutil.rmtree(copy_dir, ignore_errors=True)
            shutil.copytree(ORIGINAL_TREE, copy_dir, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
            proc = subprocess.run(
                [sys.executable, "-m", "codemods", "migrate", str(copy_dir)],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=900,
            )
            # `migrate` exits 0 when every file was written (review items included), 2 when any failed.
            ok = proc.returncode == 0 and "Traceback" not in proc.stderr
            status = {"ok": ok, "returncode": proc.returncode, "stderr": proc.stderr[-4000:]}
            status_file.write_text(json.dumps(status))
    if status["ok"]:
        return copy_dir
    pytest.fail(
        f"`python -m codemods migrate` failed (exit {status['returncode']}):\n{status['stderr']}",
        pytrace=False,
    )
