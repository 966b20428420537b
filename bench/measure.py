"""Run one command and measure it: wall and CPU seconds, peak RSS, bounded in time.

CPU time and `peak_rss_mib` come from `os.wait4` on the child: Linux folds the child's waited-for descendants
(awaitify's worker processes) into that rusage, so CPU is the whole tree's and `peak_rss_mib` is the largest
single process. `peak_tree_rss_mib` is the sum over the process tree, sampled every 50 ms from /proc (it can
miss a short spike).

A forked child's peak RSS starts at its parent's RSS at the fork (Linux counts the pages it shares with its
parent until it execs), so the measuring process, which holds the results of a whole bench, would put a floor
under every small figure (84 MiB for each run on `target_backend/` in the run of 2026-12-06 at `593ead7`, the
`--version` start-up included). Each command is started by a small launcher (`_LAUNCHER`, a bare interpreter of
~10 MiB) that times it, waits for it and hands its rusage back in a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# argv: [result file, command...]; inherits the standard streams, working directory and environment.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss": usage.ru_maxrss}, out)
"""


@dataclass
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    peak_tree_rss_mib: float
    timed_out: bool
    stdout: str
    stderr_tail: str

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stdout")
        return data


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def _tree_rss_kib(pid: int) -> int:
    """The RSS of the processes below the launcher `pid` (not the launcher's own)."""
    total = 0
    for member in _descendants(pid)[1:]:
        try:
            resident_pages = int(Path(f"/proc/{member}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident_pages * _PAGE_KIB
    return total


def run_measured(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Measured:
    with tempfile.TemporaryDirectory(prefix="awaitify-measure-") as tmp:
        result = Path(tmp) / "rusage.json"
        measured = _run_launched([sys.executable, "-c", _LAUNCHER, str(result), *cmd], cwd, timeout, env)
        if result.exists():  # else the launcher was killed with the command (a timeout): its own figures stand
            launched = json.loads(result.read_text())
            measured.returncode = os.waitstatus_to_exitcode(launched["status"])
            measured.wall_s = round(launched["wall"], 3)
            measured.cpu_s = round(launched["cpu"], 3)
            measured.peak_rss_mib = round(launched["maxrss"] / 1024, 1)
    return measured


def _run_launched(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None) -> Measured:
    wall0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own: a timeout kills the workers too
    )
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.is_set():
            peak_tree = max(peak_tree, _tree_rss_kib(proc.pid))
            done.wait(0.05)

    out_parts: list[str] = []
    err_parts: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_parts.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err_parts.append(proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=sample, daemon=True),
    ]
    for thread in readers:
        thread.start()
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - wall0
    timed_out = not timer.is_alive() and timer.finished.is_set() and wall >= timeout
    timer.cancel()
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for thread in readers:
        thread.join(timeout=5)
    return Measured(
        returncode=proc.returncode,
        wall_s=round(wall, 3),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        peak_tree_rss_mib=round(peak_tree / 1024, 1),
        timed_out=timed_out,
        stdout="".join(out_parts),
        stderr_tail="".join(err_parts)[-2000:],
    )
