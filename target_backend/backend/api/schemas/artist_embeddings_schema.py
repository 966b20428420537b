from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ArtistEmbeddingCreate(BaseModel):
    artist_name: str
    vector: list[float] = Field(min_length=1)


class ArtistEmbeddingUpdate(BaseModel):
    vector: list[float] | None = None
    cluster: int | None = None


class ArtistEmbedding(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    artist_name: str
    vector: list[float]
    cluster: int | None = None
    cluster_probabilities: dict[str, Any] | None = None


class GMMTrainRequest(BaseModel):
    n_components: int = Field(default=4, ge=1, le=32)
    max_iterations: int = Field(default=100, ge=1)
    random_state: int = 42


class GMMTrainResult(BaseModel):
    n_components: int
    n_artists: int
    converged: bool
    log_likelihood: float
    cluster_sizes: dict[str, int]


class SimilarArtistScore(BaseModel):
    artist_name: str
    similarity: float


class ClusterInfo(BaseModel):
    cluster: int
    size: int
    artists: list[str]
