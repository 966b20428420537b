"""Library scan (sync): walks a directory, reads tags with mutagen, fills artists/albums/tracks/covers."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import FLAC
from sqlalchemy.orm import Session, selectinload

from backend.api.models._common import utcnow
from backend.api.models.albums_model import Album
from backend.api.models.artists_model import Artist
from backend.api.models.covers_model import Cover, EntityCoverType
from backend.api.models.scan_sessions_model import ScanSession
from backend.api.models.tracks_model import Track
from backend.api.services.genres_service import GenresService
from backend.api.utils.logging import logger

AUDIO_EXTENSIONS = frozenset({".flac", ".ogg", ".mp3", ".m4a", ".wav"})


def _first(tags: Any, name: str) -> str | None:
    values = tags.get(name) if tags is not None else None
    if not values:
        return None
    value = str(values[0]).strip()
    return value or None


def _leading_int(value: str | None) -> int | None:
    if not value:
        return None
    head = value.split("/")[0].split("-")[0].strip()
    return int(head) if head.isdigit() else None


class ScanService:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.genres = GenresService(db)

    @staticmethod
    def convert_path_to_docker(path: str) -> str:
        """Host paths sent by the UI are mapped into the container's music volume."""
        host_root = os.getenv("MUSIC_HOST_ROOT")
        docker_root = os.getenv("MUSIC_DOCKER_ROOT", "/music")
        if host_root and path.startswith(host_root):
            return docker_root.rstrip("/") + "/" + path[len(host_root) :].lstrip("/")
        return path

    @staticmethod
    def validate_base_directory(directory: str) -> Path:
        path = Path(directory).resolve()
        base = os.getenv("MUSIC_BASE_DIR")
        if base and not path.is_relative_to(Path(base).resolve()):
            raise ValueError(f"{directory} is outside the music library {base}")
        if not path.is_dir():
            raise ValueError(f"{directory} is not a directory")
        return path

    @staticmethod
    def _read_metadata(file: Path) -> dict[str, Any]:
        audio = mutagen.File(file, easy=True)
        if audio is None:
            raise ValueError("unsupported audio file")
        tags = audio.tags
        picture: tuple[str, str] | None = None
        if file.suffix.lower() == ".flac":
            pictures = FLAC(file).pictures
            if pictures:
                picture = (pictures[0].mime, base64.b64encode(pictures[0].data).decode())
        return {
            "title": _first(tags, "title") or file.stem,
            "artist": _first(tags, "albumartist") or _first(tags, "artist") or "Unknown Artist",
            "track_artist": _first(tags, "artist") or "Unknown Artist",
            "album": _first(tags, "album"),
            "genre": _first(tags, "genre"),
            "year": _leading_int(_first(tags, "date")),
            "track_number": _leading_int(_first(tags, "tracknumber")),
            "disc_number": _leading_int(_first(tags, "discnumber")),
            "duration": int(round(audio.info.length)) if audio.info else None,
            "bitrate": getattr(audio.info, "bitrate", None) or None,
            "file_type": file.suffix.lower().lstrip("."),
            "picture": picture,
        }

    def _get_or_create_artist(self, name: str) -> Artist:
        artist = self.db.query(Artist).filter(Artist.name == name).first()
        if artist is None:
            artist = Artist(name=name)
            self.db.add(artist)
            self.db.flush()
        return artist

    def _get_or_create_album(self, title: str, artist: Artist, year: int | None) -> Album:
        album = (
            self.db.query(Album)
            .filter(Album.title == title, Album.album_artist_id == artist.id)
            .first()
        )
        if album is None:
            album = Album(title=title, album_artist_id=artist.id, release_year=year)
            self.db.add(album)
            self.db.flush()
        return album

    def _save_cover(self, album: Album, picture: tuple[str, str]) -> None:
        exists = (
            self.db.query(Cover)
            .filter(Cover.entity_type == EntityCoverType.ALBUM.value, Cover.entity_id == album.id)
            .count()
        )
        if not exists:
            mime, data = picture
            self.db.add(
                Cover(entity_type=EntityCoverType.ALBUM.value, entity_id=album.id, mime_type=mime, cover_data=data)
            )
            self.db.flush()

    def launch_scan(self, directory: str, cleanup_missing: bool = False) -> ScanSession:
        root = self.validate_base_directory(self.convert_path_to_docker(directory))
        session = ScanSession(directory=str(root), status="running")
        self.db.add(session)
        self.db.commit()
        self.db.refresh(session)
        logger.info("Scan %s started on %s", session.id, root)

        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        errors: list[str] = []
        created = updated = 0
        for file in files:
            try:
                meta = self._read_metadata(file)
            except (mutagen.MutagenError, ValueError, OSError) as exc:
                logger.warning("Skipping %s: %s", file, exc)
                errors.append(f"{file.name}: {exc}")
                continue
            album_artist = self._get_or_create_artist(meta["artist"])
            track_artist = (
                album_artist if meta["track_artist"] == meta["artist"] else self._get_or_create_artist(meta["track_artist"])
            )
            album = self._get_or_create_album(meta["album"], album_artist, meta["year"]) if meta["album"] else None
            genre = self.genres.get_or_create_genre(meta["genre"]) if meta["genre"] else None

            values = {
                "title": meta["title"],
                "track_artist_id": track_artist.id,
                "album_id": album.id if album else None,
                "duration": meta["duration"],
                "track_number": meta["track_number"],
                "disc_number": meta["disc_number"],
                "year": meta["year"],
                "genre": meta["genre"],
                "file_type": meta["file_type"],
                "bitrate": meta["bitrate"],
            }
            track = (
                self.db.query(Track)
                .options(selectinload(Track.genres))
                .filter(Track.path == str(file))
                .first()
            )
            if track is None:
                track = Track(path=str(file), genres=[genre] if genre else [], **values)
                self.db.add(track)
                created += 1
            else:
                for field, value in values.items():
                    setattr(track, field, value)
                if genre is not None and genre not in track.genres:
                    track.genres.append(genre)
                updated += 1
            if album is not None and meta["picture"] is not None:
                self._save_cover(album, meta["picture"])
            self.db.flush()

        if cleanup_missing:
            found = [str(f) for f in files]
            removed = (
                self.db.query(Track)
                .filter(Track.path.like(f"{root}{os.sep}%"), Track.path.notin_(found))
                .delete(synchronize_session=False)
            )
            logger.info("Scan %s: %d missing tracks removed", session.id, removed)

        session.status = "completed"
        session.files_found = len(files)
        session.tracks_created = created
        session.tracks_updated = updated
        session.errors = "\n".join(errors) or None
        session.finished_at = utcnow()
        self.db.commit()
        self.db.refresh(session)
        logger.info("Scan %s done: %d files, %d created, %d updated", session.id, len(files), created, updated)
        return session

    def list_sessions(self, skip: int = 0, limit: int = 20) -> list[ScanSession]:
        return self.db.query(ScanSession).order_by(ScanSession.id.desc()).offset(skip).limit(limit).all()

    def get_session(self, session_id: int) -> ScanSession | None:
        return self.db.get(ScanSession, session_id)
