"""A database URL's async driver, for `create_engine()` made `create_async_engine()` (`postgresql://` ->
`postgresql+asyncpg://`), and the name of the helper written where a URL is only known at run time.

Apart from the analyzer: a table of drivers and a string function, which need none of its state.
"""

from __future__ import annotations

ASYNC_URL_HELPER = "_awaitify_async_url"


_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+pg8000": "postgresql+asyncpg",
    "postgresql+psycopg2cffi": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mysql+pymysql": "mysql+aiomysql",
    "mysql+mysqldb": "mysql+aiomysql",
    "mariadb": "mariadb+aiomysql",
    "mariadb+pymysql": "mariadb+aiomysql",
    "mariadb+mysqldb": "mariadb+aiomysql",
    "mssql+pyodbc": "mssql+aioodbc",
}
_ALREADY_ASYNC = frozenset(
    {
        "postgresql+asyncpg",
        "postgresql+psycopg",
        "postgresql+psycopg_async",
        "sqlite+aiosqlite",
        "mysql+aiomysql",
        "mysql+asyncmy",
        "mariadb+aiomysql",
        "mariadb+asyncmy",
        "mssql+aioodbc",
        "oracle+oracledb",
    }
)


def async_url(url: str) -> str | None:
    """`postgresql://u@h/db` -> `postgresql+asyncpg://u@h/db`; None when no async driver is known."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    if scheme in _ALREADY_ASYNC:
        return url
    driver = _ASYNC_DRIVERS.get(scheme)
    return f"{driver}://{rest}" if driver else None


def _requote(literal_src: str, old: str, new: str) -> str:
    return literal_src.replace(old, new, 1) if old in literal_src else repr(new)
