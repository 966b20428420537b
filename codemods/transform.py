"""Pass 2b: apply one file's decisions in a single LibCST pass, then fix up its imports.

Every decision names its node by span; a decision that finds no node aborts the file (it is then left
untouched and reported), so a file is never half-converted.
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Iterable
from typing import Any, cast

import libcst as cst

from codemods import edits as E
from codemods.cst_spans import node_spans_and_extents
from codemods.edits import REVIEW_PREFIX, Edit, Span
from codemods.edits import FilePlan as FilePlan  # the plan and the error live with the decisions (no LibCST there)
from codemods.edits import TransformError as TransformError
from codemods.imports_edit import update_imports, used_names_of_code
from codemods.query_imports import query_imports_read
from codemods.source_lines import source_lines
from codemods.transform_query import QueryRewriteError, rewrite_query

_ORDER = {
    E.DROP_LAST_INDEX: -1,
    E.DROP_KWARG: 0,
    E.ADD_KWARG: 1,
    E.QUERY: 2,
    E.REPLACE_EXPR: 3,
    E.RENAME: 4,
    E.TEXT_SQL: 5,
    E.AWAIT: 6,
}


@functools.lru_cache(maxsize=4096)
def _expression(source: str) -> cst.BaseExpression:
    """A parsed expression; LibCST nodes are immutable, so one parse serves every edit with the same text."""
    return cst.parse_expression(source)


def _needs_parens(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Await) and not expr.lpar


_STATEMENT_HOLDERS = (
    cst.Module,
    cst.BaseCompoundStatement,
    cst.BaseSuite,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)
_HOLDS_STATEMENTS: dict[type[cst.CSTNode], bool] = {}


def _holds_statements(node_type: type[cst.CSTNode]) -> bool:
    """Nodes that can contain statements (hence functions to make async) are always descended into."""
    known = _HOLDS_STATEMENTS.get(node_type)
    if known is None:
        known = _HOLDS_STATEMENTS[node_type] = issubclass(node_type, _STATEMENT_HOLDERS)
    return known


_IS_EXPRESSION: dict[type, bool] = {}


def _is_expression(node_type: type) -> bool:
    """`isinstance(node, cst.BaseExpression)` by the node's type, remembered: an ABC check on every node left
    was a tenth of the visit."""
    known = _IS_EXPRESSION.get(node_type)
    if known is None:
        known = _IS_EXPRESSION[node_type] = issubclass(node_type, cst.BaseExpression)
    return known


class _Applier(cst.CSTTransformer):
    def __init__(
        self,
        plan: FilePlan,
        spans: dict[cst.CSTNode, Span],
        extents: dict[cst.CSTNode, Span],
        comment_lines: frozenset[int],
    ) -> None:
        super().__init__()
        self.plan = plan
        self.comment_lines = comment_lines  # the lines with a `#`: only there can a rewrite displace a comment
        self.spans = spans  # every original node's span, as LibCST's PositionProvider gives it
        self.extents = extents  # every original node's first to last character
        self.by_span: dict[Span, list[Edit]] = {}
        self.by_start: dict[tuple[int, int], list[Edit]] = {}
        self.reviews: list[Edit] = []
        for edit in plan.edits:
            if edit.kind == E.REVIEW:
                self.reviews.append(edit)
            elif edit.kind in {E.ASYNC_WITH, E.ASYNC_FOR, E.REPLACE_STMT, E.YIELD_FROM}:
                self.by_start.setdefault(edit.span[:2], []).append(edit)
            else:
                self.by_span.setdefault(edit.span, []).append(edit)
        for edits in self.by_span.values():
            edits.sort(key=lambda e: _ORDER.get(e.kind, 9))
        self.applied: set[int] = set()
        self.scope: list[str] = [plan.module_name]
        # comments of a rewritten expression that its new text has no place for: kept above its statement
        self.displaced_comments: list[str] = []
        # where each decision starts, sorted: a node no decision starts in is not descended into (its leave
        # still runs), unless it can hold statements
        self.edit_starts = sorted({(edit.span[0], edit.span[1]) for edit in plan.edits})

    # LibCST looks up a `visit_<Type>_<field>` and a `leave_<Type>_<field>` method for every field of every node
    # it visits; this transformer defines none (a test checks), so those look-ups are skipped.
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_visit(self, node: cst.CSTNode) -> bool:
        descend = super().on_visit(node)
        if descend and not _holds_statements(type(node)):
            return self._holds_an_edit(node)
        return descend

    def _holds_an_edit(self, node: cst.CSTNode) -> bool:
        """False only when no decision starts inside the node: every decision names its node by span, and
        that node's span starts where the decision does, so nothing below this node can change."""
        span = self.extents.get(node)
        if span is None:
            return True
        index = bisect.bisect_left(self.edit_starts, (span[0], span[1]))
        return index < len(self.edit_starts) and self.edit_starts[index] <= (span[2], span[3])

    # -- scopes ---------------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.append(node.name.value)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.BaseStatement:
        self.scope.pop()
        return self._attach_header_reviews(original, updated)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.append(node.name.value)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.BaseStatement:
        qualname = ".".join(self.scope)
        self.scope.pop()
        if qualname in self.plan.async_defs and updated.asynchronous is None:
            updated = updated.with_changes(asynchronous=cst.Asynchronous())
        if qualname in self.plan.async_contextmanagers:
            updated = updated.with_changes(decorators=[_async_cm(d) for d in updated.decorators])
        if qualname in self.plan.added_decorators:
            added = cst.Decorator(decorator=_expression(self.plan.added_decorators[qualname]))
            updated = updated.with_changes(decorators=[added, *updated.decorators])
        return self._attach_header_reviews(original, updated)

    # -- expressions ----------------------------------------------------------------------------------
    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        result = super().on_leave(original_node, updated_node)
        if (
            self.displaced_comments
            and isinstance(original_node, cst.BaseStatement)
            and isinstance(result, cst.CSTNode | cst.FlattenSentinel)
        ):
            return self._with_displaced_comments(result)
        if not _is_expression(type(original_node)) or not _is_expression(type(result)):
            return result  # type: ignore[return-value]
        result = cast(cst.BaseExpression, result)  # checked just above, by type
        position = self.spans.get(original_node)
        if position is None:
            return result
        edits = self.by_span.get(position)
        if not edits:
            return result
        for edit in edits:
            if id(edit) in self.applied:
                continue
            new = self._apply_expr_edit(edit, result, original_node)
            if new is None:
                continue
            self.applied.add(id(edit))
            result = new
        return result

    def _apply_expr_edit(
        self, edit: Edit, node: cst.BaseExpression, original: cst.CSTNode
    ) -> cst.BaseExpression | None:
        kind = edit.kind
        keep: dict[str, Any] = {"lpar": node.lpar, "rpar": node.rpar}
        if kind == E.AWAIT:
            if not isinstance(node, cst.Call):
                return None
            return cst.Await(expression=node.with_changes(lpar=[], rpar=[]), **keep)
        if kind == E.QUERY:
            assert edit.query is not None
            try:
                new = rewrite_query(node.with_changes(lpar=[], rpar=[]), edit.query)
            except QueryRewriteError as exc:
                raise TransformError(f"line {edit.span[0]}: {exc}") from exc
            if self._may_hold_comments(original):
                self.displaced_comments += _lost_comments(node, new)
            return new.with_changes(**keep) if keep["lpar"] else new
        if kind == E.TEXT_SQL:
            return cst.Call(func=cst.Name("text"), args=[cst.Arg(node.with_changes(lpar=[], rpar=[]))], **keep)
        if kind == E.RENAME:
            if not isinstance(node, cst.Name | cst.Attribute):
                return None
            return _expression(edit.text).with_changes(**keep)
        if kind == E.DROP_LAST_INDEX:
            if not isinstance(node, cst.Subscript) or len(node.slice) < 2:
                return None
            elements = list(node.slice[:-1])
            elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return node.with_changes(slice=elements)
        if kind == E.REPLACE_EXPR:
            return _expression(edit.text).with_changes(**keep)
        if kind == E.DROP_KWARG:
            if not isinstance(node, cst.Call):
                return None
            args = [a for a in node.args if not (a.keyword and a.keyword.value == edit.text)]
            return node.with_changes(args=_fix_commas(args, node.args))
        if kind == E.ADD_KWARG:
            if not isinstance(node, cst.Call):
                return None
            name, _, value = edit.text.partition("=")
            if any(a.keyword and a.keyword.value == name for a in node.args):
                return node
            new_arg = cst.Arg(
                value=_expression(value),
                keyword=cst.Name(name),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                ),
            )
            return node.with_changes(args=_append_arg(list(node.args), new_arg))
        return None

    def leave_Comment(self, original: cst.Comment, updated: cst.Comment) -> cst.Comment:
        """A type comment naming a sync class, written with the async one (see `codemods.type_comments`)."""
        for edit in self.by_span.get(self.spans.get(original, (0, 0, 0, 0)), ()):
            if edit.kind == E.COMMENT and id(edit) not in self.applied:
                self.applied.add(id(edit))
                return updated.with_changes(value=edit.text)
        return updated

    def _may_hold_comments(self, original: cst.CSTNode) -> bool:
        extent = self.extents.get(original)
        return extent is None or any(line in self.comment_lines for line in range(extent[0], extent[2] + 1))

    # parentheses where an awaited expression is used as a primary: `(await f()).x`, `(await f())[0]`
    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if _needs_parens(updated.value):
            updated = updated.with_changes(
                value=updated.value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        if _needs_parens(updated.value):
            updated = updated.with_changes(
                value=updated.value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if _needs_parens(updated.func):
            updated = updated.with_changes(
                func=updated.func.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        return updated

    # -- statements -----------------------------------------------------------------------------------
    def _statement_edits(self, original: cst.CSTNode, kinds: set[str]) -> list[Edit]:
        position = self.spans.get(original)
        if position is None:
            return []
        return [e for e in self.by_start.get(position[:2], []) if e.kind in kinds and id(e) not in self.applied]

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement:
        edits = self._statement_edits(original, {E.ASYNC_WITH})
        if not edits:
            return self._attach_header_reviews(original, updated)
        for edit in edits:
            self.applied.add(id(edit))
        wanted = {e.text for e in edits}
        flags = []
        for item in original.items:
            position = self.spans.get(item.item)
            key = f"{position[0]}:{position[1]}" if position is not None else ""
            flags.append("" in wanted or key in wanted)
        if all(flags):
            updated = updated.with_changes(asynchronous=cst.Asynchronous())
            return self._attach_header_reviews(original, updated)
        # `with timer(), committing(db) as s:` mixes a sync and an async manager: nest them, in order
        return self._attach_header_reviews(original, _split_with(updated, flags))

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.BaseStatement:
        for edit in self._statement_edits(original, {E.ASYNC_FOR}):
            self.applied.add(id(edit))
            updated = updated.with_changes(asynchronous=cst.Asynchronous())
        return self._attach_header_reviews(original, updated)

    def leave_CompFor(self, original: cst.CompFor, updated: cst.CompFor) -> cst.CompFor:
        position = self.spans.get(original.iter)
        if position is None:
            return updated
        for edit in self.by_span.get(position, []):
            if edit.kind == E.ASYNC_COMP and id(edit) not in self.applied:
                self.applied.add(id(edit))
                updated = updated.with_changes(asynchronous=cst.Asynchronous())
        return updated

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement:
        return self._attach_header_reviews(original, updated)

    def leave_While(self, original: cst.While, updated: cst.While) -> cst.BaseStatement:
        return self._attach_header_reviews(original, updated)

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        position = self.spans.get(original)
        replaced: list[cst.BaseStatement] | None = None
        if position is not None and len(original.body) == 1:
            inner_position = self.spans.get(original.body[0])
            if inner_position is not None:
                for edit in self.by_start.get(inner_position[:2], []):
                    if edit.kind == E.REPLACE_STMT and id(edit) not in self.applied:
                        self.applied.add(id(edit))
                        replaced = list(cst.parse_module(edit.text).body)
                    elif edit.kind == E.YIELD_FROM and id(edit) not in self.applied:
                        source = _yield_from_source(updated)
                        if source is not None:
                            self.applied.add(id(edit))
                            replaced = [_yield_each(source, asynchronous=edit.text == "async")]
        if position is not None:
            reviews = self._take_reviews(position[0], position[2])
            if reviews:
                updated = updated.with_changes(trailing_whitespace=_with_markers(updated.trailing_whitespace, reviews))
        if replaced == []:  # the statement goes (an empty replacement): a blank line before it goes with it
            return cst.FlattenSentinel([])
        if replaced is not None:
            first = replaced[0].with_changes(leading_lines=updated.leading_lines)
            return cst.FlattenSentinel([first, *replaced[1:]])
        return updated

    def _with_displaced_comments(self, result: cst.CSTNode | cst.FlattenSentinel[cst.CSTNode]) -> cst.CSTNode:
        statements: list[cst.CSTNode] = list(result) if isinstance(result, cst.FlattenSentinel) else [result]
        first = statements[0] if statements else None
        if not isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            return result  # type: ignore[return-value]
        comments = [cst.EmptyLine(comment=cst.Comment(text)) for text in self.displaced_comments]
        self.displaced_comments = []
        statements[0] = first.with_changes(leading_lines=[*first.leading_lines, *comments])
        if isinstance(result, cst.FlattenSentinel):
            return cst.FlattenSentinel(statements)  # type: ignore[return-value]
        return statements[0]

    def _attach_header_reviews(self, original: cst.CSTNode, updated: cst.BaseStatement) -> cst.BaseStatement:
        if not self.reviews:
            return updated
        if isinstance(original, cst.FunctionDef | cst.ClassDef) and isinstance(updated, cst.FunctionDef | cst.ClassDef):
            updated = self._attach_decorator_reviews(original, updated)
        position = self.spans.get(original)
        body = getattr(updated, "body", None)
        original_body = getattr(original, "body", None)
        if position is None or not isinstance(body, cst.IndentedBlock) or original_body is None:
            return updated
        body_position = self.spans.get(original_body)
        last_header_line = body_position[0] if body_position else position[0]
        reviews = self._take_reviews(position[0], last_header_line)
        if not reviews:
            return updated
        return updated.with_changes(body=body.with_changes(header=_with_markers(body.header, reviews)))

    def _attach_decorator_reviews(
        self, original: cst.FunctionDef | cst.ClassDef, updated: cst.FunctionDef | cst.ClassDef
    ) -> cst.FunctionDef | cst.ClassDef:
        """A review of a decorator (`@event.listens_for(SessionLocal, ...)`) goes on the decorator's last line."""
        decorators = list(updated.decorators)
        for index, decorator in enumerate(original.decorators):
            position = self.spans.get(decorator)
            reviews = self._take_reviews(position[0], position[2]) if position is not None else []
            if reviews and index < len(decorators):
                marked = _with_markers(decorators[index].trailing_whitespace, reviews)
                decorators[index] = decorators[index].with_changes(trailing_whitespace=marked)
        return updated.with_changes(decorators=decorators)

    def _take_reviews(self, first_line: int, last_line: int) -> list[str]:
        taken = [r for r in self.reviews if first_line <= r.span[0] <= last_line]
        if not taken:
            return []
        self.reviews = [r for r in self.reviews if r not in taken]
        return sorted({r.text for r in taken})

    def unapplied(self) -> list[Edit]:
        pending = [e for edits in self.by_span.values() for e in edits if id(e) not in self.applied]
        pending += [e for edits in self.by_start.values() for e in edits if id(e) not in self.applied]
        return [*pending, *self.reviews]


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.found.append(node.value)


def _comments(node: cst.CSTNode) -> list[str]:
    collector = _CommentCollector()
    node.visit(collector)
    return collector.found


def _lost_comments(before: cst.CSTNode, after: cst.CSTNode) -> list[str]:
    """The comments of `before` that `after` does not keep, in source order."""
    remaining = Counter(_comments(after))
    lost = []
    for text in _comments(before):
        if remaining[text]:
            remaining[text] -= 1
        else:
            lost.append(text)
    return lost


def _split_with(node: cst.With, flags: list[bool]) -> cst.With:
    """Consecutive items of the same kind stay together; each group nests the next."""
    groups: list[tuple[bool, list[cst.WithItem]]] = []
    for item, is_async in zip(node.items, flags, strict=True):
        if groups and groups[-1][0] == is_async:
            groups[-1][1].append(item)
        else:
            groups.append((is_async, [item]))
    inner: cst.BaseSuite = node.body
    built: cst.With | None = None
    for is_async, items in reversed(groups):
        items = [*items[:-1], items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        built = cst.With(
            items=items,
            body=inner,
            asynchronous=cst.Asynchronous() if is_async else None,
        )
        inner = cst.IndentedBlock(body=[built])
    assert built is not None
    return built.with_changes(leading_lines=node.leading_lines)


def _yield_from_source(line: cst.SimpleStatementLine) -> cst.BaseExpression | None:
    small = line.body[0] if line.body else None
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Yield) and isinstance(small.value.value, cst.From):
        return small.value.value.item
    return None


def _yield_each(source: cst.BaseExpression, *, asynchronous: bool) -> cst.For:
    """`yield from source` -> `(async) for item in source: yield item` (async generators have no yield from)."""
    return cst.For(
        target=cst.Name("item"),
        iter=source,
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Expr(cst.Yield(value=cst.Name("item")))])]),
        asynchronous=cst.Asynchronous() if asynchronous else None,
    )


def _with_markers(whitespace: cst.TrailingWhitespace, reviews: Iterable[str]) -> cst.TrailingWhitespace:
    existing = whitespace.comment.value if whitespace.comment else ""
    markers = [f"{REVIEW_PREFIX} {text}" for text in reviews if f"{REVIEW_PREFIX} {text.split()[0]}" not in existing]
    if not markers:
        return whitespace
    comment = "  ".join([existing, *markers]) if existing else "  ".join(markers)
    return whitespace.with_changes(
        whitespace=whitespace.whitespace if existing else cst.SimpleWhitespace("  "),
        comment=cst.Comment(comment),
    )


def _async_cm(decorator: cst.Decorator) -> cst.Decorator:
    expr = decorator.decorator
    if isinstance(expr, cst.Name) and expr.value == "contextmanager":
        return decorator.with_changes(decorator=cst.Name("asynccontextmanager"))
    if isinstance(expr, cst.Attribute) and expr.attr.value == "contextmanager":
        return decorator.with_changes(decorator=expr.with_changes(attr=cst.Name("asynccontextmanager")))
    return decorator


def _fix_commas(args: list[cst.Arg], original: Iterable[cst.Arg]) -> list[cst.Arg]:
    original_list = list(original)
    if not args:
        return args
    last_original_comma = original_list[-1].comma if original_list else cst.MaybeSentinel.DEFAULT
    out = list(args)
    out[-1] = out[-1].with_changes(
        comma=last_original_comma
        if isinstance(last_original_comma, cst.Comma) and out[-1] is not original_list[-1] and _multiline(original_list)
        else (out[-1].comma if out[-1] is original_list[-1] else cst.MaybeSentinel.DEFAULT)
    )
    return out


def _multiline(args: list[cst.Arg]) -> bool:
    return any(
        isinstance(a.comma, cst.Comma) and isinstance(a.comma.whitespace_after, cst.ParenthesizedWhitespace)
        for a in args
    )


def _append_arg(args: list[cst.Arg], new_arg: cst.Arg) -> list[cst.Arg]:
    if not args:
        return [new_arg]
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # `f(\n    a,\n)`: keep the layout, put the new argument on its own line
        comma = last.comma
        indent_after = comma.whitespace_after
        return (
            [*args, new_arg.with_changes(comma=cst.Comma(whitespace_after=indent_after))]
            if isinstance(indent_after, cst.ParenthesizedWhitespace)
            else [*args, new_arg]
        )
    return [
        *args[:-1],
        last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        new_arg,
    ]


def apply_plan_full(source: str, plan: FilePlan) -> str:
    """The reference rewrite: the whole file through LibCST in one pass, then the import fix-up."""
    module = cst.parse_module(source)
    comment_lines = frozenset(number for number, line in enumerate(source_lines(source), 1) if "#" in line)
    applier = _Applier(plan, *node_spans_and_extents(module), comment_lines)
    new_module = module.visit(applier)
    pending = applier.unapplied()
    if pending:
        first = pending[0]
        raise TransformError(
            f"line {first.span[0]}: could not apply {first.kind} edit ({len(pending)} pending); file left untouched"
        )
    if plan.helpers:
        new_module = _insert_helpers(new_module, plan.helpers)
    statement_codes: dict[int, tuple[cst.CSTNode, str]] = {}
    code = _module_code(new_module, statement_codes)
    in_use = used_names_of_code(code)
    add = query_imports_read(plan.imports, code, in_use)
    new_module = update_imports(new_module, add, plan.removable, frozenset(plan.force_remove), in_use)
    return _module_code(new_module, statement_codes)


def _module_code(module: cst.Module, statement_codes: dict[int, tuple[cst.CSTNode, str]]) -> str:
    """`module.code`, reusing the code of top-level statements generated before (by identity): the import
    fix-up touches a few statements, and generating the whole module's code twice cost a fifth of a rewrite."""
    if not module.has_trailing_newline:
        return module.code  # Module._codegen_impl drops the last newline token: rare, done the plain way
    parts = [module.code_for_node(line) for line in module.header]
    for statement in module.body:
        known = statement_codes.get(id(statement))
        if known is None or known[0] is not statement:
            known = statement_codes[id(statement)] = (statement, module.code_for_node(statement))
        parts.append(known[1])
    parts += [module.code_for_node(line) for line in module.footer]
    return "".join(parts) or module.default_newline


def _insert_helpers(module: cst.Module, helpers: list[str]) -> cst.Module:
    body = list(module.body)
    index = 0
    for position, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
        ):
            index = position + 1
    existing = module.code
    new_nodes: list[cst.BaseStatement] = []
    for helper in helpers:
        name = helper.split("(", 1)[0].removeprefix("def ").strip()
        if f"def {name}(" in existing:
            continue
        parsed = cst.parse_module(helper).body
        first = parsed[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        new_nodes.extend([first, *parsed[1:]])
    if not new_nodes:
        return module
    after = body[index:]
    if after:
        blank = [cst.EmptyLine(), cst.EmptyLine()]
        comments = [line for line in after[0].leading_lines if line.comment is not None]
        after[0] = after[0].with_changes(leading_lines=[*blank, *comments])
    return module.with_changes(body=[*body[:index], *new_nodes, *after])
