"""/api/artist-similar (sync in the original)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_name, artist_with_similar, rows, similar_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _relation_json(r: dict) -> dict:
    return {k: r[k] for k in ("id", "artist_id", "similar_artist_id", "weight", "source")}


async def test_paginated_relationships(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/artist-similar/", params={"skip": 10, "limit": 7})
    assert resp.json() == {
        "items": [_relation_json(r) for r in rows("artist_similar")[10:17]],
        "total": len(rows("artist_similar")),
        "skip": 10,
        "limit": 7,
    }


async def test_similar_of_artist(client: httpx.AsyncClient) -> None:
    artist_id = artist_with_similar()
    resp = await client.get(f"/api/artist-similar/artists/{artist_id}", params={"skip": 1, "limit": 10})
    assert resp.json() == [_relation_json(r) for r in similar_of(artist_id)[1:11]]
    details = await client.get(f"/api/artist-similar/artists/{artist_id}/details")
    assert details.json() == [
        {
            "id": r["similar_artist_id"],
            "name": artist_name(r["similar_artist_id"]),
            "weight": r["weight"],
            "source": r["source"],
            "album_count": None,
        }
        for r in similar_of(artist_id)
    ]
    by_name = await client.get("/api/artist-similar/by-name", params={"name": artist_name(artist_id), "limit": 1})
    assert [d["id"] for d in by_name.json()] == [similar_of(artist_id)[0]["similar_artist_id"]]
    assert (await client.get("/api/artist-similar/artists/999999")).json() == []


async def test_pair_lookup(client: httpx.AsyncClient) -> None:
    relation = rows("artist_similar")[7]
    resp = await client.get(
        "/api/artist-similar/pair",
        params={"artist_id": relation["artist_id"], "similar_artist_id": relation["similar_artist_id"]},
    )
    assert resp.json() == _relation_json(relation)
    pairs = {(e["artist_id"], e["similar_artist_id"]) for e in rows("artist_similar")}
    a, b = next((a, b) for a in range(1, 25) for b in range(1, 25) if a != b and (a, b) not in pairs)
    missing = await client.get("/api/artist-similar/pair", params={"artist_id": a, "similar_artist_id": b})
    assert missing.status_code == 404


async def test_create_update_delete(client: httpx.AsyncClient) -> None:
    pairs = {(e["artist_id"], e["similar_artist_id"]) for e in rows("artist_similar")}
    a, b = next((a, b) for a in range(1, 25) for b in range(1, 25) if a != b and (a, b) not in pairs)
    created = await client.post("/api/artist-similar/", json={"artist_id": a, "similar_artist_id": b, "weight": 0.9})
    assert created.status_code == 201
    assert created.json() == {
        "id": len(rows("artist_similar")) + 1,
        "artist_id": a,
        "similar_artist_id": b,
        "weight": 0.9,
        "source": "lastfm",
    }
    assert (await client.post("/api/artist-similar/", json={"artist_id": a, "similar_artist_id": a})).status_code == 409
    assert (
        await client.post("/api/artist-similar/", json={"artist_id": 999999, "similar_artist_id": a})
    ).status_code == 404
    assert (
        await client.post("/api/artist-similar/", json={"artist_id": a, "similar_artist_id": b, "weight": 2})
    ).status_code == 422

    rel_id = created.json()["id"]
    updated = await client.put(f"/api/artist-similar/{rel_id}", json={"weight": 0.1})
    assert updated.json()["weight"] == 0.1
    assert (await client.put("/api/artist-similar/999999", json={"weight": 0.1})).status_code == 404
    assert (await client.delete(f"/api/artist-similar/{rel_id}")).status_code == 204
    assert (await client.delete(f"/api/artist-similar/{rel_id}")).status_code == 404
    total = await client.get("/api/artist-similar/", params={"limit": 1})
    assert total.json()["total"] == len(rows("artist_similar"))
