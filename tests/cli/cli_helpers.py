"""Helpers for the CLI tests: build temp trees, run the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
FAKE_MAIN = HERE / "fake_engine_main.py"
SCRIPT = Path(sys.executable).parent / "awaitify"
# Not a timing assertion: only turns a hung subprocess into a failure instead of a stuck suite.
HANG_GUARD_SECONDS = 900
SARIF_SCHEMA = HERE / "data" / "sarif-2.1.0-subset.schema.json"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(code={self.code})\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def env_for(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_ENGINE", "FORCE_COLOR", "TTY_"))}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra or {})
    return env


def run(argv: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> Result:
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env=env_for(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=HANG_GUARD_SECONDS,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create files (text written as UTF-8 bytes, no newline translation) and return root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: bytes, mode and mtime (to prove a run wrote nothing)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and ".git" not in path.parts:
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


OFFICIAL_SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"


def validate_sarif(document: object) -> None:
    """Raise jsonschema.ValidationError unless document is SARIF 2.1.0.

    Two schemas: the official OASIS one (sarif-2.1.0-rtm.5, draft-04, as shipped in Microsoft's MIT-licensed
    @microsoft/jest-sarif package), and our stricter subset, which also requires what GitHub code scanning reads."""
    import jsonschema

    official = json.loads(OFFICIAL_SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(official).validate(document)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    validator.validate(document)
