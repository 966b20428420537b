"""The FastAPI application: `uvicorn backend.api.main:app` from the project root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.api.routers import (
    albums_api,
    artist_embeddings_api,
    artist_similar_api,
    artists_api,
    covers_api,
    genres_api,
    playqueue_api,
    scan_api,
    search_api,
    settings_api,
    tags_api,
    tracks_api,
)
from backend.api.services.settings_service import SettingsService
from backend.api.utils.database import SessionLocal, init_db
from backend.api.utils.errors import install_database_error_handlers
from backend.api.utils.logging import logger


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    init_db()
    with SessionLocal() as db:
        await SettingsService(db).ensure_default_settings()
    logger.info("SoniqueBay API ready")
    yield


app = FastAPI(title="SoniqueBay API", version="0.9.0", lifespan=lifespan)
install_database_error_handlers(app)

for _router in (
    tracks_api.router,
    artists_api.router,
    albums_api.router,
    covers_api.router,
    genres_api.router,
    tags_api.router,
    scan_api.router,
    search_api.router,
    playqueue_api.router,
    settings_api.router,
    artist_embeddings_api.router,
    artist_similar_api.router,
):
    app.include_router(_router)


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
