from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.api.models._common import utcnow
from backend.api.utils.database import Base


class EntityCoverType(str, enum.Enum):
    ARTIST = "artist"
    ALBUM = "album"
    TRACK = "track"


class Cover(Base):
    """A picture attached to an artist, an album or a track (polymorphic by entity_type/entity_id)."""

    __tablename__ = "covers"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", name="uq_cover_entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16), index=True)
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    cover_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    mime_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    date_added: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    date_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
