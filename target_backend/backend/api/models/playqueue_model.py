from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.api.models._common import utcnow
from backend.api.utils.database import Base

if TYPE_CHECKING:
    from backend.api.models.tracks_model import Track


class PlayQueueEntry(Base):
    """One slot of the (single, shared) play queue; positions are 0-based and contiguous."""

    __tablename__ = "play_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    track: Mapped[Track] = relationship()
