from __future__ import annotations

from pydantic import BaseModel, Field


class QueueTrack(BaseModel):
    position: int
    track_id: int
    title: str
    artist_name: str
    duration: int | None = None


class PlayQueue(BaseModel):
    tracks: list[QueueTrack]
    total: int
    total_duration: int


class QueueAdd(BaseModel):
    track_id: int
    position: int | None = Field(default=None, ge=0)


class QueueMove(BaseModel):
    from_position: int = Field(ge=0)
    to_position: int = Field(ge=0)
