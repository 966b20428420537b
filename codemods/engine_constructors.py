"""`create_engine()`, `sessionmaker()` and their kin made async: the constructor, its URL's driver and its
PostgreSQL options.

`EngineConstructors` rewrites the constructor call and the URL (in place where it is a literal, through the
`_awaitify_async_url` helper where it is not, see `async_urls`) and flags an event listener on a target that
becomes async.
"""

from __future__ import annotations

import ast

from codemods import edits as E
from codemods import sqla_names as N
from codemods.async_urls import ASYNC_URL_HELPER, _requote, async_url
from codemods.edits import Edit
from codemods.session_calls import SessionCalls
from codemods.types import EngineType, SessionFactoryType, SessionType

# What an event listener on a target that becomes async listens on instead (AWT212; an engine named by a plain name or
# attribute is rewritten to its `.sync_engine`).
_EVENT_TARGET_REVIEWS: dict[type, str] = {
    EngineType: "event listeners cannot target the async engine: use .sync_engine",
    SessionType: "event listeners cannot target an AsyncSession: use its .sync_session",
    SessionFactoryType: (
        "event listeners cannot target an async_sessionmaker: listen on a Session subclass "
        "passed as its sync_session_class="
    ),
}


class EngineConstructors(SessionCalls):
    """Engine and session factory constructors (see the module's docstring)."""

    def _visit_sqla_constructor(self, node: ast.Call, resolved: str | None) -> None:
        if resolved in N.SYNC_API and self.project.stays_sync(self.module.name):
            return  # an Alembic script's own session or engine stays sync
        if resolved in N.SYNC_SESSION_CLASSES and self.func and self.project.runs_synchronously(self.func.qualname):
            return  # `Session(bind=session.connection())` in an event listener: a sync session, staying sync
        if resolved in N.SYNC_SESSION_CLASSES and not any(k.arg == "expire_on_commit" for k in node.keywords):
            self.facts.edits.append(Edit(E.ADD_KWARG, self.spans.span(node), text="expire_on_commit=False"))
        if resolved in N.SYNC_CREATE_ENGINE:
            self._rewrite_create_engine(node)
        elif resolved in N.SYNC_SESSIONMAKERS and id(node) in self._frozen_calls:
            pass
        elif resolved in N.SYNC_SESSIONMAKERS and not any(k.arg == "class_" for k in node.keywords):
            expire = next((k.value for k in node.keywords if k.arg == "expire_on_commit"), None)
            if isinstance(expire, ast.Constant) and expire.value is True:
                self._review(node, "AWT202", "expire_on_commit=True: attributes read after commit reload lazily")
            self.facts.edits.append(Edit(E.RENAME, self.spans.span(node.func), text="async_sessionmaker"))
            self.facts.imports.add(("sqlalchemy.ext.asyncio", "async_sessionmaker"))
            self._renamed_import(node)
            if any(k.arg == "autocommit" for k in node.keywords):
                self.facts.edits.append(Edit(E.DROP_KWARG, self.spans.span(node), text="autocommit"))
            if not any(k.arg == "expire_on_commit" for k in node.keywords):
                self.facts.edits.append(Edit(E.ADD_KWARG, self.spans.span(node), text="expire_on_commit=False"))
        elif resolved in N.SCOPED_SESSION:
            self._review(node, "AWT205", "scoped_session: choose async_scoped_session with an explicit scopefunc")
        elif resolved in N.OBJECT_SESSION:
            self._add_async_edit(Edit(E.RENAME, self.spans.span(node.func), text=N.ASYNC_OBJECT_SESSION[1]))
            self.facts.async_imports.add(N.ASYNC_OBJECT_SESSION)
        elif resolved in N.EVENT_LISTEN and node.args:
            target = self.type_of(node.args[0])
            if (
                isinstance(target, EngineType)
                and not target.is_async
                and isinstance(node.args[0], (ast.Name, ast.Attribute))
            ):
                src = self.spans.segment(node.args[0])
                self.facts.edits.append(Edit(E.REPLACE_EXPR, self.spans.span(node.args[0]), text=f"{src}.sync_engine"))
            elif isinstance(target, (EngineType, SessionType, SessionFactoryType)):
                self._review(node, "AWT212", _EVENT_TARGET_REVIEWS[type(target)])
        elif resolved in {"sqlalchemy.orm.relationship", "sqlalchemy.orm.relationships.relationship"}:
            for keyword in node.keywords:
                if (
                    keyword.arg == "lazy"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value == "dynamic"
                ):
                    self._review(node, "AWT206", 'lazy="dynamic" cannot be iterated under asyncio')

    def _renamed_import(self, node: ast.Call) -> None:
        """The name a renamed constructor was called by may go unused: its import goes then, wherever it imports
        from. A module of the project that imported it (`from app.database.core import sessionmaker`, a name
        `core` imports from SQLAlchemy) would otherwise keep importing a name its source no longer has (`core`
        drops its own unused sync import): ImportError when the migrated module is imported."""
        self.facts.replaced_names.add(self.spans.segment(node.func).split(".", 1)[0])

    def _rewrite_create_engine(self, node: ast.Call) -> None:
        self.facts.edits.append(Edit(E.RENAME, self.spans.span(node.func), text="create_async_engine"))
        self.facts.imports.add(("sqlalchemy.ext.asyncio", "create_async_engine"))
        self._renamed_import(node)
        url = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "url"), None)
        if isinstance(url, ast.Constant) and isinstance(url.value, str):
            converted = async_url(url.value)
            if converted is None:
                self._review(node, "AWT211", "no known async driver for this database URL")
            elif converted != url.value:
                self.facts.edits.append(
                    Edit(
                        E.REPLACE_EXPR,
                        self.spans.span(url),
                        text=_requote(self.spans.segment(url), url.value, converted),
                    )
                )
            if "sslmode=" in url.value:
                self._review(node, "AWT211", "asyncpg rejects ?sslmode=: pass ssl= in connect_args")
        elif url is not None and not self._rewrite_url_in_place(url):
            self.facts.edits.append(
                Edit(
                    E.REPLACE_EXPR,
                    self.spans.span(url),
                    text=f"{ASYNC_URL_HELPER}({self.spans.segment(url)})",
                )
            )
            self.facts.imports.add(("sqlalchemy", "make_url"))
            self.facts.helpers.add(ASYNC_URL_HELPER)
        for keyword in node.keywords:
            value = self.spans.segment(keyword.value)
            if keyword.arg == "connect_args" and self._convert_pg_options(keyword.value):
                continue
            if keyword.arg == "poolclass" and value.rsplit(".", 1)[-1] in {
                "QueuePool",
                "SingletonThreadPool",
            }:
                self._review(node, "AWT211", f"{value} cannot be used with asyncio: use AsyncAdaptedQueuePool")
            elif keyword.arg == "future":
                self.facts.edits.append(Edit(E.DROP_KWARG, self.spans.span(node), text="future"))
            elif keyword.arg == "connect_args" and ("options" in value or "sslmode" in value):
                self._review(node, "AWT211", "asyncpg rejects psycopg2 connect_args: use server_settings / ssl")

    def _rewrite_url_in_place(self, url: ast.expr) -> bool:
        """A URL whose driver is written in the code: an f-string, `.set(drivername=...)`, a module constant."""
        if isinstance(url, ast.JoinedStr):
            text = self.spans.segment(url)
            scheme_end = text.find("://")
            quote = max(text.find('"'), text.find("'"))
            if scheme_end < 0 or quote < 0 or "{" in text[quote:scheme_end]:
                return False
            scheme = text[quote + 1 : scheme_end]
            converted = async_url(f"{scheme}://")
            if converted is None:
                return False
            new_scheme = converted[: -len("://")]
            self.facts.edits.append(
                Edit(
                    E.REPLACE_EXPR,
                    self.spans.span(url),
                    text=text[: quote + 1] + new_scheme + text[scheme_end:],
                )
            )
            return True
        if isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute) and url.func.attr == "set":
            driver = next((k.value for k in url.keywords if k.arg == "drivername"), None)
            if isinstance(driver, ast.Constant) and isinstance(driver.value, str):
                converted = async_url(f"{driver.value}://")
                if converted is None:
                    return False
                new_driver = converted[: -len("://")]
                self.facts.edits.append(
                    Edit(E.REPLACE_EXPR, self.spans.span(driver), text=repr(new_driver).replace("'", '"'))
                )
                return True
            return False
        if isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute) and url.func.attr == "create" and url.args:
            driver = url.args[0]
            owner = self.project.resolve_expr(self.module.name, url.func.value) or ""
            if owner.rsplit(".", 1)[-1] == "URL" and isinstance(driver, ast.Constant) and isinstance(driver.value, str):
                converted = async_url(f"{driver.value}://")
                if converted is None:
                    return False
                self.facts.edits.append(
                    Edit(
                        E.REPLACE_EXPR,
                        self.spans.span(driver),
                        text=repr(converted[: -len("://")]).replace("'", '"'),
                    )
                )
                return True
        if isinstance(url, ast.Name) and url.id not in self.env:
            value = self.module.global_values.get(url.id)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                converted = async_url(value.value)
                if converted is not None and converted != value.value:
                    self.facts.edits.append(
                        Edit(
                            E.REPLACE_EXPR,
                            self.spans.span(value),
                            text=_requote(self.spans.segment(value), value.value, converted),
                        )
                    )
                return converted is not None
        return False

    def _convert_pg_options(self, value: ast.expr) -> bool:
        """`connect_args={"options": "-c k=v"}` (psycopg2) -> `{"server_settings": {"k": "v"}}` (asyncpg)."""
        if not (isinstance(value, ast.Dict) and len(value.keys) == 1):
            return False
        key, option = value.keys[0], value.values[0]
        if not (isinstance(key, ast.Constant) and key.value == "options"):
            return False
        if not (isinstance(option, ast.Constant) and isinstance(option.value, str)):
            return False
        tokens = option.value.split()
        settings: dict[str, str] = {}
        while tokens:
            flag = tokens.pop(0)
            if flag != "-c" or not tokens or "=" not in tokens[0]:
                return False
            name, _, setting = tokens.pop(0).partition("=")
            settings[name] = setting
        rendered = ", ".join(f'"{k}": "{v}"' for k, v in settings.items())
        self.facts.edits.append(
            Edit(E.REPLACE_EXPR, self.spans.span(value), text='{"server_settings": {' + rendered + "}}")
        )
        return True
