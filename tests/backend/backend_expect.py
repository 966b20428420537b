"""Expected values computed from the seed (fixtures/library/seed_library.py), shared by the backend tests."""

from __future__ import annotations

import sys
from typing import Any

LIBRARY: dict[str, list[dict[str, Any]]] = sys.modules["awaitify_seed_library"].build_library()

TRACK_FIELDS = (
    "id", "title", "path", "track_artist_id", "album_id", "duration", "track_number", "disc_number", "year",
    "genre", "file_type", "bitrate", "musicbrainz_id", "bpm", "key", "scale", "danceability", "mood_happy",
    "mood_aggressive", "mood_party", "mood_relaxed", "instrumental",
)


def rows(table: str) -> list[dict[str, Any]]:
    return LIBRARY[table]


def by_id(table: str, row_id: int) -> dict[str, Any]:
    return next(r for r in LIBRARY[table] if r["id"] == row_id)


def artist_name(artist_id: int) -> str:
    return by_id("artists", artist_id)["name"]


def track_json(track: dict[str, Any]) -> dict[str, Any]:
    return {k: track[k] for k in TRACK_FIELDS}


def tags_of(track_id: int, kind: str) -> list[str]:
    names = {t["id"]: t["name"] for t in LIBRARY[kind]}
    link = "track_genre_tags" if kind == "genre_tags" else "track_mood_tags"
    return sorted(names[r["tag_id"]] for r in LIBRARY[link] if r["track_id"] == track_id)


def artist_tracks(artist_id: int, album_id: int | None = None) -> list[dict[str, Any]]:
    """Tracks ordered like TrackService.get_artist_tracks (album with NULLs last, disc, number, id)."""
    selected = [
        t for t in LIBRARY["tracks"]
        if t["track_artist_id"] == artist_id and (album_id is None or t["album_id"] == album_id)
    ]
    big = 10**9
    return sorted(
        selected,
        key=lambda t: (t["album_id"] if t["album_id"] is not None else big, t["disc_number"], t["track_number"], t["id"]),
    )


def similar_of(artist_id: int) -> list[dict[str, Any]]:
    edges = [e for e in LIBRARY["artist_similar"] if e["artist_id"] == artist_id]
    return sorted(edges, key=lambda e: (-e["weight"], e["similar_artist_id"]))


def artist_with_similar(min_edges: int = 2) -> int:
    for artist in LIBRARY["artists"]:
        if len(similar_of(artist["id"])) >= min_edges:
            return int(artist["id"])
    raise AssertionError("seed has no artist with enough similar artists")
