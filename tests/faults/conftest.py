"""The migrated `target_backend/` under faults: private PostgreSQL and Redis, the app served by uvicorn.

Session fixtures (one set per xdist worker, so workers never share anything they break): a private PostgreSQL
cluster, a private Redis, the migrated tree (built once per run, shared with `tests/backend`), and the app
serving it on a seeded database of the private cluster. Every test starts from servers that are up and an app
that answers; a test that breaks a server brings it back before it ends.

Every test here carries the `faults` marker (`-m faults` selects them, `-m "not faults"` leaves them out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from load_loop import CLIENT_TIMEOUT
from migrated_backend import migrated_tree, shared_tmp
from private_servers import PrivatePostgres, PrivateRedis
from served_backend import ServedBackend, serve_on_private_cluster

FAULTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == FAULTS_DIR:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    postgres = PrivatePostgres()
    try:
        postgres.init()
        postgres.start()
        yield postgres
    finally:
        postgres.destroy()


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    redis_server = PrivateRedis()
    try:
        redis_server.start()
        yield redis_server
    finally:
        redis_server.kill()


@pytest.fixture(scope="session")
def migrated_backend_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_tree(shared_tmp(tmp_path_factory))


@pytest.fixture(scope="session")
def served_session(
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    migrated_backend_tree: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedBackend]:
    """The migrated app on database `library` of the private cluster (the fault tests share it, one by one).
    Its log stays in pytest's temporary directory (`library.log`) for a failure to be read."""
    work = tmp_path_factory.mktemp("faults-app")
    served = serve_on_private_cluster(private_postgres, private_redis, migrated_backend_tree, "library", work)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def served(served_session: ServedBackend) -> ServedBackend:
    """The served app, its servers up (a previous test that failed half-way may have left one down)."""
    if not served_session.postgres.is_running():
        served_session.postgres.start()
    if not served_session.redis.is_running():
        served_session.redis.start()
    if not served_session.is_alive():
        pytest.fail(f"the app server died:\n{served_session.log_tail()}", pytrace=False)
    return served_session


@pytest_asyncio.fixture
async def client(served: ServedBackend) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=CLIENT_TIMEOUT, limits=limits) as http:
        yield http
