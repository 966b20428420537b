"""The facts the analysis records about one function (or a module's top level), and the words they are made of.

`FunctionFacts` with its `CallSite`s and `GeneratorUse`s is what the analysis (`analyze`) hands to the coloring,
the edits and the findings; the constants name the calls and decorators a call site or a boundary is told by. Apart
from the analyzer so that the modules that only read facts (`coloring`, `staging`, `blocking_callees`) do not import
the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codemods.edits import Edit, Span
from codemods.types import QueryType, Type

TASK_FUNCTIONS = frozenset(
    {
        "asyncio.gather",
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.wait_for",
        "asyncio.shield",
        "asyncio.run",
        "asyncio.wait",
        "asyncio.as_completed",
    }
)
CONCURRENCY_FUNCTIONS = frozenset({"asyncio.gather", "asyncio.create_task", "asyncio.ensure_future"})
# Methods whose argument is a coroutine on purpose (event loops, task groups, anyio, executors)
COROUTINE_CONSUMERS = frozenset(
    {
        "run_until_complete",
        "create_task",
        "ensure_future",
        "run_coroutine_threadsafe",
        "start_soon",
        "gather",
        "wait_for",
        "shield",
    }
)
BOUNDARY_DECORATORS = frozenset(
    {
        "property",
        "cached_property",
        "functools.cached_property",
        "hybrid_property",
        "hybrid_method",
        "validator",
        "field_validator",
        "model_validator",
        "root_validator",
        "validates",
        "listens_for",
        "computed_field",
        "setter",
        "getter",
        "deleter",
        "expression",
    }
)
CONTEXTMANAGER = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
# where a call is made, as a CallSite records it ("async_iterable_arg": handed to a response that iterates an async
# iterable as well, see `thread_offloads.ASYNC_ITERABLE_CONSUMERS`)
_CALL_SITE_CONTEXTS = frozenset(
    {"lambda", "genexp", "for_iter", "with_item", "comp_iter", "task_arg", "assigned", "async_iterable_arg"}
)
CALLBACK_OK = frozenset({"Depends", "add_task", "add_api_route", "add_event_handler", "Security", "run_sync"})
# what reads a function's declaration without calling it: the same for the `async def` it becomes (its parameters,
# annotations, name and docstring do not change), so handing the function to them, or reading these attributes of
# it, is no callback (AWT213). `inspect.iscoroutinefunction()` is not one of them: its answer changes.
INTROSPECTION_FUNCTIONS = frozenset(
    {
        "typing.get_type_hints",
        "typing_extensions.get_type_hints",
        "inspect.signature",
        "inspect.get_annotations",
        "inspect.getdoc",
    }
)
FUNCTION_METADATA = frozenset({"__annotations__", "__name__", "__qualname__", "__doc__", "__module__"})


NEXT_CLOSED_HELPER = "_awaitify_next_closed"
HELD_RETURNED = "returned"  # `return next(gen)`: drawn with the close-at-once helper
HELD_DROPPED = "dropped"  # `db = next(gen)`, `gen` never closed in the function: flagged (AWT223)


@dataclass
class CallSite:
    span: Span
    line: int
    callees: tuple[str, ...]
    awaited: bool
    # "normal" or one of _CALL_SITE_CONTEXTS; "uncertain": a call of a parameter holding a project function or
    # something awaitify cannot follow (never awaited, flagged if the function is async)
    context: str
    stmt_span: Span | None = None  # for `for`/`with` statements that iterate/enter the call
    source: str = ""
    # the call run in a worker thread, `await asyncio.to_thread(fn, *args)`, should its callee stay sync and block
    # (see `blocking_callees`); None where it cannot be moved so (a lambda, a loop's iterable, arguments that change)
    thread_text: str | None = None


@dataclass(frozen=True)
class GeneratorUse:
    """A use of a generator object that changes when its function becomes an async generator."""

    qualname: str
    span: Span
    async_text: str
    awaited: bool
    # `next(get_db())`: the generator is made here, drawn from once and dropped (the span of its call); the
    # rewrite needs the helper `_awaitify_next_closed`
    made_here: Span | None = None
    source: str = ""  # the use's text (a query chain on `next(get_db())` takes the rewrite as its session)
    # `db = next(gen)` of a generator held in a variable that this function never closes: CPython closed the sync
    # generator when the function returned; the event loop closes the async one later (see `_held_draw_lifetime`)
    lifetime: str = ""  # "" (closed here, or not a draw), HELD_RETURNED or HELD_DROPPED

    @property
    def needs_next_closed_helper(self) -> bool:
        return self.made_here is not None or self.lifetime == HELD_RETURNED


@dataclass(slots=True)
class FunctionFacts:
    qualname: str
    module: str
    def_key: str | None  # "line:col" of the def statement (None for module level)
    is_async: bool
    boundary: str | None
    is_generator: bool
    is_contextmanager: bool
    contextmanager_decorator: Span | None = None
    seeds: list[str] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    async_edits: list[Edit] = field(default_factory=list)  # valid only once the function is async
    edits: list[Edit] = field(default_factory=list)  # valid whatever the color
    reviews: list[Edit] = field(default_factory=list)
    findings: list[tuple[int, int, str, str]] = field(default_factory=list)  # (line, col, code, message)
    imports: set[tuple[str, str]] = field(default_factory=set)
    async_imports: set[tuple[str, str]] = field(default_factory=set)
    callback_refs: list[tuple[Span, int, str]] = field(default_factory=list)  # (span, line, qualname)
    # calls whose result, a function (a factory's), is called at once or handed to FastAPI (see `route_handoffs`)
    followed_calls: list[Span] = field(default_factory=list)
    # `contextmanager(get_db)` of a project generator function: (span of `contextmanager`, its async counterpart's
    # text, the generator's qualname), rewritten should the generator become async (see `WrappedContextManager`)
    wrapped_contextmanagers: list[tuple[Span, str, str]] = field(default_factory=list)
    # `await run_in_threadpool(fn, *args)`: (span of `fn`, span of the call, `fn(*args)`, the name of the import it
    # uses, which may become unused), see `thread_offloads`
    offloads: list[tuple[Span, Span, str, str | None]] = field(default_factory=list)
    # `loop.run_in_executor(None, fn, ...)` of a `loop = asyncio.get_running_loop()` bound once in the function: (span
    # of the call, span of that assignment, how many times the function reads the name, the name the getter is read
    # from, an import that may become unused), see `thread_offloads`
    offload_loops: list[tuple[Span, Span, int, str]] = field(default_factory=list)
    # a blocking call, applied should the function become async: (span, `await ...` or None for a review marker,
    # the marker's text, the import it uses, which may become unused), see `blocking_calls`
    blocking_calls: list[tuple[Span, str | None, str, str | None]] = field(default_factory=list)
    blocks_on: list[str] = field(default_factory=list)  # what each of them calls: `redis.Redis.get`, `time.sleep`
    # `return subprocess.Popen(...)`: what the function returns that blocks when used (a child process, a connected
    # socket, a redis pipeline), called so; a call of it is flagged, not moved to a thread (see `blocking_callees`)
    returns_blocking: str | None = None
    # `CoverArtClient(url)` of a project class: the call of its `__init__` (kept apart from `calls`: a constructor
    # never becomes a coroutine), followed should `__init__` block, see `blocking_callees`
    constructions: list[CallSite] = field(default_factory=list)
    returns_query: QueryType | None = None
    helpers: set[str] = field(default_factory=set)
    lazy_reads: list[Edit] = field(default_factory=list)
    generator_uses: list[GeneratorUse] = field(default_factory=list)
    removable_names: set[str] = field(default_factory=set)  # imports that may become unused once async
    replaced_names: set[str] = field(default_factory=set)  # imports that may become unused whatever the color
    env: dict[str, Type | None] = field(default_factory=dict)  # locals' types, for closures nested inside
    yield_froms: list[tuple[Span, tuple[str, ...]]] = field(default_factory=list)  # statement, what it iterates
    # a decorator the function gets once made async (`pytest.mark.asyncio(...)` on a test function)
    async_decorator: str | None = None
    # the fixture decorator rewrite (`pytest_asyncio.fixture(...)`), applied only when the function is made async
    async_fixture_edit: Edit | None = None
    # (dependency, override) of `app.dependency_overrides[dependency] = override`: the override takes its color
    dependency_overrides: list[tuple[str, str]] = field(default_factory=list)
    # (span of the value, dependency) of an override awaitify cannot follow (a factory call, a lambda, ...)
    opaque_overrides: list[tuple[Span, str]] = field(default_factory=list)
    # (span of the def line, qualname, qualnames of the functions nested in it) of the function's decorators that
    # are sync wrappers defined in the project
    sync_wrappers: list[tuple[Span, str, tuple[str, ...]]] = field(default_factory=list)
    # a decorator's wrapper: its calls of the function it wraps (`func(*args, **kwargs)`, see `decorator_wrappers`)
    wrapped_calls: list[Span] = field(default_factory=list)


# A field of finished facts that holds nothing holds one of these, shared (see `_finished`).
_SHARED_EMPTY: dict[type, object] = {list: (), set: frozenset()}
_CONTAINER_FIELDS = tuple(
    name
    for name, spec in FunctionFacts.__dataclass_fields__.items()
    if spec.default_factory in _SHARED_EMPTY  # type: ignore[comparison-overlap]
)


def _finished(facts: FunctionFacts) -> FunctionFacts:
    """The facts of an analysis that is over, its empty lists and sets replaced by a shared empty tuple and frozenset.

    Every function's facts are held to the end of the run (the coloring is whole-program), and most of their 17
    lists and sets stay empty: 24 of the 42 MB that the generated 2,131-file repository's 15,580 facts took. Nothing
    adds to facts once their analysis is over (a tuple or a frozenset would refuse it: loudly, never into another
    function's facts), and everything that reads them only iterates, tests and unites."""
    for name in _CONTAINER_FIELDS:
        value = getattr(facts, name)
        if not value:
            setattr(facts, name, _SHARED_EMPTY[type(value)])
    return facts
