"""The play queue (sync). Positions are 0-based and kept contiguous."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, joinedload

from backend.api.models.playqueue_model import PlayQueueEntry
from backend.api.models.tracks_model import Track
from backend.api.utils.logging import logger


class PlayQueueService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def get_queue(self) -> dict[str, Any]:
        entries = (
            self.db.query(PlayQueueEntry)
            .options(joinedload(PlayQueueEntry.track).joinedload(Track.artist))
            .order_by(PlayQueueEntry.position, PlayQueueEntry.id)
            .all()
        )
        tracks = [
            {
                "position": e.position,
                "track_id": e.track_id,
                "title": e.track.title,
                "artist_name": e.track.artist.name,
                "duration": e.track.duration,
            }
            for e in entries
        ]
        return {
            "tracks": tracks,
            "total": len(tracks),
            "total_duration": sum(t["duration"] or 0 for t in tracks),
        }

    def add_track(self, track_id: int, position: int | None = None) -> dict[str, Any] | None:
        if self.db.get(Track, track_id) is None:
            return None
        size = self.db.query(PlayQueueEntry).count()
        if position is None or position >= size:
            position = size
        else:
            self.db.query(PlayQueueEntry).filter(PlayQueueEntry.position >= position).update(
                {PlayQueueEntry.position: PlayQueueEntry.position + 1}, synchronize_session=False
            )
        self.db.add(PlayQueueEntry(track_id=track_id, position=position))
        self.db.commit()
        logger.info("Track %s queued at %s", track_id, position)
        return self.get_queue()

    def remove_track(self, position: int) -> dict[str, Any] | None:
        entry = self.db.query(PlayQueueEntry).filter_by(position=position).first()
        if entry is None:
            return None
        self.db.delete(entry)
        self.db.query(PlayQueueEntry).filter(PlayQueueEntry.position > position).update(
            {PlayQueueEntry.position: PlayQueueEntry.position - 1}, synchronize_session=False
        )
        self.db.commit()
        return self.get_queue()

    def move_track(self, from_position: int, to_position: int) -> dict[str, Any] | None:
        entries = self.db.query(PlayQueueEntry).order_by(PlayQueueEntry.position, PlayQueueEntry.id).all()
        if from_position >= len(entries) or to_position >= len(entries):
            return None
        moved = entries.pop(from_position)
        entries.insert(to_position, moved)
        for index, entry in enumerate(entries):
            entry.position = index
        self.db.commit()
        return self.get_queue()

    def clear_queue(self) -> int:
        deleted = self.db.query(PlayQueueEntry).delete(synchronize_session=False)
        self.db.commit()
        logger.info("Play queue cleared (%d entries)", deleted)
        return deleted
