"""bench/load.py's HTTP client and closed loop, against scripted asyncio servers on ephemeral loopback ports."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bench import load

# A handler answers one request: it writes what it likes and returns whether the connection stays open.
Handler = Callable[[str, str, bytes, asyncio.StreamWriter], Awaitable[bool]]


def _response(status: int, body: bytes = b"", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


class ScriptedServer:
    """HTTP/1.1 keep-alive server on 127.0.0.1:0; records (connection number, method, target, body)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.received: list[tuple[int, str, str, bytes]] = []
        self.port = 0
        self.release = asyncio.Event()  # handlers that hang wait for it

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.release.set()
        self._server.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                method, target, _version = head[0].split(" ")
                fields = (line.partition(":") for line in head[1:] if line)
                headers = {name.lower(): value.strip() for name, _, value in fields}
                assert headers["host"] == f"127.0.0.1:{self.port}"
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append((number, method, target, body))
                if not await self.handler(method, target, body, writer):
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


async def _scripted(method: str, target: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
    if target == "/length":
        writer.write(_response(200, b"hello"))
    elif target == "/chunked":  # split across writes, with a chunk extension and a trailer
        for piece in (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel", b"lo\r\n", b"6\r"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
    elif target == "/echo":
        assert method == "PUT"
        writer.write(_response(200, json.dumps(json.loads(body)).encode(), "Content-Type: application/json\r\n"))
    elif target == "/continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + _response(200, b"after"))
    elif target == "/empty":
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    elif target == "/error":
        writer.write(_response(500, b"boom"))
    elif target == "/close":
        writer.write(_response(200, b"bye", "Connection: close\r\n"))
        return False
    elif target == "/until-eof":  # no length: the body ends with the connection
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        return False
    elif target == "/drop":
        return False
    elif target == "/garbage":
        writer.write(b"SPDY/3 what\r\n\r\n")
    elif target == "/bad-chunk":
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    return True  # "/hang" and unknown targets: no answer, the connection stays open


async def test_keep_alive_bodies_and_failures() -> None:
    async with ScriptedServer(_scripted) as server:
        client = load.Connection("127.0.0.1", server.port)
        assert await client.request("GET", "/length") == (200, b"hello")
        assert await client.request("GET", "/chunked") == (201, b"hello world")
        assert await client.request("PUT", "/echo", b'{"value": "dark"}') == (200, b'{"value": "dark"}')
        assert await client.request("GET", "/continue") == (200, b"after")
        assert await client.request("GET", "/empty") == (204, b"")
        assert await client.request("GET", "/error") == (500, b"boom")
        assert (client.opened, server.connections) == (1, 1)  # all of the above on one connection

        assert await client.request("GET", "/close") == (200, b"bye")
        assert await client.request("GET", "/until-eof") == (200, b"all of it")
        assert await client.request("GET", "/length") == (200, b"hello")
        assert (client.opened, server.connections) == (3, 3)  # re-opened after each close

        for target, failure in (
            ("/drop", asyncio.IncompleteReadError),
            ("/garbage", load.ProtocolError),
            ("/bad-chunk", load.ProtocolError),
        ):
            with pytest.raises(failure):
                await client.request("GET", target)
            assert issubclass(failure, load.FAILURES)
            assert await client.request("GET", "/length") == (200, b"hello")  # a new connection, working
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.request("GET", "/hang")
        assert await client.request("GET", "/length") == (200, b"hello")
        assert (client.opened, server.connections) == (7, 7)
        client.close()


async def test_connection_refused_is_a_failure() -> None:
    async with ScriptedServer(_scripted) as server:
        port = server.port
    with pytest.raises(load.FAILURES):
        await load.Connection("127.0.0.1", port).request("GET", "/length")


def _library_server(stats_file: Path, hang_writes: bool = False) -> ScriptedServer:
    """Answers the bench mix: genres 503, album updates dropped, chunked and sized bodies, 2 'statements' each."""

    async def handle(method: str, target: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        requests = len(server.received)
        stats_file.write_text(json.dumps({"statements": 2 * requests, "requests": requests, "cpu_s": requests / 1000}))
        if method == "PUT":
            assert set(json.loads(body)) <= {"value", "release_year"}
            if hang_writes:
                await server.release.wait()
                return False
            if target.startswith("/api/albums/"):
                return False  # dropped without an answer: status 0
        if target.startswith("/api/genres/"):
            writer.write(_response(503, b"{}"))
        elif requests % 2:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n")
        else:
            writer.write(_response(200, b"[]"))
        return True

    server = ScriptedServer(handle)
    return server


async def test_run_counts_statuses_kinds_and_sql(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"statements": 0, "requests": 0, "cpu_s": 0.0}))
    # Two workers from the start: their first 60 requests (seed 7) hold all 14 endpoints, genres (503) and
    # album updates (dropped), so the checks below hold on a slow or busy machine as long as each request takes
    # < 100 ms (3 s: a 1 s run asked for < 15 ms, and failed on a machine running other suites at the same time).
    duration = 3.0
    async with _library_server(stats) as server:
        result = await load.run(server.base_url, 2, duration=duration, warmup=0.0, seed=7, stats_file=stats, grace=2)
    status = result["status"]
    assert set(status) == {"0", "200", "503"}
    assert result["requests"] == sum(status.values()) == sum(result["by_kind"].values()) >= 60
    assert result["ok"] == status["200"]
    assert result["errors"] == status["0"] + status["503"]
    assert result["rps"] == round(status["200"] / duration, 2)
    assert result["unfinished_at_end"] == 0
    assert set(result["by_kind"]) == {"list", "search", "detail", "write"}
    assert set(result["latency_ms_by_endpoint"]) == {call.name for call in load.census_calls()}  # all 14
    assert all(0 < e["p50"] <= e["p99"] < 1000 for e in result["latency_ms_by_endpoint"].values())
    assert result["sql_per_request"] == 2.0
    assert result["server_cpu_ms_per_request"] == 1.0
    assert result["loadgen_window_cpu_s"] > 0
    # Every dropped write made its worker open a new connection (unless it was the worker's last request).
    dropped = sum(1 for _n, method, target, _b in server.received if method == "PUT" and "/albums/" in target)
    assert 0 < dropped <= server.connections <= 2 + dropped


async def test_one_worker_follows_the_seeded_mix(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    async with _library_server(stats) as server:
        await load.run(server.base_url, 1, duration=0.3, warmup=0.0, seed=11, grace=2)
    rng = random.Random("11:0")
    expected = [load._pick(rng) for _ in server.received]
    assert [(m, t) for _n, m, t, _b in server.received] == [(c.method, c.path) for c in expected]
    writes = [json.loads(b) for _n, m, _t, b in server.received if m == "PUT"]
    assert writes == [c.body for c in expected if c.method == "PUT"]


async def test_requests_unanswered_at_the_end_are_errors_and_lower_bounds(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    async with _library_server(stats, hang_writes=True) as server:
        result = await load.run(server.base_url, 4, duration=0.8, warmup=0.0, seed=7, grace=0.3)
    # Each worker ends up waiting on a write that never answers (10% of the mix): cut at the grace.
    assert result["unfinished_at_end"] == result["unanswered_at_end"] == 4
    assert result["errors"] == 4 + result["status"].get("0", 0) + result["status"].get("503", 0)
    assert result["p99_is_lower_bound"]
    assert Counter(m for _n, m, _t, _b in server.received)["PUT"] == 4


async def test_a_request_timeout_is_an_error_and_the_worker_goes_on(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    async with _library_server(stats, hang_writes=True) as server:
        result = await load.run(server.base_url, 2, duration=1.0, warmup=0.0, seed=7, grace=1, timeout=0.1)
    assert result["unfinished_at_end"] == 0
    timeouts = result["status"]["0"]
    assert timeouts >= 2 and result["ok"] > timeouts
    puts = Counter(m for _n, m, _t, _b in server.received)["PUT"]
    assert 0 < puts <= server.connections <= 2 + puts  # a new connection after each timed-out write
