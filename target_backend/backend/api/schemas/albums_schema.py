from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlbumBase(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    album_artist_id: int
    release_year: int | None = None
    musicbrainz_albumid: str | None = None


class AlbumCreate(AlbumBase):
    pass


class AlbumUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    release_year: int | None = None
    musicbrainz_albumid: str | None = None


class Album(AlbumBase):
    model_config = ConfigDict(from_attributes=True)

    id: int


class AlbumWithArtist(Album):
    artist_name: str
    track_count: int
