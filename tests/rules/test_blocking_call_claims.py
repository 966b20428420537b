"""What AWT220 claims about sync clients, checked by running it against the real Redis (127.0.0.1:6379, or
AWAITIFY_REDIS_URL): fixtures/session_io/blocking_redis_client_made_async, and the calls of the project's own sync
functions that block (coloring/blocking_project_calls, target_backend's `SearchCache.get`).

- A sync redis command in an `async def` route holds every other request of the process until it returns; the same
  command in a sync `def` route (what the code was) or moved with `await asyncio.to_thread(...)` (the rewrite) holds
  none. So the rewrite keeps what the sync route did, and a command left as it is (the marker) stalls the app.
- The same for a project function that stays sync and calls the client (`cache.get(key)` -> `await
  asyncio.to_thread(cache.get, key)`).
- `r.pipeline()` does no I/O itself: moved into a thread it returns at once, and the pipeline's `execute()` still
  blocks the loop. That is why such a call is never moved: a pipeline kept in a local has its `execute()` moved
  instead (fixtures/session_io/blocking_redis_pipeline_made_async), which leaves the loop free; its buffered
  commands send nothing until then, with or without a transaction, while `watch()` runs at once and puts the
  pipeline in immediate mode (its commands answered at once, until `multi()`): a pipeline that is watched keeps its
  marker.
- A command of a watched pipeline (fixtures/session_io/watched_redis_pipeline_made_async), whatever the pipeline's
  origin, is a round trip: left on the loop it stalls the app, in a worker thread (the rewrite) it does not; and in
  a thread a command returns what it returns on the loop, the pipeline itself when buffered.

A slow command is `BLPOP` of an empty list with a timeout: Redis answers after it, the client waits in a socket read.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from fastapi import FastAPI

REDIS_URL = os.environ.get("AWAITIFY_REDIS_URL", "redis://127.0.0.1:6379/0")
SLOW_S = 1.0  # how long the slow command waits in Redis
STALLED_S = 0.7  # a ping held at least this long waited for the slow command
FREE_S = 0.4  # a ping answered within this did not


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL, socket_timeout=SLOW_S + 5)
    connection.ping()  # the test needs Redis: a connection error fails it
    yield connection
    connection.close()


class Cache:
    """Like target_backend's SearchCache: a sync method over the sync client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> object:
        return self.client.blpop([key], timeout=SLOW_S)


def _app(client: redis.Redis) -> FastAPI:
    app = FastAPI()
    cache = Cache(client)

    def empty_list() -> str:
        return f"awaitify-claims:{uuid.uuid4().hex}"

    @app.get("/sync-route")
    def sync_route() -> None:  # what the code was: FastAPI runs it in a worker thread
        client.blpop([empty_list()], timeout=SLOW_S)

    @app.get("/async-route-left-as-is")
    async def async_route_left_as_is() -> None:  # the call a marker leaves
        client.blpop([empty_list()], timeout=SLOW_S)

    @app.get("/async-route-in-a-thread")
    async def async_route_in_a_thread() -> None:  # the rewrite
        await asyncio.to_thread(client.blpop, [empty_list()], timeout=SLOW_S)

    @app.get("/async-route-project-call-left-as-is")
    async def async_route_project_call_left_as_is() -> None:
        cache.get(empty_list())

    @app.get("/async-route-project-call-in-a-thread")
    async def async_route_project_call_in_a_thread() -> None:
        await asyncio.to_thread(cache.get, empty_list())

    @app.get("/async-route-pipeline-moved")
    async def async_route_pipeline_moved() -> None:  # what moving `r.pipeline()` would give
        pipe = await asyncio.to_thread(client.pipeline, transaction=False)  # in MULTI, BLPOP would not wait
        pipe.blpop([empty_list()], timeout=SLOW_S)
        pipe.execute()

    @app.get("/async-route-pipeline-execute-in-a-thread")
    async def async_route_pipeline_execute_in_a_thread() -> None:  # the rewrite of a pipeline kept in a local
        pipe = client.pipeline(transaction=False)
        pipe.blpop([empty_list()], timeout=SLOW_S)
        await asyncio.to_thread(pipe.execute)

    @app.get("/async-route-watched-pipeline-command-left-as-is")
    async def async_route_watched_pipeline_command_left_as_is() -> None:  # what the migration wrote before
        key = empty_list()
        with client.pipeline() as pipe:
            await asyncio.to_thread(pipe.watch, key)
            pipe.blpop([key], timeout=SLOW_S)

    @app.get("/async-route-watched-pipeline-command-in-a-thread")
    async def async_route_watched_pipeline_command_in_a_thread() -> None:  # the rewrite
        key = empty_list()
        with client.pipeline() as pipe:
            await asyncio.to_thread(pipe.watch, key)
            await asyncio.to_thread(pipe.blpop, [key], timeout=SLOW_S)

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    return app


async def _ping_time_during(client: redis.Redis, slow_path: str) -> tuple[float, float]:
    """(how late a /ping sent 0.1 s after `slow_path` was answered, seconds `slow_path` took). The ping's own
    `asyncio.sleep(0.1)` runs on the loop too: a stalled loop makes it late as well, and that counts."""
    transport = httpx.ASGITransport(app=_app(client))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:

        async def ping_later() -> float:
            await asyncio.sleep(0.1)  # the slow request is in its command by now
            pong = await http.get("/ping")
            assert pong.status_code == 200
            return time.perf_counter() - (started + 0.1)

        started = time.perf_counter()
        slow = asyncio.create_task(http.get(slow_path))
        late_s = await ping_later()
        assert (await slow).status_code == 200
        return late_s, time.perf_counter() - started


@pytest.mark.parametrize(
    "path",
    [
        "/async-route-left-as-is",
        "/async-route-project-call-left-as-is",
        "/async-route-pipeline-moved",
        "/async-route-watched-pipeline-command-left-as-is",
    ],
)
async def test_a_sync_redis_command_on_the_event_loop_stalls_every_request(client: redis.Redis, path: str) -> None:
    ping_s, slow_s = await _ping_time_during(client, path)
    assert slow_s >= SLOW_S * 0.9, f"{path}: the command did not wait in Redis ({slow_s:.2f}s)"
    assert ping_s >= STALLED_S, f"{path}: /ping was answered {ping_s:.2f}s late while the command ran"


@pytest.mark.parametrize(
    "path",
    [
        "/sync-route",
        "/async-route-in-a-thread",
        "/async-route-project-call-in-a-thread",
        "/async-route-pipeline-execute-in-a-thread",
        "/async-route-watched-pipeline-command-in-a-thread",
    ],
)
async def test_the_sync_route_and_the_rewrite_leave_the_loop_free(client: redis.Redis, path: str) -> None:
    ping_s, slow_s = await _ping_time_during(client, path)
    assert slow_s >= SLOW_S * 0.9, f"{path}: the command did not wait in Redis ({slow_s:.2f}s)"
    assert ping_s <= FREE_S, f"{path}: /ping was answered {ping_s:.2f}s late, it waited for the command"


@pytest.mark.parametrize("transaction", [True, False])
def test_a_pipeline_sends_its_buffered_commands_at_execute_only(client: redis.Redis, transaction: bool) -> None:
    key = f"awaitify-claims:{uuid.uuid4().hex}"
    try:
        pipe = client.pipeline(transaction=transaction)
        assert pipe.set(key, "1", ex=60) is pipe  # buffered: the pipeline comes back, no reply
        pipe.incr(key)
        assert client.get(key) is None  # nothing reached Redis
        assert pipe.execute() == [True, 2]
        assert client.get(key) == b"2"
    finally:
        client.delete(key)


def test_a_watched_pipeline_runs_its_commands_at_once(client: redis.Redis) -> None:
    key = f"awaitify-claims:{uuid.uuid4().hex}"
    other = key + ":other"
    try:
        client.set(key, "5", ex=60)
        with client.pipeline() as pipe:
            pipe.watch(key)
            assert pipe.get(key) == b"5"  # answered at once: a round trip, not buffered
            pipe.set(other, "x", ex=60)
            assert client.get(other) == b"x"  # sent at once too, before any execute()
            pipe.multi()
            pipe.set(key, "6", ex=60)
            assert client.get(key) == b"5"  # after multi(), buffered again
            assert pipe.execute() == [True]
        assert client.get(key) == b"6"
    finally:
        client.delete(key, other)


async def test_a_pipeline_command_in_a_thread_is_the_same_call(client: redis.Redis) -> None:
    key = f"awaitify-claims:{uuid.uuid4().hex}"
    try:
        client.set(key, "5", ex=60)
        with client.pipeline() as pipe:
            await asyncio.to_thread(pipe.watch, key)
            assert await asyncio.to_thread(pipe.get, key) == b"5"  # watched: the reply, as on the loop
            pipe.multi()
            assert await asyncio.to_thread(pipe.set, key, "6", ex=60) is pipe  # buffered: the pipeline, as on the loop
            assert client.get(key) == b"5"
            assert await asyncio.to_thread(pipe.execute) == [True]
        assert client.get(key) == b"6"
    finally:
        client.delete(key)
