from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.api.models._common import utcnow
from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.artists_model import Artist
    from backend.api.models.tracks_model import Track


class Album(Base):
    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255), index=True)
    album_artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), index=True)
    release_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    musicbrainz_albumid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    date_added: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    date_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    artist: Mapped[Artist] = relationship(back_populates="albums")
    tracks: Mapped[list[Track]] = relationship(back_populates="album", order_by="Track.track_number")

    def __repr__(self) -> str:
        return f"<Album {self.id} {self.title!r}>"
