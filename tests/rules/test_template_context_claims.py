"""What the AWT201 marker on a mapped object handed to a template claims, checked by running it
(fixtures/review/template_context_lazy_relationships, template_context_built_first,
jinja2_render_lazy_relationships):

- A Jinja2 template reads what it likes of the objects in its context, while it renders. A sync `Session` loads a
  relationship the template reads; an `AsyncSession` raises MissingGreenlet, the same way whether the template is
  rendered by Jinja2 itself (`env.get_template(...).render(user=user)`, `render(**context)`) or by Starlette's
  `Jinja2Templates.TemplateResponse(request, name, context)` with a context built in a variable first.
- An object of a class without relationships renders the same on both: no marker is needed.
- Loading the relationship where the object is queried (`selectinload`, the marker's advice) renders it.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import pytest
from fastapi.templating import Jinja2Templates
from fixture_harness import BACKENDS, Database, reset_database
from jinja2 import DictLoader, Environment
from models import Item, User
from sqlalchemy import create_engine
from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session, selectinload
from starlette.requests import Request

_ENV = Environment(
    loader=DictLoader(
        {
            "user.html": "{{ user.name }}: {% for order in user.orders %}{{ order.status }} {% endfor %}",
            "item.html": "{{ item.name }} {{ item.price }}",
        }
    )
)
_TEMPLATES = Jinja2Templates(env=_ENV)
# SQLite's driver wraps it in a StatementError, asyncpg's does not: the message names it either way
_LAZY_LOAD_REFUSED = (MissingGreenlet, StatementError)


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})


def _render_response(user: User) -> str:
    request = _request()
    context = {"request": request}
    context["user"] = user
    return bytes(_TEMPLATES.TemplateResponse(request, "user.html", context).body).decode()


def _render_with_context(user: User) -> str:
    context = {"user": user}
    return _ENV.get_template("user.html").render(**context)


_RENDERERS = {"jinja2_render": _render_with_context, "template_response": _render_response}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("renderer", sorted(_RENDERERS))
def test_a_sync_session_loads_what_the_template_reads(backend: str, renderer: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            user = db.get(User, 1)
            assert user is not None and "orders" not in user.__dict__
            assert _RENDERERS[renderer](user) == "alice: paid new "
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("renderer", sorted(_RENDERERS))
# asyncpg: the lazy load that MissingGreenlet stops had asked for a cursor, a coroutine it never awaits
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_where_the_template_reads_a_relationship(
    backend: str, renderer: str, database: Database
) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = await db.get(User, 1)
            assert user is not None
            with pytest.raises(_LAZY_LOAD_REFUSED, match="greenlet_spawn has not been called"):
                _RENDERERS[renderer](user)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_class_without_relationships_renders(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            item = await db.get(Item, 1)
            assert _ENV.get_template("item.html").render(item=item) == "pen 2"
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("renderer", sorted(_RENDERERS))
async def test_loading_it_where_the_object_is_queried_renders(backend: str, renderer: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = await db.get(User, 1, options=[selectinload(User.orders)])
            assert user is not None
            assert _RENDERERS[renderer](user) == "alice: paid new "
    finally:
        await engine.dispose()
