"""The progress bar: on stderr, only for a terminal, only past ~50 files, never with --quiet.

stderr is a pseudo-terminal here, read to EOF by a thread: no sleeps, no timing.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_helpers import FAKE_MAIN, HANG_GUARD_SECONDS, env_for, write_tree


def run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    try:
        master, slave = pty.openpty()
    except OSError as exc:  # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal available: {exc}")
    process = subprocess.Popen(
        [sys.executable, str(FAKE_MAIN), *args],
        cwd=cwd,
        env=env_for({"TERM": "xterm-256color"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate(timeout=HANG_GUARD_SECONDS)
    reader.join()
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


def many_files(root: Path, count: int) -> None:
    write_tree(root, {f"pkg/m{i:03}.py": f"x{i} = {i}\n" for i in range(count)})


@pytest.mark.parametrize("command", ["migrate", "check"])
def test_progress_on_a_terminal_for_big_runs(project: Path, command: str) -> None:
    many_files(project, 60)
    code, _, stderr = run_with_tty_stderr([command, "."], project)
    assert code == 0, stderr
    assert "\x1b[?25l" in stderr  # a live display hid the cursor
    assert "Reading" in stderr
    assert "0/60" in stderr


def test_no_progress_for_small_runs(project: Path) -> None:
    many_files(project, 10)
    code, _, stderr = run_with_tty_stderr(["migrate", "."], project)
    assert code == 0, stderr
    assert "\x1b[?25l" not in stderr
    assert "Reading" not in stderr
    assert "scanned" in stderr  # the summary table is still shown


def test_no_progress_with_quiet(project: Path) -> None:
    many_files(project, 60)
    code, _, stderr = run_with_tty_stderr(["migrate", "--quiet", "."], project)
    assert code == 0, stderr
    assert stderr == ""


def test_no_progress_when_stderr_is_not_a_terminal(fake_awaitify, project: Path) -> None:
    many_files(project, 60)
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    assert "Reading" not in result.stderr
    assert "scanned" in result.stderr
