from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TrackBase(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    path: str
    track_artist_id: int
    album_id: int | None = None
    duration: int | None = None
    track_number: int | None = None
    disc_number: int | None = None
    year: int | None = None
    genre: str | None = None
    file_type: str | None = None
    bitrate: int | None = None
    musicbrainz_id: str | None = None


class TrackCreate(TrackBase):
    pass


class TrackUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    album_id: int | None = None
    duration: int | None = None
    track_number: int | None = None
    disc_number: int | None = None
    year: int | None = None
    genre: str | None = None
    bitrate: int | None = None


class TrackFeatures(BaseModel):
    bpm: float | None = None
    key: str | None = None
    scale: str | None = None
    danceability: float | None = None
    mood_happy: float | None = None
    mood_aggressive: float | None = None
    mood_party: float | None = None
    mood_relaxed: float | None = None
    instrumental: float | None = None


class TrackTags(BaseModel):
    genre_tags: list[str] = []
    mood_tags: list[str] = []


class Track(TrackBase, TrackFeatures):
    model_config = ConfigDict(from_attributes=True)

    id: int


class TrackWithTags(Track):
    genre_tags: list[str] = []
    mood_tags: list[str] = []


class TrackBatchResult(BaseModel):
    created: int
    updated: int
    tracks: list[Track]
