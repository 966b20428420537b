"""Artists: already migrated to AsyncSession."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.models.albums_model import Album
from backend.api.models.artists_model import Artist
from backend.api.models.tracks_model import Track
from backend.api.schemas.artists_schema import ArtistCreate, ArtistUpdate
from backend.api.utils.logging import logger


class ArtistService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search_artists(self, name: str, skip: int = 0, limit: int = 50) -> Sequence[Artist]:
        stmt = (
            select(Artist)
            .where(Artist.name.ilike(f"%{name}%"))
            .order_by(Artist.name, Artist.id)
            .offset(skip)
            .limit(limit)
        )
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def read_artist(self, artist_id: int) -> Artist | None:
        return await self.session.get(Artist, artist_id)

    async def read_artist_with_stats(self, artist_id: int) -> dict[str, object] | None:
        artist = await self.read_artist(artist_id)
        if artist is None:
            return None
        album_count = await self.session.scalar(
            select(func.count(Album.id)).where(Album.album_artist_id == artist_id)
        )
        track_count = await self.session.scalar(
            select(func.count(Track.id)).where(Track.track_artist_id == artist_id)
        )
        return {
            "id": artist.id,
            "name": artist.name,
            "musicbrainz_artistid": artist.musicbrainz_artistid,
            "bio": artist.bio,
            "lastfm_url": artist.lastfm_url,
            "lastfm_listeners": artist.lastfm_listeners,
            "album_count": album_count or 0,
            "track_count": track_count or 0,
        }

    async def read_artists(self, skip: int = 0, limit: int = 100) -> Sequence[Artist]:
        result = await self.session.execute(select(Artist).order_by(Artist.id).offset(skip).limit(limit))
        return result.scalars().all()

    async def get_artists_count(self) -> int:
        return (await self.session.scalar(select(func.count(Artist.id)))) or 0

    async def get_artist_by_name(self, name: str) -> Artist | None:
        result = await self.session.execute(select(Artist).where(Artist.name == name))
        return result.scalars().first()

    async def create_artist(self, data: ArtistCreate) -> Artist:
        artist = Artist(**data.model_dump())
        self.session.add(artist)
        await self.session.commit()
        await self.session.refresh(artist)
        logger.info("Artist created: %s", artist.name)
        return artist

    async def update_artist(self, artist_id: int, data: ArtistUpdate) -> Artist | None:
        artist = await self.read_artist(artist_id)
        if artist is None:
            return None
        for field, value in data.model_dump(exclude_unset=True).items():
            setattr(artist, field, value)
        await self.session.commit()
        await self.session.refresh(artist)
        return artist

    async def delete_artist(self, artist_id: int) -> bool:
        artist = await self.read_artist(artist_id)
        if artist is None:
            return False
        await self.session.delete(artist)
        await self.session.commit()
        return True
