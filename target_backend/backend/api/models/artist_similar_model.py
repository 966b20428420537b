from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.api.models._common import utcnow
from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.artists_model import Artist


class ArtistSimilar(Base):
    """Directed similarity edge between two artists, weighted in [0, 1]."""

    __tablename__ = "artist_similar"
    __table_args__ = (UniqueConstraint("artist_id", "similar_artist_id", name="uq_artist_similar_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), index=True)
    similar_artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), index=True)
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(32), default="lastfm")
    date_added: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    artist: Mapped[Artist] = relationship(foreign_keys=[artist_id])
    similar_artist: Mapped[Artist] = relationship(foreign_keys=[similar_artist_id])
