"""The wheel and sdist install into fresh environments (pip, pipx) and the README's quick start works there."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from eco_helpers import REPO, build_once, copy_shop, git, run

from codemods import __version__

# builds and installs into fresh environments: `-m 'not slow'` skips it in quick local loops
pytestmark = pytest.mark.slow

PACKAGED = ("codemods", "pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in", "docs")


def _build(out: Path) -> None:
    """`python -m build` on a copy of the sources: the work tree gets no build/ or egg-info from us."""
    source = out / "src"
    source.mkdir()
    for name in PACKAGED:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    result = run([sys.executable, "-m", "build", "--outdir", str(out / "dist"), str(source)], out)
    assert result.code == 0, result


def _venv_with(tmp: Path, shared_dir: Path, artifact: str) -> Path:
    dist = build_once(shared_dir, "dist", _build) / "dist"
    (package,) = dist.glob(artifact)
    venv = tmp / "venv"
    # a bare venv filled by this interpreter's pip (`--python`): seconds faster than ensurepip, same result
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).code == 0
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    install = run([*pip, "install", "--quiet", str(package)], tmp)
    assert install.code == 0, install
    return venv / "bin"


def _quick_start_commands() -> list[str]:
    """The `awaitify ...` lines of the README's quick start (its build and install lines are the tests here)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    commands = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [c for c in commands if c.startswith("awaitify ")]


def test_the_sdist_and_wheel_contents(shared_dir: Path) -> None:
    dist = build_once(shared_dir, "dist", _build) / "dist"
    (wheel,) = dist.glob(f"awaitify-{__version__}-py3-none-any.whl")
    (sdist,) = dist.glob(f"awaitify-{__version__}.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
        entry_points = archive.read(f"awaitify-{__version__}.dist-info/entry_points.txt").decode()
    assert {"codemods/cli.py", "codemods/engine.py", "codemods/rules/registry.py"} <= wheel_names
    assert not any(name.startswith(("tests/", "fixtures/", "target_backend/")) for name in wheel_names)
    assert "awaitify = codemods.cli:run" in entry_points
    with tarfile.open(sdist) as archive:
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"CHANGELOG.md", "README.md", "docs/rules.md", "docs/ci.md", "codemods/cli.py"} <= sdist_names


def test_the_wheel_installs_with_pip_and_runs_the_readme_quick_start(tmp_path: Path, shared_dir: Path) -> None:
    bin_dir = _venv_with(tmp_path, shared_dir, "*.whl")
    version = run([bin_dir / "awaitify", "--version"], tmp_path)
    assert (version.code, version.stdout.strip()) == (0, f"awaitify, version {__version__}"), version

    commands = _quick_start_commands()
    assert [c.split()[:2] for c in commands] == [["awaitify", "migrate"]] * 2 + [["awaitify", "check"]]
    shop = copy_shop(tmp_path / "shop")
    git("init", "-q", ".", cwd=shop)
    git("add", ".", cwd=shop)
    git("commit", "-q", "-m", "sync", cwd=shop)
    expected_codes = {"--diff": 1, "migrate": 0, "check": 0}
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for command in commands:
        argv = shlex.split(command)
        result = run([bin_dir / argv[0], *argv[1:]], shop, env)
        expected = expected_codes["--diff" if "--diff" in argv else argv[1]]
        assert result.code == expected, (command, result)
        if "--diff" in argv:
            assert "+async def create_order(" in result.stdout
    assert "await customer_by_name(db, name)" in (shop / "app" / "main.py").read_text(encoding="utf-8")


def test_the_sdist_installs_with_pip(tmp_path: Path, shared_dir: Path) -> None:
    bin_dir = _venv_with(tmp_path, shared_dir, "*.tar.gz")
    version = run([bin_dir / "awaitify", "--version"], tmp_path)
    assert version.code == 0 and __version__ in version.stdout, version
    rules = run([bin_dir / "awaitify", "rules", "--format", "json"], tmp_path)
    assert rules.code == 0 and '"AWT301"' in rules.stdout, rules


def test_the_wheel_installs_with_pipx(tmp_path: Path, shared_dir: Path) -> None:
    try:
        import pipx  # noqa: F401
    except ImportError:
        pytest.fail("pipx is not installed: it is a dev dependency (pip install pipx)")
    dist = build_once(shared_dir, "dist", _build) / "dist"
    (wheel,) = dist.glob("*.whl")
    env = {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        "PIPX_DEFAULT_PYTHON": sys.executable,
    }
    install = run([sys.executable, "-m", "pipx", "install", str(wheel)], tmp_path, env)
    assert install.code == 0, install
    version = run([tmp_path / "bin" / "awaitify", "--version"], tmp_path)
    assert (version.code, version.stdout.strip()) == (0, f"awaitify, version {__version__}"), version
