"""Rewrite one legacy `Query` chain (LibCST nodes) into `select()` run by an awaited session call.

The chain's own nodes are reused, so arguments, comments and line breaks inside the chain survive.
"""

from __future__ import annotations

import libcst as cst
from libcst.helpers import parse_template_expression

from codemods.edits import QuerySpec
from codemods.queries import RENAMED_METHODS, UPDATE_SYNC_FOR_FALSE


class QueryRewriteError(Exception):
    """The chain does not have the shape the analysis promised; the file is left untouched."""


def _attr_name(call: cst.Call) -> str | None:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else None


def _spine(expr: cst.BaseExpression) -> list[cst.Call]:
    """Calls along `.func.value`, outermost first, down to (and including) `X.query(...)`."""
    out: list[cst.Call] = []
    current = expr
    while isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
        out.append(current)
        if current.func.attr.value == "query":
            break
        current = current.func.value
    return out


def _with_method(
    call: cst.Call, value: cst.BaseExpression, name: str | None = None, args: list[cst.Arg] | None = None
) -> cst.Call:
    func = call.func
    assert isinstance(func, cst.Attribute)
    new_func = func.with_changes(value=value, attr=cst.Name(name) if name else func.attr)
    return call.with_changes(func=new_func, args=call.args if args is None else args)


def _kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def _strip_trailing_comma(args: list[cst.Arg]) -> list[cst.Arg]:
    if args and args[-1].comma is not cst.MaybeSentinel.DEFAULT:
        args = [*args[:-1], args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return args


def to_select(
    expr: cst.BaseExpression,
    *,
    base: str = "select",
    drop: frozenset[str] = frozenset(),
    options: tuple[str, ...] = (),
) -> cst.BaseExpression:
    """`db.query(A).filter(x)` -> `select(A).where(x)`; a chain on a variable keeps its base. Loader `options`
    come right after `select(...)`, or after the variable (`q.options(...).limit(1)`)."""
    spine = _spine(expr)
    if not spine:
        return _with_options(expr, options)
    innermost = spine[-1]
    if _attr_name(innermost) == "query":
        rebuilt: cst.BaseExpression = _with_options(innermost.with_changes(func=cst.Name(base)), options)
        links = spine[:-1]
    else:
        rebuilt = _with_options(innermost.func.value, options)  # type: ignore[attr-defined]
        links = spine
    for call in reversed(links):
        name = _attr_name(call)
        assert name is not None
        if name in drop or name == "yield_per":
            # AsyncSession.execute()/scalars() refuse a yield_per statement (AsyncMethodRequired): only the
            # `async for` over `stream()` keeps it (_rewrite_iteration); elsewhere the rows are buffered anyway
            continue
        if name == "populate_existing":
            rebuilt = _with_method(call, rebuilt, "execution_options", [_kwarg("populate_existing", cst.Name("True"))])
        else:
            rebuilt = _with_method(call, rebuilt, RENAMED_METHODS.get(name))
    return rebuilt


def _with_options(expr: cst.BaseExpression, options: tuple[str, ...]) -> cst.BaseExpression:
    if not options:
        return expr
    return _append_call(expr, "options", _args([cst.parse_expression(o) for o in options]))


def _args(values: list[cst.BaseExpression]) -> list[cst.Arg]:
    return [
        cst.Arg(v, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if i < len(values) - 1 else cst.Arg(v)
        for i, v in enumerate(values)
    ]


def _append_call(expr: cst.BaseExpression, method: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=expr, attr=cst.Name(method)), args=args)


def _paren(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def rewrite_query(node: cst.BaseExpression, spec: QuerySpec) -> cst.BaseExpression:
    drop = frozenset({"params"})
    if spec.terminal == "builder":
        # A statement only built here runs elsewhere, where no execute() parameters are passed for it: its
        # `.params(**kw)` stays on the select(), which binds the values into the statement as Query.params() bound
        # them at execution (dropped, the count and the rows of open-webui's tag filter raised "A value is required
        # for bind parameter 'tag_id'")
        return to_select(node, base=spec.builder_base)
    session = cst.parse_expression(spec.session_src)
    params: list[cst.BaseExpression] = [cst.parse_expression(spec.params_src)] if spec.params_src else []
    if spec.terminal in {"iter", "stream"}:
        return _rewrite_iteration(node, spec, session, params)
    if spec.terminal == "slice":
        if not (
            isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)
        ):
            raise QueryRewriteError("slice terminal without a slice")
        piece = node.slice[0].slice
        stmt = _append_call(
            to_select(node.value, drop=drop),
            "slice",
            [
                cst.Arg(
                    piece.lower or cst.Name("None"),
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                ),
                cst.Arg(piece.upper or cst.Name("None")),
            ],
        )
        result = _run(session, "scalars" if spec.scalars else "execute", stmt, params)
        return _finish(result, spec.unique, "all")
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        raise QueryRewriteError("terminal is not a method call")
    chain = node.func.value
    terminal_args = list(node.args)
    terminal = spec.terminal

    if terminal == "get":
        return _rewrite_get(chain, terminal_args, session, spec.extra_options)
    if terminal in {"delete", "update"}:
        return _rewrite_bulk(chain, terminal, terminal_args, session, spec.discard_result)
    statement = to_select(chain, drop=drop, options=spec.extra_options)
    if terminal == "count":
        counted = parse_template_expression("select(func.count()).select_from({stmt}.subquery())", stmt=statement)
        return cst.Await(expression=_call(session, "scalar", [counted, *params]))
    if terminal == "first":
        statement = _append_call(statement, "limit", [cst.Arg(cst.Integer("1"))])
    if terminal == "scalar" and spec.aggregate:
        return cst.Await(expression=_call(session, "scalar", [statement, *params]))
    if terminal in {"all", "first"}:
        result = _run(session, "scalars" if spec.scalars else "execute", statement, params)
        return _finish(result, spec.unique, terminal)
    if terminal in {"one", "one_or_none"}:
        method = f"scalar_{terminal}" if spec.scalars else terminal
        return _finish(_run(session, "execute", statement, params), spec.unique, method)
    if terminal == "scalar":
        return _finish(_run(session, "execute", statement, params), spec.unique, "scalar_one_or_none")
    raise QueryRewriteError(f"unknown terminal {terminal}")


def _call(func_owner: cst.BaseExpression, method: str, args: list[cst.BaseExpression]) -> cst.Call:
    cst_args = [
        cst.Arg(a, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if i < len(args) - 1 else cst.Arg(a)
        for i, a in enumerate(args)
    ]
    return cst.Call(func=cst.Attribute(value=func_owner, attr=cst.Name(method)), args=cst_args)


def _run(
    session: cst.BaseExpression, method: str, stmt: cst.BaseExpression, params: list[cst.BaseExpression]
) -> cst.BaseExpression:
    return _paren(cst.Await(expression=_call(session, method, [stmt, *params])))


def _finish(result: cst.BaseExpression, unique: bool, method: str) -> cst.BaseExpression:
    if unique:
        result = _append_call(result, "unique", [])
    return _append_call(result, method, [])


def _rewrite_iteration(
    node: cst.BaseExpression, spec: QuerySpec, session: cst.BaseExpression, params: list[cst.BaseExpression]
) -> cst.BaseExpression:
    if spec.terminal == "stream":
        yield_per = None
        for call in _spine(node):
            if _attr_name(call) == "yield_per":
                yield_per = call.args[0].value
        if yield_per is None:
            raise QueryRewriteError("stream without yield_per")
        stmt = to_select(node, drop=frozenset({"params", "yield_per"}))
        stmt = _append_call(stmt, "execution_options", [_kwarg("yield_per", yield_per)])
        return cst.Await(expression=_call(session, "stream_scalars" if spec.scalars else "stream", [stmt, *params]))
    stmt = to_select(node, drop=frozenset({"params"}), options=spec.extra_options)
    awaited = cst.Await(expression=_call(session, "scalars" if spec.scalars else "execute", [stmt, *params]))
    if spec.unique:
        return _append_call(_paren(awaited), "unique", [])
    return awaited


def _rewrite_get(
    chain: cst.BaseExpression,
    key_args: list[cst.Arg],
    session: cst.BaseExpression,
    extra_options: tuple[str, ...] = (),
) -> cst.BaseExpression:
    spine = _spine(chain)
    if not spine or _attr_name(spine[-1]) != "query":
        raise QueryRewriteError("get() not on session.query(M)")
    model_args = spine[-1].args
    options: list[cst.Arg] = []
    for call in spine[:-1]:
        if _attr_name(call) != "options":
            raise QueryRewriteError("get() after a non-options call")
        options = [*list(call.args), *options] if options else list(call.args)
    options += [cst.Arg(cst.parse_expression(o)) for o in extra_options]
    args: list[cst.Arg] = [
        cst.Arg(model_args[0].value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        *_strip_trailing_comma(key_args),
    ]
    if options:
        options = _strip_trailing_comma(options)
        elements = [
            cst.Element(a.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            if i < len(options) - 1
            else cst.Element(a.value)
            for i, a in enumerate(options)
        ]
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(_kwarg("options", cst.List(elements)))
    return cst.Await(expression=cst.Call(func=cst.Attribute(value=session, attr=cst.Name("get")), args=args))


def _rewrite_bulk(
    chain: cst.BaseExpression,
    terminal: str,
    terminal_args: list[cst.Arg],
    session: cst.BaseExpression,
    discard_result: bool,
) -> cst.BaseExpression:
    stmt = to_select(chain, base=terminal)  # on a variable, its base already became delete()/update()
    sync_arg = None
    values: list[cst.Arg] = []
    for arg in terminal_args:
        if arg.keyword is not None and arg.keyword.value == "synchronize_session":
            sync_arg = arg.value
        elif arg.keyword is None and terminal == "update" and not values:
            values = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        else:
            raise QueryRewriteError(f"unexpected {terminal}() argument")
    if terminal == "update":
        if not values:
            raise QueryRewriteError("update() without values")
        stmt = _append_call(stmt, "values", values)
    if sync_arg is not None:
        if terminal == "update" and isinstance(sync_arg, cst.Name) and sync_arg.value == "False":
            sync_arg = cst.SimpleString(f'"{UPDATE_SYNC_FOR_FALSE}"')
        stmt = _append_call(stmt, "execution_options", [_kwarg("synchronize_session", sync_arg)])
    if discard_result:
        return cst.Await(expression=_call(session, "execute", [stmt]))
    result = _paren(cst.Await(expression=_call(session, "execute", [stmt])))
    return cst.Attribute(value=result, attr=cst.Name("rowcount"))
