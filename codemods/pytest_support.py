"""Tests of the migrated project: pytest fixtures, test functions, Starlette's `TestClient`, dependency overrides.

pytest hands a fixture's value to every test function and fixture that names it as a parameter; the
fixtures visible from a module are its own and those of the `conftest.py` files of its package and every
package above it (pytest's own resolution, nearest first). A parameter named after a fixture is typed by
what the fixture yields or returns, so a test that receives a session fixture does session I/O and is colored
like any other function.

What the migration writes for pytest-asyncio >= 0.24 (its loop scopes):

- a fixture that becomes async: `@pytest_asyncio.fixture(<its arguments>, loop_scope="session")`;
- a test function that becomes async: `@pytest.mark.asyncio(loop_scope="session")`.

Every migrated test and fixture runs in the one session-wide event loop: the project's module-level async
engine pools connections, and a pooled asyncpg connection cannot be used from another loop (with
function-scoped loops a later test gets a connection of an earlier test's loop: "another operation is in
progress"). A session-scoped async fixture needs that loop scope anyway. The project's own configuration
(codemods.pytest_config) spares what it already says: no `loop_scope=` on fixtures when
`asyncio_default_fixture_loop_scope = session`; no mark when `asyncio_mode = auto` and
`asyncio_default_test_loop_scope = session` (under auto mode with function-scoped test loops the mark is still
written, for its loop scope).

`TestClient(app)` becomes `httpx.AsyncClient(transport=httpx.ASGITransport(app=app, ...), ...)` with the
TestClient defaults spelled out where httpx differs (base URL, redirects followed, client address and
user-agent), so the app sees the same requests. It stays flagged (AWT214) where the rewrite is not exact:
entered with `with` in a project with lifespan or startup/shutdown handlers (TestClient runs them,
ASGITransport does not), or arguments without an httpx equivalent (`backend=`, positional extras).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from codemods.project import Project
from codemods.symbols import FunctionSymbols, ModuleSymbols
from codemods.types import HttpClientType, Type

FIXTURE_DECORATORS = frozenset({"pytest.fixture", "_pytest.fixtures.fixture", "pytest_asyncio.fixture"})
ASYNCIO_MARK = "pytest.mark.asyncio"
TEST_CLIENTS = frozenset({"fastapi.testclient.TestClient", "starlette.testclient.TestClient"})
ASYNC_CLIENTS = frozenset({"httpx.AsyncClient", "httpx._client.AsyncClient"})
REQUEST_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})
LOOP_SCOPE = "session"
_LINE_LENGTH = 120
ASYNC_TEST_MARK = f'{ASYNCIO_MARK}(loop_scope="{LOOP_SCOPE}")'
# TestClient keyword -> where it goes in the httpx rewrite ("transport" / "client")
_CLIENT_KEYWORDS = {
    "base_url": "client",
    "cookies": "client",
    "headers": "client",
    "follow_redirects": "client",
    "raise_server_exceptions": "transport",
    "root_path": "transport",
    "client": "transport",
}
_TESTCLIENT_USER_AGENT = '"user-agent": "testclient"'
_TESTCLIENT_ADDRESS = '("testclient", 50000)'


# ---- what is a test, what is a fixture ------------------------------------------------------------------


def is_test_module(module: ModuleSymbols) -> bool:
    return is_test_path(module.path)


def is_test_path(path: str) -> bool:
    """A pytest module or a `conftest.py`, by its file name."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    return stem == "conftest" or stem.startswith("test_") or stem.endswith("_test")


def fixture_decorator(project: Project, func: FunctionSymbols) -> ast.expr | None:
    """The `@pytest.fixture` / `@pytest.fixture(...)` decorator of `func`, if it has one."""
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if project.resolve_expr(func.module, target) in FIXTURE_DECORATORS:
            return decorator
    return None


def fixture_name(func: FunctionSymbols, decorator: ast.expr) -> str:
    """`@pytest.fixture(name="x")` renames the fixture."""
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if (
                keyword.arg == "name"
                and isinstance(keyword.value, ast.Constant)
                and isinstance(keyword.value.value, str)
            ):
                return keyword.value.value
    return func.name


def is_test_function(project: Project, func: FunctionSymbols) -> bool:
    """A function pytest collects as a test: `test*` in a test module, at top level or in a `Test*` class."""
    module = project.modules.get(func.module)
    if module is None or not is_test_module(module) or module.path.rsplit("/", 1)[-1] == "conftest.py":
        return False
    if not func.name.startswith("test") or func.nested_in_function:
        return False
    if func.class_qualname is not None and not func.class_qualname.rsplit(".", 1)[-1].startswith("Test"):
        return False
    return fixture_decorator(project, func) is None


def has_asyncio_mark(project: Project, func: FunctionSymbols) -> bool:
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if project.resolve_expr(func.module, target) == ASYNCIO_MARK:
            return True
    return False


def _conftest_chain(module: ModuleSymbols) -> list[str]:
    """The module itself, then the conftest modules of its package and of every package above it."""
    parts = module.name.split(".")
    package = parts if module.is_package else parts[:-1]
    chain = [module.name]
    for depth in range(len(package), -1, -1):
        chain.append(".".join([*package[:depth], "conftest"]))
    return chain


def visible_fixtures(project: Project, module_name: str, exclude: str = "") -> dict[str, FunctionSymbols]:
    """Fixture name -> fixture function, as pytest resolves them from `module_name` (nearest wins)."""
    module = project.modules.get(module_name)
    if module is None:
        return {}
    found: dict[str, FunctionSymbols] = {}
    for name in _conftest_chain(module):
        scope = project.modules.get(name)
        if scope is None:
            continue
        candidates = [f for f in scope.functions.values() if f.class_qualname is None and not f.nested_in_function]
        candidates += [
            project.functions[target]
            for target in (project.canonical(t) for t in scope.imports.values())
            if target in project.functions
        ]
        for func in candidates:
            decorator = fixture_decorator(project, func)
            if decorator is not None and func.qualname != exclude:
                found.setdefault(fixture_name(func, decorator), func)
    return found


def fixture_param_type(project: Project, func: FunctionSymbols, param: str) -> Type | None:
    """The type of a test's or fixture's parameter that names a fixture: what the fixture yields or returns."""
    if fixture_decorator(project, func) is None and not is_test_function(project, func):
        return None
    fixture = visible_fixtures(project, func.module, exclude=func.qualname).get(param)
    if fixture is None:
        return None
    kind = project.return_type(fixture)
    if isinstance(kind, HttpClientType) and not kind.is_async:
        return _constructed_client(project, fixture)
    return kind


def _constructed_client(project: Project, fixture: FunctionSymbols) -> HttpClientType:
    """The TestClient a fixture builds, convertible when its one construction is."""
    if fixture.node is None:
        return HttpClientType(is_async=False)
    entered = {
        id(item.context_expr) for node in ast.walk(fixture.node) if isinstance(node, ast.With) for item in node.items
    }
    calls = [
        node
        for node in ast.walk(fixture.node)
        if isinstance(node, ast.Call) and project.resolve_expr(fixture.module, node.func) in TEST_CLIENTS
    ]
    if len(calls) != 1:
        return HttpClientType(is_async=False)
    blocker = testclient_blocker(project, fixture.module, calls[0], entered=id(calls[0]) in entered)
    return HttpClientType(is_async=False, convertible=blocker is None)


# ---- decorators of what became async ---------------------------------------------------------------------


def async_fixture_decorator(project: Project, decorator: ast.expr, segment: Callable[[ast.AST], str]) -> str:
    """`pytest.fixture(scope="module")` -> `pytest_asyncio.fixture(scope="module", loop_scope="session")`."""
    args = [segment(a) for a in decorator.args] if isinstance(decorator, ast.Call) else []
    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
    args += [segment(k) for k in keywords]
    configured = project.pytest_asyncio.fixture_loop_scope == LOOP_SCOPE
    if not configured and not any(k.arg == "loop_scope" for k in keywords):
        args.append(f'loop_scope="{LOOP_SCOPE}"')
    if not args:
        return "pytest_asyncio.fixture"
    return f"pytest_asyncio.fixture({', '.join(args)})"


def async_test_mark(project: Project) -> str | None:
    """The mark a test made async needs, None when the project's configuration runs it in the session loop."""
    settings = project.pytest_asyncio
    if settings.auto_mode and settings.test_loop_scope == LOOP_SCOPE:
        return None
    return ASYNC_TEST_MARK


# ---- TestClient -> httpx.AsyncClient ---------------------------------------------------------------------


def project_has_lifespan(project: Project) -> bool:
    return any(module.lifespan_hooks for module in project.modules.values())


def websocket_tests(project: Project) -> bool:
    """A test module opens websockets through a test client: httpx has no websocket support."""
    return any(is_test_module(m) and m.websocket_clients for m in project.modules.values())


def streaming_tests(project: Project) -> bool:
    """A test module calls `.stream(...)`: on a converted client that context manager needs `async with`."""
    return any(is_test_module(m) and m.streaming_clients for m in project.modules.values())


def testclient_blocker(project: Project, module: str, call: ast.Call, *, entered: bool) -> str | None:
    """Why `TestClient(...)` cannot become an `httpx.AsyncClient` exactly; None when it can."""
    symbols = project.modules.get(module)
    if symbols is None or not is_test_module(symbols):
        return (
            "TestClient outside a pytest test module or conftest.py: its requests cannot be awaited where "
            "pytest-asyncio does not run the code; use httpx.AsyncClient(transport=httpx.ASGITransport(app=app))"
        )
    if len(call.args) != 1 or isinstance(call.args[0], ast.Starred) or any(k.arg is None for k in call.keywords):
        return "TestClient arguments awaitify cannot map to httpx: rewrite this client by hand"
    for keyword in call.keywords:
        if keyword.arg not in _CLIENT_KEYWORDS:
            return f"TestClient(`{keyword.arg}=`) has no httpx.AsyncClient equivalent: rewrite this client by hand"
    if websocket_tests(project):
        return "the tests open websockets through TestClient (websocket_connect), which httpx does not support"
    if streaming_tests(project):
        return (
            "the tests stream responses (`.stream(...)`), a context manager that httpx.AsyncClient enters with "
            "`async with` and reads with `aiter_*`: rewrite the client and those tests by hand"
        )
    if entered and project_has_lifespan(project):
        return (
            "TestClient entered with `with` runs the app's lifespan/startup handlers and httpx.ASGITransport "
            "does not: run `app.router.lifespan_context(app)` around an httpx.AsyncClient by hand"
        )
    return None


def async_client_source(call: ast.Call, segment: Callable[[ast.AST], str], indent: str | None = None) -> str:
    """The `httpx.AsyncClient(...)` that behaves like `TestClient(...)` (the caller checked it is exact).

    With `indent` (that of the statement), one argument per line when the call would not fit on one."""
    given = {k.arg: segment(k.value) for k in call.keywords if k.arg is not None}
    transport = [f"app={segment(call.args[0])}"]
    if "raise_server_exceptions" in given:
        transport.append(f"raise_app_exceptions={given['raise_server_exceptions']}")
    if "root_path" in given:
        transport.append(f"root_path={given['root_path']}")
    transport.append(f"client={given.get('client', _TESTCLIENT_ADDRESS)}")
    client = [
        f"transport=httpx.ASGITransport({', '.join(transport)})",
        f"base_url={given.get('base_url', repr('http://testserver').replace(chr(39), chr(34)))}",
    ]
    extra_headers = f", **{given['headers']}" if "headers" in given else ""
    client.append(f"headers={{{_TESTCLIENT_USER_AGENT}{extra_headers}}}")
    if "cookies" in given:
        client.append(f"cookies={given['cookies']}")
    client.append(f"follow_redirects={given.get('follow_redirects', 'True')}")
    one_line = f"httpx.AsyncClient({', '.join(client)})"
    if indent is None or len(indent) + len(one_line) + len("async with  as client:") <= _LINE_LENGTH:
        return one_line
    # relative to the statement: LibCST indents the continuation lines by the enclosing block's indentation
    arguments = "".join(f"    {argument},\n" for argument in client)
    return f"httpx.AsyncClient(\n{arguments})"


# ---- app.dependency_overrides[get_db] = override ---------------------------------------------------------


def dependency_override(stmt: ast.stmt) -> tuple[ast.expr, ast.expr] | None:
    """(`get_db`, `override`) of `<app>.dependency_overrides[get_db] = override` (any override expression)."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return None
    target = stmt.targets[0]
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Attribute)
        and target.value.attr == "dependency_overrides"
        and isinstance(target.slice, ast.Name | ast.Attribute)
    ):
        return target.slice, stmt.value
    return None
