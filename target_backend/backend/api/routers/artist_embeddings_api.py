"""Artist embeddings and GMM clustering endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session

from backend.api.schemas.artist_embeddings_schema import (
    ArtistEmbedding,
    ArtistEmbeddingCreate,
    ArtistEmbeddingUpdate,
    ClusterInfo,
    GMMTrainRequest,
    GMMTrainResult,
    SimilarArtistScore,
)
from backend.api.services.artist_embedding_service import ArtistEmbeddingService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/artist-embeddings", tags=["artist-embeddings"])


@router.get("/", response_model=list[ArtistEmbedding])
def get_all_embeddings(
    skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500), db: Session = Depends(get_db)
) -> Any:
    return ArtistEmbeddingService(db).get_all_embeddings(skip=skip, limit=limit)


@router.post("/", response_model=ArtistEmbedding, status_code=status.HTTP_201_CREATED)
def create_embedding(embedding: ArtistEmbeddingCreate, db: Session = Depends(get_db)) -> Any:
    try:
        return ArtistEmbeddingService(db).create_embedding(embedding)
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.post("/train-gmm", response_model=GMMTrainResult)
def train_gmm(request: GMMTrainRequest, db: Session = Depends(get_db)) -> Any:
    try:
        return ArtistEmbeddingService(db).train_gmm(
            n_components=request.n_components,
            max_iterations=request.max_iterations,
            random_state=request.random_state,
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.post("/generate")
def generate_artist_embeddings(db: Session = Depends(get_db)) -> dict[str, int]:
    return ArtistEmbeddingService(db).generate_artist_embeddings()


@router.get("/clusters", response_model=list[ClusterInfo])
def get_cluster_info(db: Session = Depends(get_db)) -> Any:
    return ArtistEmbeddingService(db).get_cluster_info()


@router.get("/clusters/{cluster}", response_model=list[ArtistEmbedding])
def get_embeddings_by_cluster(
    cluster: int, skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500), db: Session = Depends(get_db)
) -> Any:
    return ArtistEmbeddingService(db).get_embeddings_by_cluster(cluster, skip=skip, limit=limit)


@router.post("/similar-vector", response_model=list[SimilarArtistScore])
def find_similar_artists_vector(
    vector: list[float], limit: int = Query(10, ge=1, le=100), db: Session = Depends(get_db)
) -> Any:
    return ArtistEmbeddingService(db).find_similar_artists_vector(vector, limit=limit)


@router.get("/{artist_name}", response_model=ArtistEmbedding)
def get_embedding(artist_name: str, db: Session = Depends(get_db)) -> Any:
    embedding = ArtistEmbeddingService(db).get_embedding_by_artist(artist_name)
    if embedding is None:
        raise HTTPException(status_code=404, detail="Embedding not found")
    return embedding


@router.put("/{artist_name}", response_model=ArtistEmbedding)
def update_embedding(artist_name: str, update: ArtistEmbeddingUpdate, db: Session = Depends(get_db)) -> Any:
    embedding = ArtistEmbeddingService(db).update_embedding(artist_name, update)
    if embedding is None:
        raise HTTPException(status_code=404, detail="Embedding not found")
    return embedding


@router.delete("/{artist_name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_embedding(artist_name: str, db: Session = Depends(get_db)) -> None:
    if not ArtistEmbeddingService(db).delete_embedding(artist_name):
        raise HTTPException(status_code=404, detail="Embedding not found")


@router.get("/{artist_name}/similar", response_model=list[SimilarArtistScore])
def get_similar_artists(
    artist_name: str, limit: int = Query(10, ge=1, le=100), db: Session = Depends(get_db)
) -> Any:
    similar = ArtistEmbeddingService(db).get_similar_artists(artist_name, limit=limit)
    if similar is None:
        raise HTTPException(status_code=404, detail="Embedding not found")
    return similar
