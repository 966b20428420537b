from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.api.models._common import utcnow
from backend.api.utils.database import Base


class ArtistEmbedding(Base):
    """Aggregated audio embedding of an artist, with its GMM cluster once trained."""

    __tablename__ = "artist_embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artist_name: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    vector: Mapped[list[Any]] = mapped_column(JSON)
    cluster: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    cluster_probabilities: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GMMModel(Base):
    """A trained scikit-learn GaussianMixture, pickled."""

    __tablename__ = "gmm_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_components: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    model_data: Mapped[bytes] = mapped_column(LargeBinary)
    converged: Mapped[bool] = mapped_column(Boolean, default=False)
    log_likelihood: Mapped[float | None] = mapped_column(Float, nullable=True)
    trained_on: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
