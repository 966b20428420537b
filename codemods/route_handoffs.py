"""Where a function a factory returns is followed: called at once, or handed to FastAPI, which awaits it.

A route or dependency factory (`def _get_all(self): def route(db: Session = Depends(...)): ...; return route`, the
shape of fastapi-crudrouter's generic routers) returns a function it defines. Once that function is async, its
`return route` is an AWT213 "passed as a callback" unless every use of the factory's result stays right: a call of
it at once (`self._get_all()(db)`, awaited by the analysis), a local bound to it (`handle = self._get_all()`, its
uses followed where they are), or a hand-off to FastAPI, which inspects the endpoint or dependency it is given and
awaits a coroutine function: `Depends(...)` / `Security(...)`, `router.add_api_route(path, endpoint)` and a route
decorator applied by hand, `router.api_route(path)(endpoint)` / `router.get(path)(endpoint)`. The router is told by
its type: an instance of a project class deriving from `APIRouter` / `FastAPI`, an application, or a module global
made by one of them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from codemods.project import Project
from codemods.response_models import FASTAPI_ROUTERS, ROUTE_METHODS
from codemods.sqla_names import FASTAPI_DEPENDS
from codemods.types import AppType, Instance, Type

# what declares a FastAPI dependency: its first argument is called (and awaited when a coroutine function) per request
DEPENDENCY_DECLARATIONS = FASTAPI_DEPENDS | frozenset({"fastapi.Security", "fastapi.params.Security"})
# the router method registering an endpoint it is handed (second positional argument, or `endpoint=`)
ADD_ROUTE_METHODS = frozenset({"add_api_route", "add_api_websocket_route"})


def followed_values(
    project: Project, module: str, type_of: Callable[[ast.expr], Type | None], call: ast.Call, resolved: str | None
) -> list[ast.expr]:
    """The parts of `call` (written in `module`, its callee resolved to `resolved`) whose value, a function, is
    called at once or handed to FastAPI."""
    followed: list[ast.expr] = []
    func = call.func
    if isinstance(func, ast.Call):
        followed.append(func)  # `factory()(db)`: called at once
        if _is_route_decorator(project, module, type_of, func) and len(call.args) == 1 and not call.keywords:
            followed.append(call.args[0])  # `router.api_route("/x", methods=["GET"])(factory())`
    if call.args and resolved in DEPENDENCY_DECLARATIONS:
        followed.append(call.args[0])  # `Depends(factory())`
    if (
        isinstance(func, ast.Attribute)
        and func.attr in ADD_ROUTE_METHODS
        and _is_router(project, module, type_of, func.value)
    ):
        endpoint = call.args[1] if len(call.args) > 1 else None
        endpoint = next((k.value for k in call.keywords if k.arg == "endpoint"), endpoint)
        if endpoint is not None:
            followed.append(endpoint)  # `router.add_api_route("/", factory(), methods=["GET"])`
    return followed


def _is_route_decorator(
    project: Project, module: str, type_of: Callable[[ast.expr], Type | None], call: ast.Call
) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ROUTE_METHODS
        and _is_router(project, module, type_of, func.value)
    )


def _is_router(project: Project, module: str, type_of: Callable[[ast.expr], Type | None], owner: ast.expr) -> bool:
    """`owner` is a FastAPI application or router: by its type, or a module global made by one's constructor."""
    kind = type_of(owner)
    if isinstance(kind, AppType):
        return True
    if isinstance(kind, Instance) and kind.qualname in project.classes:
        return project.is_subclass_of_external(kind.qualname, FASTAPI_ROUTERS)
    return project.global_made_by(module, owner, FASTAPI_ROUTERS)
