"""Genre and mood tags endpoints (sync)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session

from backend.api.schemas.tags_schema import Tag, TagCreate
from backend.api.services.tags_service import TagsService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/tags", tags=["tags"])

SessionDep = Annotated[Session, Depends(get_db)]


@router.get("/genre-tags", response_model=list[Tag])
def get_genre_tags(db: SessionDep, skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500)) -> Any:
    return TagsService(db).get_genre_tags(skip=skip, limit=limit)


@router.get("/mood-tags", response_model=list[Tag])
def get_mood_tags(db: SessionDep, skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500)) -> Any:
    return TagsService(db).get_mood_tags(skip=skip, limit=limit)


@router.get("/genre-tags/{tag_id}", response_model=Tag)
def get_genre_tag(tag_id: int, db: SessionDep) -> Any:
    tag = TagsService(db).get_genre_tag(tag_id)
    if tag is None:
        raise HTTPException(status_code=404, detail="Genre tag not found")
    return tag


@router.get("/mood-tags/{tag_id}", response_model=Tag)
def get_mood_tag(tag_id: int, db: SessionDep) -> Any:
    tag = TagsService(db).get_mood_tag(tag_id)
    if tag is None:
        raise HTTPException(status_code=404, detail="Mood tag not found")
    return tag


@router.post("/genre-tags", response_model=Tag, status_code=status.HTTP_201_CREATED)
def create_genre_tag(tag: TagCreate, db: SessionDep) -> Any:
    return TagsService(db).create_genre_tag(tag)


@router.post("/mood-tags", response_model=Tag, status_code=status.HTTP_201_CREATED)
def create_mood_tag(tag: TagCreate, db: SessionDep) -> Any:
    return TagsService(db).create_mood_tag(tag)
