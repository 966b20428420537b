from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GenreCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class GenreUpdate(GenreCreate):
    pass


class Genre(GenreCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int


class GenreStats(Genre):
    track_count: int
    artists: list[str]
