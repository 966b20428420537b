"""/api/scan: a real scan of tiny tagged audio files (sync in the original)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from backend_expect import rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_scan_creates_library_entries(client: httpx.AsyncClient, audio_dir: Path) -> None:
    resp = await client.post("/api/scan", json={"directory": str(audio_dir)})
    assert resp.status_code == 201
    session = resp.json()
    assert session["id"] == len(rows("scan_sessions")) + 1
    assert session["status"] == "completed"
    assert session["directory"] == str(audio_dir.resolve())
    assert (session["files_found"], session["tracks_created"], session["tracks_updated"]) == (5, 4, 0)
    assert "03 Broken.flac" in session["errors"]
    assert session["finished_at"] is not None

    artists = await client.get("/api/artists/search", params={"name": "Scan Artist"})
    assert [a["name"] for a in artists.json()] == ["Scan Artist One", "Scan Artist Two"]
    assert [a["id"] for a in artists.json()] == [len(rows("artists")) + 1, len(rows("artists")) + 2]

    albums = await client.get("/api/albums/search", params={"artist": "Scan Artist"})
    assert [(a["title"], a["release_year"]) for a in albums.json()] == [
        ("Night Tapes", 2019),
        ("Quiet Machines", 2021),
    ]

    tracks = await client.get("/api/tracks/search", params={"artist": "Scan Artist"})
    assert [(t["title"], t["track_number"], t["duration"], t["file_type"], t["genre"]) for t in tracks.json()] == [
        ("First Light", 1, 2, "flac", "Ambient"),
        ("Second Wind", 2, 2, "flac", "Ambient"),
        ("Late Bus", 1, 2, "ogg", "Lo-Fi"),
        ("Rooftops", 2, 2, "ogg", "Jazz"),
    ]
    assert all(t["path"].startswith(str(audio_dir.resolve())) for t in tracks.json())

    genres = await client.get("/api/genres/search", params={"name": "lo-fi"})
    assert [g["name"] for g in genres.json()] == ["Lo-Fi"]
    assert len((await client.get("/api/genres/", params={"limit": 500})).json()) == len(rows("genres")) + 1

    quiet = next(a for a in albums.json() if a["title"] == "Quiet Machines")
    cover = await client.get(f"/api/covers/album/{quiet['id']}")
    assert cover.status_code == 200
    assert cover.json()["mime_type"] == "image/png"
    assert cover.json()["cover_data"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    night = next(a for a in albums.json() if a["title"] == "Night Tapes")
    assert (await client.get(f"/api/covers/album/{night['id']}")).status_code == 404


async def test_rescan_updates_and_cleans_up(client: httpx.AsyncClient, audio_dir: Path) -> None:
    first = await client.post("/api/scan", json={"directory": str(audio_dir)})
    assert first.json()["tracks_created"] == 4
    (audio_dir / "Scan Artist Two" / "Night Tapes" / "02 Rooftops.ogg").unlink()
    second = await client.post("/api/scan", json={"directory": str(audio_dir), "cleanup_missing": True})
    assert (
        second.json()["files_found"],
        second.json()["tracks_created"],
        second.json()["tracks_updated"],
    ) == (4, 0, 3)
    tracks = await client.get("/api/tracks/search", params={"artist": "Scan Artist"})
    assert [t["title"] for t in tracks.json()] == ["First Light", "Second Wind", "Late Bus"]
    artists = await client.get("/api/artists/count")
    assert artists.json() == {"count": len(rows("artists")) + 2}

    sessions = await client.get("/api/scan/sessions")
    assert [s["id"] for s in sessions.json()] == [3, 2, 1]
    page = await client.get("/api/scan/sessions", params={"skip": 1, "limit": 1})
    assert [s["id"] for s in page.json()] == [2]


async def test_scan_rejects_bad_directories(
    client: httpx.AsyncClient, audio_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = await client.post("/api/scan", json={"directory": str(tmp_path / "nope")})
    assert missing.status_code == 400
    monkeypatch.setenv("MUSIC_BASE_DIR", str(tmp_path / "elsewhere"))
    outside = await client.post("/api/scan", json={"directory": str(audio_dir)})
    assert outside.status_code == 400
    assert "outside the music library" in outside.json()["detail"]
    sessions = await client.get("/api/scan/sessions")
    assert [s["id"] for s in sessions.json()] == [1]


async def test_scan_maps_host_paths(
    client: httpx.AsyncClient, audio_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSIC_HOST_ROOT", "/host/music")
    monkeypatch.setenv("MUSIC_DOCKER_ROOT", str(audio_dir))
    resp = await client.post("/api/scan", json={"directory": "/host/music/Scan Artist One"})
    assert resp.status_code == 201
    assert resp.json()["directory"] == str((audio_dir / "Scan Artist One").resolve())
    assert resp.json()["tracks_created"] == 2


async def test_read_scan_session(client: httpx.AsyncClient) -> None:
    seeded = rows("scan_sessions")[0]
    resp = await client.get("/api/scan/sessions/1")
    assert resp.status_code == 200
    body = resp.json()
    assert (body["directory"], body["status"], body["files_found"]) == (
        seeded["directory"],
        seeded["status"],
        seeded["files_found"],
    )
    assert body["started_at"] == seeded["started_at"].isoformat()
    assert (await client.get("/api/scan/sessions/999")).status_code == 404
