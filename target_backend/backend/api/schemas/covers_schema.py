from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

EntityType = Literal["artist", "album", "track"]


class CoverCreate(BaseModel):
    entity_type: EntityType
    entity_id: int
    url: str | None = None
    cover_data: str | None = None
    mime_type: str | None = None


class CoverUpdate(BaseModel):
    url: str | None = None
    cover_data: str | None = None
    mime_type: str | None = None


class Cover(CoverCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
