"""What calls hand a function's parameters: the hints gathered across the project, and the types they give.

A call `list_users(db.query(User))` or `save(session, user)` tells the callee's analysis what its untyped parameter
holds; the hints are gathered while functions are analysed, merged between worker processes
(`parallel_analysis`), and read in the next round (`analyze.start_next_round`), which re-analyses only the functions
whose hints changed (`FactDependencies`). This module holds that state, once for the process, and the functions
that read and merge it; `analyze.reset_caches` clears it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from codemods.fact_deps import FactDependencies
from codemods.project import Project
from codemods.symbols import FunctionSymbols
from codemods.types import (
    DB_HANDLES,
    ClassRef,
    ConnectionType,
    EngineType,
    FunctionChoice,
    FunctionRef,
    Instance,
    InstanceList,
    MappedClassChoice,
    QueryType,
    SessionFactoryType,
    SessionType,
    Type,
)

QUERY_PARAM_PREFIX = "<query-param:"
PASSED_KINDS = ("<as passed>",)
_PARAM_HINTS: dict[tuple[str, str], set[QueryType]] = {}


@dataclass(frozen=True)
class ForwardedParam:
    """An argument that is the caller's own untyped parameter, handed on as it came (`create(db_session=db_session)`
    in `def get_or_create(*, db_session)`): it holds what the caller's callers hand that parameter. Recorded as such,
    not as "unknown", because the caller's parameter may be typed only in a later round (its own callers analysed
    after it): an "unknown" recorded before would stay, hints only grow, and leave the callee untyped, depending on
    the order the functions are analysed in (see `_resolved_hints`)."""

    function: str
    param: str


# what calls hand a function's parameter: a session, an engine or a connection (a handle: typed only when every
# caller passes the same), mapped objects, a mapped class (typing only an attribute the parameter is stored in, see
# `passed_class`), a project function for a parameter whose default is one (`loader=load_user`, see
# `_callable_param_type`), None for anything else (see `_argument_hint`, `_passed_type`)
ArgumentHint = (
    SessionType
    | SessionFactoryType
    | EngineType
    | ConnectionType
    | Instance
    | InstanceList
    | ClassRef
    | FunctionRef
    | None
)
# what is recorded: an ArgumentHint, or the caller's own parameter handed on (`ForwardedParam`, resolved on reading)
RecordedHint = ArgumentHint | ForwardedParam
# the prefix of the class a parameter holds where every caller passes a mapped class, not all the same one
SOME_MAPPED_CLASS = "<mapped class of "
# what callers hand an untyped parameter that types it only when every caller hands the same
PASSED_HANDLES = (*DB_HANDLES, SessionFactoryType)
_ARGUMENT_HINTS: dict[tuple[str, str], set[RecordedHint]] = {}
_PARAM_HINTED: set[str] = set()  # functions with at least one entry in _PARAM_HINTS
_DEPENDENCIES = FactDependencies()


def _current_hint(key: Hashable) -> object:
    assert isinstance(key, tuple)
    kind, *rest = key
    if kind == "argument":
        return frozenset(_ARGUMENT_HINTS.get((rest[0], rest[1]), ()))
    if kind == "param":
        return frozenset(_PARAM_HINTS.get((rest[0], rest[1]), ()))
    return rest[0] in _PARAM_HINTED


def _argument_hints(function: str, param: str) -> frozenset[ArgumentHint]:
    """What the callers hand the parameter, a forwarded parameter replaced by what it holds (`_resolved_hints`)."""

    def read(key: tuple[str, str]) -> frozenset[RecordedHint]:
        value = frozenset(_ARGUMENT_HINTS.get(key, ()))
        _DEPENDENCIES.hint_read(("argument", *key), value)
        return value

    return _resolved_hints(read, (function, param), frozenset())


def _resolved_hints(
    read: Callable[[tuple[str, str]], frozenset[RecordedHint]], key: tuple[str, str], seen: frozenset[tuple[str, str]]
) -> frozenset[ArgumentHint]:
    """The hints of `key`, each `ForwardedParam` replaced by the type the caller's parameter has from its own
    callers (`_passed_type`), or None (unknown). A parameter handed on in a cycle (a recursive call) adds nothing:
    what it holds comes from the calls into the cycle."""
    out: set[ArgumentHint] = set()
    for hint in read(key):
        if not isinstance(hint, ForwardedParam):
            out.add(hint)
            continue
        forwarded = (hint.function, hint.param)
        if forwarded in seen or forwarded == key:
            continue
        kind = _passed_type(_resolved_hints(read, forwarded, seen | {key}))
        out.add(kind if isinstance(kind, (*PASSED_HANDLES, Instance, InstanceList)) else None)
    return frozenset(out)


def _passed_type(passed: frozenset[ArgumentHint]) -> Type | None:
    """The type of an untyped parameter from what its callers pass: a session when every caller passes one;
    objects of one mapped class when that is all the callers with a known argument pass (then a relationship read
    from them is flagged, as for a parameter annotated `user: User`: they were loaded elsewhere, and flagging is the
    safe side where another caller's argument is unknown). A class passed counts as unknown here (see
    `passed_class`)."""
    passed = frozenset(None if isinstance(kind, ClassRef) else kind for kind in passed)
    known = passed - {None}
    if len(known) != 1:
        return None
    kind = next(iter(known))
    if isinstance(kind, PASSED_HANDLES):
        return kind if None not in passed else None
    return kind


def passed_class(passed: frozenset[ArgumentHint]) -> ClassRef | None:
    """The class an untyped constructor parameter stored in an attribute holds (`self.db_model = db_model`, with
    `ModelRouter(Item, get_db)`), where every caller passes a mapped class: that class where they all pass the same;
    otherwise one of them, unknown which (`MappedClassChoice`), so that `db.query(self.db_model)` is known to select
    an entity, whose objects are one of theirs. None where a caller passes anything else, or something awaitify
    cannot tell."""
    if not passed or not all(isinstance(kind, ClassRef) for kind in passed):
        return None
    names = sorted(kind.qualname for kind in passed if isinstance(kind, ClassRef))
    if len(names) == 1:
        return ClassRef(names[0])
    return MappedClassChoice(f"{SOME_MAPPED_CLASS}{', '.join(names)}>", tuple(names))


def _has_param_hints(function: str) -> bool:
    value = function in _PARAM_HINTED
    _DEPENDENCIES.hint_read(("any-param", function), value)
    return value


def _function_default(project: Project, function: FunctionSymbols, param_name: str) -> str | None:
    """The project function a parameter's default names (`loader=load_user`), if it does."""
    param = next((p for p in function.params if p.name == param_name), None)
    if param is None or not isinstance(param.default, (ast.Name, ast.Attribute)):
        return None
    qualname = project.resolve_expr(function.module, param.default)
    return qualname if qualname in project.functions else None


def _callable_param_type(project: Project, function: FunctionSymbols, param_name: str) -> Type | None:
    """A parameter whose default is a project function holds it, or what the callers hand it: a function (one
    function: a FunctionRef, so a call of it is awaited like a direct call), or something else (incomplete)."""
    default = _function_default(project, function, param_name)
    if default is None:
        return None
    passed = _argument_hints(function.qualname, param_name)
    qualnames = {default} | {hint.qualname for hint in passed if isinstance(hint, FunctionRef)}
    complete = all(isinstance(hint, FunctionRef) for hint in passed)
    if complete and len(qualnames) == 1:
        return FunctionRef(default)
    return FunctionChoice(tuple(sorted(qualnames)), complete)


def _query_param_type(function: str, param: str) -> QueryType | None:
    hints = frozenset(_PARAM_HINTS.get((function, param), ()))
    _DEPENDENCIES.hint_read(("param", function, param), hints)
    if not hints:
        return None
    # what it selects is the caller's business: `_query_returned_by` takes it from the argument
    return QueryType(f"{QUERY_PARAM_PREFIX}{param}>", PASSED_KINDS, any(h.dedupe for h in hints))


HintSnapshot = tuple[dict[tuple[str, str], frozenset[QueryType]], dict[tuple[str, str], frozenset[RecordedHint]]]


def hint_snapshot() -> HintSnapshot:
    sessions = {key: frozenset(value) for key, value in _ARGUMENT_HINTS.items() if any(value)}
    return {key: frozenset(value) for key, value in _PARAM_HINTS.items()}, sessions


HintState = tuple[dict[tuple[str, str], frozenset[QueryType]], dict[tuple[str, str], frozenset[RecordedHint]]]


def hint_state() -> HintState:
    """Every hint gathered so far, as they are (a snapshot leaves out session hints that carry no type, but
    those still change the facts of the function they are about)."""
    return (
        {key: frozenset(value) for key, value in _PARAM_HINTS.items()},
        {key: frozenset(value) for key, value in _ARGUMENT_HINTS.items()},
    )


def hinted_functions(state: HintState) -> set[str]:
    """The functions some call hands a query or a session to (a hint that can change what they do)."""
    params, sessions = state
    named = {function for (function, _param), kinds in params.items() if kinds}

    def read(key: tuple[str, str]) -> frozenset[RecordedHint]:
        return sessions.get(key, frozenset())

    named |= {
        key[0]
        for key in sessions
        if any(t is not None and not isinstance(t, ClassRef) for t in _resolved_hints(read, key, frozenset()))
    }
    return named


def merge_hints(state: HintState) -> None:
    """Add hints gathered elsewhere (another worker's analysis of the same project) to this process' own."""
    params, sessions = state
    for key, kinds in params.items():
        _PARAM_HINTS.setdefault(key, set()).update(kinds)
        _PARAM_HINTED.add(key[0])
    for key, types in sessions.items():
        _ARGUMENT_HINTS.setdefault(key, set()).update(types)
