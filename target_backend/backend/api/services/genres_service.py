"""Genres (sync)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.orm import Session

from backend.api.models.genres_model import Genre, track_genres
from backend.api.schemas.genres_schema import GenreCreate, GenreUpdate
from backend.api.utils.logging import logger


class GenresService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def search_genres(self, name: str | None = None, skip: int = 0, limit: int = 50) -> list[Genre]:
        query = self.db.query(Genre)
        if name:
            query = query.filter(Genre.name.ilike(f"%{name}%"))
        query = query.order_by(Genre.name)
        return query.offset(skip).limit(limit).all()

    def create_genre(self, data: GenreCreate) -> Genre:
        same_name = self.db.query(Genre).filter(func.lower(Genre.name) == data.name.lower())
        if self.db.query(same_name.exists()).scalar():
            raise ValueError(f"Genre {data.name!r} already exists")
        genre = Genre(name=data.name)
        self.db.add(genre)
        self.db.commit()
        self.db.refresh(genre)
        logger.info("Genre created: %s", genre.name)
        return genre

    def get_or_create_genre(self, name: str) -> Genre:
        """Used by the scanner: genres come from file tags, in any case."""
        genre = self.db.query(Genre).filter(func.lower(Genre.name) == name.lower()).first()
        if genre is None:
            genre = Genre(name=name)
            self.db.add(genre)
            self.db.flush()
        return genre

    def read_genres(self, skip: int = 0, limit: int = 100) -> list[Genre]:
        return self.db.query(Genre).order_by(Genre.name).offset(skip).limit(limit).all()

    def read_genre(self, genre_id: int) -> Genre | None:
        return self.db.query(Genre).get(genre_id)

    def count_genre_tracks(self, genre_id: int) -> int:
        return (
            self.db.query(func.count(track_genres.c.track_id))
            .filter(track_genres.c.genre_id == genre_id)
            .scalar()
        )

    def update_genre(self, genre_id: int, data: GenreUpdate) -> Genre | None:
        genre = self.read_genre(genre_id)
        if genre is None:
            return None
        genre.name = data.name
        self.db.commit()
        self.db.refresh(genre)
        return genre

    def delete_genre(self, genre_id: int) -> bool:
        genre = self.read_genre(genre_id)
        if genre is None:
            return False
        self.db.delete(genre)
        self.db.commit()
        logger.info("Genre %s deleted", genre_id)
        return True
