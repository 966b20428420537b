"""What AWT220 claims about child processes and the objects the project's own functions return, checked by running
real child processes in a FastAPI app (fixtures/session_io/blocking_returned_objects_made_async,
coloring/blocking_returned_objects).

- `open_child()` of the project returns a `subprocess.Popen`. Moving the call into a worker thread (what the
  migration wrote before) returns at once: the child's `communicate()` then runs on the event loop, and every other
  request waits for the child. So the call is flagged instead.
- `os.system(cmd)` waits for the shell: in an `async def` route it holds every request; in a worker thread (the
  rewrite) none, as in the sync `def` route.
- `os.popen(cmd)` returns a pipe whose `read()` waits for the child: left on the loop, it holds every request too
  (the marker's premise).

A slow child sleeps `SLOW_S` seconds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi import FastAPI

SLOW_S = 1.0  # how long the slow child runs
STALLED_S = 0.7  # a ping held at least this long waited for the child
FREE_S = 0.4  # a ping answered within this did not
SLOW_CODE = f"import time; time.sleep({SLOW_S}); print('done')"
SLOW_SHELL = f'{sys.executable} -c "{SLOW_CODE}"'
QUIET_SHELL = SLOW_SHELL + " > /dev/null"  # os.system's child writes to the test's own stdout otherwise


def open_child() -> subprocess.Popen[str]:
    """Like the fixtures' `open_child()`: a project function that returns the child, not its output."""
    return subprocess.Popen([sys.executable, "-c", SLOW_CODE], stdout=subprocess.PIPE, text=True)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/sync-route-child")
    def sync_route_child() -> str:  # what the code was: FastAPI runs it in a worker thread
        return open_child().communicate(timeout=10)[0]

    @app.get("/async-route-child-opened-in-a-thread")
    async def async_route_child_opened_in_a_thread() -> str:  # what the migration wrote before: not flagged
        child = await asyncio.to_thread(open_child)
        return child.communicate(timeout=10)[0]

    @app.get("/sync-route-system")
    def sync_route_system() -> int:
        return os.system(QUIET_SHELL)

    @app.get("/async-route-system-left-as-is")
    async def async_route_system_left_as_is() -> int:  # what the migration wrote before: not flagged
        return os.system(QUIET_SHELL)

    @app.get("/async-route-system-in-a-thread")
    async def async_route_system_in_a_thread() -> int:  # the rewrite
        return await asyncio.to_thread(os.system, QUIET_SHELL)

    @app.get("/async-route-popen-read-left-as-is")
    async def async_route_popen_read_left_as_is() -> str:  # the call the marker leaves
        return os.popen(SLOW_SHELL).read()

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    return app


async def _ping_time_during(slow_path: str) -> tuple[float, float]:
    """(how late a /ping sent 0.1 s after `slow_path` was answered, seconds `slow_path` took)."""
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        started = time.perf_counter()
        slow = asyncio.create_task(http.get(slow_path))
        await asyncio.sleep(0.1)  # the slow request has its child by now
        pong = await http.get("/ping")
        assert pong.status_code == 200
        late_s = time.perf_counter() - (started + 0.1)
        assert (await slow).status_code == 200
        return late_s, time.perf_counter() - started


@pytest.mark.parametrize(
    "path",
    [
        "/async-route-child-opened-in-a-thread",
        "/async-route-system-left-as-is",
        "/async-route-popen-read-left-as-is",
    ],
)
async def test_waiting_for_a_child_on_the_event_loop_stalls_every_request(path: str) -> None:
    ping_s, slow_s = await _ping_time_during(path)
    assert slow_s >= SLOW_S * 0.9, f"{path}: the request did not wait for the child ({slow_s:.2f}s)"
    assert ping_s >= STALLED_S, f"{path}: /ping was answered {ping_s:.2f}s late while the child ran"


@pytest.mark.parametrize("path", ["/sync-route-child", "/sync-route-system", "/async-route-system-in-a-thread"])
async def test_the_sync_route_and_the_rewrite_leave_the_loop_free(path: str) -> None:
    ping_s, slow_s = await _ping_time_during(path)
    assert slow_s >= SLOW_S * 0.9, f"{path}: the request did not wait for the child ({slow_s:.2f}s)"
    assert ping_s <= FREE_S, f"{path}: /ping was answered {ping_s:.2f}s late, it waited for the child"
