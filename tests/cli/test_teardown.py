"""The console script leaves without freeing the run's trees (codemods.teardown); library callers keep nothing."""

from __future__ import annotations

import errno
import io
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codemods import teardown
from codemods.runner import RunOptions, prepare, run_check, run_migrate
from tests.cli.cli_helpers import SCRIPT, env_for, snapshot

SERVICE = textwrap.dedent(
    """\
    from sqlalchemy.orm import Session

    from app.models import User


    def get_user(db: Session, user_id: int):
        return db.query(User).filter(User.id == user_id).first()
    """
)


def _project(root: Path) -> Path:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text("class User:\n    id = 0\n")
    (root / "app" / "service.py").write_text(SERVICE)
    return root


def _exit_of(body: str) -> subprocess.CompletedProcess[str]:
    """`run_and_exit` on a main made of `body`, in a fresh interpreter."""
    program = "from codemods import teardown\n\ndef main():\n" + textwrap.indent(body, "    ") + "\n"
    program += "teardown.run_and_exit(main)\nprint('not reached')\n"
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("body", "code", "stderr"),
    [
        ("print('done', end='')", 0, ""),
        ("print('partial', end=''); raise SystemExit(None)", 0, ""),
        ("print('findings', end=''); raise SystemExit(1)", 1, ""),
        ("raise SystemExit(2)", 2, ""),
        ("raise SystemExit('awaitify: bad input')", 1, "awaitify: bad input\n"),
    ],
)
def test_run_and_exit_keeps_the_exit_code_and_flushes_the_output(body: str, code: int, stderr: str) -> None:
    completed = _exit_of(body)
    assert completed.returncode == code
    assert completed.stderr == stderr
    assert "not reached" not in completed.stdout
    expected = body.split("print('", 1)[1].split("'", 1)[0] if "print(" in body else ""
    assert completed.stdout == expected  # written without a newline: only a flush gets it out


def test_library_runs_keep_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert not teardown.keeping()
    workspace = prepare(RunOptions(paths=(root,)), cwd=root)
    report = run_migrate(workspace, write=False)
    assert report.outcomes["app/service.py"].status.name == "CHANGED"
    run_check(workspace, no_cache=True)
    assert teardown._kept == []


def test_the_console_script_keeps_the_trees_until_it_exits(tmp_path: Path) -> None:
    """In the console script's mode, the parsed trees are held to the end (not freed object by object)."""
    root = _project(tmp_path)
    program = textwrap.dedent(
        f"""\
        import ast, sys
        from pathlib import Path
        from codemods import teardown
        from codemods.runner import RunOptions, prepare, run_migrate

        def main():
            teardown._keeping = True
            root = Path({str(root)!r})
            run_migrate(prepare(RunOptions(paths=(root,)), cwd=root), write=False)
            trees = [item.tree for memo in teardown._kept for item in memo._parsed.values()]
            print(f"{{len(trees)}} trees kept" if all(isinstance(t, ast.Module) for t in trees) else "?", end="")
            raise SystemExit(0)

        teardown.run_and_exit(main)
        """
    )
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "3 trees kept", "")


def test_the_console_script_writes_its_whole_output(tmp_path: Path) -> None:
    root = _project(tmp_path)
    completed = subprocess.run(
        [str(SCRIPT), "check", "--no-cache", "--format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        env=env_for(None),
        timeout=300,
    )
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert {f["path"] for f in document["findings"]} == {"app/service.py"}


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`awaitify migrate --diff . | head`: the diff is far bigger than a pipe's buffer, the reader leaves after
    one byte; awaitify stops quietly (exit 1, as for any diff), no traceback, no "internal error"."""
    root = _project(tmp_path)
    for number in range(60):
        (root / "app" / f"service_{number}.py").write_text(SERVICE * 3 + f"\n\n# {'x' * 2000}\n")
    completed = subprocess.run(
        f"'{SCRIPT}' migrate --diff . | head -c 1; echo \" $PIPESTATUS\"",
        shell=True,
        executable="/bin/bash",
        cwd=root,
        capture_output=True,
        text=True,
        env=env_for(None),
        timeout=300,
    )
    assert completed.stdout == "- 1\n"
    assert completed.stderr == ""


full_disk = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")


class _FullDisk(io.StringIO):
    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


class _ClosedPipe(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


@pytest.mark.parametrize(
    ("stdout", "code", "stderr"),
    [
        (_FullDisk(), 2, "awaitify: cannot write the output: No space left on device\n"),
        (_ClosedPipe(), 1, ""),
        (io.StringIO(), 1, ""),
    ],
)
def test_the_flush_at_exit(
    stdout: io.StringIO, code: int, stderr: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last of the output goes out with the flush at exit: a full disk there turns the exit code into 2 with a
    line; a reader that went away changes nothing."""
    monkeypatch.setattr(sys, "stdout", stdout)
    assert teardown._output_flushed(1) == code
    assert capsys.readouterr().err == stderr


@full_disk
@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["check", "--help"], ["rules"], ["-q", "check", "."], ["-q", "migrate", "--diff", "."]],
)
def test_output_into_a_full_disk_is_a_line_not_a_traceback(argv: list[str], tmp_path: Path) -> None:
    """Out of a command or in one, output that finds no room is one line and exit 2 (not a traceback, not an
    "internal error")."""
    _project(tmp_path)
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [str(SCRIPT), *argv], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )
    assert completed.returncode == 2
    assert completed.stderr == "awaitify: cannot write the output: No space left on device\n"


def test_the_flush_at_exit_without_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """A descriptor closed when the process started leaves its stream None: nothing to flush, the code stays."""
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert teardown._output_flushed(1) == 1
    assert teardown.output_lost(OSError(errno.ENOSPC, "No space left on device")) == 2


def _with_closed(argv: list[str], cwd: Path, redirection: str) -> subprocess.CompletedProcess[str]:
    """The console script run with a shell `redirection` that closes a descriptor (`>&-`, `2>&-`)."""
    return subprocess.run(
        f"{shlex.join([str(SCRIPT), *argv])} {redirection}",
        shell=True,
        executable="/bin/bash",
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env_for(None),
        timeout=300,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["rules"],
        ["check", "."],
        ["migrate", "--diff", "."],
        ["migrate", "--allow-dirty", "."],
    ],
)
def test_a_closed_stdout_is_refused_before_the_command(argv: list[str], tmp_path: Path) -> None:
    """`awaitify migrate . >&-`: the output cannot be written, so nothing is done (no file written), one line on
    stderr and exit 2, as for a full disk; not a traceback once the files are written."""
    root = _project(tmp_path)
    before = snapshot(root)
    completed = _with_closed(argv, root, ">&-")
    assert (completed.returncode, completed.stderr) == (2, "awaitify: cannot write the output: stdout is closed\n")
    assert snapshot(root) == before


def test_closed_stdout_and_stderr_exit_2(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = snapshot(root)
    completed = _with_closed(["migrate", "--allow-dirty", "."], root, ">&- 2>&-")
    assert (completed.returncode, completed.stdout, completed.stderr) == (2, "", "")
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--version"], 0),
        (["rules", "--format", "json"], 0),
        (["check", "--no-cache", "--format", "json", "."], 1),
        (["migrate", "--diff", "."], 1),
    ],
)
def test_a_closed_stderr_alone_changes_nothing(argv: list[str], code: int, tmp_path: Path) -> None:
    """Messages are lost with stderr closed; the output and the exit code are as with it open."""
    root = _project(tmp_path)
    completed = _with_closed(argv, root, "2>&-")
    assert completed.returncode == code
    assert (
        completed.stdout
        == subprocess.run(
            [str(SCRIPT), *argv], cwd=root, capture_output=True, text=True, env=env_for(None), timeout=300
        ).stdout
        != ""
    )


@pytest.mark.parametrize("closed", ["2>&-", "<&- 2>&-"])
def test_a_closed_standard_descriptor_is_not_the_next_file_opened(closed: str, tmp_path: Path) -> None:
    """With stderr closed, the first file a run opens (a source file, a temporary copy being written) would take
    descriptor 2, and errors written to stderr by a child or a C library would land in it."""
    code = (
        "import os\n"
        "from codemods import teardown\n"
        "teardown.standard_descriptors_opened()\n"
        "fd = os.open('file.py', os.O_CREAT | os.O_WRONLY)\n"
        "print(fd, os.readlink('/proc/self/fd/2'), os.readlink('/proc/self/fd/0'))\n"
    )
    completed = subprocess.run(
        f'{sys.executable} -c "$CODE" {closed}',
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env_for(None), "CODE": code},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    fd, stderr_target, stdin_target = completed.stdout.split()
    assert int(fd) > 2 and stderr_target == os.devnull
    if "<&-" in closed:
        assert stdin_target == os.devnull
