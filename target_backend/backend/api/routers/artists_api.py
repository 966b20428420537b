"""Artists endpoints: half migrated (the `async def` ones use the async service, the rest is still sync)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.api.models.artists_model import Artist as ArtistModel
from backend.api.schemas.artist_similar_schema import (
    ArtistSimilar,
    ArtistSimilarCreate,
    ArtistSimilarPage,
    SimilarArtistDetail,
)
from backend.api.schemas.artist_similar_schema import ArtistSimilarUpdate as RelationWeightUpdate
from backend.api.schemas.artists_schema import (
    Artist,
    ArtistCreate,
    ArtistLastfmInfo,
    ArtistSimilarUpdate,
    ArtistUpdate,
    ArtistWithStats,
)
from backend.api.schemas.tracks_schema import Track
from backend.api.services.artist_service import ArtistService
from backend.api.services.artist_similar_service import ArtistSimilarService
from backend.api.services.track_service import TrackService
from backend.api.utils.database import DbSession, get_async_db, get_db
from backend.api.utils.logging import logger

router = APIRouter(prefix="/api/artists", tags=["artists"])


def _get_artist_or_404(db: Session, artist_id: int) -> ArtistModel:
    artist = db.query(ArtistModel).filter(ArtistModel.id == artist_id).first()
    if artist is None:
        raise HTTPException(status_code=404, detail="Artist not found")
    return artist


def _lastfm_configured() -> None:
    if not os.getenv("LASTFM_API_KEY"):
        raise HTTPException(status_code=503, detail="Last.fm integration is not configured")


@router.get("/search", response_model=list[Artist])
async def search_artists(
    name: str = Query(..., min_length=1),
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=200),
    db: AsyncSession = Depends(get_async_db),
) -> Any:
    service = ArtistService(db)
    return await service.search_artists(name, skip=skip, limit=limit)


@router.post("/batch", response_model=list[Artist], status_code=status.HTTP_201_CREATED)
def create_artists_batch(artists: list[ArtistCreate], db: DbSession) -> Any:
    names = list(dict.fromkeys(a.name for a in artists))
    existing = {a.name: a for a in db.query(ArtistModel).filter(ArtistModel.name.in_(names)).all()}
    new_artists = []
    for data in artists:
        if data.name not in existing:
            artist = ArtistModel(**data.model_dump())
            existing[data.name] = artist
            new_artists.append(artist)
    db.add_all(new_artists)
    db.commit()
    result = [existing[name] for name in names]
    for artist in result:
        db.refresh(artist)
    logger.info("Artists batch: %d created, %d existing", len(new_artists), len(result) - len(new_artists))
    return result


@router.post("/", response_model=Artist, status_code=status.HTTP_201_CREATED)
def create_artist(artist: ArtistCreate, db: Session = Depends(get_db)) -> Any:
    if db.query(ArtistModel).filter(ArtistModel.name == artist.name).first() is not None:
        raise HTTPException(status_code=409, detail="Artist already exists")
    new_artist = ArtistModel(**artist.model_dump())
    db.add(new_artist)
    db.commit()
    db.refresh(new_artist)
    return new_artist


@router.get("/count")
def get_artists_count(db: DbSession) -> dict[str, int]:
    return {"count": db.query(ArtistModel).count()}


@router.get("/similar", response_model=ArtistSimilarPage)
def get_all_similar_relationships(
    skip: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200), db: Session = Depends(get_db)
) -> Any:
    items, total = ArtistSimilarService(db).get_all_relationships_paginated(skip=skip, limit=limit)
    return {"items": items, "total": total, "skip": skip, "limit": limit}


@router.post("/similar", response_model=ArtistSimilar, status_code=status.HTTP_201_CREATED)
def create_similar_relationship(relation: ArtistSimilarCreate, db: DbSession) -> Any:
    service = ArtistSimilarService(db)
    try:
        return service.create_similar_relationship(relation)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/similar/search", response_model=list[SimilarArtistDetail])
def search_similar_artists_by_name(name: str, db: DbSession, limit: int = Query(20, ge=1, le=100)) -> Any:
    return ArtistSimilarService(db).find_similar_artists_by_name(name, limit=limit)


@router.put("/similar/{relation_id}", response_model=ArtistSimilar)
def update_similar_relationship(relation_id: int, update: RelationWeightUpdate, db: DbSession) -> Any:
    relation = ArtistSimilarService(db).update_similar_relationship(relation_id, update.weight)
    if relation is None:
        raise HTTPException(status_code=404, detail="Relationship not found")
    return relation


@router.delete("/similar/{relation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_similar_relationship(relation_id: int, db: DbSession) -> None:
    if not ArtistSimilarService(db).delete_similar_relationship(relation_id):
        raise HTTPException(status_code=404, detail="Relationship not found")


@router.get("/", response_model=list[Artist])
def read_artists(
    skip: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    name_prefix: str | None = None,
    db: Session = Depends(get_db),
) -> Any:
    query = db.query(ArtistModel)
    if name_prefix:
        query = query.filter(ArtistModel.name.ilike(f"{name_prefix}%"))
    query = query.order_by(ArtistModel.name, ArtistModel.id)
    return query.offset(skip).limit(limit).all()


@router.get("/{artist_id}", response_model=ArtistWithStats)
async def read_artist(artist_id: int, db: AsyncSession = Depends(get_async_db)) -> Any:
    artist = await ArtistService(db).read_artist_with_stats(artist_id)
    if artist is None:
        raise HTTPException(status_code=404, detail="Artist not found")
    return artist


@router.put("/{artist_id}", response_model=Artist)
def update_artist(artist_id: int, artist: ArtistUpdate, db: DbSession) -> Any:
    db_artist = _get_artist_or_404(db, artist_id)
    values = artist.model_dump(exclude_unset=True)
    if "name" in values and values["name"] != db_artist.name:
        clash = db.query(ArtistModel).filter(ArtistModel.name == values["name"]).first()
        if clash is not None:
            raise HTTPException(status_code=409, detail="Artist name already used")
    for field, value in values.items():
        setattr(db_artist, field, value)
    db.commit()
    db.refresh(db_artist)
    return db_artist


@router.delete("/{artist_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_artist(artist_id: int, db: DbSession) -> None:
    artist = _get_artist_or_404(db, artist_id)
    db.delete(artist)
    db.commit()
    logger.info("Artist %s deleted", artist_id)


@router.get("/{artist_id}/tracks", response_model=list[Track])
async def read_artist_tracks(
    artist_id: int,
    skip: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    db: Session = Depends(get_db),
) -> Any:
    service = TrackService(db)
    return service.get_artist_tracks(artist_id, skip=skip, limit=limit)


@router.get("/{artist_id}/similar", response_model=list[SimilarArtistDetail])
async def get_similar_artists(
    artist_id: int,
    limit: int = Query(20, ge=1, le=100),
    include_stats: bool = False,
    db: Session = Depends(get_db),
) -> Any:
    _get_artist_or_404(db, artist_id)
    service = ArtistSimilarService(db)
    return service.get_similar_artists_with_details(artist_id, limit=limit, include_stats=include_stats)


@router.put("/{artist_id}/similar")
def update_artist_similar(artist_id: int, update: ArtistSimilarUpdate, db: DbSession) -> dict[str, int]:
    _get_artist_or_404(db, artist_id)
    stored = ArtistSimilarService(db).replace_similar_artists(artist_id, update.similar, source="manual")
    return {"artist_id": artist_id, "stored": stored}


@router.get("/{artist_id}/lastfm-info", response_model=ArtistLastfmInfo)
def fetch_artist_lastfm_info(artist_id: int, db: DbSession) -> Any:
    _get_artist_or_404(db, artist_id)
    _lastfm_configured()
    raise HTTPException(status_code=501, detail="Last.fm client not bundled in this build")


@router.put("/{artist_id}/lastfm-info", response_model=Artist)
def update_artist_lastfm_info(artist_id: int, info: ArtistLastfmInfo, db: DbSession) -> Any:
    artist = _get_artist_or_404(db, artist_id)
    for field, value in info.model_dump(exclude_unset=True).items():
        setattr(artist, field, value)
    db.commit()
    db.refresh(artist)
    return artist


@router.get("/{artist_id}/lastfm-similar", response_model=list[SimilarArtistDetail])
def fetch_similar_artists(artist_id: int, db: DbSession) -> Any:
    _get_artist_or_404(db, artist_id)
    _lastfm_configured()
    raise HTTPException(status_code=501, detail="Last.fm client not bundled in this build")
