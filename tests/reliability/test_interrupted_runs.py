"""Ctrl-C and SIGTERM in the middle of a run, and a run killed outright: the command ends cleanly, the processes it
forked (parse helper, analysis workers, rewrite workers) end with it, and every file is old or new.

Ctrl-C from a terminal reaches the whole process group; `kill`, `timeout` and a cancelled CI job send SIGTERM to
the `awaitify` process alone; the OOM killer sends SIGKILL to it alone. A run of the project below forks every
kind of process: it has more files than `PARALLEL_PARSE_MIN_FILES` and `PARALLEL_ANALYSIS_MIN_MODULES`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from rel_helpers import TRACEBACK, awaitify, many_files, start_migrate, tree_bytes

FILES = 2000
# when the signal is sent: once the run has forked a process (the parse helper, at the start of the parse), some
# time after (an analysis or the rewrite), or once it writes (a file has changed)
MOMENTS = [("forked", 0.0), ("forked", 0.7), ("writing", 0.0)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """(pristine project, old bytes, new bytes): new bytes from a run to the end, on a copy."""
    base = tmp_path_factory.mktemp("interrupts")
    pristine = many_files(base / "pristine", FILES)
    reference = base / "reference"
    shutil.copytree(pristine, reference)
    result = awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", "2", cwd=reference)
    assert result.code == 0, result
    return pristine, tree_bytes(pristine / "app"), tree_bytes(reference / "app")


def _live_members(group: int) -> list[str]:
    """The processes of the process group that are not zombies: `pid state command`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        command, _, rest = stat.rpartition(")")
        fields = rest.split()
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(f"{entry.name} {fields[0]} {command.partition('(')[2]}")
    return members


def _group_ends(group: int, within: float = 10) -> list[str]:
    """The processes of the group still alive `within` seconds from now (none, once all have ended)."""
    deadline = time.monotonic() + within
    while (alive := _live_members(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _wait_for(moment: str, process: subprocess.Popen[str], repo: Path) -> None:
    files = sorted((repo / "app").rglob("*.py"))
    mtimes = {path: path.stat().st_mtime_ns for path in files}
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if moment == "forked" and len(_live_members(process.pid)) > 1:
            return
        if moment == "writing" and any(path.stat().st_mtime_ns != mtimes[path] for path in files):
            return
        time.sleep(0.002)


def _run_and_signal(
    repo: Path, moment: tuple[str, float], sig: signal.Signals, whole_group: bool
) -> tuple[int, str, bool]:
    """(exit code, stderr, whether the run was still going when signalled); no process of its group outlives it."""
    process = start_migrate(repo, stderr=subprocess.PIPE)
    try:
        _wait_for(moment[0], process, repo)
        time.sleep(moment[1])
        running = process.poll() is None
        if running:
            if whole_group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert _group_ends(process.pid) == [], "a forked process outlived the run"
    return process.returncode, stderr, running


def _old_or_new(repo: Path, old: dict[str, bytes], new: dict[str, bytes]) -> int:
    """How many files are new; every file is old or new, and no temporary file is left."""
    now = tree_bytes(repo / "app")
    assert sorted(now) == sorted(old), "a file appeared or vanished (a temporary copy left?)"
    assert [key for key, data in now.items() if data not in (old[key], new[key])] == []
    return sum(1 for key, data in now.items() if data == new[key] != old[key])


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
@pytest.mark.parametrize(
    ("sig", "whole_group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm", "ctrl-c"],
)
def test_an_interrupted_run_ends_cleanly(
    project: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
    moment: tuple[str, float],
    sig: signal.Signals,
    whole_group: bool,
    code: int,
) -> None:
    pristine, old, new = project
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    returncode, stderr, running = _run_and_signal(repo, moment, sig, whole_group)
    assert TRACEBACK not in stderr
    written = _old_or_new(repo, old, new)
    if running and returncode != 0:
        assert returncode == code, stderr
        assert "Aborted!" in stderr
        # the writes under way when it came are finished: all of them, or none were started
        assert written in (0, sum(1 for key in old if old[key] != new[key])), written
    # and a run to the end finishes the job
    assert awaitify("migrate", "app", "--allow-dirty", "-q", "--jobs", "2", cwd=repo).code == 0
    assert tree_bytes(repo / "app") == new


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_the_forked_processes_end_when_the_run_is_killed(
    project: tuple[Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path, moment: tuple[str, float]
) -> None:
    """SIGKILL to the `awaitify` process alone (no clean-up runs): its children learn it is gone and end."""
    pristine, old, new = project
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    _run_and_signal(repo, moment, signal.SIGKILL, whole_group=False)
    now = tree_bytes(repo / "app", suffix=".py")  # a temporary copy may be left: nothing cleans up after SIGKILL
    assert sorted(now) == sorted(old)
    assert [key for key, data in now.items() if data not in (old[key], new[key])] == []
