from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.tracks_model import Track

track_genre_tags = Table(
    "track_genre_tags",
    Base.metadata,
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("genre_tags.id", ondelete="CASCADE"), primary_key=True),
)

track_mood_tags = Table(
    "track_mood_tags",
    Base.metadata,
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("mood_tags.id", ondelete="CASCADE"), primary_key=True),
)


class GenreTag(Base):
    __tablename__ = "genre_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)

    tracks: Mapped[list[Track]] = relationship(secondary=track_genre_tags, back_populates="genre_tags")


class MoodTag(Base):
    __tablename__ = "mood_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)

    tracks: Mapped[list[Track]] = relationship(secondary=track_mood_tags, back_populates="mood_tags")
