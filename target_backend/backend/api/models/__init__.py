"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from backend.api.models.albums_model import Album
from backend.api.models.artist_embeddings_model import ArtistEmbedding, GMMModel
from backend.api.models.artist_similar_model import ArtistSimilar
from backend.api.models.artists_model import Artist
from backend.api.models.covers_model import Cover, EntityCoverType
from backend.api.models.genres_model import Genre, track_genres
from backend.api.models.playqueue_model import PlayQueueEntry
from backend.api.models.scan_sessions_model import ScanSession
from backend.api.models.settings_model import Setting
from backend.api.models.tags_model import GenreTag, MoodTag, track_genre_tags, track_mood_tags
from backend.api.models.tracks_model import Track, TrackVector

__all__ = [
    "Album",
    "Artist",
    "ArtistEmbedding",
    "ArtistSimilar",
    "Cover",
    "EntityCoverType",
    "GMMModel",
    "Genre",
    "GenreTag",
    "MoodTag",
    "PlayQueueEntry",
    "ScanSession",
    "Setting",
    "Track",
    "TrackVector",
    "track_genre_tags",
    "track_genres",
    "track_mood_tags",
]
