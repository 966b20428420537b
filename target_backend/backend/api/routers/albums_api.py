"""Albums endpoints: half migrated (search and detail use the async service, the rest is still sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.api.models.albums_model import Album as AlbumModel
from backend.api.models.artists_model import Artist as ArtistModel
from backend.api.models.tracks_model import Track as TrackModel
from backend.api.schemas.albums_schema import Album, AlbumCreate, AlbumUpdate, AlbumWithArtist
from backend.api.schemas.tracks_schema import Track
from backend.api.services.album_service import AlbumService
from backend.api.utils.database import DbSession, get_async_db, get_db

router = APIRouter(prefix="/api/albums", tags=["albums"])


@router.get("/search", response_model=list[Album])
async def search_albums(
    title: str | None = None,
    artist: str | None = None,
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=200),
    db: AsyncSession = Depends(get_async_db),
) -> Any:
    return await AlbumService(db).search_albums(title=title, artist_name=artist, skip=skip, limit=limit)


@router.post("/batch", response_model=list[Album], status_code=status.HTTP_201_CREATED)
def create_albums_batch(albums: list[AlbumCreate], db: DbSession) -> Any:
    result: list[AlbumModel] = []
    for data in albums:
        album = (
            db.query(AlbumModel)
            .filter(AlbumModel.title == data.title, AlbumModel.album_artist_id == data.album_artist_id)
            .first()
        )
        if album is None:
            album = AlbumModel(**data.model_dump())
            db.add(album)
            db.flush()
        result.append(album)
    db.commit()
    for album in result:
        db.refresh(album)
    return result


@router.post("/", response_model=Album, status_code=status.HTTP_201_CREATED)
def create_album(album: AlbumCreate, db: Session = Depends(get_db)) -> Any:
    if db.get(ArtistModel, album.album_artist_id) is None:
        raise HTTPException(status_code=404, detail="Artist not found")
    new_album = AlbumModel(**album.model_dump())
    db.add(new_album)
    db.commit()
    db.refresh(new_album)
    return new_album


@router.get("/", response_model=list[Album])
def read_albums(
    db: DbSession,
    skip: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    year: int | None = None,
) -> Any:
    query = db.query(AlbumModel)
    if year is not None:
        query = query.filter(AlbumModel.release_year == year)
    return query.order_by(AlbumModel.id).offset(skip).limit(limit).all()


@router.get("/artists/{artist_id}", response_model=list[Album])
def read_artist_albums(artist_id: int, db: DbSession) -> Any:
    if db.get(ArtistModel, artist_id) is None:
        raise HTTPException(status_code=404, detail="Artist not found")
    return (
        db.query(AlbumModel)
        .filter(AlbumModel.album_artist_id == artist_id)
        .order_by(AlbumModel.release_year, AlbumModel.id)
        .all()
    )


@router.get("/{album_id}", response_model=AlbumWithArtist)
async def read_album(album_id: int, db: AsyncSession = Depends(get_async_db)) -> Any:
    album = await AlbumService(db).read_album(album_id)
    if album is None:
        raise HTTPException(status_code=404, detail="Album not found")
    return album


@router.put("/{album_id}", response_model=Album)
def update_album(album_id: int, album: AlbumUpdate, db: DbSession) -> Any:
    db_album = db.get(AlbumModel, album_id)
    if db_album is None:
        raise HTTPException(status_code=404, detail="Album not found")
    for field, value in album.model_dump(exclude_unset=True).items():
        setattr(db_album, field, value)
    db.commit()
    db.refresh(db_album)
    return db_album


@router.get("/{album_id}/tracks", response_model=list[Track])
def read_album_tracks(album_id: int, db: DbSession) -> Any:
    if db.get(AlbumModel, album_id) is None:
        raise HTTPException(status_code=404, detail="Album not found")
    query = db.query(TrackModel).filter(TrackModel.album_id == album_id)
    query = query.order_by(TrackModel.disc_number, TrackModel.track_number, TrackModel.id)
    return query.all()


@router.delete("/{album_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_album(album_id: int, db: DbSession) -> None:
    album = db.get(AlbumModel, album_id)
    if album is None:
        raise HTTPException(status_code=404, detail="Album not found")
    db.delete(album)
    db.commit()
