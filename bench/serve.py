"""Serve one `backend/` tree under uvicorn with a SQL statement counter, without touching the tree.

`python -m bench.serve TREE PORT` (repository root on PYTHONPATH; DATABASE_URL and REDIS_URL in the env).

Before the app is imported, a `before_cursor_execute` listener is installed on the `Engine` class, so it sees
every statement of every engine the tree creates — sync engines and the sync side of async ones alike. One
route is added to the app (outside the tree's routers): `GET /__bench/stats` returns the statements and
requests counted so far and this process's peak RSS.

The same figures are also written every 0.2 s to `$BENCH_STATS_FILE` by a thread: the load generator reads
them there, because under load an HTTP request for them would queue behind the load (and a sync backend whose
event loop blocks on a pool checkout may not answer it at all).

Requests are counted by a pure ASGI middleware (cheap, no per-request task), so the ratio is SQL per request.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine

logger = logging.getLogger("bench.serve")


class Counters:
    statements = 0
    requests = 0


def _count_statement(*_args: Any, **_kwargs: Any) -> None:
    Counters.statements += 1


class CountRequests:
    """ASGI middleware: counts HTTP requests other than the bench's own routes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__bench/"):
            Counters.requests += 1
        await self.app(scope, receive, send)


def build_app(tree: Path) -> Any:
    event.listen(Engine, "before_cursor_execute", _count_statement)
    sys.path.insert(0, str(tree))
    # the tree under test (on the path at run time only), imported after the listener exists
    from backend.api.main import app  # type: ignore[import-not-found]

    async def stats() -> dict[str, Any]:
        return snapshot()

    app.add_api_route("/__bench/stats", stats, methods=["GET"])
    return CountRequests(app)


def snapshot() -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "statements": Counters.statements,
        "requests": Counters.requests,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "time": time.time(),
    }


def write_stats_forever(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    while True:
        tmp.write_text(json.dumps(snapshot()))
        os.replace(tmp, path)  # readers never see a half-written file
        time.sleep(0.2)


def main() -> int:
    tree, port = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    logging.basicConfig(level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    app = build_app(tree)
    stats_file = os.environ.get("BENCH_STATS_FILE")
    if stats_file:
        threading.Thread(target=write_stats_forever, args=(Path(stats_file),), daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
