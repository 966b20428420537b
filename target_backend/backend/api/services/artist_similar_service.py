"""Similar-artist relations (sync)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from backend.api.models.artist_similar_model import ArtistSimilar
from backend.api.models.artists_model import Artist
from backend.api.schemas.artist_similar_schema import ArtistSimilarCreate
from backend.api.utils.logging import logger


class ArtistSimilarService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def create_similar_relationship(self, data: ArtistSimilarCreate) -> ArtistSimilar:
        if data.artist_id == data.similar_artist_id:
            raise ValueError("An artist cannot be similar to itself")
        for artist_id in (data.artist_id, data.similar_artist_id):
            if self.db.get(Artist, artist_id) is None:
                raise LookupError(f"Artist {artist_id} not found")
        if self.get_relationship_by_ids(data.artist_id, data.similar_artist_id) is not None:
            raise ValueError("Relationship already exists")
        relation = ArtistSimilar(**data.model_dump())
        self.db.add(relation)
        self.db.commit()
        self.db.refresh(relation)
        return relation

    def get_similar_artists(self, artist_id: int, skip: int = 0, limit: int = 20) -> list[ArtistSimilar]:
        query = self.db.query(ArtistSimilar).filter(ArtistSimilar.artist_id == artist_id)
        query = query.order_by(ArtistSimilar.weight.desc(), ArtistSimilar.similar_artist_id)
        return query.offset(skip).limit(limit).all()

    def get_similar_artists_with_details(
        self, artist_id: int, limit: int = 20, include_stats: bool = False
    ) -> list[dict[str, Any]]:
        rows = (
            self.db.query(ArtistSimilar, Artist)
            .join(Artist, ArtistSimilar.similar_artist_id == Artist.id)
            .filter(ArtistSimilar.artist_id == artist_id)
            .order_by(ArtistSimilar.weight.desc(), Artist.id)
            .limit(limit)
            .all()
        )
        details = []
        for relation, artist in rows:
            item: dict[str, Any] = {
                "id": artist.id,
                "name": artist.name,
                "weight": relation.weight,
                "source": relation.source,
            }
            if include_stats:
                item["album_count"] = artist.album_count
            details.append(item)
        return details

    def update_similar_relationship(self, relation_id: int, weight: float) -> ArtistSimilar | None:
        relation = self.db.query(ArtistSimilar).get(relation_id)
        if relation is None:
            return None
        relation.weight = weight
        self.db.commit()
        self.db.refresh(relation)
        return relation

    def delete_similar_relationship(self, relation_id: int) -> bool:
        deleted = (
            self.db.query(ArtistSimilar)
            .filter(ArtistSimilar.id == relation_id)
            .delete(synchronize_session=False)
        )
        self.db.commit()
        return deleted > 0

    def get_all_relationships_paginated(self, skip: int = 0, limit: int = 50) -> tuple[list[ArtistSimilar], int]:
        query = self.db.query(ArtistSimilar)
        total = query.count()
        items = query.order_by(ArtistSimilar.id).offset(skip).limit(limit).all()
        return items, total

    def find_similar_artists_by_name(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        artist = self.db.query(Artist).filter(func.lower(Artist.name) == name.lower()).first()
        if artist is None:
            return []
        return self.get_similar_artists_with_details(artist.id, limit=limit)

    def get_relationship_by_ids(self, artist_id: int, similar_artist_id: int) -> ArtistSimilar | None:
        return (
            self.db.query(ArtistSimilar)
            .filter_by(artist_id=artist_id, similar_artist_id=similar_artist_id)
            .one_or_none()
        )

    def replace_similar_artists(self, artist_id: int, similar: list[tuple[str, float]], source: str) -> int:
        """Replace the whole similar list of an artist (Last.fm refresh); unknown names are ignored."""
        self.db.query(ArtistSimilar).filter(ArtistSimilar.artist_id == artist_id).delete(
            synchronize_session=False
        )
        names = [name for name, _ in similar]
        known = {a.name: a.id for a in self.db.query(Artist).filter(Artist.name.in_(names)).all()}
        relations = [
            {"artist_id": artist_id, "similar_artist_id": known[name], "weight": weight, "source": source}
            for name, weight in similar
            if name in known and known[name] != artist_id
        ]
        self.db.bulk_insert_mappings(ArtistSimilar, relations)
        self.db.commit()
        logger.info("Artist %s: %d similar artists stored", artist_id, len(relations))
        return len(relations)
