"""/api/artists: half migrated router (async endpoints on the async service, the rest on a sync Session)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_name, artist_tracks, artist_with_similar, by_id, rows, similar_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _artist_json(a: dict) -> dict:
    keys = ("id", "name", "musicbrainz_artistid", "bio", "lastfm_url", "lastfm_listeners")
    return {k: a[k] for k in keys}


async def test_search_artists(client: httpx.AsyncClient) -> None:
    word = rows("artists")[0]["name"].split()[1]
    resp = await client.get("/api/artists/search", params={"name": word.lower()})
    assert resp.status_code == 200
    expected = sorted((a for a in rows("artists") if word in a["name"]), key=lambda a: (a["name"], a["id"]))
    assert resp.json() == [_artist_json(a) for a in expected]
    empty = await client.get("/api/artists/search", params={"name": "zzzz-nobody"})
    assert empty.json() == []


async def test_read_artists_ordered_and_paginated(client: httpx.AsyncClient) -> None:
    ordered = sorted(rows("artists"), key=lambda a: (a["name"], a["id"]))
    resp = await client.get("/api/artists/", params={"skip": 3, "limit": 4})
    assert resp.status_code == 200
    assert resp.json() == [_artist_json(a) for a in ordered[3:7]]
    prefix = ordered[0]["name"][:2]
    filtered = await client.get("/api/artists/", params={"name_prefix": prefix})
    assert [a["name"] for a in filtered.json()] == [a["name"] for a in ordered if a["name"].startswith(prefix)]


async def test_artists_count(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/artists/count")
    assert resp.json() == {"count": len(rows("artists"))}


async def test_read_artist_with_stats(client: httpx.AsyncClient) -> None:
    artist = rows("artists")[4]
    resp = await client.get(f"/api/artists/{artist['id']}")
    assert resp.status_code == 200
    assert resp.json() == {
        **_artist_json(artist),
        "album_count": sum(1 for a in rows("albums") if a["album_artist_id"] == artist["id"]),
        "track_count": sum(1 for t in rows("tracks") if t["track_artist_id"] == artist["id"]),
    }
    assert (await client.get("/api/artists/999999")).status_code == 404


async def test_create_artist_and_conflict(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/artists/", json={"name": "Brand New Band"})
    assert resp.status_code == 201
    assert resp.json()["id"] == len(rows("artists")) + 1
    dup = await client.post("/api/artists/", json={"name": "Brand New Band"})
    assert dup.status_code == 409
    count = await client.get("/api/artists/count")
    assert count.json() == {"count": len(rows("artists")) + 1}


async def test_create_artists_batch(client: httpx.AsyncClient) -> None:
    existing = rows("artists")[2]["name"]
    resp = await client.post(
        "/api/artists/batch", json=[{"name": "Batch One"}, {"name": existing}, {"name": "Batch Two"}]
    )
    assert resp.status_code == 201
    body = resp.json()
    assert [a["name"] for a in body] == ["Batch One", existing, "Batch Two"]
    assert body[1]["id"] == rows("artists")[2]["id"]
    assert {body[0]["id"], body[2]["id"]} == {len(rows("artists")) + 1, len(rows("artists")) + 2}


async def test_update_artist(client: httpx.AsyncClient) -> None:
    resp = await client.put("/api/artists/3", json={"bio": "New bio"})
    assert resp.status_code == 200
    assert resp.json() == {**_artist_json(by_id("artists", 3)), "bio": "New bio"}
    clash = await client.put("/api/artists/3", json={"name": artist_name(4)})
    assert clash.status_code == 409
    assert (await client.put("/api/artists/999999", json={"bio": "x"})).status_code == 404


async def test_delete_artist_cascades(client: httpx.AsyncClient) -> None:
    artist_id = 2
    resp = await client.delete(f"/api/artists/{artist_id}")
    assert resp.status_code == 204
    assert (await client.get(f"/api/artists/{artist_id}")).status_code == 404
    count = await client.get("/api/artists/count")
    assert count.json() == {"count": len(rows("artists")) - 1}
    albums = await client.get("/api/albums/", params={"limit": 500})
    assert len(albums.json()) == sum(1 for a in rows("albums") if a["album_artist_id"] != artist_id)
    assert (await client.delete(f"/api/artists/{artist_id}")).status_code == 404


@pytest.mark.original_bug("artists_api.read_artist_tracks calls TrackService without await")
async def test_read_artist_tracks(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/artists/12/tracks", params={"limit": 3})
    assert resp.status_code == 200
    assert [t["id"] for t in resp.json()] == [t["id"] for t in artist_tracks(12)[:3]]


async def test_get_similar_artists(client: httpx.AsyncClient) -> None:
    artist_id = artist_with_similar()
    resp = await client.get(f"/api/artists/{artist_id}/similar")
    assert resp.status_code == 200
    expected = sorted(similar_of(artist_id), key=lambda e: (-e["weight"], e["similar_artist_id"]))
    assert resp.json() == [
        {
            "id": e["similar_artist_id"],
            "name": artist_name(e["similar_artist_id"]),
            "weight": e["weight"],
            "source": "lastfm",
            "album_count": None,
        }
        for e in expected
    ]
    assert (await client.get("/api/artists/999999/similar")).status_code == 404


@pytest.mark.trap("Artist.album_count is a @property doing I/O through object_session()")
async def test_get_similar_artists_with_stats(client: httpx.AsyncClient) -> None:
    artist_id = artist_with_similar()
    resp = await client.get(f"/api/artists/{artist_id}/similar", params={"include_stats": "true"})
    assert resp.status_code == 200
    for item in resp.json():
        assert item["album_count"] == sum(1 for a in rows("albums") if a["album_artist_id"] == item["id"])


async def test_similar_relationships_crud(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/artists/similar", params={"skip": 40, "limit": 5})
    assert page.status_code == 200
    assert page.json()["total"] == len(rows("artist_similar"))
    assert [r["id"] for r in page.json()["items"]] == [r["id"] for r in rows("artist_similar")[40:45]]

    pairs = {(e["artist_id"], e["similar_artist_id"]) for e in rows("artist_similar")}
    a, b = next((a, b) for a in range(1, 25) for b in range(1, 25) if a != b and (a, b) not in pairs)
    created = await client.post("/api/artists/similar", json={"artist_id": a, "similar_artist_id": b, "weight": 0.7})
    assert created.status_code == 201
    relation = created.json()
    assert relation["id"] == len(rows("artist_similar")) + 1
    dup = await client.post("/api/artists/similar", json={"artist_id": a, "similar_artist_id": b})
    assert dup.status_code == 409
    missing = await client.post("/api/artists/similar", json={"artist_id": a, "similar_artist_id": 999999})
    assert missing.status_code == 404

    updated = await client.put(f"/api/artists/similar/{relation['id']}", json={"weight": 0.25})
    assert updated.json()["weight"] == 0.25
    assert (await client.put("/api/artists/similar/999999", json={"weight": 0.1})).status_code == 404
    assert (await client.delete(f"/api/artists/similar/{relation['id']}")).status_code == 204
    assert (await client.delete(f"/api/artists/similar/{relation['id']}")).status_code == 404


async def test_search_similar_artists_by_name(client: httpx.AsyncClient) -> None:
    artist_id = artist_with_similar()
    resp = await client.get("/api/artists/similar/search", params={"name": artist_name(artist_id).upper()})
    assert resp.status_code == 200
    assert [s["id"] for s in resp.json()] == [e["similar_artist_id"] for e in similar_of(artist_id)]
    unknown = await client.get("/api/artists/similar/search", params={"name": "Nobody"})
    assert unknown.json() == []


async def test_update_artist_similar_replaces_list(client: httpx.AsyncClient) -> None:
    artist_id = artist_with_similar()
    names = [artist_name(9), artist_name(artist_id), "Unknown Artist", artist_name(10)]
    resp = await client.put(f"/api/artists/{artist_id}/similar", json={"similar": [[n, 0.5] for n in names]})
    assert resp.status_code == 200
    assert resp.json() == {"artist_id": artist_id, "stored": 2 if artist_id not in (9, 10) else 1}
    similar = await client.get(f"/api/artists/{artist_id}/similar")
    assert {s["name"] for s in similar.json()} == {artist_name(i) for i in (9, 10) if i != artist_id}
    assert {s["source"] for s in similar.json()} == {"manual"}


async def test_lastfm_endpoints(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LASTFM_API_KEY", raising=False)
    assert (await client.get("/api/artists/1/lastfm-info")).status_code == 503
    assert (await client.get("/api/artists/1/lastfm-similar")).status_code == 503
    assert (await client.get("/api/artists/999999/lastfm-info")).status_code == 404
    resp = await client.put("/api/artists/1/lastfm-info", json={"lastfm_listeners": 42, "bio": "From Last.fm"})
    assert resp.status_code == 200
    assert (resp.json()["lastfm_listeners"], resp.json()["bio"]) == (42, "From Last.fm")
    assert resp.json()["lastfm_url"] == by_id("artists", 1)["lastfm_url"]
