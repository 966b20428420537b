"""A closed-loop load on the served backend that records the outcome of every request.

Each worker sends requests from a fixed mix, one after the other, until told to stop. The mix reads through both
engines of the migrated tree (the converted `get_db` and the already-async `get_async_db`) and writes with
`POST /api/albums/batch`: three albums per request, one transaction, titles marked with a per-request token so
the tests can check afterwards that each batch is in the database whole or not at all.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

CLIENT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)  # a hung request fails the test instead of hanging it
BATCH_SIZE = 3
BATCH_ARTIST_ID = 1  # an artist of the seed library

READS = [
    "/api/tracks/?limit=20",
    "/api/tracks/count",
    "/api/artists/?limit=20",
    "/api/artists/3",
    "/api/albums/?limit=20",
    "/api/albums/5/tracks",
    "/api/genres/",
    "/api/settings/",
    "/api/playqueue",
    "/api/search?q=tides",
    "/api/artist-similar/?page=1&per_page=10",
]


@dataclass(frozen=True)
class Outcome:
    method: str
    path: str
    status: int | None  # None: no HTTP response at all
    error: str | None = None  # the client-side exception (timeout, reset connection...)
    batch_token: str | None = None


@dataclass
class LoadRecord:
    outcomes: list[Outcome] = field(default_factory=list)

    def statuses(self) -> Counter[str]:
        return Counter(str(o.status) if o.status is not None else f"error:{o.error}" for o in self.outcomes)

    def unclean(self) -> list[Outcome]:
        """Requests that did not end in a 2xx or a 503 ("database unavailable, retry later"): no response at all,
        a 4xx, or a 500 (the app failed in a way it did not recognise as the database being away)."""
        return [o for o in self.outcomes if o.status is None or not (200 <= o.status < 300 or o.status == 503)]

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status >= 500]

    def batch_tokens(self) -> list[str]:
        return [o.batch_token for o in self.outcomes if o.batch_token is not None]

    def committed_batch_tokens(self) -> list[str]:
        """Batches the app answered 201 for: their albums must all be in the database."""
        return [o.batch_token for o in self.outcomes if o.batch_token is not None and o.status == 201]


def batch_body(token: str) -> list[dict[str, Any]]:
    return [{"title": f"{token}-{i}", "album_artist_id": BATCH_ARTIST_ID} for i in range(BATCH_SIZE)]


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: Any = None, token: str | None = None
) -> Outcome:
    try:
        response = await client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        return Outcome(method, path, None, error=type(exc).__name__, batch_token=token)
    return Outcome(method, path, response.status_code, batch_token=token)


async def _worker(client: httpx.AsyncClient, worker: int, stop: asyncio.Event, record: LoadRecord, run: str) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        if n % 4 == 3:
            token = f"load-{run}-{worker}-{n}"
            record.outcomes.append(await send(client, "POST", "/api/albums/batch", batch_body(token), token))
        else:
            path = READS[(worker + n) % len(READS)]
            record.outcomes.append(await send(client, "GET", path))


class LoadRun:
    """`async with LoadRun(client, concurrency) as load:` runs the load until the block ends."""

    def __init__(self, client: httpx.AsyncClient, concurrency: int = 6) -> None:
        self.client = client
        self.concurrency = concurrency
        self.record = LoadRecord()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._run = secrets.token_hex(3)

    async def __aenter__(self) -> LoadRun:
        self._tasks = [
            asyncio.create_task(_worker(self.client, w, self._stop, self.record, self._run))
            for w in range(self.concurrency)
        ]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def until_successes(self, count: int, timeout: float) -> None:
        """Wait until `count` more requests have succeeded (the load is flowing), or fail after `timeout`."""
        target = sum(1 for o in self.record.outcomes if o.status is not None and o.status < 300) + count
        deadline = asyncio.get_running_loop().time() + timeout
        while sum(1 for o in self.record.outcomes if o.status is not None and o.status < 300) < target:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the load made no progress in {timeout}s: {self.record.statuses()}")
            await asyncio.sleep(0.05)


async def round_of_requests(client: httpx.AsyncClient, repeat: int = 1) -> list[Outcome]:
    """Every read of the mix and one batch write, `repeat` times, all at once."""
    tasks = []
    for r in range(repeat):
        tasks += [send(client, "GET", path) for path in READS]
        token = f"round-{secrets.token_hex(4)}-{r}"
        tasks.append(send(client, "POST", "/api/albums/batch", batch_body(token), token))
    return list(await asyncio.gather(*tasks))


async def wait_until_serving(client: httpx.AsyncClient, timeout: float) -> float:
    """Poll with full rounds of requests until one is entirely 2xx; the seconds it took. Fails after `timeout`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    last: list[Outcome] = []
    while loop.time() - start < timeout:
        last = await round_of_requests(client)
        if all(o.status is not None and 200 <= o.status < 300 for o in last):
            return loop.time() - start
        await asyncio.sleep(0.2)
    bad = [o for o in last if o.status is None or o.status >= 300]
    raise AssertionError(f"the app did not serve again within {timeout}s; still failing: {bad}")
