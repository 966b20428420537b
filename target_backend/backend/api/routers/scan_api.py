"""Library scan endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session

from backend.api.schemas.scan_schema import ScanRequest, ScanSession
from backend.api.services.scan_service import ScanService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/scan", tags=["scan"])


@router.post("", response_model=ScanSession, status_code=status.HTTP_201_CREATED)
def launch_scan(request: ScanRequest, db: Session = Depends(get_db)) -> Any:
    try:
        return ScanService(db).launch_scan(request.directory, cleanup_missing=request.cleanup_missing)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/sessions", response_model=list[ScanSession])
def list_scan_sessions(
    skip: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=100), db: Session = Depends(get_db)
) -> Any:
    return ScanService(db).list_sessions(skip=skip, limit=limit)


@router.get("/sessions/{session_id}", response_model=ScanSession)
def get_scan_session(session_id: int, db: Session = Depends(get_db)) -> Any:
    session = ScanService(db).get_session(session_id)
    if session is None:
        raise HTTPException(status_code=404, detail="Scan session not found")
    return session
