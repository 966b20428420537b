from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.api.models._common import utcnow
from backend.api.models.genres_model import track_genres
from backend.api.models.tags_model import track_genre_tags, track_mood_tags
from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.albums_model import Album
    from backend.api.models.artists_model import Artist
    from backend.api.models.genres_model import Genre
    from backend.api.models.tags_model import GenreTag, MoodTag


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255), index=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    track_artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), index=True)
    album_id: Mapped[int | None] = mapped_column(ForeignKey("albums.id", ondelete="SET NULL"), index=True)
    duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    track_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disc_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    genre: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    file_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bitrate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    key: Mapped[str | None] = mapped_column(String(8), nullable=True)
    scale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    danceability: Mapped[float | None] = mapped_column(Float, nullable=True)
    mood_happy: Mapped[float | None] = mapped_column(Float, nullable=True)
    mood_aggressive: Mapped[float | None] = mapped_column(Float, nullable=True)
    mood_party: Mapped[float | None] = mapped_column(Float, nullable=True)
    mood_relaxed: Mapped[float | None] = mapped_column(Float, nullable=True)
    instrumental: Mapped[float | None] = mapped_column(Float, nullable=True)
    musicbrainz_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    date_added: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    date_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    artist: Mapped[Artist] = relationship(back_populates="tracks")
    album: Mapped[Album | None] = relationship(back_populates="tracks")
    genres: Mapped[list[Genre]] = relationship(secondary=track_genres, back_populates="tracks")
    genre_tags: Mapped[list[GenreTag]] = relationship(secondary=track_genre_tags, back_populates="tracks")
    mood_tags: Mapped[list[MoodTag]] = relationship(secondary=track_mood_tags, back_populates="tracks")
    vector: Mapped[TrackVector | None] = relationship(back_populates="track", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Track {self.id} {self.title!r}>"


class TrackVector(Base):
    """Audio embedding of a track (computed by the analysis worker, 16 floats)."""

    __tablename__ = "track_vectors"

    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True)
    embedding: Mapped[list[Any]] = mapped_column(JSON)

    track: Mapped[Track] = relationship(back_populates="vector")
