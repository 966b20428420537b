"""Play queue endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from backend.api.schemas.playqueue_schema import PlayQueue, QueueAdd, QueueMove
from backend.api.services.playqueue_service import PlayQueueService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/playqueue", tags=["playqueue"])


@router.get("", response_model=PlayQueue)
def get_queue(db: Session = Depends(get_db)) -> Any:
    return PlayQueueService(db).get_queue()


@router.post("/tracks", response_model=PlayQueue)
def add_track(item: QueueAdd, db: Session = Depends(get_db)) -> Any:
    queue = PlayQueueService(db).add_track(item.track_id, item.position)
    if queue is None:
        raise HTTPException(status_code=404, detail="Track not found")
    return queue


@router.delete("/tracks/{position}", response_model=PlayQueue)
def remove_track(position: int, db: Session = Depends(get_db)) -> Any:
    queue = PlayQueueService(db).remove_track(position)
    if queue is None:
        raise HTTPException(status_code=404, detail="No track at this position")
    return queue


@router.post("/move", response_model=PlayQueue)
def move_track(move: QueueMove, db: Session = Depends(get_db)) -> Any:
    queue = PlayQueueService(db).move_track(move.from_position, move.to_position)
    if queue is None:
        raise HTTPException(status_code=400, detail="Position out of range")
    return queue


@router.delete("")
def clear_queue(db: Session = Depends(get_db)) -> dict[str, int]:
    return {"deleted": PlayQueueService(db).clear_queue()}
