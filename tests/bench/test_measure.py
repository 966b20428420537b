"""`bench.measure`: a command's wall and CPU time, exit and peak RSS, bounded in time."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.measure import run_measured


def test_a_small_command_measured_from_a_big_process_is_measured_small(tmp_path: Path) -> None:
    """A forked child's peak RSS starts at its parent's: the launcher keeps the bench's own memory out of it."""
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # resident, not only reserved
    measured = run_measured([sys.executable, "-c", "import sys; print('ok'); sys.exit(3)"], tmp_path, timeout=60)
    assert measured.returncode == 3 and measured.stdout == "ok\n"
    assert 0 < measured.peak_rss_mib < 100, measured
    assert 0 < measured.wall_s < 30 and measured.cpu_s > 0
    del ballast


def test_a_command_over_its_time_is_killed_and_says_so(tmp_path: Path) -> None:
    measured = run_measured([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path, timeout=1)
    assert measured.timed_out and measured.returncode != 0
