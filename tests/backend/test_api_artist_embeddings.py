"""/api/artist-embeddings: CRUD, GMM training (scikit-learn), vector similarity (sync in the original)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from backend_expect import artist_name, cosine_ranking, rows
from sklearn.mixture import GaussianMixture

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _embedding_json(e: dict) -> dict:
    return {k: e[k] for k in ("id", "artist_name", "vector", "cluster", "cluster_probabilities")}


def _expected_gmm(n_components: int, random_state: int = 42) -> tuple[np.ndarray, GaussianMixture, np.ndarray]:
    embeddings = sorted(rows("artist_embeddings"), key=lambda e: e["id"])
    vectors = np.asarray([e["vector"] for e in embeddings], dtype=np.float64)
    gmm = GaussianMixture(n_components=n_components, covariance_type="diag", max_iter=100, random_state=random_state)
    gmm.fit(vectors)
    return gmm.predict(vectors), gmm, vectors


async def test_list_and_read_embeddings(client: httpx.AsyncClient) -> None:
    ordered = sorted(rows("artist_embeddings"), key=lambda e: e["artist_name"])
    resp = await client.get("/api/artist-embeddings/", params={"skip": 2, "limit": 5})
    assert resp.json() == [_embedding_json(e) for e in ordered[2:7]]
    one = await client.get(f"/api/artist-embeddings/{ordered[0]['artist_name']}")
    assert one.json() == _embedding_json(ordered[0])
    assert (await client.get("/api/artist-embeddings/Nobody")).status_code == 404


async def test_create_update_delete_embedding(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/artist-embeddings/", json={"artist_name": "New Kid", "vector": [0.1234567, 2.0]})
    assert created.status_code == 201
    assert created.json() == {
        "id": len(rows("artist_embeddings")) + 1,
        "artist_name": "New Kid",
        "vector": [0.123457, 2.0],
        "cluster": None,
        "cluster_probabilities": None,
    }
    dup = await client.post("/api/artist-embeddings/", json={"artist_name": "New Kid", "vector": [1.0]})
    assert dup.status_code == 409
    updated = await client.put("/api/artist-embeddings/New Kid", json={"cluster": 3})
    assert (updated.json()["cluster"], updated.json()["vector"]) == (3, [0.123457, 2.0])
    assert (await client.put("/api/artist-embeddings/Ghost", json={"cluster": 1})).status_code == 404
    assert (await client.delete("/api/artist-embeddings/New Kid")).status_code == 204
    assert (await client.delete("/api/artist-embeddings/New Kid")).status_code == 404


async def test_train_gmm_and_clusters(client: httpx.AsyncClient) -> None:
    labels, gmm, vectors = _expected_gmm(3)
    resp = await client.post("/api/artist-embeddings/train-gmm", json={"n_components": 3})
    assert resp.status_code == 200
    sizes = np.bincount(labels, minlength=3)
    assert resp.json() == {
        "n_components": 3,
        "n_artists": len(rows("artist_embeddings")),
        "converged": bool(gmm.converged_),
        "log_likelihood": round(float(gmm.score(vectors)), 4),
        "cluster_sizes": {str(k): int(n) for k, n in enumerate(sizes)},
    }

    names = [e["artist_name"] for e in sorted(rows("artist_embeddings"), key=lambda e: e["id"])]
    members = {k: sorted(n for n, label in zip(names, labels, strict=True) if label == k) for k in range(3)}
    clusters = await client.get("/api/artist-embeddings/clusters")
    assert clusters.json() == [
        {"cluster": k, "size": len(members[k]), "artists": members[k][:10]} for k in range(3) if members[k]
    ]
    in_zero = await client.get("/api/artist-embeddings/clusters/0")
    assert [e["artist_name"] for e in in_zero.json()] == members[0]
    assert all(abs(sum(e["cluster_probabilities"].values()) - 1.0) < 1e-3 for e in in_zero.json())

    # Similar artists are looked for inside the trained cluster.
    target = members[0][0]
    similar = await client.get(f"/api/artist-embeddings/{target}/similar", params={"limit": 5})
    vectors_by_name = {e["artist_name"]: e["vector"] for e in rows("artist_embeddings")}
    expected = cosine_ranking(vectors_by_name[target], [(n, vectors_by_name[n]) for n in members[0] if n != target], 5)
    assert similar.json() == expected


async def test_train_gmm_needs_enough_artists(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/artist-embeddings/train-gmm", json={"n_components": 25})
    assert resp.status_code == 400
    assert (await client.get("/api/artist-embeddings/clusters")).json() == []


async def test_similar_artists_before_training_ranks_everyone(client: httpx.AsyncClient) -> None:
    embeddings = sorted(rows("artist_embeddings"), key=lambda e: e["artist_name"])
    target = embeddings[3]
    resp = await client.get(f"/api/artist-embeddings/{target['artist_name']}/similar", params={"limit": 4})
    others = [(e["artist_name"], e["vector"]) for e in embeddings if e["artist_name"] != target["artist_name"]]
    assert resp.json() == cosine_ranking(target["vector"], others, 4)
    assert (await client.get("/api/artist-embeddings/Nobody/similar")).status_code == 404


async def test_find_similar_artists_vector(client: httpx.AsyncClient) -> None:
    query = rows("artist_embeddings")[5]["vector"]
    resp = await client.post("/api/artist-embeddings/similar-vector", json=query, params={"limit": 3})
    candidates = [
        (e["artist_name"], e["vector"]) for e in sorted(rows("artist_embeddings"), key=lambda e: e["artist_name"])
    ]
    assert resp.json() == cosine_ranking(query, candidates, 3)
    assert resp.json()[0]["artist_name"] == rows("artist_embeddings")[5]["artist_name"]


async def test_generate_artist_embeddings(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/artist-embeddings/generate")
    with_vectors = {
        t["track_artist_id"] for t in rows("tracks") if any(v["track_id"] == t["id"] for v in rows("track_vectors"))
    }
    embedded = {e["artist_name"] for e in rows("artist_embeddings")}
    created = sum(1 for a in with_vectors if artist_name(a) not in embedded)
    assert resp.json() == {"created": created, "updated": len(with_vectors) - created}

    artist_id = max(with_vectors)
    track_ids = {t["id"] for t in rows("tracks") if t["track_artist_id"] == artist_id}
    vectors = [
        v["embedding"] for v in sorted(rows("track_vectors"), key=lambda v: v["track_id"]) if v["track_id"] in track_ids
    ]
    expected = [round(float(x), 6) for x in np.mean(np.asarray(vectors, dtype=np.float64), axis=0)]
    one = await client.get(f"/api/artist-embeddings/{artist_name(artist_id)}")
    assert one.json()["vector"] == expected
