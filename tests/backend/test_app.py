"""Application-level behaviour: health, startup (lifespan), routes mounted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from backend_expect import rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_health(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


async def test_openapi_lists_every_router(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    prefixes = {"/api/" + p.split("/")[2] for p in paths}
    assert prefixes == {
        "/api/tracks",
        "/api/artists",
        "/api/albums",
        "/api/covers",
        "/api/genres",
        "/api/tags",
        "/api/scan",
        "/api/search",
        "/api/playqueue",
        "/api/settings",
        "/api/artist-embeddings",
        "/api/artist-similar",
        "/api/health",
    }


async def test_lifespan_creates_missing_default_settings(client: httpx.AsyncClient, backend: Any) -> None:
    backend.mark_dirty()
    async with backend.app.router.lifespan_context(backend.app):
        resp = await client.get("/api/settings/")
    keys = [s["key"] for s in resp.json()]
    assert keys == sorted(
        {s["key"] for s in rows("settings")}
        | {"music_path_template", "artist_folder_pattern", "scan_batch_size", "cover_preferred_size"}
    )
    seeded = next(s for s in resp.json() if s["key"] == "scan_batch_size")
    assert seeded["value"] == "250"  # existing settings are left alone
