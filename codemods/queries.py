"""Legacy `Query` knowledge: which methods build, which run, and how each maps to 2.0 `select()`."""

from __future__ import annotations

# Query methods that return a new Query and have a `Select` counterpart.
BUILDER_METHODS = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "join",
        "outerjoin",
        "options",
        "order_by",
        "group_by",
        "having",
        "limit",
        "offset",
        "distinct",
        "slice",
        "with_entities",
        "add_columns",
        "add_entity",
        "populate_existing",
        "select_from",
        "params",
        "execution_options",
        "correlate",
        "yield_per",
        "with_for_update",
        "from_statement",
    }
)
# Methods producing a SQL expression from the Query, no I/O.
SELECTABLE_METHODS = frozenset({"subquery", "cte", "label", "as_scalar", "scalar_subquery", "exists", "statement"})
TERMINAL_METHODS = frozenset(
    {
        "all",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "count",
        "get",
        "delete",
        "update",
    }
)
REMOVED_METHODS = frozenset({"from_self", "values", "value", "select_entity_from", "with_parent", "reset_joinpoint"})

# `Query.update(..., synchronize_session=False)` left the session's objects stale until the commit expired them: the
# sync code read the new values after it. With `expire_on_commit=False` (the migrated sessionmaker) nothing expires
# them, so an object loaded before (or loaded again by a later query: the identity map keeps its old attributes)
# kept the old values after the commit. "fetch" updates them with the new values (RETURNING where the database
# has it) — `fixtures/queries/update_synchronize_false_read_after_commit`.
UPDATE_SYNC_FOR_FALSE = "fetch"

# Chain methods renamed on the way to `select()`.
RENAMED_METHODS = {
    "filter": "where",
    "with_entities": "with_only_columns",
    "add_entity": "add_columns",
    "as_scalar": "scalar_subquery",
}
# Builder calls that may bring the same entity identity twice into the result (legacy Query de-duplicated).
DUPLICATING_METHODS = frozenset({"join", "outerjoin", "select_from", "from_statement"})
DUPLICATING_LOADERS = frozenset({"joinedload", "contains_eager"})
# loader options that load a relationship with its objects (a lazy read of it then emits no SELECT)
EAGER_LOADERS = frozenset({"joinedload", "selectinload", "subqueryload", "immediateload", "contains_eager"})
AGGREGATE_FUNCTIONS = frozenset({"count", "sum", "min", "max", "avg"})
