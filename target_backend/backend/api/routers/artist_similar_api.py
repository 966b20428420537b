"""Similar-artist relations endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session

from backend.api.schemas.artist_similar_schema import (
    ArtistSimilar,
    ArtistSimilarCreate,
    ArtistSimilarPage,
    ArtistSimilarUpdate,
    SimilarArtistDetail,
)
from backend.api.services.artist_similar_service import ArtistSimilarService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/artist-similar", tags=["artist-similar"])


@router.get("/", response_model=ArtistSimilarPage)
def get_all_relationships(
    skip: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200), db: Session = Depends(get_db)
) -> Any:
    items, total = ArtistSimilarService(db).get_all_relationships_paginated(skip=skip, limit=limit)
    return {"items": items, "total": total, "skip": skip, "limit": limit}


@router.post("/", response_model=ArtistSimilar, status_code=status.HTTP_201_CREATED)
def create_similar_relationship(relation: ArtistSimilarCreate, db: Session = Depends(get_db)) -> Any:
    try:
        return ArtistSimilarService(db).create_similar_relationship(relation)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/pair", response_model=ArtistSimilar)
def get_relationship_by_ids(artist_id: int, similar_artist_id: int, db: Session = Depends(get_db)) -> Any:
    relation = ArtistSimilarService(db).get_relationship_by_ids(artist_id, similar_artist_id)
    if relation is None:
        raise HTTPException(status_code=404, detail="Relationship not found")
    return relation


@router.get("/by-name", response_model=list[SimilarArtistDetail])
def find_similar_artists_by_name(
    name: str, limit: int = Query(20, ge=1, le=100), db: Session = Depends(get_db)
) -> Any:
    return ArtistSimilarService(db).find_similar_artists_by_name(name, limit=limit)


@router.get("/artists/{artist_id}", response_model=list[ArtistSimilar])
def get_similar_artists(
    artist_id: int,
    skip: int = Query(0, ge=0),
    limit: int = Query(20, ge=1, le=100),
    db: Session = Depends(get_db),
) -> Any:
    return ArtistSimilarService(db).get_similar_artists(artist_id, skip=skip, limit=limit)


@router.get("/artists/{artist_id}/details", response_model=list[SimilarArtistDetail])
def get_similar_artists_with_details(
    artist_id: int, limit: int = Query(20, ge=1, le=100), db: Session = Depends(get_db)
) -> Any:
    return ArtistSimilarService(db).get_similar_artists_with_details(artist_id, limit=limit)


@router.put("/{relation_id}", response_model=ArtistSimilar)
def update_similar_relationship(
    relation_id: int, update: ArtistSimilarUpdate, db: Session = Depends(get_db)
) -> Any:
    relation = ArtistSimilarService(db).update_similar_relationship(relation_id, update.weight)
    if relation is None:
        raise HTTPException(status_code=404, detail="Relationship not found")
    return relation


@router.delete("/{relation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_similar_relationship(relation_id: int, db: Session = Depends(get_db)) -> None:
    if not ArtistSimilarService(db).delete_similar_relationship(relation_id):
        raise HTTPException(status_code=404, detail="Relationship not found")
