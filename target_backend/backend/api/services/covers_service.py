"""Covers: already migrated to AsyncSession."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.models.covers_model import Cover
from backend.api.schemas.covers_schema import CoverCreate, CoverUpdate
from backend.api.utils.logging import logger


class CoversService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_cover(self, entity_type: str, entity_id: int) -> Cover | None:
        stmt = select(Cover).where(Cover.entity_type == entity_type, Cover.entity_id == entity_id)
        result = await self.session.execute(stmt)
        return result.scalars().first()

    async def get_covers(self, entity_type: str | None = None, skip: int = 0, limit: int = 100) -> Sequence[Cover]:
        stmt = select(Cover)
        if entity_type:
            stmt = stmt.where(Cover.entity_type == entity_type)
        stmt = stmt.order_by(Cover.id).offset(skip).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_covers_batch(self, entity_type: str, entity_ids: list[int]) -> dict[int, Cover | None]:
        """Covers of a page of entities, fetched "in parallel" for the grid views of the frontend."""
        covers = await asyncio.gather(*(self.get_cover(entity_type, eid) for eid in entity_ids))
        return dict(zip(entity_ids, covers, strict=True))

    async def create_or_update_cover(self, data: CoverCreate) -> Cover:
        cover = await self.get_cover(data.entity_type, data.entity_id)
        if cover is None:
            cover = Cover(**data.model_dump())
            self.session.add(cover)
        else:
            for field, value in data.model_dump(exclude={"entity_type", "entity_id"}).items():
                setattr(cover, field, value)
        await self.session.commit()
        await self.session.refresh(cover)
        logger.info("Cover saved for %s %s", cover.entity_type, cover.entity_id)
        return cover

    async def update_cover(self, entity_type: str, entity_id: int, data: CoverUpdate) -> Cover | None:
        cover = await self.get_cover(entity_type, entity_id)
        if cover is None:
            return None
        for field, value in data.model_dump(exclude_unset=True).items():
            setattr(cover, field, value)
        await self.session.commit()
        await self.session.refresh(cover)
        return cover

    async def delete_cover(self, entity_type: str, entity_id: int) -> bool:
        cover = await self.get_cover(entity_type, entity_id)
        if cover is None:
            return False
        await self.session.delete(cover)
        await self.session.commit()
        return True
