"""Albums: already migrated to AsyncSession."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backend.api.models.albums_model import Album
from backend.api.models.artists_model import Artist
from backend.api.models.tracks_model import Track


class AlbumService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search_albums(
        self, title: str | None = None, artist_name: str | None = None, skip: int = 0, limit: int = 50
    ) -> Sequence[Album]:
        stmt = select(Album).join(Album.artist).options(joinedload(Album.artist))
        if title:
            stmt = stmt.where(Album.title.ilike(f"%{title}%"))
        if artist_name:
            stmt = stmt.where(Artist.name.ilike(f"%{artist_name}%"))
        stmt = stmt.order_by(Album.title, Album.id).offset(skip).limit(limit)
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def read_album(self, album_id: int) -> dict[str, object] | None:
        stmt = select(Album).options(joinedload(Album.artist)).where(Album.id == album_id)
        album = (await self.session.execute(stmt)).scalars().first()
        if album is None:
            return None
        track_count = await self.session.scalar(select(func.count(Track.id)).where(Track.album_id == album_id))
        return {
            "id": album.id,
            "title": album.title,
            "album_artist_id": album.album_artist_id,
            "release_year": album.release_year,
            "musicbrainz_albumid": album.musicbrainz_albumid,
            "artist_name": album.artist.name,
            "track_count": track_count or 0,
        }

    async def get_album_entity(self, album_id: int) -> Album | None:
        return await self.session.get(Album, album_id)
