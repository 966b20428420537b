"""/api/tracks: the router's service calls are not awaited in the original (the plan's headline bug)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_tracks, by_id, rows, tags_of, track_json

pytestmark = pytest.mark.asyncio(loop_scope="session")

UNAWAITED = "tracks_api calls the async TrackService without await"


def _new_track(path: str, title: str = "Fresh Cut", artist_id: int = 1, album_id: int | None = 1) -> dict:
    return {
        "title": title,
        "path": path,
        "track_artist_id": artist_id,
        "album_id": album_id,
        "duration": 200,
        "track_number": 9,
        "disc_number": 1,
        "year": 2024,
        "genre": "Rock",
        "file_type": "flac",
    }


@pytest.mark.original_bug(UNAWAITED)
async def test_tracks_count(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/tracks/count")
    assert resp.status_code == 200
    assert resp.json() == {"count": len(rows("tracks"))}


async def test_search_tracks_by_title(client: httpx.AsyncClient) -> None:
    word = rows("tracks")[0]["title"].split()[0]
    resp = await client.get("/api/tracks/search", params={"title": word, "limit": 500})
    assert resp.status_code == 200
    expected = [t["id"] for t in rows("tracks") if word.lower() in t["title"].lower()]
    assert [t["id"] for t in resp.json()] == expected
    assert len(expected) > 1


async def test_search_tracks_by_artist_album_and_pagination(client: httpx.AsyncClient) -> None:
    album = rows("albums")[3]
    artist = by_id("artists", album["album_artist_id"])
    resp = await client.get("/api/tracks/search", params={"artist": artist["name"], "album": album["title"]})
    assert resp.status_code == 200
    expected = [
        t["id"]
        for t in rows("tracks")
        if t["track_artist_id"] == artist["id"]
        and t["album_id"] is not None
        and album["title"].lower() in by_id("albums", t["album_id"])["title"].lower()
    ]
    assert [t["id"] for t in resp.json()] == expected
    first = resp.json()[0]
    assert first == track_json(by_id("tracks", first["id"]))

    genre = rows("tracks")[0]["genre"]
    all_genre = [t["id"] for t in rows("tracks") if t["genre"] == genre]
    page = await client.get("/api/tracks/search", params={"genre": genre.upper(), "skip": 2, "limit": 3})
    assert [t["id"] for t in page.json()] == all_genre[2:5]


async def test_search_tracks_by_year_no_match(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/tracks/search", params={"year": 1800})
    assert resp.status_code == 200
    assert resp.json() == []


@pytest.mark.original_bug(UNAWAITED)
async def test_read_tracks_paginated(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/tracks/", params={"skip": 10, "limit": 5})
    assert resp.status_code == 200
    assert resp.json() == [track_json(t) for t in rows("tracks")[10:15]]


@pytest.mark.original_bug(UNAWAITED)
async def test_read_track_with_tags(client: httpx.AsyncClient) -> None:
    track = next(t for t in rows("tracks") if tags_of(t["id"], "genre_tags") and tags_of(t["id"], "mood_tags"))
    resp = await client.get(f"/api/tracks/{track['id']}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["title"] == track["title"]
    assert body["genre_tags"] == tags_of(track["id"], "genre_tags")
    assert body["mood_tags"] == tags_of(track["id"], "mood_tags")


@pytest.mark.original_bug(UNAWAITED)
async def test_read_track_missing(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/tracks/999999")
    assert resp.status_code == 404


@pytest.mark.original_bug(UNAWAITED)
async def test_create_track(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/tracks/", json=_new_track("/music/new/fresh.flac"))
    assert resp.status_code == 201
    body = resp.json()
    assert body["id"] == len(rows("tracks")) + 1
    assert body["title"] == "Fresh Cut"
    count = await client.get("/api/tracks/count")
    assert count.json() == {"count": len(rows("tracks")) + 1}


@pytest.mark.original_bug(UNAWAITED)
async def test_batch_creates_and_updates(client: httpx.AsyncClient) -> None:
    existing = rows("tracks")[0]
    batch = [
        _new_track("/music/batch/a.flac", "Batch A"),
        {
            **_new_track(existing["path"], "Renamed First"),
            "album_id": existing["album_id"],
            "track_artist_id": existing["track_artist_id"],
        },
        _new_track("/music/batch/b.flac", "Batch B", artist_id=2, album_id=None),
    ]
    resp = await client.post("/api/tracks/batch", json=batch)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["created"], body["updated"]) == (2, 1)
    assert [t["path"] for t in body["tracks"]] == [b["path"] for b in batch]
    assert body["tracks"][1]["id"] == existing["id"]
    assert body["tracks"][1]["title"] == "Renamed First"
    search = await client.get("/api/tracks/search", params={"title": "Batch"})
    assert [t["title"] for t in search.json()] == ["Batch A", "Batch B"]


async def test_batch_empty_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/tracks/batch", json=[])
    assert resp.status_code == 400


@pytest.mark.original_bug(UNAWAITED)
async def test_update_track(client: httpx.AsyncClient) -> None:
    resp = await client.put("/api/tracks/7", json={"title": "Edited", "year": 1999})
    assert resp.status_code == 200
    assert resp.json() == {**track_json(by_id("tracks", 7)), "title": "Edited", "year": 1999}
    missing = await client.put("/api/tracks/999999", json={"title": "Nope"})
    assert missing.status_code == 404


@pytest.mark.original_bug(UNAWAITED)
async def test_update_track_tags(client: httpx.AsyncClient) -> None:
    resp = await client.put(
        "/api/tracks/3/tags", json={"genre_tags": ["Shoegaze", "brand new"], "mood_tags": ["calm", "Calm"]}
    )
    assert resp.status_code == 200
    assert resp.json()["genre_tags"] == ["brand new", "shoegaze"]
    assert resp.json()["mood_tags"] == ["calm"]
    tags = await client.get("/api/tags/genre-tags")
    assert len(tags.json()) == len(rows("genre_tags")) + 1


@pytest.mark.original_bug(UNAWAITED)
async def test_update_track_features(client: httpx.AsyncClient) -> None:
    resp = await client.put("/api/tracks/11/features", json={"bpm": 128.0, "key": "F#", "danceability": 0.9})
    assert resp.status_code == 200
    body = resp.json()
    assert (body["bpm"], body["key"], body["danceability"]) == (128.0, "F#", 0.9)
    assert body["title"] == by_id("tracks", 11)["title"]
    missing = await client.put("/api/tracks/999999/features", json={"bpm": 1.0})
    assert missing.status_code == 404


@pytest.mark.original_bug(UNAWAITED + " (a coroutine is truthy: DELETE answers 204 and deletes nothing)")
async def test_delete_track(client: httpx.AsyncClient) -> None:
    resp = await client.delete("/api/tracks/12")
    assert resp.status_code == 204
    count = await client.get("/api/tracks/count")
    assert count.json() == {"count": len(rows("tracks")) - 1}
    again = await client.delete("/api/tracks/12")
    assert again.status_code == 404


@pytest.mark.original_bug(UNAWAITED)
async def test_read_artist_tracks(client: httpx.AsyncClient) -> None:
    artist_id = 6  # has a single without album: checks the NULLS LAST ordering
    resp = await client.get(f"/api/tracks/artists/{artist_id}")
    assert resp.status_code == 200
    assert [t["id"] for t in resp.json()] == [t["id"] for t in artist_tracks(artist_id)]
    assert resp.json()[-1]["album_id"] is None


@pytest.mark.original_bug(UNAWAITED)
async def test_read_artist_tracks_by_album(client: httpx.AsyncClient) -> None:
    album = rows("albums")[5]
    resp = await client.get(f"/api/tracks/artists/{album['album_artist_id']}/albums/{album['id']}")
    assert resp.status_code == 200
    expected = artist_tracks(album["album_artist_id"], album["id"])
    assert [t["track_number"] for t in resp.json()] == [t["track_number"] for t in expected]
    assert [t["id"] for t in resp.json()] == [t["id"] for t in expected]
