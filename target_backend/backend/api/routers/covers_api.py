"""Covers endpoints (already async)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.schemas.covers_schema import Cover, CoverCreate, CoverUpdate, EntityType
from backend.api.services.covers_service import CoversService
from backend.api.utils.database import get_async_db

router = APIRouter(prefix="/api/covers", tags=["covers"])


@router.get("/", response_model=list[Cover])
async def read_covers(
    entity_type: EntityType | None = None,
    skip: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    db: AsyncSession = Depends(get_async_db),
) -> Any:
    return await CoversService(db).get_covers(entity_type, skip=skip, limit=limit)


@router.post("/", response_model=Cover, status_code=status.HTTP_201_CREATED)
async def create_or_update_cover(cover: CoverCreate, db: AsyncSession = Depends(get_async_db)) -> Any:
    return await CoversService(db).create_or_update_cover(cover)


@router.get("/{entity_type}/{entity_id}", response_model=Cover)
async def read_cover(entity_type: EntityType, entity_id: int, db: AsyncSession = Depends(get_async_db)) -> Any:
    cover = await CoversService(db).get_cover(entity_type, entity_id)
    if cover is None:
        raise HTTPException(status_code=404, detail="Cover not found")
    return cover


@router.put("/{entity_type}/{entity_id}", response_model=Cover)
async def update_cover(
    entity_type: EntityType, entity_id: int, cover: CoverUpdate, db: AsyncSession = Depends(get_async_db)
) -> Any:
    updated = await CoversService(db).update_cover(entity_type, entity_id, cover)
    if updated is None:
        raise HTTPException(status_code=404, detail="Cover not found")
    return updated


@router.delete("/{entity_type}/{entity_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_cover(entity_type: EntityType, entity_id: int, db: AsyncSession = Depends(get_async_db)) -> None:
    if not await CoversService(db).delete_cover(entity_type, entity_id):
        raise HTTPException(status_code=404, detail="Cover not found")
