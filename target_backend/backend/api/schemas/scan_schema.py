from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ScanRequest(BaseModel):
    directory: str
    cleanup_missing: bool = False


class ScanSession(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    directory: str
    status: str
    files_found: int
    tracks_created: int
    tracks_updated: int
    errors: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
