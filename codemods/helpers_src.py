"""Source of the small helpers awaitify adds to a module when a rewrite needs one."""

ASYNC_URL_HELPER_SOURCE = '''def _awaitify_async_url(url):
    """`url` with its dialect's asyncio driver, for create_async_engine (added by awaitify)."""
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    backend = "postgresql" if backend == "postgres" else backend
    async_drivers = {
        "postgresql": ("asyncpg", "psycopg", "psycopg_async"),
        "sqlite": ("aiosqlite",),
        "mysql": ("aiomysql", "asyncmy"),
        "mariadb": ("aiomysql", "asyncmy"),
        "mssql": ("aioodbc",),
    }
    if backend not in async_drivers:
        raise ValueError(f"no asyncio driver known for {backend!r} database URLs")
    if driver not in async_drivers[backend]:
        driver = async_drivers[backend][0]
    return parsed.set(drivername=f"{backend}+{driver}")
'''

NEXT_CLOSED_HELPER_SOURCE = '''async def _awaitify_next_closed(gen):
    """The first value of the async generator `gen`, which is then closed (added by awaitify): `next(gen())` on a
    sync generator nothing else held closed it at once."""
    value = await anext(gen)
    await gen.aclose()
    return value
'''
