"""Tracks: migrated to AsyncSession except the batch helpers and `search_tracks` (still sync)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, nulls_last, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.api.models.albums_model import Album
from backend.api.models.artists_model import Artist
from backend.api.models.tags_model import GenreTag, MoodTag
from backend.api.models.tracks_model import Track
from backend.api.schemas.tracks_schema import TrackCreate, TrackTags
from backend.api.utils.logging import logger


class TrackService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_tracks_count(self) -> int:
        result = await self.session.execute(select(func.count(Track.id)))
        return result.scalar_one()

    async def create_track(self, data: TrackCreate) -> Track:
        track = Track(**data.model_dump())
        self.session.add(track)
        await self.session.commit()
        await self.session.refresh(track)
        logger.info("Track created: %s (%s)", track.title, track.path)
        return track

    async def read_tracks(self, skip: int = 0, limit: int = 100) -> Sequence[Track]:
        stmt = select(Track).order_by(Track.id).offset(skip).limit(limit)
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def read_track(self, track_id: int) -> Track | None:
        stmt = (
            select(Track)
            .options(selectinload(Track.genre_tags), selectinload(Track.mood_tags))
            .where(Track.id == track_id)
        )
        result = await self.session.execute(stmt)
        return result.scalars().first()

    async def update_track(self, track_id: int, values: dict[str, Any]) -> Track | None:
        track = await self.session.get(Track, track_id)
        if track is None:
            return None
        for field, value in values.items():
            setattr(track, field, value)
        await self.session.commit()
        await self.session.refresh(track)
        return track

    async def _get_or_create_tags(self, model: type[GenreTag] | type[MoodTag], names: list[str]) -> list[Any]:
        tags: list[Any] = []
        for name in dict.fromkeys(n.strip().lower() for n in names if n.strip()):
            result = await self.session.execute(select(model).where(model.name == name))
            tag = result.scalars().first()
            if tag is None:
                tag = model(name=name)
                self.session.add(tag)
                await self.session.flush()
            tags.append(tag)
        return tags

    async def update_track_tags(self, track_id: int, tags: TrackTags) -> Track | None:
        track = await self.read_track(track_id)
        if track is None:
            return None
        track.genre_tags = await self._get_or_create_tags(GenreTag, tags.genre_tags)
        track.mood_tags = await self._get_or_create_tags(MoodTag, tags.mood_tags)
        await self.session.commit()
        return await self.read_track(track_id)

    async def delete_track(self, track_id: int) -> bool:
        track = await self.session.get(Track, track_id)
        if track is None:
            return False
        await self.session.delete(track)
        await self.session.commit()
        logger.info("Track %s deleted", track_id)
        return True

    async def get_artist_tracks(
        self, artist_id: int, album_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Track]:
        stmt = select(Track).where(Track.track_artist_id == artist_id)
        if album_id is not None:
            stmt = stmt.where(Track.album_id == album_id)
        stmt = stmt.order_by(nulls_last(Track.album_id.asc()), Track.disc_number, Track.track_number, Track.id)
        result = await self.session.execute(stmt.offset(skip).limit(limit))
        return result.scalars().all()

    async def create_or_update_tracks_batch(self, tracks_data: list[TrackCreate]) -> dict[str, Any]:
        """Insert new paths and update known ones; the scanner sends its files in batches of 500."""
        paths = [t.path for t in tracks_data]
        result = await self.session.execute(select(Track.id, Track.path).where(Track.path.in_(paths)))
        existing = {path: track_id for track_id, path in result.all()}

        to_create = [t for t in tracks_data if t.path not in existing]
        to_update = [(existing[t.path], t) for t in tracks_data if t.path in existing]

        created = self._create_tracks_batch_optimized(to_create) if to_create else []
        updated = self._update_tracks_batch_optimized(to_update) if to_update else []

        by_path = {t.path: t for t in [*created, *updated]}
        ordered = [by_path[p] for p in dict.fromkeys(paths) if p in by_path]
        return {"created": len(created), "updated": len(updated), "tracks": ordered}

    def _create_tracks_batch_optimized(self, tracks_data: list[TrackCreate]) -> list[Track]:
        try:
            new_paths = [t.path for t in tracks_data]
            already = {row.path for row in self.session.query(Track.path).filter(Track.path.in_(new_paths)).all()}
            tracks = [Track(**t.model_dump()) for t in tracks_data if t.path not in already]
            self.session.add_all(tracks)
            self.session.commit()
            for track in tracks:
                self.session.refresh(track)
            logger.info("Batch: %d tracks created", len(tracks))
            return tracks
        except SQLAlchemyError:
            logger.exception("Batch track creation failed, rolling back")
            self.session.rollback()
            raise

    def _update_tracks_batch_optimized(self, updates: list[tuple[int, TrackCreate]]) -> list[Track]:
        try:
            by_id = dict(updates)
            tracks = self.session.query(Track).filter(Track.id.in_(list(by_id))).order_by(Track.id).all()
            for track in tracks:
                for field, value in by_id[track.id].model_dump(exclude={"path"}).items():
                    setattr(track, field, value)
            self.session.commit()
            for track in tracks:
                self.session.refresh(track)
            logger.info("Batch: %d tracks updated", len(tracks))
            return tracks
        except SQLAlchemyError:
            logger.exception("Batch track update failed, rolling back")
            self.session.rollback()
            raise

    def search_tracks(
        self,
        title: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        genre: str | None = None,
        year: int | None = None,
        skip: int = 0,
        limit: int = 50,
    ) -> list[Track]:
        query = self.session.query(Track)
        if title:
            query = query.filter(Track.title.ilike(f"%{title}%"))
        if artist:
            query = query.join(Track.artist).filter(Artist.name.ilike(f"%{artist}%"))
        if album:
            query = query.join(Track.album).filter(Album.title.ilike(f"%{album}%"))
        if genre:
            query = query.filter(func.lower(Track.genre) == genre.lower())
        if year is not None:
            query = query.filter(Track.year == year)
        return query.order_by(Track.id).offset(skip).limit(limit).all()
