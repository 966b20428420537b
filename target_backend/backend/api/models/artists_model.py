from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from backend.api.models._common import utcnow
from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.albums_model import Album
    from backend.api.models.tracks_model import Track


class Artist(Base):
    __tablename__ = "artists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    musicbrainz_artistid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lastfm_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    lastfm_listeners: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bio: Mapped[str | None] = mapped_column(Text, nullable=True)
    date_added: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    date_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    albums: Mapped[list[Album]] = relationship(back_populates="artist", cascade="all, delete-orphan")
    tracks: Mapped[list[Track]] = relationship(back_populates="artist", cascade="all, delete-orphan")

    @property
    def album_count(self) -> int:
        """Number of albums, asked to the database (the frontend shows it in the artist cards)."""
        from backend.api.models.albums_model import Album

        session = object_session(self)
        if session is None:
            return 0
        return session.execute(
            select(func.count(Album.id)).where(Album.album_artist_id == self.id)
        ).scalar_one()

    def __repr__(self) -> str:
        return f"<Artist {self.id} {self.name!r}>"
