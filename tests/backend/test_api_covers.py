"""/api/covers (already async in the original)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _cover_json(c: dict) -> dict:
    return {k: c[k] for k in ("id", "entity_type", "entity_id", "url", "cover_data", "mime_type")}


async def test_read_covers(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/covers/")
    assert resp.status_code == 200
    assert resp.json() == [_cover_json(c) for c in rows("covers")]
    artists = await client.get("/api/covers/", params={"entity_type": "artist", "limit": 2})
    assert artists.json() == [_cover_json(c) for c in rows("covers") if c["entity_type"] == "artist"][:2]
    bad = await client.get("/api/covers/", params={"entity_type": "playlist"})
    assert bad.status_code == 422


async def test_read_cover(client: httpx.AsyncClient) -> None:
    cover = rows("covers")[2]
    resp = await client.get(f"/api/covers/{cover['entity_type']}/{cover['entity_id']}")
    assert resp.json() == _cover_json(cover)
    assert (await client.get("/api/covers/album/1")).status_code == 404


async def test_create_update_delete_cover(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/covers/",
        json={"entity_type": "track", "entity_id": 1, "cover_data": "aGVsbG8=", "mime_type": "image/png"},
    )
    assert created.status_code == 201
    assert created.json()["id"] == len(rows("covers")) + 1
    upsert = await client.post("/api/covers/", json={"entity_type": "track", "entity_id": 1, "url": "https://x/y.png"})
    assert upsert.json()["id"] == created.json()["id"]
    assert (upsert.json()["url"], upsert.json()["cover_data"]) == ("https://x/y.png", None)

    updated = await client.put("/api/covers/track/1", json={"mime_type": "image/webp"})
    assert updated.json()["mime_type"] == "image/webp"
    assert updated.json()["url"] == "https://x/y.png"
    assert (await client.put("/api/covers/track/2", json={"url": "z"})).status_code == 404

    assert (await client.delete("/api/covers/track/1")).status_code == 204
    assert (await client.delete("/api/covers/track/1")).status_code == 404
    listing = await client.get("/api/covers/", params={"entity_type": "track"})
    assert listing.json() == []
