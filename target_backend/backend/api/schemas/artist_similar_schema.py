from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ArtistSimilarCreate(BaseModel):
    artist_id: int
    similar_artist_id: int
    weight: float = Field(default=0.5, ge=0.0, le=1.0)
    source: str = "lastfm"


class ArtistSimilarUpdate(BaseModel):
    weight: float = Field(ge=0.0, le=1.0)


class ArtistSimilar(ArtistSimilarCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int


class SimilarArtistDetail(BaseModel):
    id: int
    name: str
    weight: float
    source: str
    album_count: int | None = None


class ArtistSimilarPage(BaseModel):
    items: list[ArtistSimilar]
    total: int
    skip: int
    limit: int
