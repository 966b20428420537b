"""Bad input answered with a 4xx, never a 500: the cases schemathesis found (tests/faults/test_faults_bad_input.py).

Each was a 500 before `backend/api/utils/errors.py` (database errors mapped to 409/422/503) and the embedding
fixes: the database refusing the request's data must be the client's error, not the server's.
"""

from __future__ import annotations

import httpx
import pytest
from backend_expect import rows

pytestmark = pytest.mark.asyncio(loop_scope="session")

INT32_OVERFLOW = 2**31  # ids are INTEGER columns: asyncpg refuses the argument, PostgreSQL finds no row
INT64_OVERFLOW = 2**63  # beyond what SQLite's driver can bind


@pytest.mark.parametrize("big", [INT32_OVERFLOW, INT64_OVERFLOW])
async def test_an_id_out_of_the_column_range_is_not_found_or_refused(client: httpx.AsyncClient, big: int) -> None:
    for response in (
        await client.get(f"/api/albums/{big}"),
        await client.get(f"/api/artists/{big}"),
        await client.get(f"/api/genres/{big}"),
        await client.get(f"/api/albums/artists/{big}"),
    ):
        assert response.status_code in (200, 404, 422), (response.request.url, response.status_code, response.text)
        if response.status_code == 200:
            assert response.json() == []


async def test_a_batch_naming_a_missing_artist_is_a_conflict_and_writes_nothing(client: httpx.AsyncClient) -> None:
    missing_artist = max(a["id"] for a in rows("artists")) + 1000
    batch = [
        {"title": "Bad Input Album", "album_artist_id": 1},
        {"title": "Orphan Album", "album_artist_id": missing_artist},
    ]
    response = await client.post("/api/albums/batch", json=batch)
    assert response.status_code == 409, response.text
    found = await client.get("/api/albums/search", params={"title": "Bad Input Album"})
    assert found.json() == [], "the batch was refused: none of its albums may stay"


async def test_renaming_a_genre_to_an_existing_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    first, second = sorted(rows("genres"), key=lambda g: g["id"])[:2]
    response = await client.put(f"/api/genres/{second['id']}", json={"name": first["name"]})
    assert response.status_code == 409, response.text
    unchanged = await client.get(f"/api/genres/{second['id']}")
    assert unchanged.json()["name"] == second["name"]


async def test_a_vector_of_a_dimension_no_embedding_has_matches_nothing(client: httpx.AsyncClient) -> None:
    dimension = len(rows("artist_embeddings")[0]["vector"])
    for vector in ([], [0.5] * (dimension + 3)):
        response = await client.post("/api/artist-embeddings/similar-vector", json=vector)
        assert response.status_code == 200, response.text
        assert response.json() == []


async def test_similar_artists_skip_embeddings_of_another_dimension(client: httpx.AsyncClient) -> None:
    embedding = rows("artist_embeddings")[0]
    other = next(e for e in rows("artist_embeddings")[1:] if e["cluster"] == embedding["cluster"])
    resized = await client.put(f"/api/artist-embeddings/{other['artist_name']}", json={"vector": [1.0, 2.0]})
    assert resized.status_code == 200, resized.text
    response = await client.get(f"/api/artist-embeddings/{embedding['artist_name']}/similar")
    assert response.status_code == 200, response.text
    assert other["artist_name"] not in {s["artist_name"] for s in response.json()}
