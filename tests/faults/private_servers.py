"""Throwaway PostgreSQL and Redis servers, private to one pytest worker, that the fault tests may break.

The shared servers (127.0.0.1:5432 and :6379) are used by other suites at the same time: the fault tests
never terminate, restart or kill anything there. Each worker gets its own cluster (``initdb`` in a temporary
directory, run as the ``postgres`` OS user when we are root) and its own ``redis-server``, on free ports.

Missing binaries skip the fault tests locally, but fail them when ``CI=true``: CI must run them.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_BIN_DIRS = [Path(os.environ["AWAITIFY_PG_BIN"])] if os.environ.get("AWAITIFY_PG_BIN") else []
PG_BIN_DIRS += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # newest major first
START_TIMEOUT_S = 60.0


def unavailable(reason: str) -> None:
    """Skip the calling test, or fail it in CI (where the fault tests are mandatory)."""
    if IN_CI:
        pytest.fail(f"fault tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _pg_bin_dir() -> Path | None:
    for candidate in PG_BIN_DIRS:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("pg_ctl") else None


class PrivatePostgres:
    """One PostgreSQL cluster in a temporary directory, with start/stop/restart for the tests."""

    def __init__(self) -> None:
        bin_dir = _pg_bin_dir()
        if bin_dir is None:
            unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; set AWAITIFY_PG_BIN")
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="awaitify-faults-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres OS user
            if shutil.which("runuser") is None:
                unavailable("running as root without `runuser` to start PostgreSQL as the postgres user")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, user="postgres", group="postgres")
        self.socket_dir.mkdir()
        if self.as_postgres:
            shutil.chown(self.socket_dir, user="postgres", group="postgres")

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        command = [*self.as_postgres, *args]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if proc.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr}\n{tail}")

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def _options(self) -> str:
        # fsync off: a throwaway cluster; it changes nothing the tests check (a crash of the OS is not simulated).
        return f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(int(START_TIMEOUT_S)), "-o", self._options(), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop")

    def restart(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-m", "fast", "-o", self._options(), "restart")  # fmt: skip

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and port_open(self.port)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        """Stop the cluster whatever its state, and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop(mode="immediate")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                logger.warning("private PostgreSQL did not stop cleanly: %s", exc)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """One ``redis-server`` without persistence, killed and started again by the tests."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server not found")
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start (exit {self.proc.poll()})")
            time.sleep(0.05)

    def kill(self) -> None:
        """Redis goes away abruptly (SIGKILL: no goodbye to its clients)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and port_open(self.port)
