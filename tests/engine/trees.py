"""Source trees the engine tests compare two code paths on: the repository's own trees and a generated repo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "fixtures" / "bench" / "generate_repo.py"


def python_files(root: Path) -> dict[str, str]:
    """Every `.py` file under `root`: POSIX path relative to it -> text."""
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}


def generated_repo(dest: Path, domains: int) -> Path:
    """The benchmark's generated repository (`fixtures/bench/generate_repo.py`) at `domains` scale, in `dest`."""
    subprocess.run(
        [sys.executable, str(GENERATOR), str(dest), "--domains", str(domains)], check=True, capture_output=True
    )
    return dest
