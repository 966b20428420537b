"""/api/genres and /api/tags (sync in the original)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_name, rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _sorted_genres() -> list[dict]:
    return sorted(rows("genres"), key=lambda g: g["name"])


async def test_read_and_search_genres(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/genres/", params={"skip": 2, "limit": 4})
    assert resp.json() == _sorted_genres()[2:6]
    search = await client.get("/api/genres/search", params={"name": "o"})
    assert search.json() == [g for g in _sorted_genres() if "o" in g["name"].lower()]
    everything = await client.get("/api/genres/search")
    assert len(everything.json()) == len(rows("genres"))


async def test_read_genre(client: httpx.AsyncClient) -> None:
    genre = rows("genres")[7]
    resp = await client.get(f"/api/genres/{genre['id']}")
    assert resp.json() == genre
    assert (await client.get("/api/genres/999999")).status_code == 404


@pytest.mark.trap("genres_api._genre_stats reads genre.tracks / track.artist lazily, away from the query")
async def test_read_genre_with_stats(client: httpx.AsyncClient) -> None:
    genre = next(g for g in rows("genres") if any(t["genre"] == g["name"] for t in rows("tracks")))
    resp = await client.get(f"/api/genres/{genre['id']}", params={"with_stats": "true"})
    tracks = [t for t in rows("tracks") if t["genre"] == genre["name"]]
    assert resp.json() == {
        "id": genre["id"],
        "name": genre["name"],
        "track_count": len(tracks),
        "artists": sorted({artist_name(t["track_artist_id"]) for t in tracks}),
    }


async def test_count_genre_tracks(client: httpx.AsyncClient) -> None:
    for genre in rows("genres")[:3]:
        resp = await client.get(f"/api/genres/{genre['id']}/count")
        expected = sum(1 for link in rows("track_genres") if link["genre_id"] == genre["id"])
        assert resp.json() == {"genre_id": genre["id"], "track_count": expected}
    assert (await client.get("/api/genres/999999/count")).status_code == 404


async def test_create_update_delete_genre(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/genres/", json={"name": "Shoegaze"})
    assert created.status_code == 201
    assert created.json() == {"id": len(rows("genres")) + 1, "name": "Shoegaze"}
    assert (await client.post("/api/genres/", json={"name": "shoegaze"})).status_code == 409
    assert (await client.post("/api/genres/", json={"name": ""})).status_code == 422

    renamed = await client.put(f"/api/genres/{created.json()['id']}", json={"name": "Dream Pop"})
    assert renamed.json()["name"] == "Dream Pop"
    assert (await client.put("/api/genres/999999", json={"name": "x"})).status_code == 404

    assert (await client.delete("/api/genres/1")).status_code == 204
    assert (await client.delete("/api/genres/1")).status_code == 404
    listing = await client.get("/api/genres/", params={"limit": 500})
    assert [g["name"] for g in listing.json()] == sorted(
        [g["name"] for g in rows("genres") if g["id"] != 1] + ["Dream Pop"]
    )


async def test_read_tags(client: httpx.AsyncClient) -> None:
    genre_tags = await client.get("/api/tags/genre-tags")
    assert genre_tags.json() == sorted(rows("genre_tags"), key=lambda t: t["name"])
    mood_tags = await client.get("/api/tags/mood-tags", params={"skip": 1, "limit": 3})
    assert mood_tags.json() == sorted(rows("mood_tags"), key=lambda t: t["name"])[1:4]
    assert (await client.get("/api/tags/genre-tags/2")).json() == rows("genre_tags")[1]
    assert (await client.get("/api/tags/mood-tags/3")).json() == rows("mood_tags")[2]
    assert (await client.get("/api/tags/genre-tags/999")).status_code == 404
    assert (await client.get("/api/tags/mood-tags/999")).status_code == 404


async def test_create_tags_idempotent(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/tags/genre-tags", json={"name": "  Krautrock "})
    assert created.status_code == 201
    assert created.json() == {"id": len(rows("genre_tags")) + 1, "name": "krautrock"}
    again = await client.post("/api/tags/genre-tags", json={"name": "KRAUTROCK"})
    assert again.json() == created.json()
    existing = await client.post("/api/tags/mood-tags", json={"name": "Calm"})
    assert existing.json() == next(t for t in rows("mood_tags") if t["name"] == "calm")
    mood = await client.post("/api/tags/mood-tags", json={"name": "hopeful"})
    assert mood.json() == {"id": len(rows("mood_tags")) + 1, "name": "hopeful"}
