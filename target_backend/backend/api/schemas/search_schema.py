from __future__ import annotations

from pydantic import BaseModel, Field


class SearchQuery(BaseModel):
    query: str = ""
    similar_to_track_id: int | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=20, ge=1, le=100)


class SearchHit(BaseModel):
    track_id: int
    title: str
    artist: str
    album: str | None = None
    genre: str | None = None
    year: int | None = None
    score: float


class FacetValue(BaseModel):
    value: str
    count: int


class SearchFacets(BaseModel):
    genres: list[FacetValue]
    artists: list[FacetValue]
    decades: list[FacetValue]


class SearchResult(BaseModel):
    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: SearchFacets
    cached: bool = False


class TypeaheadItem(BaseModel):
    type: str
    id: int
    label: str


class TypeaheadResult(BaseModel):
    items: list[TypeaheadItem]
