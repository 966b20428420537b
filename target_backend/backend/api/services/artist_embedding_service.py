"""Artist embeddings and GMM clustering (sync)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture
from sqlalchemy import func
from sqlalchemy.orm import Session

from backend.api.models.artist_embeddings_model import ArtistEmbedding, GMMModel
from backend.api.models.artists_model import Artist
from backend.api.models.tracks_model import Track, TrackVector
from backend.api.schemas.artist_embeddings_schema import ArtistEmbeddingCreate, ArtistEmbeddingUpdate
from backend.api.utils.logging import logger


def _cosine_ranking(reference: np.ndarray, names: list[str], matrix: np.ndarray, limit: int) -> list[dict[str, Any]]:
    if not names:
        return []
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(reference)
    sims = np.divide(matrix @ reference, norms, out=np.zeros(len(names)), where=norms > 0)
    order = sorted(range(len(names)), key=lambda i: (-round(float(sims[i]), 9), names[i]))
    return [{"artist_name": names[i], "similarity": round(float(sims[i]), 6)} for i in order[:limit]]


class ArtistEmbeddingService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def create_embedding(self, data: ArtistEmbeddingCreate) -> ArtistEmbedding:
        if self.get_embedding_by_artist(data.artist_name) is not None:
            raise ValueError(f"Embedding for {data.artist_name!r} already exists")
        embedding = ArtistEmbedding(artist_name=data.artist_name, vector=[round(v, 6) for v in data.vector])
        self.db.add(embedding)
        self.db.commit()
        self.db.refresh(embedding)
        return embedding

    def get_embedding_by_artist(self, artist_name: str) -> ArtistEmbedding | None:
        return self.db.query(ArtistEmbedding).filter(ArtistEmbedding.artist_name == artist_name).first()

    def update_embedding(self, artist_name: str, data: ArtistEmbeddingUpdate) -> ArtistEmbedding | None:
        embedding = self.get_embedding_by_artist(artist_name)
        if embedding is None:
            return None
        if data.vector is not None:
            embedding.vector = [round(v, 6) for v in data.vector]
        if data.cluster is not None:
            embedding.cluster = data.cluster
        self.db.commit()
        self.db.refresh(embedding)
        return embedding

    def get_all_embeddings(self, skip: int = 0, limit: int = 100) -> list[ArtistEmbedding]:
        return self.db.query(ArtistEmbedding).order_by(ArtistEmbedding.artist_name).offset(skip).limit(limit).all()

    def get_embeddings_by_cluster(self, cluster: int, skip: int = 0, limit: int = 100) -> list[ArtistEmbedding]:
        query = self.db.query(ArtistEmbedding).filter(ArtistEmbedding.cluster == cluster)
        return query.order_by(ArtistEmbedding.artist_name).offset(skip).limit(limit).all()

    def delete_embedding(self, artist_name: str) -> bool:
        embedding = self.get_embedding_by_artist(artist_name)
        if embedding is None:
            return False
        self.db.delete(embedding)
        self.db.commit()
        return True

    def train_gmm(self, n_components: int = 4, max_iterations: int = 100, random_state: int = 42) -> dict[str, Any]:
        embeddings = self.db.query(ArtistEmbedding).order_by(ArtistEmbedding.id).all()
        if len(embeddings) < n_components:
            raise ValueError(f"Need at least {n_components} embeddings, have {len(embeddings)}")
        vectors = np.asarray([e.vector for e in embeddings], dtype=np.float64)
        gmm = GaussianMixture(
            n_components=n_components, covariance_type="diag", max_iter=max_iterations, random_state=random_state
        )
        gmm.fit(vectors)
        labels = gmm.predict(vectors)
        probabilities = gmm.predict_proba(vectors)

        self.db.bulk_update_mappings(
            ArtistEmbedding,
            [
                {
                    "id": e.id,
                    "cluster": int(labels[i]),
                    "cluster_probabilities": {str(k): round(float(p), 4) for k, p in enumerate(probabilities[i])},
                }
                for i, e in enumerate(embeddings)
            ],
        )
        log_likelihood = float(gmm.score(vectors))
        self._save_gmm_model(gmm, len(embeddings), vectors.shape[1], log_likelihood)
        self.db.commit()

        sizes = np.bincount(labels, minlength=n_components)
        logger.info("GMM trained on %d artists, clusters %s", len(embeddings), sizes.tolist())
        return {
            "n_components": n_components,
            "n_artists": len(embeddings),
            "converged": bool(gmm.converged_),
            "log_likelihood": round(log_likelihood, 4),
            "cluster_sizes": {str(k): int(n) for k, n in enumerate(sizes)},
        }

    def _save_gmm_model(self, gmm: GaussianMixture, trained_on: int, n_features: int, log_likelihood: float) -> None:
        # Only the latest model is kept: the Pi has little disk for blobs.
        self.db.query(GMMModel).delete(synchronize_session=False)
        self.db.add(
            GMMModel(
                n_components=gmm.n_components,
                n_features=n_features,
                model_data=pickle.dumps(gmm),
                converged=bool(gmm.converged_),
                log_likelihood=log_likelihood,
                trained_on=trained_on,
            )
        )

    def load_gmm_model(self) -> GaussianMixture | None:
        row = self.db.query(GMMModel).order_by(GMMModel.id.desc()).first()
        return pickle.loads(row.model_data) if row is not None else None

    def get_similar_artists(self, artist_name: str, limit: int = 10) -> list[dict[str, Any]] | None:
        """Artists of the same cluster, ranked by cosine similarity."""
        embedding = self.get_embedding_by_artist(artist_name)
        if embedding is None:
            return None
        query = self.db.query(ArtistEmbedding).filter(ArtistEmbedding.artist_name != artist_name)
        if embedding.cluster is not None:
            query = query.filter(ArtistEmbedding.cluster == embedding.cluster)
        others = query.order_by(ArtistEmbedding.artist_name).all()
        # Only vectors of the same dimension compare (an embedding may have been stored with another one).
        others = [o for o in others if len(o.vector) == len(embedding.vector)]
        matrix = np.asarray([o.vector for o in others], dtype=np.float64).reshape(len(others), -1)
        return _cosine_ranking(np.asarray(embedding.vector), [o.artist_name for o in others], matrix, limit)

    def generate_artist_embeddings(self) -> dict[str, int]:
        """(Re)compute each artist's embedding as the mean of its tracks' audio vectors."""
        artists = (
            self.db.query(Artist.id, Artist.name)
            .join(Track, Track.track_artist_id == Artist.id)
            .join(TrackVector, TrackVector.track_id == Track.id)
            .distinct()
            .order_by(Artist.id)
            .all()
        )
        existing = {e.artist_name: e for e in self.db.query(ArtistEmbedding).all()}
        created = updated = 0
        for artist_id, name in artists:
            vector = self._aggregate_track_embeddings(artist_id)
            if vector is None:
                continue
            if name in existing:
                existing[name].vector = vector
                existing[name].cluster = None
                existing[name].cluster_probabilities = None
                updated += 1
            else:
                self.db.add(ArtistEmbedding(artist_name=name, vector=vector))
                created += 1
        self.db.commit()
        logger.info("Artist embeddings: %d created, %d updated", created, updated)
        return {"created": created, "updated": updated}

    def _aggregate_track_embeddings(self, artist_id: int) -> list[float] | None:
        rows = (
            self.db.query(TrackVector.embedding)
            .join(Track, Track.id == TrackVector.track_id)
            .filter(Track.track_artist_id == artist_id)
            .order_by(TrackVector.track_id)
            .all()
        )
        if not rows:
            return None
        mean = np.mean(np.asarray([r[0] for r in rows], dtype=np.float64), axis=0)
        return [round(float(v), 6) for v in mean]

    def find_similar_artists_vector(self, vector: list[float], limit: int = 10) -> list[dict[str, Any]]:
        embeddings = self.db.query(ArtistEmbedding).order_by(ArtistEmbedding.artist_name).all()
        embeddings = [e for e in embeddings if len(e.vector) == len(vector)]
        if not embeddings:  # no embedding of that dimension: nothing is similar
            return []
        matrix = np.asarray([e.vector for e in embeddings], dtype=np.float64).reshape(len(embeddings), -1)
        return _cosine_ranking(np.asarray(vector, dtype=np.float64), [e.artist_name for e in embeddings], matrix, limit)

    def get_cluster_info(self) -> list[dict[str, Any]]:
        counts = (
            self.db.query(ArtistEmbedding.cluster, func.count(ArtistEmbedding.id))
            .filter(ArtistEmbedding.cluster.isnot(None))
            .group_by(ArtistEmbedding.cluster)
            .order_by(ArtistEmbedding.cluster)
            .all()
        )
        info = []
        for cluster, size in counts:
            names = [e.artist_name for e in self.get_embeddings_by_cluster(cluster, limit=10)]
            info.append({"cluster": cluster, "size": size, "artists": names})
        return info
