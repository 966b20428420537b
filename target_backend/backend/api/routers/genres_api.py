"""Genres endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from backend.api.models.genres_model import Genre as GenreModel
from backend.api.schemas.genres_schema import Genre, GenreCreate, GenreStats, GenreUpdate
from backend.api.services.genres_service import GenresService
from backend.api.utils.database import DbSession

router = APIRouter(prefix="/api/genres", tags=["genres"])


def _genre_stats(genre: GenreModel) -> dict[str, Any]:
    """Detail card of a genre: its tracks and the artists playing it."""
    tracks = genre.tracks
    artists = sorted({track.artist.name for track in tracks})
    return {"id": genre.id, "name": genre.name, "track_count": len(tracks), "artists": artists}


@router.get("/search", response_model=list[Genre])
def search_genres(
    db: DbSession, name: str | None = None, skip: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200)
) -> Any:
    return GenresService(db).search_genres(name, skip=skip, limit=limit)


@router.post("/", response_model=Genre, status_code=status.HTTP_201_CREATED)
def create_genre(genre: GenreCreate, db: DbSession) -> Any:
    try:
        return GenresService(db).create_genre(genre)
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/", response_model=list[Genre])
def read_genres(db: DbSession, skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500)) -> Any:
    return GenresService(db).read_genres(skip=skip, limit=limit)


@router.get("/{genre_id}", response_model=GenreStats | Genre)
def read_genre(genre_id: int, db: DbSession, with_stats: bool = False) -> Any:
    genre = GenresService(db).read_genre(genre_id)
    if genre is None:
        raise HTTPException(status_code=404, detail="Genre not found")
    if with_stats:
        return _genre_stats(genre)
    return Genre.model_validate(genre)


@router.get("/{genre_id}/count")
def count_genre_tracks(genre_id: int, db: DbSession) -> dict[str, int]:
    service = GenresService(db)
    if service.read_genre(genre_id) is None:
        raise HTTPException(status_code=404, detail="Genre not found")
    return {"genre_id": genre_id, "track_count": service.count_genre_tracks(genre_id)}


@router.put("/{genre_id}", response_model=Genre)
def update_genre(genre_id: int, genre: GenreUpdate, db: DbSession) -> Any:
    updated = GenresService(db).update_genre(genre_id, genre)
    if updated is None:
        raise HTTPException(status_code=404, detail="Genre not found")
    return updated


@router.delete("/{genre_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_genre(genre_id: int, db: DbSession) -> None:
    if not GenresService(db).delete_genre(genre_id):
        raise HTTPException(status_code=404, detail="Genre not found")
