"""The migrated backend's search when Redis goes away and comes back.

Search sits behind a Redis cache (`SearchCache`): with Redis killed it must still answer 200 with the same
results, computed from the database (`cached: false`); once Redis is back, caching resumes (the app retries a
failed Redis after `SEARCH_CACHE_RETRY_SECONDS`, set to 1 s for the test server).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import httpx
import redis
from served_backend import ServedBackend

logger = logging.getLogger(__name__)

RESUME_DEADLINE_S = 20.0


def _without_cache_flag(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "cached"}


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:300]}"
    body: dict[str, Any] = response.json()
    return body


def _cached_keys(served: ServedBackend) -> int:
    client = redis.Redis.from_url(served.redis.url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return sum(1 for _ in client.scan_iter(match="*search*", count=500))
    finally:
        client.close()


async def test_search_answers_uncached_without_redis_and_caches_again_when_it_is_back(
    served: ServedBackend, client: httpx.AsyncClient
) -> None:
    page_size = 5 + secrets.randbelow(40)  # a query no earlier test has cached
    search = f"/api/search?q=waves&page_size={page_size}"
    typeahead = f"/api/search/typeahead?q=am&limit={1 + secrets.randbelow(19)}"

    first = await _get_json(client, search)
    assert first["cached"] is False and first["hits"], first
    assert (await _get_json(client, search))["cached"] is True, "with Redis up, the second search is cached"
    typeahead_before = await _get_json(client, typeahead)

    served.redis.kill()
    try:
        for _ in range(3):
            body = await _get_json(client, search)
            assert body["cached"] is False, "Redis is gone: the answer cannot come from the cache"
            assert _without_cache_flag(body) == _without_cache_flag(first), "uncached search gave other results"
        assert await _get_json(client, typeahead) == typeahead_before
        fresh = await _get_json(client, f"/api/search?q=tides&page_size={page_size}")
        assert fresh["cached"] is False and fresh["hits"], fresh
    finally:
        served.redis.start()  # empty: `--save ''` keeps nothing across the kill

    loop = asyncio.get_running_loop()
    deadline = loop.time() + RESUME_DEADLINE_S
    answers: list[bool] = []
    while not (answers and answers[-1]):
        assert loop.time() < deadline, f"caching did not resume within {RESUME_DEADLINE_S}s: {answers}"
        body = await _get_json(client, search)
        assert _without_cache_flag(body) == _without_cache_flag(first)
        answers.append(body["cached"])
        await asyncio.sleep(0.2)
    assert _cached_keys(served) > 0, "caching resumed but Redis holds no search key"
    logger.info("faults: Redis killed: %d searches answered 200 uncached; cached again after %d tries", 4,
                   len(answers))  # fmt: skip
