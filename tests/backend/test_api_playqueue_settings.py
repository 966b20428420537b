"""/api/playqueue and /api/settings (sync in the original)."""

from __future__ import annotations

import httpx
import pytest
from backend_expect import artist_name, by_id, rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _queue(track_ids: list[int]) -> dict:
    tracks = [
        {
            "position": i,
            "track_id": tid,
            "title": by_id("tracks", tid)["title"],
            "artist_name": artist_name(by_id("tracks", tid)["track_artist_id"]),
            "duration": by_id("tracks", tid)["duration"],
        }
        for i, tid in enumerate(track_ids)
    ]
    return {"tracks": tracks, "total": len(tracks), "total_duration": sum(t["duration"] for t in tracks)}


SEED_QUEUE = [e["track_id"] for e in sorted(rows("play_queue"), key=lambda e: e["position"])]


async def test_get_queue(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/playqueue")
    assert resp.status_code == 200
    assert resp.json() == _queue(SEED_QUEUE)


async def test_add_tracks(client: httpx.AsyncClient) -> None:
    appended = await client.post("/api/playqueue/tracks", json={"track_id": 8})
    assert appended.json() == _queue([*SEED_QUEUE, 8])
    inserted = await client.post("/api/playqueue/tracks", json={"track_id": 9, "position": 1})
    assert inserted.json() == _queue([SEED_QUEUE[0], 9, *SEED_QUEUE[1:], 8])
    beyond = await client.post("/api/playqueue/tracks", json={"track_id": 10, "position": 99})
    assert beyond.json()["tracks"][-1] == {**_queue([10])["tracks"][0], "position": 7}
    assert (await client.post("/api/playqueue/tracks", json={"track_id": 999999})).status_code == 404


async def test_remove_and_move(client: httpx.AsyncClient) -> None:
    removed = await client.delete("/api/playqueue/tracks/1")
    remaining = [SEED_QUEUE[0], *SEED_QUEUE[2:]]
    assert removed.json() == _queue(remaining)
    assert (await client.delete("/api/playqueue/tracks/10")).status_code == 404

    moved = await client.post("/api/playqueue/move", json={"from_position": 0, "to_position": 3})
    assert moved.json() == _queue([*remaining[1:4], remaining[0]])
    out_of_range = await client.post("/api/playqueue/move", json={"from_position": 0, "to_position": 9})
    assert out_of_range.status_code == 400


async def test_clear_queue(client: httpx.AsyncClient) -> None:
    resp = await client.delete("/api/playqueue")
    assert resp.json() == {"deleted": len(SEED_QUEUE)}
    assert (await client.get("/api/playqueue")).json() == {"tracks": [], "total": 0, "total_duration": 0}
    assert (await client.delete("/api/playqueue")).json() == {"deleted": 0}


def _setting_json(s: dict) -> dict:
    return {k: s[k] for k in ("id", "key", "value", "description")}


async def test_read_settings(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/settings/")
    assert resp.json() == [_setting_json(s) for s in sorted(rows("settings"), key=lambda s: s["key"])]
    one = await client.get("/api/settings/ui_theme")
    assert one.json() == _setting_json(next(s for s in rows("settings") if s["key"] == "ui_theme"))
    assert (await client.get("/api/settings/nope")).status_code == 404


async def test_path_variables_and_template_validation(client: httpx.AsyncClient) -> None:
    variables = await client.get("/api/settings/path-variables")
    assert variables.json() == {
        "variables": ["album", "album_artist", "disc", "genre", "library", "title", "track_number", "year"]
    }
    ok = await client.post("/api/settings/validate-template", params={"template": "{library}/{album}/{title}"})
    assert ok.json() == {"template": "{library}/{album}/{title}", "valid": True, "unknown_variables": []}
    bad = await client.post("/api/settings/validate-template", params={"template": "{library}/{mood}/{bpm}"})
    assert bad.json()["valid"] is False
    assert bad.json()["unknown_variables"] == ["bpm", "mood"]


async def test_create_and_update_settings(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/settings/", json={"key": "language", "value": "fr"})
    assert created.status_code == 201
    assert created.json() == {
        "id": len(rows("settings")) + 1,
        "key": "language",
        "value": "fr",
        "description": None,
    }
    assert (await client.post("/api/settings/", json={"key": "language", "value": "en"})).status_code == 400
    bad_template = await client.post("/api/settings/", json={"key": "cover_template", "value": "{nope}"})
    assert bad_template.status_code == 400

    updated = await client.put("/api/settings/language", json={"value": "en"})
    assert updated.json()["value"] == "en"
    template = await client.put("/api/settings/music_path_template", json={"value": "{library}/{oops}"})
    assert template.status_code == 400
    assert (await client.put("/api/settings/missing", json={"value": "x"})).status_code == 404
    listing = await client.get("/api/settings/")
    assert [s["key"] for s in listing.json()] == sorted([s["key"] for s in rows("settings")] + ["language"])
