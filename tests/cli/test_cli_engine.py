"""The CLI end to end with the real engine, on small temp projects and on a copy of target_backend/.

These assert the CLI's promises (exit codes, formats, nothing written by a dry run, idempotence,
per-file failures), not the engine's exact rewrites: the fixtures own those.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import snapshot, validate_sarif, write_tree

from codemods.rules.registry import RULES

REPO = Path(__file__).resolve().parents[2]
FINDING = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>AWT\d{3}) .+$")

MODELS = """\
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""

SERVICE = """\
from sqlalchemy.orm import Session

from app.models import User


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def rename(db: Session, user_id: int, name: str) -> None:
    user = db.get(User, user_id)
    user.name = name
    db.commit()
"""

ROUTES = """\
from sqlalchemy.orm import Session

from app.service import rename


def rename_endpoint(db: Session, user_id: int) -> dict:
    rename(db, user_id, "x")
    return {"ok": True}
"""


@pytest.fixture
def sync_app(project: Path) -> Path:
    return write_tree(
        project,
        {"app/__init__.py": "", "app/models.py": MODELS, "app/service.py": SERVICE, "app/routes.py": ROUTES},
    )


def findings(stdout: str) -> list[re.Match[str]]:
    matches = [FINDING.match(line) for line in stdout.splitlines()]
    assert all(matches), stdout
    return [m for m in matches if m]


def test_check_reports_sync_leftovers(awaitify, sync_app: Path) -> None:
    result = awaitify("check", "app", cwd=sync_app)
    assert result.code == 1, result
    found = findings(result.stdout)
    assert found
    assert {m["code"] for m in found} <= set(RULES)
    assert {m["path"] for m in found} <= {"app/models.py", "app/service.py", "app/routes.py"}


def test_check_clean_tree_exits_0(awaitify, project: Path) -> None:
    write_tree(project, {"pkg/util.py": "def add(a: int, b: int) -> int:\n    return a + b\n"})
    result = awaitify("check", "pkg", cwd=project)
    assert result.code == 0, result
    assert result.stdout == ""


def test_check_sarif_validates(awaitify, sync_app: Path) -> None:
    result = awaitify("check", "--format", "sarif", "app", cwd=sync_app)
    assert result.code == 1, result
    document = json.loads(result.stdout)
    validate_sarif(document)
    assert document["runs"][0]["results"]


def test_disabled_rule_is_not_reported(awaitify, sync_app: Path) -> None:
    first = findings(awaitify("check", "app", cwd=sync_app).stdout)
    code = first[0]["code"]
    again = awaitify("check", "--disable", code, "app", cwd=sync_app)
    assert code not in {m["code"] for m in findings(again.stdout)}


def test_ignore_comment_silences_a_finding(awaitify, sync_app: Path) -> None:
    first = findings(awaitify("check", "app", cwd=sync_app).stdout)[0]
    path = sync_app / first["path"]
    lines = path.read_text().split("\n")
    number = int(first["line"])
    lines[number - 1] += f"  # awaitify: ignore[{first['code']}]"
    path.write_text("\n".join(lines))
    after = findings(awaitify("check", "app", cwd=sync_app).stdout)
    located = {(m["path"], m["line"], m["code"]) for m in after}
    assert (first["path"], first["line"], first["code"]) not in located


def test_diff_leaves_the_tree_byte_identical(awaitify, sync_app: Path) -> None:
    before = snapshot(sync_app)
    result = awaitify("migrate", "--diff", "app", cwd=sync_app)
    assert result.code == 1, result
    assert result.stdout.startswith("--- a/app/")
    assert snapshot(sync_app) == before


def test_migrate_twice_is_migrate_once(awaitify, sync_app: Path) -> None:
    first = awaitify("migrate", "app", cwd=sync_app)
    assert first.code == 0, first
    once = snapshot(sync_app)
    assert once != {}
    second = awaitify("migrate", "--diff", "app", cwd=sync_app)
    assert second.code == 0, second
    assert second.stdout == "" or "AWT" in second.stdout
    assert snapshot(sync_app) == once


def test_migrate_goes_on_past_a_syntax_error(awaitify, sync_app: Path) -> None:
    write_tree(sync_app, {"app/broken.py": "def broken(:\n    pass\n"})
    before = (sync_app / "app/service.py").read_bytes()
    result = awaitify("migrate", "app", cwd=sync_app)
    assert result.code == 2, result
    assert "app/broken.py: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert (sync_app / "app/service.py").read_bytes() != before
    assert (sync_app / "app/broken.py").read_text() == "def broken(:\n    pass\n"


def test_migrate_keeps_crlf(awaitify, sync_app: Path) -> None:
    service = sync_app / "app/service.py"
    service.write_bytes(SERVICE.replace("\n", "\r\n").encode())
    result = awaitify("migrate", "app", cwd=sync_app)
    assert result.code == 0, result
    data = service.read_bytes()
    assert data != SERVICE.replace("\n", "\r\n").encode()
    assert data.count(b"\n") == data.count(b"\r\n")


@pytest.fixture
def backend_copy(tmp_path: Path) -> Path:
    source = REPO / "target_backend"
    if not any(source.rglob("*.py")):
        pytest.skip("target_backend/ has no Python files yet")
    copy = tmp_path / "target_backend"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_check_on_target_backend_finds_leftovers(awaitify, backend_copy: Path) -> None:
    result = awaitify("check", "-q", ".", cwd=backend_copy)
    assert result.code == 1, result
    assert findings(result.stdout)


def test_a_tiny_tree_budget_gives_the_same_diff_and_findings(awaitify, backend_copy: Path) -> None:
    for command in (["migrate", "--diff"], ["check", "--format", "json", "--no-cache"]):
        default = awaitify(*command, "-q", "--jobs", "2", ".", cwd=backend_copy)
        tiny = awaitify(*command, "-q", "--jobs", "2", "--max-tree-mb", "0.001", ".", cwd=backend_copy)
        assert default.code == tiny.code == 1, (default, tiny)
        assert tiny.stdout == default.stdout != ""


def test_a_negative_tree_budget_is_a_usage_error(awaitify, backend_copy: Path) -> None:
    result = awaitify("check", "--max-tree-mb", "-1", ".", cwd=backend_copy)
    assert result.code == 2, result
    assert "--max-tree-mb" in result.stderr
    assert "Traceback" not in result.stderr


def test_diff_on_target_backend_writes_nothing(awaitify, backend_copy: Path) -> None:
    before = snapshot(backend_copy)
    result = awaitify("migrate", "--diff", "-q", ".", cwd=backend_copy)
    assert result.code == 1, result
    assert snapshot(backend_copy) == before
