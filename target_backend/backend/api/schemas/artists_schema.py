from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ArtistBase(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    musicbrainz_artistid: str | None = None


class ArtistCreate(ArtistBase):
    pass


class ArtistUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    musicbrainz_artistid: str | None = None
    bio: str | None = None


class Artist(ArtistBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bio: str | None = None
    lastfm_url: str | None = None
    lastfm_listeners: int | None = None


class ArtistWithStats(Artist):
    album_count: int
    track_count: int


class ArtistLastfmInfo(BaseModel):
    lastfm_url: str | None = None
    lastfm_listeners: int | None = None
    bio: str | None = None


class ArtistSimilarUpdate(BaseModel):
    """Full replacement of an artist's similar list: names with weights."""

    similar: list[tuple[str, float]]
