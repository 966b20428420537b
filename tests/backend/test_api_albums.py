"""/api/albums: half migrated router."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_name, by_id, rows, track_json

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _album_json(a: dict) -> dict:
    return {k: a[k] for k in ("id", "title", "album_artist_id", "release_year", "musicbrainz_albumid")}


async def test_search_albums(client: httpx.AsyncClient) -> None:
    word = rows("albums")[0]["title"].split()[1]
    resp = await client.get("/api/albums/search", params={"title": word})
    assert resp.status_code == 200
    expected = sorted(
        (a for a in rows("albums") if word.lower() in a["title"].lower()), key=lambda a: (a["title"], a["id"])
    )
    assert resp.json() == [_album_json(a) for a in expected]

    artist = by_id("artists", rows("albums")[0]["album_artist_id"])
    by_artist = await client.get("/api/albums/search", params={"artist": artist["name"]})
    expected_ids = sorted(
        (a for a in rows("albums") if artist["name"].lower() in artist_name(a["album_artist_id"]).lower()),
        key=lambda a: (a["title"], a["id"]),
    )
    assert [a["id"] for a in by_artist.json()] == [a["id"] for a in expected_ids]


async def test_read_albums(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/albums/", params={"skip": 5, "limit": 10})
    assert resp.json() == [_album_json(a) for a in rows("albums")[5:15]]
    year = rows("albums")[0]["release_year"]
    by_year = await client.get("/api/albums/", params={"year": year})
    assert [a["id"] for a in by_year.json()] == [a["id"] for a in rows("albums") if a["release_year"] == year]


async def test_read_album(client: httpx.AsyncClient) -> None:
    album = rows("albums")[9]
    resp = await client.get(f"/api/albums/{album['id']}")
    assert resp.status_code == 200
    assert resp.json() == {
        **_album_json(album),
        "artist_name": artist_name(album["album_artist_id"]),
        "track_count": sum(1 for t in rows("tracks") if t["album_id"] == album["id"]),
    }
    assert (await client.get("/api/albums/999999")).status_code == 404


async def test_read_artist_albums(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/albums/artists/5")
    expected = sorted(
        (a for a in rows("albums") if a["album_artist_id"] == 5), key=lambda a: (a["release_year"], a["id"])
    )
    assert resp.json() == [_album_json(a) for a in expected]
    assert (await client.get("/api/albums/artists/999999")).status_code == 404


async def test_read_album_tracks(client: httpx.AsyncClient) -> None:
    album = rows("albums")[20]
    resp = await client.get(f"/api/albums/{album['id']}/tracks")
    expected = sorted(
        (t for t in rows("tracks") if t["album_id"] == album["id"]),
        key=lambda t: (t["disc_number"], t["track_number"], t["id"]),
    )
    assert resp.json() == [track_json(t) for t in expected]
    assert (await client.get("/api/albums/999999/tracks")).status_code == 404


async def test_create_album_and_batch(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/albums/", json={"title": "Debut", "album_artist_id": 1, "release_year": 2025})
    assert resp.status_code == 201
    assert resp.json()["id"] == len(rows("albums")) + 1
    assert (await client.post("/api/albums/", json={"title": "X", "album_artist_id": 999999})).status_code == 404

    existing = rows("albums")[0]
    batch = await client.post(
        "/api/albums/batch",
        json=[
            {"title": existing["title"], "album_artist_id": existing["album_artist_id"]},
            {"title": "Second Record", "album_artist_id": 2},
            {"title": "Second Record", "album_artist_id": 2},
        ],
    )
    assert batch.status_code == 201
    ids = [a["id"] for a in batch.json()]
    assert ids == [existing["id"], len(rows("albums")) + 2, len(rows("albums")) + 2]


async def test_update_album(client: httpx.AsyncClient) -> None:
    resp = await client.put("/api/albums/4", json={"title": "Remastered", "release_year": 2020})
    assert resp.json() == {**_album_json(by_id("albums", 4)), "title": "Remastered", "release_year": 2020}
    assert (await client.put("/api/albums/999999", json={"title": "x"})).status_code == 404


async def test_delete_album_keeps_tracks(client: httpx.AsyncClient) -> None:
    album_id = 8
    tracks = [t for t in rows("tracks") if t["album_id"] == album_id]
    assert (await client.delete(f"/api/albums/{album_id}")).status_code == 204
    assert (await client.get(f"/api/albums/{album_id}")).status_code == 404
    assert (await client.delete(f"/api/albums/{album_id}")).status_code == 404
    found = await client.get("/api/tracks/search", params={"title": tracks[0]["title"], "limit": 500})
    assert tracks[0]["id"] in [t["id"] for t in found.json()]
    assert next(t for t in found.json() if t["id"] == tracks[0]["id"])["album_id"] is None
