"""Tracks endpoints. Already `async def`, but the service calls are not awaited yet (see the migration plan)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session

from backend.api.schemas.tracks_schema import (
    Track,
    TrackBatchResult,
    TrackCreate,
    TrackFeatures,
    TrackTags,
    TrackUpdate,
    TrackWithTags,
)
from backend.api.services.track_service import TrackService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/tracks", tags=["tracks"])


def _with_tags(track: Any) -> dict[str, Any]:
    data = Track.model_validate(track).model_dump()
    data["genre_tags"] = sorted(t.name for t in track.genre_tags)
    data["mood_tags"] = sorted(t.name for t in track.mood_tags)
    return data


@router.get("/count")
async def get_tracks_count(db: Session = Depends(get_db)) -> dict[str, int]:
    service = TrackService(db)
    count = service.get_tracks_count()
    return {"count": count}


@router.get("/search", response_model=list[Track])
async def search_tracks(
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    genre: str | None = None,
    year: int | None = None,
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    db: Session = Depends(get_db),
) -> Any:
    service = TrackService(db)
    return service.search_tracks(title=title, artist=artist, album=album, genre=genre, year=year, skip=skip, limit=limit)


@router.post("/batch", response_model=TrackBatchResult)
async def create_or_update_tracks_batch(tracks: list[TrackCreate], db: Session = Depends(get_db)) -> Any:
    if not tracks:
        raise HTTPException(status_code=400, detail="Empty batch")
    service = TrackService(db)
    return service.create_or_update_tracks_batch(tracks)


@router.post("/", response_model=Track, status_code=status.HTTP_201_CREATED)
async def create_track(track: TrackCreate, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    return service.create_track(track)


@router.get("/", response_model=list[Track])
async def read_tracks(
    skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500), db: Session = Depends(get_db)
) -> Any:
    service = TrackService(db)
    return service.read_tracks(skip=skip, limit=limit)


@router.get("/artists/{artist_id}/albums/{album_id}", response_model=list[Track])
async def read_artist_tracks_by_album(artist_id: int, album_id: int, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    return service.get_artist_tracks(artist_id, album_id=album_id)


@router.get("/artists/{artist_id}", response_model=list[Track])
async def read_artist_tracks(
    artist_id: int,
    skip: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    db: Session = Depends(get_db),
) -> Any:
    service = TrackService(db)
    return service.get_artist_tracks(artist_id, skip=skip, limit=limit)


@router.get("/{track_id}", response_model=TrackWithTags)
async def read_track(track_id: int, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    track = service.read_track(track_id)
    if track is None:
        raise HTTPException(status_code=404, detail="Track not found")
    return _with_tags(track)


@router.put("/{track_id}", response_model=Track)
async def update_track(track_id: int, track: TrackUpdate, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    updated = service.update_track(track_id, track.model_dump(exclude_unset=True))
    if updated is None:
        raise HTTPException(status_code=404, detail="Track not found")
    return updated


@router.put("/{track_id}/tags", response_model=TrackWithTags)
async def update_track_tags(track_id: int, tags: TrackTags, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    track = service.update_track_tags(track_id, tags)
    if track is None:
        raise HTTPException(status_code=404, detail="Track not found")
    return _with_tags(track)


@router.put("/{track_id}/features", response_model=Track)
async def update_track_features(track_id: int, features: TrackFeatures, db: Session = Depends(get_db)) -> Any:
    service = TrackService(db)
    track = service.read_track(track_id)
    if track is None:
        raise HTTPException(status_code=404, detail="Track not found")
    return service.update_track(track_id, features.model_dump(exclude_unset=True))


@router.delete("/{track_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_track(track_id: int, db: Session = Depends(get_db)) -> None:
    service = TrackService(db)
    if not service.delete_track(track_id):
        raise HTTPException(status_code=404, detail="Track not found")
