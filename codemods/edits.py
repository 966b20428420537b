"""Decisions taken by the analysis (on `ast`) and applied by the transformer (on LibCST); no LibCST here.

A decision names the node it applies to by its source span, in characters:
(line, column, end line, end column), lines 1-based, columns 0-based, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Span = tuple[int, int, int, int]
REVIEW_PREFIX = "# awaitify: review"  # a review marker comment: this, the rule code, the reason


@dataclass(frozen=True)
class QuerySpec:
    """How to rewrite one legacy `Query` chain ending at a terminal (or used as a builder)."""

    terminal: str  # "all", "first", "one", "one_or_none", "scalar", "count", "get", "delete", "update",
    # "iter", "stream", "slice", "builder"
    session_src: str
    scalars: bool  # one mapped entity selected -> ScalarResult
    unique: bool
    aggregate: bool = False  # single aggregate column, no GROUP BY: `await s.scalar(stmt)`
    params_src: str | None = None  # `.params(**kw)` collected as an execute() parameter dict
    discard_result: bool = False  # a bulk update/delete whose rowcount nobody reads
    extra_options: tuple[str, ...] = ()  # loader options added for relationships read in the same function
    builder_base: str = "select"  # "delete" / "update" for a Query variable only ever bulk-deleted/updated


@dataclass(frozen=True)
class Edit:
    kind: str
    span: Span
    query: QuerySpec | None = None
    text: str = ""  # replacement text / new name / review reason, depending on kind


# kinds
AWAIT = "await"  # wrap the call in `await` (parenthesised where the parent needs it)
QUERY = "query"  # rewrite a Query chain (see QuerySpec)
ASYNC_WITH = "async_with"  # `with` statement at span -> `async with`
ASYNC_FOR = "async_for"  # `for` statement at span -> `async for`
TEXT_SQL = "text_sql"  # wrap the string expression at span in `text(...)`
RENAME = "rename"  # replace the name/attribute expression at span by `text`
REPLACE_EXPR = "replace_expr"  # replace the expression at span by the parsed `text`
REPLACE_STMT = "replace_stmt"  # replace the simple statement at span by the parsed statements in `text`
REVIEW = "review"  # `text` = "AWTnnn reason"; a marker comment at the end of the statement's line
DROP_KWARG = "drop_kwarg"  # remove keyword argument `text` from the call at span
ADD_KWARG = "add_kwarg"  # append keyword argument source `text` to the call at span (if not present)
DECORATOR = "decorator"  # replace the decorator expression at span by `text`
DROP_LAST_INDEX = "drop_last_index"  # `X[a, b, c]` at span -> `X[a, b]`
YIELD_FROM = "yield_from"  # `yield from x` statement at span -> `(async) for item in x: yield item` (text: async|sync)
ASYNC_COMP = "async_comp"  # the comprehension `for` whose iterable is at span -> `async for`
COMMENT = "comment"  # replace the comment at span (a type comment) by `text`


@dataclass(frozen=True, order=True)
class ImportName:
    """A name to import: `from module import name as asname` (`import name` when module is "")."""

    module: str
    name: str
    asname: str | None = None

    @property
    def local(self) -> str:
        return self.asname or self.name


@dataclass
class FilePlan:
    """Every decision for one file, as the transformer applies them (codemods.statement_rewrite.apply_plan)."""

    module_name: str
    edits: list[Edit] = field(default_factory=list)
    async_defs: set[str] = field(default_factory=set)  # function qualnames -> `async def`
    async_contextmanagers: set[str] = field(default_factory=set)
    imports: set[ImportName] = field(default_factory=set)
    removable: set[str] = field(default_factory=set)
    force_remove: set[str] = field(default_factory=set)
    helpers: list[str] = field(default_factory=list)
    added_decorators: dict[str, str] = field(default_factory=dict)  # function qualname -> decorator source

    def is_empty(self) -> bool:
        return not (self.edits or self.async_defs or self.imports or self.helpers)


class TransformError(Exception):
    """A decision could not be applied: the file is left as it is and reported."""
