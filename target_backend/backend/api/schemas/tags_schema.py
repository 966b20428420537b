from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TagCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class Tag(TagCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
