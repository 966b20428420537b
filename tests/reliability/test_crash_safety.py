"""Crash safety: SIGKILL at random points, files that vanish or cannot be replaced, symlink loops,
binary `.py` files, a 5 MB file, 20k files.

Every file must end up fully old or fully new; a file that cannot be handled gets one clear line
(`PATH: error: ...`) and the run finishes the rest with exit code 2.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from rel_helpers import (
    PLAIN,
    PYTHON,
    SERVICE,
    Result,
    assert_no_crash,
    awaitify,
    cli_env,
    failed_paths,
    make_project,
    many_files,
    start_migrate,
    tree_bytes,
    write_tree,
)

from codemods import source_io
from codemods.model import FileStatus
from codemods.runner import RunOptions, prepare, run_migrate


@pytest.fixture(scope="module")
def killable_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """(pristine repo, old bytes, new bytes): new bytes from a reference run on a copy."""
    base = tmp_path_factory.mktemp("kill")
    pristine = many_files(base / "pristine", 240)
    reference = base / "reference"
    shutil.copytree(pristine, reference)
    result = awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", "2", cwd=reference)
    assert result.code == 0, result
    old, new = tree_bytes(pristine / "app"), tree_bytes(reference / "app")
    assert sum(1 for k in old if old[k] != new[k]) == 180
    return pristine, old, new


def _kill_during_writes(repo: Path, old: dict[str, bytes], delay: float) -> bool:
    """Start a real run, SIGKILL it `delay` seconds after the first file changes (or when it ends)."""
    watched = [repo / "app" / key for key in old]
    mtimes = {path: path.stat().st_mtime_ns for path in watched}
    process = start_migrate(repo)
    try:
        deadline = time.monotonic() + 600
        while process.poll() is None and time.monotonic() < deadline:
            if any(path.stat().st_mtime_ns != mtimes[path] for path in watched):
                time.sleep(delay)
                break
            time.sleep(0.002)
        killed = process.poll() is None
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended between the poll and the kill: a finished run, not a killed one
            killed = False
    finally:
        process.wait()
    return killed


def _check_old_or_new(repo: Path, old: dict[str, bytes], new: dict[str, bytes]) -> tuple[int, int]:
    now = tree_bytes(repo / "app", suffix=".py")
    assert sorted(now) == sorted(old), "a .py file appeared or vanished"
    torn = [key for key, data in now.items() if data not in (old[key], new[key])]
    assert torn == [], f"half-written files: {torn[:5]}"
    leftovers = [p.name for p in (repo / "app").rglob("*") if p.is_file() and not p.name.endswith(".py")]
    assert all(name.endswith(".awaitify-tmp") for name in leftovers), leftovers
    written = sum(1 for key, data in now.items() if data == new[key] and data != old[key])
    return written, len(leftovers)


@pytest.mark.parametrize("delay", [0.0, 0.01])
def test_sigkill_during_the_write_phase(killable_repo, tmp_path: Path, delay: float) -> None:
    pristine, old, new = killable_repo
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    _kill_during_writes(repo, old, delay)
    _check_old_or_new(repo, old, new)
    # and a second, uninterrupted run finishes the job
    result = awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", "2", cwd=repo)
    assert_no_crash(result)
    assert tree_bytes(repo / "app", suffix=".py") == new


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_random_points(killable_repo, tmp_path: Path, seed: int) -> None:
    pristine, old, new = killable_repo
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    rnd = random.Random(seed)
    if seed % 3 == 0:  # anywhere in the run, before the writes most of the time
        process = subprocess.Popen(
            [PYTHON, "-m", "codemods", "migrate", "app", "--allow-dirty", "-q"],
            cwd=repo,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rnd.uniform(0.0, 4.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    else:
        _kill_during_writes(repo, old, rnd.uniform(0.0, 0.2))
    _check_old_or_new(repo, old, new)


# ---- files that vanish or change between discovery and the write -----------------------------


class DeleteWhenWriting:
    """A runner Progress (public protocol) that deletes/edits files as the write stage starts."""

    def __init__(self, actions: dict[Path, bytes | None]) -> None:
        self.actions = actions

    def stage(self, description: str, total: int | None) -> None:
        if description.startswith("Writing"):
            for path, data in self.actions.items():
                if data is None:
                    path.unlink()
                else:
                    path.write_bytes(data)
            self.actions = {}  # once: the run plans again without those files, and writes again

    def advance(self) -> None:
        pass


def _project_with_services(project: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = project / "app" / f"svc_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SERVICE.format(i=i), encoding="utf-8")
        paths.append(path)
    return paths


def test_file_deleted_between_discovery_and_read(project: Path) -> None:
    paths = _project_with_services(project, 3)
    workspace = prepare(RunOptions(paths=(project / "app",)), cwd=project)
    paths[1].unlink()
    report = run_migrate(workspace, write=True)
    statuses = {path: o.status for path, o in report.outcomes.items()}
    assert statuses == {
        "app/svc_0.py": FileStatus.CHANGED,
        "app/svc_1.py": FileStatus.FAILED,
        "app/svc_2.py": FileStatus.CHANGED,
    }
    assert "no such file" in (report.outcomes["app/svc_1.py"].error or "")
    assert not paths[1].exists(), "a vanished file must not be re-created"
    assert "await db.commit()" in paths[2].read_text(encoding="utf-8")


def test_file_deleted_or_edited_between_read_and_write(project: Path) -> None:
    paths = _project_with_services(project, 4)
    edited = b"# edited by someone else\n"
    workspace = prepare(RunOptions(paths=(project / "app",)), cwd=project)
    report = run_migrate(workspace, write=True, progress=DeleteWhenWriting({paths[1]: None, paths[2]: edited}))
    outcomes = report.outcomes
    assert outcomes["app/svc_1.py"].status is FileStatus.FAILED
    assert outcomes["app/svc_2.py"].status is FileStatus.FAILED
    assert "changed on disk" in (outcomes["app/svc_2.py"].error or "")
    assert not paths[1].exists(), "a vanished file must not be re-created"
    assert paths[2].read_bytes() == edited, "someone else's edit must not be overwritten"
    for index in (0, 3):
        assert "await db.commit()" in paths[index].read_text(encoding="utf-8")
    assert [p.name for p in (project / "app").iterdir() if p.name.endswith(".awaitify-tmp")] == []


def test_each_directory_is_synced_once_after_the_renames_into_it(project: Path, monkeypatch) -> None:
    """A rename is made durable by an fsync of its directory: once per directory, after every file in it is
    renamed (not once per file: 796 files in 4 directories)."""
    paths = _project_with_services(project, 6)
    other = project / "app" / "sub"
    other.mkdir()
    (other / "svc_9.py").write_text(SERVICE.format(i=9), encoding="utf-8")
    renamed: list[Path] = []
    synced: list[tuple[Path, set[Path]]] = []
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        real_replace(source, target)
        renamed.append(Path(target))

    monkeypatch.setattr(source_io.os, "replace", replace)
    monkeypatch.setattr(source_io, "_fsync_directory", lambda directory: synced.append((directory, set(renamed))))
    report = run_migrate(prepare(RunOptions(paths=(project / "app",)), cwd=project), write=True)
    changed = {path for path, outcome in report.outcomes.items() if outcome.status is FileStatus.CHANGED}
    assert changed == {*(f"app/svc_{i}.py" for i in range(6)), "app/sub/svc_9.py"}
    assert sorted(directory for directory, _ in synced) == sorted([(project / "app").resolve(), other.resolve()])
    for directory, renamed_before in synced:
        assert {path for path in renamed if path.parent == directory} <= renamed_before
    assert len(renamed) == 7 and all(path.resolve() in set(renamed) for path in [*paths, other / "svc_9.py"])


# ---- files that cannot be written, read or parsed ----------------------------------------------


def _chattr(path: Path, flag: str) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False).returncode == 0


def test_immutable_file_fails_alone(project: Path) -> None:
    """Root can write read-only files; `chattr +i` makes one that even root cannot replace."""
    paths = _project_with_services(project, 3)
    if not _chattr(paths[1], "+i"):
        pytest.skip("chattr +i not supported on this file system")
    try:
        before = paths[1].read_bytes()
        result = awaitify("migrate", "app", "--allow-dirty", cwd=project)
        assert_no_crash(result)
        assert result.code == 2, result
        assert failed_paths(result) == {"app/svc_1.py"}, result
        assert paths[1].read_bytes() == before
        assert "await db.commit()" in paths[0].read_text(encoding="utf-8")
        assert "await db.commit()" in paths[2].read_text(encoding="utf-8")
    finally:
        _chattr(paths[1], "-i")


CALLEE = """from sqlalchemy.orm import Session


def save(db: Session, obj):
    db.add(obj)
    db.commit()
    return obj
"""
CALLER = """from sqlalchemy.orm import Session

from app.repo import save


def create(db: Session, obj):
    return save(db, obj)
"""


def test_a_file_that_cannot_be_written_leaves_its_callers_consistent(project: Path) -> None:
    """Nothing is written before every file can be: the project is planned again without the one that cannot,
    so its caller does not await a function that stayed sync (it was written that way, and the project broken)."""
    write_tree(project, {"app/__init__.py": "", "app/repo.py": CALLEE, "app/service.py": CALLER})
    if not _chattr(project / "app" / "repo.py", "+i"):
        pytest.skip("chattr +i not supported on this file system")
    try:
        result = awaitify("migrate", "app", "--allow-dirty", cwd=project)
        assert_no_crash(result)
        assert result.code == 2, result
        assert failed_paths(result) == {"app/repo.py"}, result
        assert "cannot write" in result.stderr
        assert (project / "app" / "repo.py").read_text(encoding="utf-8") == CALLEE
        service = (project / "app" / "service.py").read_text(encoding="utf-8")
        assert "await save(" not in service and "save(db, obj)" in service, service
        assert [p.name for p in (project / "app").iterdir() if p.name.endswith(".awaitify-tmp")] == []
    finally:
        _chattr(project / "app" / "repo.py", "-i")


def test_immutable_directory_fails_its_files_alone(project: Path) -> None:
    """A directory where no temp file can be created (chattr +i on the directory)."""
    paths = _project_with_services(project, 2)
    locked = project / "locked"
    locked.mkdir()
    (locked / "svc.py").write_text(SERVICE.format(i=9), encoding="utf-8")
    if not _chattr(locked, "+i"):
        pytest.skip("chattr +i not supported on this file system")
    try:
        result = awaitify("migrate", "app", "locked", "--allow-dirty", cwd=project)
        assert_no_crash(result)
        assert result.code == 2, result
        assert failed_paths(result) == {"locked/svc.py"}, result
        assert "cannot write" in result.stderr
        assert all("await db.commit()" in p.read_text(encoding="utf-8") for p in paths)
    finally:
        _chattr(locked, "-i")


def test_directory_named_like_a_module(project: Path) -> None:
    paths = _project_with_services(project, 1)
    (project / "app" / "pkg.py").mkdir()
    (project / "app" / "pkg.py" / "inner.py").write_text(SERVICE.format(i=7), encoding="utf-8")
    result = awaitify("migrate", "app", "app/pkg.py", "--allow-dirty", cwd=project)
    assert_no_crash(result)
    assert "await db.commit()" in paths[0].read_text(encoding="utf-8")
    assert "await db.commit()" in (project / "app" / "pkg.py" / "inner.py").read_text(encoding="utf-8")


def test_binary_file_named_py(project: Path) -> None:
    paths = _project_with_services(project, 2)
    binary = bytes(range(256)) * 40
    (project / "app" / "blob.py").write_bytes(binary)
    (project / "app" / "elf.py").write_bytes(b"\x7fELF\x02\x01\x01" + b"\xff\xfe" * 100)
    result = awaitify("migrate", "app", "--allow-dirty", cwd=project)
    assert_no_crash(result)
    assert result.code == 2, result
    assert failed_paths(result) == {"app/blob.py", "app/elf.py"}, result
    assert (project / "app" / "blob.py").read_bytes() == binary
    assert all("await db.commit()" in p.read_text(encoding="utf-8") for p in paths)


def _special_files(directory: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A FIFO and a Unix socket named like Python files in directory (bound by a relative name: a socket's
    path is limited to ~100 bytes); their names."""
    os.mkfifo(directory / "fifo.py")
    with monkeypatch.context() as patch, socket.socket(socket.AF_UNIX) as listening:
        patch.chdir(directory)
        listening.bind("sock.py")  # the socket file stays once it is closed
    return ["fifo.py", "sock.py"]


@pytest.mark.parametrize("command", [("migrate", "--diff"), ("migrate", "--allow-dirty"), ("check",)])
def test_fifos_and_sockets_named_py_fail_alone_without_blocking(
    project: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """Reading a FIFO blocks until something writes to it: a walk or a path given explicitly must not open it."""
    paths = _project_with_services(project, 2)
    special = [f"app/{name}" for name in _special_files(project / "app", monkeypatch)]
    result = awaitify(*command, "app", "app/fifo.py", cwd=project, timeout=60)
    assert_no_crash(result)
    assert result.code == 2, result
    assert failed_paths(result) == set(special), result
    assert "app/fifo.py: error: a FIFO (named pipe), not a regular file" in result.stderr, result
    assert "app/sock.py: error: a socket, not a regular file" in result.stderr, result
    if "--allow-dirty" in command:
        assert all("await db.commit()" in p.read_text(encoding="utf-8") for p in paths)
    assert stat.S_ISFIFO(os.lstat(project / "app" / "fifo.py").st_mode)


def test_symlink_loops(project: Path) -> None:
    paths = _project_with_services(project, 2)
    (project / "app" / "loop").symlink_to(project / "app")
    (project / "app" / "self").symlink_to("self")
    (project / "app" / "a.py").symlink_to("b.py")
    (project / "app" / "b.py").symlink_to("a.py")
    result = awaitify("migrate", "app", "--allow-dirty", cwd=project, timeout=120)
    assert_no_crash(result)
    assert result.code == 0, result
    assert all("await db.commit()" in p.read_text(encoding="utf-8") for p in paths)
    named = awaitify("migrate", "app/a.py", "app/svc_0.py", "--allow-dirty", cwd=project, timeout=120)
    assert_no_crash(named)
    assert named.code == 2, named
    assert "app/a.py: error: a symlink, not followed" in named.stderr, named


def _five_megabytes(path: Path) -> int:
    parts = ["from sqlalchemy.orm import Session\n"]
    size = i = 0
    while size < 5_000_000:
        chunk = (
            f"\n\ndef f{i}(db: Session, obj):\n    db.add(obj)\n    db.commit()\n"
            f"    return [{i}, 'padding padding padding padding padding padding padding']\n"
        )
        parts.append(chunk)
        size += len(chunk)
        i += 1
    path.write_text("".join(parts), encoding="utf-8")
    return i


def _migrate_beside_a_five_megabyte_file(project: Path, *options: str) -> Result:
    """Migrate two small services and a generated 5 MB file; the big file must fail alone, left as it was."""
    paths = _project_with_services(project, 2)
    _five_megabytes(project / "app" / "big.py")
    before = (project / "app" / "big.py").read_bytes()
    try:
        result = awaitify("migrate", "app", "--allow-dirty", *options, cwd=project, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("no result after 600 s: a big file must be given up on, not hang the run")
    assert_no_crash(result)
    assert result.code == 2, result
    assert failed_paths(result) == {"app/big.py"}, result
    assert (project / "app" / "big.py").read_bytes() == before
    assert all("await db.commit()" in p.read_text(encoding="utf-8") for p in paths)
    return result


def test_five_megabyte_file_is_skipped_by_the_size_limit(project: Path) -> None:
    """Over --max-file-mb (default 2 MB) a file is reported and left as it is; the run finishes the rest.

    That bounds memory per file (LibCST needs ~600 bytes per source byte: a 5 MB file took 3 GB)."""
    result = _migrate_beside_a_five_megabyte_file(project)
    assert "over the per-file limit of 2 MB" in result.output, result


@pytest.mark.slow
def test_five_megabyte_file_is_given_up_on_and_the_rest_is_migrated(project: Path) -> None:
    """Without the size limit, a file that takes longer than --file-timeout is reported and left as it is.

    (Without either limit this 5 MB file took minutes and 3 GB; now it migrates in ~16 s, none of its stages
    over 5 s, so the limit is half a second: its parse and analysis alone take seconds. The subprocess timeout
    is a hang guard.)"""
    result = _migrate_beside_a_five_megabyte_file(project, "--max-file-mb", "0", "--file-timeout", "0.5")
    assert "gave up after 0.5 s" in result.output, result


@pytest.mark.slow
def test_twenty_thousand_files(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj")
    for i in range(20_000):
        path = root / "app" / f"d{i // 500}" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PLAIN.format(i=i) if i % 100 else SERVICE.format(i=i), encoding="utf-8")
    before = tree_bytes(root / "app")
    result = awaitify("migrate", "app", "--allow-dirty", "-q", cwd=root, timeout=1800)
    assert_no_crash(result)
    assert result.code == 0, result
    after = tree_bytes(root / "app")
    changed = {key for key in before if before[key] != after[key]}
    assert len(changed) == 200
    assert all(b"await db.commit()" in after[key] for key in changed)
