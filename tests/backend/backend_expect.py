"""Expected values computed from the seed (fixtures/library/seed_library.py), shared by the backend tests."""

from __future__ import annotations

import sys
from typing import Any

LIBRARY: dict[str, list[dict[str, Any]]] = sys.modules["awaitify_seed_library"].build_library()

TRACK_FIELDS = (
    "id",
    "title",
    "path",
    "track_artist_id",
    "album_id",
    "duration",
    "track_number",
    "disc_number",
    "year",
    "genre",
    "file_type",
    "bitrate",
    "musicbrainz_id",
    "bpm",
    "key",
    "scale",
    "danceability",
    "mood_happy",
    "mood_aggressive",
    "mood_party",
    "mood_relaxed",
    "instrumental",
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
        t
        for t in LIBRARY["tracks"]
        if t["track_artist_id"] == artist_id and (album_id is None or t["album_id"] == album_id)
    ]
    big = 10**9
    return sorted(
        selected,
        key=lambda t: (
            t["album_id"] if t["album_id"] is not None else big,
            t["disc_number"],
            t["track_number"],
            t["id"],
        ),
    )


def similar_of(artist_id: int) -> list[dict[str, Any]]:
    edges = [e for e in LIBRARY["artist_similar"] if e["artist_id"] == artist_id]
    return sorted(edges, key=lambda e: (-e["weight"], e["similar_artist_id"]))


def artist_with_similar(min_edges: int = 2) -> int:
    for artist in LIBRARY["artists"]:
        if len(similar_of(artist["id"])) >= min_edges:
            return int(artist["id"])
    raise AssertionError("seed has no artist with enough similar artists")


def text_search(
    term: str, genre: str | None = None, year_from: int | None = None, year_to: int | None = None
) -> list[tuple[int, float]]:
    """Replica of SearchService._text_search + _combine_results (no vector part)."""
    term = term.strip().lower()
    albums = {a["id"]: a["title"] for a in LIBRARY["albums"]}
    scores: dict[int, float] = {}
    for t in LIBRARY["tracks"]:
        if genre and (t["genre"] or "").lower() != genre.lower():
            continue
        if year_from is not None and t["year"] < year_from:
            continue
        if year_to is not None and t["year"] > year_to:
            continue
        title, artist = t["title"].lower(), artist_name(t["track_artist_id"]).lower()
        album = (albums.get(t["album_id"]) or "").lower()
        if term and not (term in title or term in artist or term in album):
            continue
        score = 0.0
        if term:
            score = 3.0 * (term in title) + 2.0 * (term in artist) + 1.0 * bool(album and term in album)
        scores[t["id"]] = score
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def vector_search(track_id: int, top_k: int = 50) -> list[tuple[int, float]]:
    """Replica of SearchService._vector_search ranked alone (query text empty)."""
    import numpy as np

    vectors = {v["track_id"]: v["embedding"] for v in LIBRARY["track_vectors"]}
    ref = np.asarray(vectors[track_id], dtype=np.float64)
    others = sorted(tid for tid in vectors if tid != track_id)
    ids = np.array(others)
    matrix = np.asarray([vectors[t] for t in others], dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(ref)
    sims = np.divide(matrix @ ref, norms, out=np.zeros(len(others)), where=norms > 0)
    top = np.lexsort((ids, -np.round(sims, 9)))[:top_k]
    scores = {int(ids[i]): round(float(sims[i]), 6) for i in top}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def facets(track_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    tracks = [by_id("tracks", tid) for tid in track_ids]

    def rank(counter: dict[str, int]) -> list[dict[str, Any]]:
        return [{"value": v, "count": c} for v, c in sorted(counter.items(), key=lambda vc: (-vc[1], vc[0]))[:10]]

    genres: dict[str, int] = {}
    artists: dict[str, int] = {}
    decades: dict[str, int] = {}
    for t in tracks:
        genres[t["genre"]] = genres.get(t["genre"], 0) + 1
        name = artist_name(t["track_artist_id"])
        artists[name] = artists.get(name, 0) + 1
        label = f"{t['year'] // 10 * 10}s"
        decades[label] = decades.get(label, 0) + 1
    return {"genres": rank(genres), "artists": rank(artists), "decades": rank(decades)}


def hit(track_id: int, score: float) -> dict[str, Any]:
    t = by_id("tracks", track_id)
    album = by_id("albums", t["album_id"])["title"] if t["album_id"] else None
    return {
        "track_id": track_id,
        "title": t["title"],
        "artist": artist_name(t["track_artist_id"]),
        "album": album,
        "genre": t["genre"],
        "year": t["year"],
        "score": score,
    }


def cosine_ranking(
    reference: list[float], candidates: list[tuple[str, list[float]]], limit: int
) -> list[dict[str, Any]]:
    """Replica of artist_embedding_service._cosine_ranking."""
    import numpy as np

    names = [n for n, _ in candidates]
    matrix = np.asarray([v for _, v in candidates], dtype=np.float64).reshape(len(candidates), -1)
    ref = np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(ref)
    sims = np.divide(matrix @ ref, norms, out=np.zeros(len(names)), where=norms > 0)
    order = sorted(range(len(names)), key=lambda i: (-round(float(sims[i]), 9), names[i]))
    return [{"artist_name": names[i], "similarity": round(float(sims[i]), 6)} for i in order[:limit]]
