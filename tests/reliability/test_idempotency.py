"""Idempotency and determinism, as hypothesis properties over generated projects (program_grammar.py).

Engine level (cheap, many examples): the output parses and compiles, a second run is a no-op, the
order in which files are handed to the engine does not matter, plain modules are untouched.
CLI level (a few examples, real processes): `--jobs 1` and `--jobs 2` write the same bytes, and a
second `migrate` over the written tree changes nothing.

AWAITIFY_HYPOTHESIS_EXAMPLES raises the number of engine-level examples (default 25).
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from pathlib import Path

import libcst
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from program_grammar import DB, MODELS, plain_keys, projects
from rel_helpers import assert_no_crash, awaitify, make_project, tree_bytes

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, FileOutcome, FileStatus

EXAMPLES = int(os.environ.get("AWAITIFY_HYPOTHESIS_EXAMPLES", "25"))
ENGINE_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; raise EXAMPLES to explore more
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLI_SETTINGS = settings(  # real processes: a few examples, no shrinking (a failure prints its project)
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _migrate(files: dict[str, str]) -> dict[str, FileOutcome]:
    return migrate_sources(files, EngineOptions())


def _texts(outcomes: dict[str, FileOutcome]) -> dict[str, str]:
    return {key: outcome.new_text for key, outcome in outcomes.items()}


def _compiles(text: str, key: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, key, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"{key}:{exc.lineno}: {exc.msg}"
    return None


@ENGINE_SETTINGS
@given(projects(), st.randoms(use_true_random=False))
def test_engine_properties(files: dict[str, str], rnd: random.Random) -> None:
    """One drawn project, every engine-level property (one test: each engine run is costly)."""
    outcomes = _migrate(files)
    first = _texts(outcomes)
    assert sorted(outcomes) == sorted(files)
    # the output parses and compiles
    for key, outcome in outcomes.items():
        assert outcome.status is not FileStatus.FAILED, (key, outcome.error, files[key])
        libcst.parse_module(outcome.new_text)
        assert _compiles(outcome.new_text, key) is None, outcome.new_text
    # the harness is not vacuous: the routers always end up async
    assert "async def get_" in first["app/routers/r0.py"]
    # plain modules are untouched
    for key in plain_keys(files):
        assert first[key] == files[key], key
    # a second run is a no-op
    second = _texts(_migrate(first))
    assert {k: v for k, v in second.items() if v != first[k]} == {}
    # the order the files come in does not matter
    keys = list(files)
    rnd.shuffle(keys)
    assert _texts(_migrate({key: files[key] for key in keys})) == first


def _write(root: Path, files: dict[str, str]) -> None:
    for key, text in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(text.encode("utf-8"))


@CLI_SETTINGS
@given(projects())
def test_cli_jobs_1_and_2_write_the_same_bytes(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outputs = []
        for jobs in ("1", "2"):
            root = make_project(Path(tmp) / f"jobs{jobs}")
            _write(root, files)
            result = awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", jobs, cwd=root)
            assert_no_crash(result)
            assert result.code == 0, result
            outputs.append(tree_bytes(root / "app"))
        assert outputs[0] == outputs[1]
        assert {f"app/{k}": v.decode() for k, v in outputs[0].items()} == _texts(_migrate(files))
        again = awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", "2", cwd=Path(tmp) / "jobs2")
        assert_no_crash(again)
        assert tree_bytes(Path(tmp) / "jobs2" / "app") == outputs[1]


@pytest.mark.parametrize("seed", [1, 2])
def test_cli_order_of_paths_on_the_command_line_does_not_matter(project: Path, seed: int) -> None:
    """Files named in a shuffled order, and directories instead of files: the same bytes."""
    files = {
        "app/__init__.py": "",
        "app/models.py": MODELS,
        "app/db.py": DB,
        "app/services/__init__.py": "",
        "app/services/a.py": (
            "from sqlalchemy.orm import Session\n\nfrom app.models import User\n\n\n"
            "def get(db: Session, key: int):\n    return db.query(User).filter(User.id == key).first()\n"
        ),
        "app/services/b.py": (
            "from sqlalchemy.orm import Session\n\nfrom app.services.a import get\n\n\n"
            "def rename(db: Session, key: int, name: str):\n    user = get(db, key)\n"
            "    user.name = name\n    db.commit()\n    return user\n"
        ),
    }
    keys = sorted(files)
    random.Random(seed).shuffle(keys)
    by_dir = make_project(project.parent / "by_dir")
    _write(by_dir, files)
    _write(project, files)
    assert_no_crash(awaitify("migrate", "app", "--allow-dirty", "-q", cwd=by_dir))
    assert_no_crash(awaitify("migrate", *keys, "--allow-dirty", "-q", cwd=project))
    assert tree_bytes(project / "app") == tree_bytes(by_dir / "app")
    assert b"await db.commit()" in tree_bytes(project / "app")["services/b.py"]


HASH_SEED_PROBE = """
import hashlib, json, pathlib, sys
from codemods.engine import migrate_sources
from codemods.model import EngineOptions
root = pathlib.Path(sys.argv[1])
src = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}
out = migrate_sources(src, EngineOptions())
print(json.dumps({k: [o.new_text, sorted(map(repr, o.findings))] for k, o in out.items()}, sort_keys=True))
"""


def test_target_backend_output_does_not_depend_on_the_hash_seed() -> None:
    """Set iteration order changes with PYTHONHASHSEED: the output must not."""
    import subprocess
    import sys

    backend = Path(__file__).resolve().parents[2] / "target_backend"
    outputs = []
    for seed in ("1", "12345"):
        done = subprocess.run(
            [sys.executable, "-c", HASH_SEED_PROBE, str(backend)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert "async def" in outputs[0]
