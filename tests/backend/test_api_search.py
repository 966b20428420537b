"""/api/search: hybrid text + vector search, facets, typeahead, Redis cache (sync in the original)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from backend_expect import facets, hit, rows, text_search, vector_search

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _page(ranked: list[tuple[int, float]], page: int = 1, size: int = 20) -> list[dict]:
    return [hit(tid, score) for tid, score in ranked[(page - 1) * size : page * size]]


async def test_text_search_ranking_and_facets(client: httpx.AsyncClient) -> None:
    term = rows("artists")[0]["name"].split()[0].lower()
    resp = await client.get("/api/search", params={"q": term, "page_size": 10})
    assert resp.status_code == 200
    body = resp.json()
    ranked = text_search(term)
    assert body["total"] == len(ranked) > 0
    assert body["hits"] == _page(ranked, 1, 10)
    assert body["facets"] == facets([tid for tid, _ in ranked])
    assert body["cached"] is False


async def test_search_second_page_and_filters(client: httpx.AsyncClient) -> None:
    genre = rows("tracks")[0]["genre"]
    params = {"q": "", "genre": genre.lower(), "year_from": 2000, "year_to": 2015, "page": 2, "page_size": 5}
    resp = await client.get("/api/search", params=params)
    ranked = text_search("", genre=genre, year_from=2000, year_to=2015)
    assert resp.json()["total"] == len(ranked)
    assert resp.json()["hits"] == _page(ranked, 2, 5)
    assert resp.json()["facets"]["genres"] == [{"value": genre, "count": len(ranked)}]


async def test_search_everything_uses_facet_fallback(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/search", json={"query": "", "page": 3, "page_size": 7})
    ranked = text_search("")
    assert len(ranked) > 250  # above FACET_SQL_MAX_IDS: the ORM fallback computes the facets
    assert resp.json()["total"] == len(rows("tracks"))
    assert resp.json()["hits"] == _page(ranked, 3, 7)
    assert resp.json()["facets"] == facets([tid for tid, _ in ranked])


async def test_vector_search(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/search", params={"similar_to_track_id": 4, "page_size": 10})
    ranked = vector_search(4)
    assert resp.json()["total"] == len(ranked) == 50
    assert resp.json()["hits"] == _page(ranked, 1, 10)
    same_artist = [h for h in resp.json()["hits"][:3]]
    assert all(h["artist"] == hit(4, 0)["artist"] for h in same_artist)
    assert (await client.get("/api/search", params={"similar_to_track_id": 15})).json()["total"] == 0  # no vector


async def test_hybrid_search_keeps_text_matches_close_to_the_reference(client: httpx.AsyncClient) -> None:
    term = hit(4, 0)["artist"].split()[0].lower()
    resp = await client.post("/api/search", json={"query": term, "similar_to_track_id": 4})
    text = dict(text_search(term))
    vec = dict(vector_search(4))
    both = set(text) & set(vec)
    max_text = max(text.values())
    expected = sorted(
        ((tid, round(0.5 * text[tid] / max_text + 0.5 * vec[tid], 6)) for tid in both),
        key=lambda kv: (-kv[1], kv[0]),
    )
    assert resp.json()["total"] == len(expected) > 0
    assert resp.json()["hits"] == _page(expected)


async def test_search_is_cached_in_redis(client: httpx.AsyncClient) -> None:
    import os

    import redis

    try:
        url = os.environ.get("AWAITIFY_REDIS_URL", "redis://127.0.0.1:6379/0")
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running")
    first = await client.get("/api/search", params={"q": "light"})
    second = await client.get("/api/search", params={"q": "light"})
    assert first.json()["cached"] is False
    assert second.json()["cached"] is True
    assert {**second.json(), "cached": False} == first.json()


async def test_search_without_redis_runs_uncached(
    client: httpx.AsyncClient, backend: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    search_service = backend.modules["backend.api.services.search_service"]
    monkeypatch.setattr(search_service, "_cache", search_service.SearchCache(url="redis://127.0.0.1:1/0"))
    with caplog.at_level(logging.WARNING, logger="soniquebay.api"):
        first = await client.get("/api/search", params={"q": "rain"})
        second = await client.get("/api/search", params={"q": "rain"})
    assert first.status_code == second.status_code == 200
    assert first.json()["cached"] is second.json()["cached"] is False
    assert first.json()["hits"] == _page(text_search("rain"))
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)


async def test_typeahead(client: httpx.AsyncClient) -> None:
    prefix = rows("artists")[0]["name"][:3]
    resp = await client.get("/api/search/typeahead", params={"q": prefix, "limit": 3})
    artists = sorted(
        (a for a in rows("artists") if a["name"].lower().startswith(prefix.lower())),
        key=lambda a: (a["name"], a["id"]),
    )[:3]
    albums = sorted(
        (a for a in rows("albums") if a["title"].lower().startswith(prefix.lower())),
        key=lambda a: (a["title"], a["id"]),
    )[:3]
    tracks = sorted(
        (t for t in rows("tracks") if t["title"].lower().startswith(prefix.lower())),
        key=lambda t: (t["title"], t["id"]),
    )[:3]
    assert resp.json() == {
        "items": [
            *({"type": "artist", "id": a["id"], "label": a["name"]} for a in artists),
            *({"type": "album", "id": a["id"], "label": a["title"]} for a in albums),
            *({"type": "track", "id": t["id"], "label": t["title"]} for t in tracks),
        ]
    }
    assert (await client.get("/api/search/typeahead", params={"q": ""})).status_code == 422
