"""The sync original and the migrated `target_backend/` under the same closed-loop load, on PostgreSQL.

One bench database is created (and dropped at the end); before each server starts it is reseeded from
`fixtures/library/seed_library.py`. Each backend runs as one uvicorn process (`bench.serve`, which counts SQL
statements with an engine event) and is driven by `bench.load` in a separate process, at each concurrency,
with the Redis search cache on (a dedicated Redis DB and key prefix, flushed before each point) and off
(REDIS_URL pointing at a closed loopback port: the backend's cache marks Redis down and searches uncached).
Order per cache mode: sync then async, so slow drift of a shared machine hits both alike.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.measure import run_measured

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_TREE = REPO_ROOT / "target_backend"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")
REDIS_DB_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
REDIS_OFF_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
CACHE_PREFIX = "awaitify-bench:"
PORTS = {"sync": 18731, "async": 18732}


def migrate_copy(dest: Path, timeout: float) -> dict[str, Any]:
    shutil.copytree(ORIGINAL_TREE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    measured = run_measured([sys.executable, "-m", "codemods", "-q", "migrate", str(dest)], REPO_ROOT, timeout)
    if measured.returncode not in (0, 1):
        raise RuntimeError(f"awaitify migrate failed on target_backend: {measured.stderr_tail}")
    return {"returncode": measured.returncode, "wall_s": measured.wall_s, "review_items": measured.stdout}


def _seed(action: str, url: str) -> None:
    subprocess.run([sys.executable, "-m", "bench.seed", action, url], cwd=REPO_ROOT, check=True, timeout=300)


def _flush_cache() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_DB_URL, socket_connect_timeout=1, socket_timeout=5)
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class Server:
    """One backend under uvicorn (`bench.serve`), stopped on exit whatever happens."""

    def __init__(self, tree: Path, port: int, database_url: str, redis_url: str, log: Path) -> None:
        self.tree, self.port, self.log = tree, port, log
        self.stats_file = log.with_suffix(".stats.json")
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SEARCH_CACHE_PREFIX": CACHE_PREFIX,
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO_ROOT),
                "BENCH_STATS_FILE": str(self.stats_file),
            }
        )
        env.pop("ASYNC_DATABASE_URL", None)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        # the health check below would otherwise take a server already on the port (one left behind by an
        # interrupted bench, say) for this one, and measure it
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            raise RuntimeError(f"port {self.port} is already in use (a server left by an interrupted bench?)")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.serve", str(self.tree), str(self.port)],
                cwd=self.tree,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server on port {self.port} did not become healthy; see {self.log}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


def _load(server: Server, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "bench.load", server.base_url,
        "--concurrency", str(concurrency), "--duration", str(duration), "--warmup", str(warmup),
        "--stats-file", str(server.stats_file),
    ]  # fmt: skip
    measured = run_measured(cmd, REPO_ROOT, timeout=warmup + duration + 60)
    if measured.returncode != 0 or measured.timed_out:
        logger.warning("load at c=%d failed: %s", concurrency, measured.stderr_tail)
        return {"concurrency": concurrency, "failed": True, "stderr": measured.stderr_tail}
    result: dict[str, Any] = json.loads(measured.stdout)
    result["loadgen_cpu_s"] = measured.cpu_s
    return result


# The single-client comparison, paired: both backends up, windows in alternation, the order swapped each round.
PAIRED_ROUNDS = 4
PAIRED_DURATION_S = 4.0


def _paired_single_client(
    trees: dict[str, Path], url: str, work: Path, duration: float, warmup: float
) -> dict[str, Any]:
    """Concurrency 1, sync and async in alternating windows, on the same data each window (reseeded, cache
    flushed). The series above measure one backend after the other, so a machine that slows down between them
    (a shared host) biases the comparison; here each round compares two adjacent windows."""
    out: dict[str, Any] = {"rounds": PAIRED_ROUNDS, "duration_s": duration, "warmup_s": warmup}
    for cache, redis_url in (("cache_on", REDIS_DB_URL), ("cache_off", REDIS_OFF_URL)):
        logger.info("runtime: concurrency 1, both backends in alternation, %s", cache)
        logs = {name: work / f"paired-{name}-{cache}.log" for name in trees}
        with (
            Server(trees["sync"], PORTS["sync"], url, redis_url, logs["sync"]) as sync_server,
            Server(trees["async"], PORTS["async"], url, redis_url, logs["async"]) as async_server,
        ):
            servers = {"sync": sync_server, "async": async_server}
            rps: dict[str, list[float | None]] = {"sync": [], "async": []}
            for round_ in range(PAIRED_ROUNDS):
                for name in ("sync", "async") if round_ % 2 == 0 else ("async", "sync"):
                    _seed("reset", url)
                    if cache == "cache_on":
                        _flush_cache()
                    rps[name].append(_load(servers[name], 1, duration, warmup).get("rps"))
        out[cache] = paired_summary(rps["sync"], rps["async"])
        logger.info("  %s", out[cache])
    return out


def paired_summary(sync_rps: list[float | None], async_rps: list[float | None]) -> dict[str, Any]:
    """Each backend's median req/s, and the median, lowest and highest async/sync ratio of the rounds."""
    ratios = [a / s for s, a in zip(sync_rps, async_rps, strict=True) if s and a is not None]
    measured_sync = [r for r in sync_rps if r is not None]
    measured_async = [r for r in async_rps if r is not None]
    return {
        "sync_rps": sync_rps,
        "async_rps": async_rps,
        "sync_median_rps": statistics.median(measured_sync) if measured_sync else None,
        "async_median_rps": statistics.median(measured_async) if measured_async else None,
        "ratio_median": round(statistics.median(ratios), 3) if ratios else None,
        "ratio_min": round(min(ratios), 3) if ratios else None,
        "ratio_max": round(max(ratios), 3) if ratios else None,
    }


def _census(server: Server) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.load", server.base_url, "--concurrency", "1", "--census"]
    measured = run_measured(cmd, REPO_ROOT, timeout=180)
    if measured.returncode != 0:
        logger.warning("census failed: %s", measured.stderr_tail)
        return {}
    return json.loads(measured.stdout)  # type: ignore[no-any-return]


def _error_lines(log: Path) -> dict[str, int]:
    """Exception types the server logged (first line of each traceback's last frame)."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        head = line.split(":", 1)[0]
        if head and " " not in head and (head.endswith("Error") or head.endswith("Exception")):
            counts[head] = counts.get(head, 0) + 1
    return counts


def run(concurrencies: list[int], duration: float, warmup: float, timeout: float) -> dict[str, Any]:
    database = f"awaitify_bench_{os.getpid()}"
    url = f"{PG_BASE}/{database}"
    results: dict[str, Any] = {"concurrency": concurrencies, "duration_s": duration, "warmup_s": warmup}
    with tempfile.TemporaryDirectory(prefix="awaitify-bench-runtime-") as tmp:
        work = Path(tmp)
        logger.info("runtime: migrating a copy of target_backend")
        results["migration"] = migrate_copy(work / "migrated", timeout)
        trees = {"sync": ORIGINAL_TREE, "async": work / "migrated"}
        _seed("create", url)
        try:
            for cache, redis_url in (("cache_on", REDIS_DB_URL), ("cache_off", REDIS_OFF_URL)):
                for name, tree in trees.items():
                    _seed("reset", url)
                    log = work / f"{name}-{cache}.log"
                    points = []
                    logger.info("runtime: %s backend, %s", name, cache)
                    with Server(tree, PORTS[name], url, redis_url, log) as server:
                        if cache == "cache_on":
                            _flush_cache()
                        census = _census(server)
                        for concurrency in concurrencies:
                            if cache == "cache_on":
                                _flush_cache()
                            point = _load(server, concurrency, duration, warmup)
                            logger.info(
                                "  c=%d rps=%s p50=%sms p99=%sms errors=%s sql/req=%s",
                                concurrency, point.get("rps"), point.get("p50_ms"), point.get("p99_ms"),
                                point.get("errors"), point.get("sql_per_request"),
                            )  # fmt: skip
                            points.append(point)
                    results.setdefault(name, {})[cache] = {
                        "points": points,
                        "sql_per_endpoint": census,
                        "server_errors_logged": _error_lines(log),
                        "peak_rss_mib": max((p.get("server_peak_rss_mib") or 0) for p in points),
                    }
            results["paired_single_client"] = _paired_single_client(trees, url, work, PAIRED_DURATION_S, warmup=1.0)
        finally:
            _seed("drop", url)
            if os.environ.get("BENCH_KEEP_LOGS"):
                keep = REPO_ROOT / "bench" / "logs"
                keep.mkdir(exist_ok=True)
                for log in work.glob("*.log"):
                    shutil.copy(log, keep / log.name)
    return results
