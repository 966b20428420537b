"""Hybrid search (text + audio vectors) with facets, cached in Redis (sync)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

import numpy as np
import redis
from sqlalchemy import bindparam, func, or_, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from backend.api.models.albums_model import Album
from backend.api.models.artists_model import Artist
from backend.api.models.tracks_model import Track, TrackVector
from backend.api.schemas.search_schema import SearchQuery
from backend.api.utils.logging import logger

REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_TTL_SECONDS = int(os.getenv("SEARCH_CACHE_TTL", "300"))
# The raw SQL facets bind every id; above this many the ORM fallback aggregates with a subquery instead.
FACET_SQL_MAX_IDS = 250
FACET_LIMIT = 10
VECTOR_TOP_K = 50
TEXT_WEIGHT = 0.5


class SearchCache:
    """Thin JSON cache over Redis. A dead Redis never breaks search: it is skipped for a while."""

    # How long search skips a Redis that failed before trying it again.
    RETRY_AFTER_SECONDS = float(os.getenv("SEARCH_CACHE_RETRY_SECONDS", "30"))

    def __init__(self, url: str = REDIS_URL, prefix: str | None = None, ttl: int = CACHE_TTL_SECONDS) -> None:
        self.prefix = prefix if prefix is not None else os.getenv("SEARCH_CACHE_PREFIX", "soniquebay:search:")
        self.ttl = ttl
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, decode_responses=True)
        self._down_until = 0.0

    def make_key(self, kind: str, params: dict[str, Any]) -> str:
        digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
        return f"{self.prefix}{kind}:{digest}"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark_down(self, exc: Exception) -> None:
        logger.warning("Redis unavailable (%s): search runs uncached for %.0fs", exc, self.RETRY_AFTER_SECONDS)
        self._down_until = time.monotonic() + self.RETRY_AFTER_SECONDS

    def get(self, key: str) -> dict[str, Any] | None:
        if not self._available():
            return None
        try:
            raw = self.client.get(key)
        except redis.RedisError as exc:
            self._mark_down(exc)
            return None
        return json.loads(raw) if raw else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        if not self._available():
            return
        try:
            self.client.set(key, json.dumps(value), ex=self.ttl)
        except redis.RedisError as exc:
            self._mark_down(exc)


_cache: SearchCache | None = None


def get_search_cache() -> SearchCache:
    global _cache
    if _cache is None:
        _cache = SearchCache()
    return _cache


class SearchService:
    def __init__(self, db: Session, cache: SearchCache | None = None) -> None:
        self.db = db
        self.cache = cache if cache is not None else get_search_cache()

    def search(self, query: SearchQuery) -> dict[str, Any]:
        key = self.cache.make_key("search", query.model_dump())
        cached = self.cache.get(key)
        if cached is not None:
            cached["cached"] = True
            return cached

        text_scores = self._text_search(query)
        vector_scores = (
            self._vector_search(query.similar_to_track_id, query) if query.similar_to_track_id is not None else {}
        )
        if query.similar_to_track_id is not None and not query.query:
            ranked = sorted(vector_scores.items(), key=lambda kv: (-kv[1], kv[0]))
        else:
            ranked = self._combine_results(text_scores, vector_scores)

        start = (query.page - 1) * query.page_size
        page_ids = [track_id for track_id, _ in ranked[start : start + query.page_size]]
        scores = dict(ranked)
        tracks = (
            self.db.query(Track)
            .options(joinedload(Track.artist), joinedload(Track.album))
            .filter(Track.id.in_(page_ids))
            .all()
        )
        by_id = {t.id: t for t in tracks}
        hits = [
            {
                "track_id": tid,
                "title": by_id[tid].title,
                "artist": by_id[tid].artist.name,
                "album": by_id[tid].album.title if by_id[tid].album else None,
                "genre": by_id[tid].genre,
                "year": by_id[tid].year,
                "score": round(scores[tid], 6),
            }
            for tid in page_ids
            if tid in by_id
        ]
        result = {
            "total": len(ranked),
            "page": query.page,
            "page_size": query.page_size,
            "hits": hits,
            "facets": self._get_facets([tid for tid, _ in ranked]),
            "cached": False,
        }
        self.cache.set(key, result)
        return result

    def _apply_filters(self, q: Any, query: SearchQuery) -> Any:
        if query.genre:
            q = q.filter(func.lower(Track.genre) == query.genre.lower())
        if query.year_from is not None:
            q = q.filter(Track.year >= query.year_from)
        if query.year_to is not None:
            q = q.filter(Track.year <= query.year_to)
        return q

    def _text_search(self, query: SearchQuery) -> dict[int, float]:
        """Score 3 for a title match, 2 for the artist, 1 for the album (summed)."""
        rows = self.db.query(Track.id, Track.title, Artist.name, Album.title).join(
            Artist, Track.track_artist_id == Artist.id
        )
        rows = rows.outerjoin(Album, Track.album_id == Album.id)
        rows = self._apply_filters(rows, query)
        term = query.query.strip().lower()
        if term:
            pattern = f"%{term}%"
            rows = rows.filter(
                or_(Track.title.ilike(pattern), Artist.name.ilike(pattern), Album.title.ilike(pattern))
            )
        scores: dict[int, float] = {}
        for track_id, title, artist_name, album_title in rows.all():
            score = 0.0
            if term:
                score += 3.0 if term in title.lower() else 0.0
                score += 2.0 if term in artist_name.lower() else 0.0
                score += 1.0 if album_title and term in album_title.lower() else 0.0
            scores[track_id] = score
        return scores

    def _vector_search(self, track_id: int, query: SearchQuery) -> dict[int, float]:
        """Tracks whose audio embedding is closest (cosine) to the reference track's."""
        reference = self.db.query(TrackVector).filter(TrackVector.track_id == track_id).first()
        if reference is None:
            return {}
        q = self.db.query(TrackVector.track_id, TrackVector.embedding).join(Track, Track.id == TrackVector.track_id)
        q = self._apply_filters(q, query).filter(TrackVector.track_id != track_id)
        rows = q.order_by(TrackVector.track_id).all()
        if not rows:
            return {}
        ids = np.array([r[0] for r in rows])
        matrix = np.asarray([r[1] for r in rows], dtype=np.float64)
        ref = np.asarray(reference.embedding, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(ref)
        sims = np.divide(matrix @ ref, norms, out=np.zeros(len(rows)), where=norms > 0)
        top = np.lexsort((ids, -np.round(sims, 9)))[:VECTOR_TOP_K]
        return {int(ids[i]): round(float(sims[i]), 6) for i in top}

    @staticmethod
    def _combine_results(
        text_scores: dict[int, float], vector_scores: dict[int, float], text_weight: float = TEXT_WEIGHT
    ) -> list[tuple[int, float]]:
        if not vector_scores:
            combined = dict(text_scores)
        else:
            max_text = max(text_scores.values(), default=0.0) or 1.0
            combined = {
                tid: round(
                    text_weight * text_scores.get(tid, 0.0) / max_text
                    + (1 - text_weight) * vector_scores.get(tid, 0.0),
                    6,
                )
                for tid in set(text_scores) & set(vector_scores) or set(text_scores)
            }
        return sorted(combined.items(), key=lambda kv: (-kv[1], kv[0]))

    @staticmethod
    def _rank_facet(rows: list[tuple[Any, int]]) -> list[dict[str, Any]]:
        values = [(str(v), int(c)) for v, c in rows if v is not None]
        values.sort(key=lambda vc: (-vc[1], vc[0]))
        return [{"value": v, "count": c} for v, c in values[:FACET_LIMIT]]

    def _get_facets(self, track_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
        if not track_ids:
            return {"genres": [], "artists": [], "decades": []}
        if len(track_ids) > FACET_SQL_MAX_IDS:
            return self._get_facets_fallback(track_ids)
        ids = bindparam("ids", expanding=True)
        try:
            genres = self.db.execute(
                text("SELECT genre, COUNT(*) FROM tracks WHERE id IN :ids GROUP BY genre").bindparams(ids),
                {"ids": track_ids},
            ).all()
            artists = self.db.execute(
                text(
                    "SELECT a.name, COUNT(*) FROM tracks t JOIN artists a ON a.id = t.track_artist_id "
                    "WHERE t.id IN :ids GROUP BY a.name"
                ).bindparams(ids),
                {"ids": track_ids},
            ).all()
            decades = self.db.execute(
                text(
                    "SELECT (year / 10) * 10 AS decade, COUNT(*) FROM tracks "
                    "WHERE id IN :ids AND year IS NOT NULL GROUP BY (year / 10) * 10"
                ).bindparams(ids),
                {"ids": track_ids},
            ).all()
        except SQLAlchemyError:
            logger.warning("Raw SQL facets failed, using the ORM fallback", exc_info=True)
            self.db.rollback()
            return self._get_facets_fallback(track_ids)
        return {
            "genres": self._rank_facet([(g, c) for g, c in genres]),
            "artists": self._rank_facet([(a, c) for a, c in artists]),
            "decades": self._rank_facet([(f"{int(d)}s", c) for d, c in decades]),
        }

    def _get_facets_fallback(self, track_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
        id_set = set(track_ids)
        rows = (
            self.db.query(Track.id, Track.genre, Track.year, Artist.name)
            .join(Artist, Track.track_artist_id == Artist.id)
            .order_by(Track.id)
            .all()
        )
        genres: dict[Any, int] = {}
        artists: dict[Any, int] = {}
        decades: dict[Any, int] = {}
        for track_id, genre, year, artist_name in rows:
            if track_id not in id_set:
                continue
            genres[genre] = genres.get(genre, 0) + 1
            artists[artist_name] = artists.get(artist_name, 0) + 1
            if year is not None:
                label = f"{year // 10 * 10}s"
                decades[label] = decades.get(label, 0) + 1
        return {
            "genres": self._rank_facet(list(genres.items())),
            "artists": self._rank_facet(list(artists.items())),
            "decades": self._rank_facet(list(decades.items())),
        }

    def typeahead_search(self, prefix: str, limit: int = 5) -> dict[str, Any]:
        key = self.cache.make_key("typeahead", {"prefix": prefix.lower(), "limit": limit})
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        pattern = f"{prefix}%"
        artists = (
            self.db.query(Artist.id, Artist.name)
            .filter(Artist.name.ilike(pattern))
            .order_by(Artist.name, Artist.id)
            .limit(limit)
            .all()
        )
        albums = (
            self.db.query(Album.id, Album.title)
            .filter(Album.title.ilike(pattern))
            .order_by(Album.title, Album.id)
            .limit(limit)
            .all()
        )
        tracks = (
            self.db.query(Track.id, Track.title)
            .filter(Track.title.ilike(pattern))
            .order_by(Track.title, Track.id)
            .limit(limit)
            .all()
        )
        items = [{"type": "artist", "id": i, "label": n} for i, n in artists]
        items += [{"type": "album", "id": i, "label": t} for i, t in albums]
        items += [{"type": "track", "id": i, "label": t} for i, t in tracks]
        result = {"items": items}
        self.cache.set(key, result)
        return result
