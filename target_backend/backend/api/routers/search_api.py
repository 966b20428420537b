"""Hybrid search endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from backend.api.schemas.search_schema import SearchQuery, SearchResult, TypeaheadResult
from backend.api.services.search_service import SearchService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get("", response_model=SearchResult)
def search_get(
    q: str = "",
    similar_to_track_id: int | None = None,
    genre: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
    db: Session = Depends(get_db),
) -> Any:
    query = SearchQuery(
        query=q,
        similar_to_track_id=similar_to_track_id,
        genre=genre,
        year_from=year_from,
        year_to=year_to,
        page=page,
        page_size=page_size,
    )
    return SearchService(db).search(query)


@router.post("", response_model=SearchResult)
def search(query: SearchQuery, db: Session = Depends(get_db)) -> Any:
    return SearchService(db).search(query)


@router.get("/typeahead", response_model=TypeaheadResult)
def typeahead_search(
    q: str = Query(..., min_length=1), limit: int = Query(5, ge=1, le=20), db: Session = Depends(get_db)
) -> Any:
    return SearchService(db).typeahead_search(q, limit=limit)
