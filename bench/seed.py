"""Create, seed and drop the PostgreSQL database of the runtime benchmark.

`python -m bench.seed create|reset|drop DB_URL` from the repository root. The schema comes from the original
tree's models (`target_backend/backend/api/models`), the rows from `fixtures/library/seed_library.py`, exactly
as the behaviour suite (`tests/backend/conftest.py`) seeds its databases: both backends start
from identical data.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

REPO_ROOT = Path(__file__).resolve().parents[1]


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _database_name(url: str) -> str:
    name = make_url(url).database
    assert name and name.replace("_", "").isalnum(), f"unexpected database name {name!r}"
    return name


def create(url: str) -> None:
    admin = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        name = _database_name(url)
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop(url: str) -> None:
    admin = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)'))
    admin.dispose()


def _library() -> dict[str, list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location("bench_seed_library", REPO_ROOT / "fixtures/library/seed_library.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_library()  # type: ignore[no-any-return]


def reset(url: str) -> None:
    """Schema from the original models, then every table emptied and refilled with the seed."""
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(REPO_ROOT / "target_backend"))
    # target_backend/ is put on the path above, at run time: mypy cannot see it
    import backend.api.models  # type: ignore[import-not-found]  # noqa: F401  (registers the tables)
    from backend.api.utils.database import Base  # type: ignore[import-not-found]

    library = _library()
    engine = create_engine(url, poolclass=NullPool)
    Base.metadata.create_all(engine)
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            rows = library.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
            if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f'COALESCE(MAX(id), 0) + 1, false) FROM "{table.name}"'
                    )
                )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def main() -> int:
    action, url = sys.argv[1], sys.argv[2]
    {"create": create, "reset": reset, "drop": drop}[action](url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
