"""The benchmark repo generator (fixtures/bench/generate_repo.py) at small scale: deterministic, parses."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate_repo", REPO_ROOT / "fixtures/bench/generate_repo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.py"))}


def test_same_arguments_give_the_same_tree(tmp_path: Path) -> None:
    generate = _generator().generate
    generate(tmp_path / "a", domains=6, seed=3)
    generate(tmp_path / "b", domains=6, seed=3)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_another_seed_gives_another_tree(tmp_path: Path) -> None:
    generate = _generator().generate
    generate(tmp_path / "a", domains=6, seed=3)
    generate(tmp_path / "b", domains=6, seed=4)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "b")


def test_every_file_parses_and_the_mix_is_there(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path, domains=6, seed=3)
    assert len(written) == 4 + 7 + 6 * 8
    sources = {p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8") for p in written}
    for name, source in sources.items():
        ast.parse(source, filename=name)
    services = "".join(s for n, s in sources.items() if n.startswith("app/services/"))
    for needle in (".query(", ".filter(", ".join(", ".order_by(", ".all()", ".first()", ".count()", ".get(",
                   ".commit()", ".refresh(", ".delete("):  # fmt: skip
        assert needle in services, needle
    routers = [s for n, s in sources.items() if n.startswith("app/routers/") and s]
    assert routers and all("Depends(get_db)" in s for s in routers)
    plain = [n for n in sources if n.startswith(("app/utils/", "app/parsers/", "app/dto/")) and sources[n]]
    assert plain and not any("sqlalchemy" in sources[n] for n in plain)
