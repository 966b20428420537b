"""The migrated backend served by uvicorn on the private PostgreSQL and Redis, and what the tests ask of it.

The server is `bench.serve` (uvicorn, one process) started by `bench.runtime.Server`; its database is a fresh
one in the private cluster, seeded by `bench.seed` from `fixtures/library/seed_library.py` (subprocesses: the
test process never imports a `backend` package of its own, the behaviour suite owns that name there).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from migrated_backend import REPO_ROOT
from private_servers import PrivatePostgres, PrivateRedis, free_port

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.runtime import Server

logger = logging.getLogger(__name__)

CHECKER_APP_NAME = "awaitify-faults-checker"  # the tests' own connections, never terminated by them
CACHE_RETRY_SECONDS = "1"  # how long the app skips a failed Redis (30 s in production)


def seed_database(url: str) -> None:
    for action in ("create", "reset"):
        subprocess.run(
            [sys.executable, "-m", "bench.seed", action, url], cwd=REPO_ROOT, check=True, timeout=300,
            capture_output=True,
        )  # fmt: skip


@dataclass
class ServedBackend:
    """One uvicorn process serving the migrated tree on database `database` of the private cluster."""

    postgres: PrivatePostgres
    redis: PrivateRedis
    tree: Path
    database: str
    port: int
    log: Path
    music_dir: Path
    server: Server | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        seed_database(self.postgres.url(self.database))
        server = Server(self.tree, self.port, self.postgres.url(self.database), self.redis.url, self.log)
        server.env.update(
            {
                "SEARCH_CACHE_RETRY_SECONDS": CACHE_RETRY_SECONDS,
                # POST /api/scan walks the directory it is given: keep it inside an empty private directory.
                "MUSIC_BASE_DIR": str(self.music_dir),
            }
        )
        self.server = server.__enter__()

    def stop(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)
            self.server = None

    def is_alive(self) -> bool:
        return self.server is not None and self.server.proc is not None and self.server.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # ------------------------------------------------------------------------------ direct database access

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[Any]:
        """An autocommit psycopg2 connection of the tests (application_name marks it as theirs)."""
        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.postgres.port,
            user="postgres",
            dbname=database or self.database,
            application_name=CHECKER_APP_NAME,
            connect_timeout=10,
        )
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        """Run `sql` on the app's database (no `%` formatting unless `params` are given)."""
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def app_backend_pids(self) -> set[int]:
        """Server processes of the app's connections: every connection to its database but the tests' own."""
        with self.connect("postgres") as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name <> %s",
                (self.database, CHECKER_APP_NAME),
            )
            return {row[0] for row in cursor.fetchall()}

    def terminate_app_connections(self) -> set[int]:
        """`pg_terminate_backend` on every connection of the app; the pids terminated."""
        with self.connect("postgres") as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name <> %s "
                "AND pg_terminate_backend(pid)",
                (self.database, CHECKER_APP_NAME),
            )
            return {row[0] for row in cursor.fetchall()}


def serve_on_private_cluster(
    postgres: PrivatePostgres, redis_server: PrivateRedis, tree: Path, database: str, work: Path
) -> ServedBackend:
    """Seed `database` in the private cluster and serve `tree` on it (log and music directory under `work`)."""
    music_dir = work / "music"
    music_dir.mkdir(exist_ok=True)
    served = ServedBackend(postgres, redis_server, tree, database, free_port(), work / f"{database}.log", music_dir)
    served.start()
    return served
