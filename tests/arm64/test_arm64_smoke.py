"""The image's Python, its compiled wheels and the host services, seen from inside the image."""

import os
import platform
import sys
from pathlib import Path

import pytest


def test_machine() -> None:
    machine = platform.machine()
    print(f"platform.machine() = {machine}, python {sys.version.split()[0]}")
    expected = os.environ.get("AWAITIFY_EXPECT_MACHINE")
    if expected:
        assert machine == expected


def test_migrated_tree_is_mounted() -> None:
    tree = Path(os.environ["AWAITIFY_MIGRATED_TREE"])
    assert (tree / "backend" / "api" / "main.py").is_file(), tree


def test_numeric_wheels() -> None:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.arange(20, dtype=float).reshape(-1, 1)
    y = 3.0 * x[:, 0] + 1.0
    model = LinearRegression().fit(x, y)
    assert model.coef_[0] == pytest.approx(3.0)
    assert model.intercept_ == pytest.approx(1.0)
    a = np.random.default_rng(0).standard_normal((64, 64))
    assert np.allclose(a @ np.linalg.inv(a), np.eye(64), atol=1e-8)


def test_audio_wheels(tmp_path: Path) -> None:
    import mutagen
    import numpy as np
    import soundfile

    path = tmp_path / "tone.wav"
    tone = np.sin(np.linspace(0, 2 * np.pi * 440, 8000)).astype("float32")
    soundfile.write(path, tone, 8000)
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == 8000 and len(data) == 8000
    info = mutagen.File(path)
    assert info is not None and info.info.length == pytest.approx(1.0)


async def test_async_sqlite(tmp_path: Path) -> None:
    from sqlalchemy import Integer, String, select
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "item"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        name: Mapped[str] = mapped_column(String(20))

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'smoke.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with sessions() as db:
        db.add_all([Item(name="a"), Item(name="b")])
        await db.commit()
        names = (await db.scalars(select(Item.name).order_by(Item.name))).all()
    await engine.dispose()
    assert names == ["a", "b"]


async def test_fastapi_over_httpx() -> None:
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/machine")
    async def machine() -> dict[str, str]:
        return {"machine": platform.machine()}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/machine")
    assert response.status_code == 200
    assert response.json() == {"machine": platform.machine()}


@pytest.mark.postgres
async def test_postgres_asyncpg() -> None:
    url = os.environ.get("AWAITIFY_PG_URL")
    if not url:
        pytest.skip("AWAITIFY_PG_URL not set")
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    async with engine.connect() as conn:
        version = (await conn.execute(text("select version()"))).scalar_one()
    await engine.dispose()
    assert "PostgreSQL" in version


@pytest.mark.postgres
def test_postgres_psycopg2() -> None:
    url = os.environ.get("AWAITIFY_PG_URL")
    if not url:
        pytest.skip("AWAITIFY_PG_URL not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"))
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar_one() == 1
    engine.dispose()


def test_redis() -> None:
    url = os.environ.get("AWAITIFY_REDIS_URL")
    if not url:
        pytest.skip("AWAITIFY_REDIS_URL not set")
    import redis

    client = redis.Redis.from_url(url)
    assert client.ping()
    client.close()
