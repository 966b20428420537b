"""Blocking calls in a function the migration makes async (AWT220).

FastAPI runs a sync (`def`) route in a worker thread: a `time.sleep()` or a `requests.get()` there blocks that thread
only. Made `async def`, the route runs on the event loop, and the same call stalls every request the process serves.
So, in a function that becomes async (never in one that was async already: that is the code's own choice):

- `time.sleep(x)` becomes `await asyncio.sleep(x)`;
- a blocking call of the standard library, `requests` or `httpx` becomes `await asyncio.to_thread(fn, *args,
  **kwargs)`: the same call, in a worker thread as before (`os.system` too); one whose result blocks later
  (`socket.create_connection`, `smtplib.SMTP`, `subprocess.Popen`, `os.popen`, `httpx.stream`) gets a review marker,
  and so does a call of a project function that returns such a result (`result_returned`, see `blocking_callees`);
- a blocking method of a sync client object (`BlockingClientType`: a `redis.Redis`, a `requests.Session`, an
  `httpx.Client`, known from its constructor or an annotation, never from a name) becomes
  `await asyncio.to_thread(client.method, *args, **kwargs)` the same way; a method whose result blocks later (a
  redis `pubsub()`, `lock()`, a `scan_iter()` iterator, `httpx.Client.stream()`) cannot be moved into a thread
  whole and gets a review marker; a redis `pipeline()` kept in a local and used only through its methods is typed
  instead (`redis_pipelines`): its buffered commands stay as they are and `pipe.execute()` runs in a thread; the
  commands of a pipeline the function watches run in a thread as well, but those known to follow its `multi()`;
- where the call cannot be moved as it is (inside a lambda, or with arguments the migration rewrites too), it gets a
  review marker instead.

Calls of the project's own sync functions that do such I/O are in `blocking_callees`.

The analysis records the calls (`FunctionFacts.blocking_calls`); the plan applies them once the function is async.
"""

from __future__ import annotations

import ast

from codemods.astwalk import own_nodes

SLEEP = frozenset({"time.sleep"})
_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
# module functions that block on the network (a request, a name lookup) or on a child process, and return when done
BLOCKING = frozenset(
    {
        *(f"{module}.{verb}" for module in ("requests", "requests.api", "httpx", "httpx._api") for verb in _VERBS),
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getfqdn",
    }
)
# module functions and classes whose result blocks when used (a connected socket, an SMTP or FTP session, a child
# process waited on later, a streamed response): the call cannot be moved into a thread with what follows, flagged
DEFERRED = frozenset(
    {
        "socket.create_connection",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "ftplib.FTP",
        "ftplib.FTP_TLS",
        "subprocess.Popen",
        "os.popen",  # a pipe to a child process: its `read()` waits for the child
        "httpx.stream",
        "httpx._api.stream",
    }
)
# Not among them: `open()` and file reads and writes. A local file read is bounded by the disk, not by a peer that
# may never answer, and is quick from the page cache; the event loop has no file I/O of its own to move it to, and
# moving every `with open(...)` block (the reads happen in the block, not in the call) would flag most functions
# that touch a template or a config file. The project functions doing it stay where they are.
# the sync clients' classes and constructors -> the client class, as `BlockingClientType` names it
_REDIS = "redis.Redis"
_REDIS_PIPELINE = "redis.client.Pipeline"
_REQUESTS = "requests.Session"
_HTTPX = "httpx.Client"
CLIENT_CLASSES = {
    "redis.client.Pipeline": _REDIS_PIPELINE,
    "redis.Redis": _REDIS,
    "redis.StrictRedis": _REDIS,
    "redis.client.Redis": _REDIS,
    "redis.client.StrictRedis": _REDIS,
    "requests.Session": _REQUESTS,
    "requests.sessions.Session": _REQUESTS,
    "httpx.Client": _HTTPX,
    "httpx._client.Client": _HTTPX,
}
CLIENT_CONSTRUCTORS = {
    **CLIENT_CLASSES,
    **{f"{name}.from_url": client for name, client in CLIENT_CLASSES.items() if client == _REDIS},
    "redis.from_url": _REDIS,
    "redis.utils.from_url": _REDIS,
    "requests.session": _REQUESTS,
    "requests.sessions.session": _REQUESTS,
}
# the packages of those clients: a module importing one is analysed (see `relevance`)
CLIENT_PACKAGES = frozenset(name.partition(".")[0] for name in CLIENT_CONSTRUCTORS)
# the other modules a blocking call comes from: a module importing one is analysed when a module that is analysed
# imports it, directly or through modules that do not matter otherwise (see `relevance.Relevance.blocking_reach`)
BLOCKING_PACKAGES = frozenset(name.partition(".")[0] for name in SLEEP | BLOCKING | DEFERRED) - CLIENT_PACKAGES
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})
# redis: every command does a round trip but these, which only read or set the client's own settings
_REDIS_NO_IO = frozenset(
    {
        "close",
        "client",
        "get_cache",
        "get_connection_kwargs",
        "get_encoder",
        "get_retry",
        "set_response_callback",
        "set_retry",
    }
)
# A redis pipeline buffers its commands and sends them at `execute()`; `watch()` sends WATCH at once and puts the
# pipeline in immediate mode (each command a round trip, until `multi()`): see `redis_pipelines`. `unwatch()`,
# `reset()` and `close()` send UNWATCH only after a `watch()`.
_PIPELINE_IO = frozenset({"execute", "watch", "immediate_execute_command", "load_scripts"})
_PIPELINE_CONTROL = frozenset({*_PIPELINE_IO, "multi", "unwatch", "reset", "close", "discard"})
# methods whose result does the I/O later (an object, an iterator, a context manager): no thread can take the call whole
_DEFERRED_IO = {
    _REDIS: frozenset(
        {
            "pipeline",
            "pubsub",
            "lock",
            "monitor",
            "register_script",
            "scan_iter",
            "hscan_iter",
            "sscan_iter",
            "zscan_iter",
            "client_list_iter",
            "bless_scan_iter",
        }
    ),
    _REQUESTS: frozenset(),
    _HTTPX: frozenset({"stream"}),
}
_NOT_MOVABLE = (ast.Call, ast.Await, ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom)


# what a review marker on a blocking call that could not be moved says to do
THREAD_ADVICE = "run it with `await asyncio.to_thread(...)`, or use an async client"


def is_blocking(resolved: str | None) -> bool:
    return resolved in SLEEP or resolved in BLOCKING or resolved in DEFERRED


def blocks_later(resolved: str) -> bool:
    """A module function whose result blocks when used (`DEFERRED`): flagged, not moved."""
    return resolved in DEFERRED


def client_method_io(client: str, method: str) -> str | None:
    """What a method of a sync client does: "call" (blocks, and can run in a thread), "deferred" (its result blocks
    when used: flagged), None (no I/O)."""
    if method.startswith("_"):
        return None
    if client == _REDIS_PIPELINE:
        return "call" if method in _PIPELINE_IO else None
    if method in _DEFERRED_IO.get(client, frozenset()):
        return "deferred"
    if client == _REDIS:
        return None if method in _REDIS_NO_IO else "call"
    return "call" if method in _HTTP_VERBS else None


def method_result_client(client: str, method: str) -> str | None:
    """The sync client a method returns: a redis `pipeline()`, and a command buffered in a pipeline (it returns the
    pipeline, for chaining: `r.pipeline().set(k, v).expire(k, 60).execute()`)."""
    if client == _REDIS and method == "pipeline":
        return _REDIS_PIPELINE
    if client == _REDIS_PIPELINE and method not in _PIPELINE_CONTROL and not method.startswith("_"):
        return _REDIS_PIPELINE
    return None


def is_pipeline(client: str) -> bool:
    """A sync redis pipeline (`redis.client.Pipeline`)."""
    return client == _REDIS_PIPELINE


def is_pipeline_call(client: str, method: str) -> bool:
    """`r.pipeline()` of a sync redis client."""
    return client == _REDIS and method == "pipeline"


def result_returned(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> bool:
    """Whether the function returns what `call` gives: `return <call>`, or `name = <call>` and `return name`, with
    `name` bound nowhere else in the function (nested functions and lambdas apart)."""
    nodes = own_nodes(function.body)
    returns = [node.value for node in nodes if isinstance(node, ast.Return) and node.value is not None]
    if any(value is call for value in returns):
        return True
    bound = [
        node.targets[0].id
        for node in nodes
        if isinstance(node, ast.Assign)
        and node.value is call
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ]
    if len(bound) != 1:
        return False
    bindings = sum(
        isinstance(node, ast.Name) and node.id == bound[0] and not isinstance(node.ctx, ast.Load) for node in nodes
    )
    return bindings == 1 and any(isinstance(value, ast.Name) and value.id == bound[0] for value in returns)


def movable(node: ast.Call) -> bool:
    """Whether the call's arguments can be moved into another call as their text: nothing in them that the
    migration rewrites too (a call), or that would change meaning moved (an await, a lambda, a walrus)."""
    arguments = [*node.args, *(k.value for k in node.keywords)]
    return not any(isinstance(sub, _NOT_MOVABLE) for argument in arguments for sub in ast.walk(argument))


def async_form(resolved: str, function_src: str, arguments_src: list[str]) -> str:
    """`time.sleep(x)` -> `await asyncio.sleep(x)`; `requests.get(u)` -> `await asyncio.to_thread(requests.get, u)`."""
    if resolved in SLEEP:
        return f"await asyncio.sleep({', '.join(arguments_src)})"
    return f"await asyncio.to_thread({', '.join([function_src, *arguments_src])})"
