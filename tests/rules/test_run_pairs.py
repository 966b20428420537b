"""The proof of the expected outputs: each pair's hand-written before code on a sync `Session` and its
expected code on an `AsyncSession` return the same thing and leave the same rows, on SQLite and PostgreSQL.

Independent of the engine: this shows the spec is right. test_fixture_pairs shows the engine meets it.
"""

from __future__ import annotations

import pytest
from fixture_harness import (
    BACKENDS,
    RUNNABLE_FAMILIES,
    Database,
    Pair,
    discover_pairs,
    entry_point,
    load_module,
    orphan_expected_files,
    run_pair,
)

PAIRS = discover_pairs()
RUNNABLE = [pair for pair in PAIRS if entry_point(pair.expected) is not None]


def _params() -> list[object]:
    return [
        pytest.param(pair, backend, id=f"{pair.id}[{backend}]")
        for pair in RUNNABLE
        for backend in BACKENDS
        if backend in pair.backends()
    ]


@pytest.mark.filterwarnings("error:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize(("pair", "backend"), _params())
async def test_pair_behaves_the_same(pair: Pair, backend: str, database: Database) -> None:
    entry = entry_point(pair.before)
    assert entry == entry_point(pair.expected), "before and expected define different entry points"
    assert entry is not None
    before, after = await run_pair(load_module(pair.before), load_module(pair.expected), entry, database)
    if pair.fixed_error() is not None:
        assert before.raised == pair.fixed_error(), "the before code no longer fails as the fixture says"
        assert after.raised is None
        return
    assert before.raised == pair.declared_raise(), "the before code must raise only what it declares"
    assert after.raised == before.raised
    assert after.result == before.result
    assert after.database == before.database


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.family in RUNNABLE_FAMILIES], ids=lambda p: p.id)
def test_rewrite_fixture_has_an_entry_point(pair: Pair) -> None:
    assert pair.expected.exists(), f"{pair.expected} is missing"
    assert entry_point(pair.before) is not None, "a rewrite fixture must be runnable (run or run_url)"


def test_every_expected_file_has_a_before_file() -> None:
    assert orphan_expected_files() == []


def test_there_are_fixtures() -> None:
    assert len(PAIRS) >= 100


_HEADER_BEFORE = "from sqlalchemy.orm import Session\nfrom models import Address, User\n\n"
_HEADER_AFTER = "from sqlalchemy import delete, select\nfrom models import Address, User\n\n"

# Rewrites that run but are wrong: the harness must tell them apart, or its green means nothing.
_WRONG_REWRITES = {
    "join_without_unique": (
        "def run(db):\n    return db.query(User).join(User.addresses).order_by(User.id).all()\n",
        "async def run(db):\n"
        "    return (await db.scalars(select(User).join(User.addresses).order_by(User.id))).all()\n",
    ),
    "first_as_scalar_one_or_none": (
        "def run(db):\n    return db.query(User).filter(User.age == 30).order_by(User.id).first()\n",
        "async def run(db):\n    return (await db.execute(select(User).where(User.age == 30))).scalar_one_or_none()\n",
    ),
    "one_column_as_bare_values": (
        "def run(db):\n    return db.query(User.name).order_by(User.id).all()\n",
        "async def run(db):\n    return (await db.scalars(select(User.name).order_by(User.id))).all()\n",
    ),
    "delete_without_commit": (
        "def run(db):\n    n = db.query(Address).filter(Address.id == 4).delete()\n    db.commit()\n    return n\n",
        "async def run(db):\n    return (await db.execute(delete(Address).where(Address.id == 4))).rowcount\n",
    ),
}


@pytest.mark.parametrize("case", sorted(_WRONG_REWRITES))
async def test_harness_catches_a_wrong_rewrite(case: str, sqlite_db: Database) -> None:
    from fixture_harness import load_source

    before_src, after_src = _WRONG_REWRITES[case]
    before = load_source(_HEADER_BEFORE + before_src, f"wrong_before_{case}")
    after = load_source(_HEADER_AFTER + after_src, f"wrong_after_{case}")
    sync_outcome, async_outcome = await run_pair(before, after, "run", sqlite_db)
    assert (sync_outcome.raised, sync_outcome.result, sync_outcome.database) != (
        async_outcome.raised,
        async_outcome.result,
        async_outcome.database,
    )


# A lazy load under an AsyncSession: MissingGreenlet, or (aiosqlite) the StatementError wrapping it
_LAZY_LOAD_ERRORS = {"MissingGreenlet", "StatementError"}

# Loader options the engine adds to a pair's expected code (pair, the option's text, the text without it): without
# it the async side reads the relationship lazily and raises MissingGreenlet, so the run must tell the two apart,
# or the pair proves nothing about the option.
_LOADER_MUTATIONS = [
    pytest.param(
        "queries/lazy_load_nested_target_aliased_import",
        ".selectinload(OrderModel.lines).selectinload(LineModel.item)",
        "",
        id="aliased-nested-target",
    ),
    pytest.param(
        "queries/lazy_load_tuple_unpacked_rows", ".options(selectinload(User.orders))", "", id="rows-iterated-all"
    ),
    pytest.param(
        "queries/lazy_load_tuple_unpacked_rows", ".options(selectinload(OrderLine.item))", "", id="row-unpacked-first"
    ),
    pytest.param(
        "queries/lazy_load_tuple_unpacked_rows", ".options(selectinload(Order.lines))", "", id="rows-with-a-count"
    ),
    pytest.param(
        "queries/lazy_load_tuple_rows_options_per_entity",
        ".options(selectinload(Address.user))",
        "",
        id="rows-options-per-entity",
    ),
    pytest.param(
        "queries/lazy_load_through_query_variable", ".options(selectinload(User.orders))", "", id="query-variable"
    ),
    pytest.param(
        "queries/lazy_load_named_alias_selectinload", ".options(selectinload(owner.addresses))", "", id="named-alias"
    ),
    pytest.param(
        "queries/lazy_load_enumerate_zip_nested_targets",
        ".options(selectinload(User.orders))",
        "",
        id="enumerate-nested-rows",
    ),
    pytest.param(
        "queries/lazy_load_enumerate_zip_nested_targets",
        ".options(selectinload(User.addresses))",
        "",
        id="enumerate-start",
    ),
    pytest.param(
        "queries/lazy_load_enumerate_zip_nested_targets",
        ".options(selectinload(Order.lines))",
        "",
        id="zip-nested",
    ),
    *(
        pytest.param(
            "session_io/select_iterated_or_joined_relationship_read_adds_selectinload",
            f".options(selectinload({relationship})){after}",
            after,
            id=f"select-{form}",
        )
        for relationship, after, form in [
            ("Address.user", ".join(", "joined"),
            ("Order.user", ".where(Order.user_id == 2)", "held-execute-result"),
            ("Address.user", ".where(Address.user_id == 4)", "held-scalar-result"),
            ("Order.lines", ".where(Order.status", "execute-scalars-iterated"),
            ("User.orders", ".order_by(", "scalars-enumerated"),
            ("Order.lines", ".join(", "scalars-iterated-joined"),
        ]
    ),
]


@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")  # aiosqlite's
@pytest.mark.parametrize(("pair_id", "with_option", "without_option"), _LOADER_MUTATIONS)
async def test_a_missing_loader_option_fails_the_run(
    pair_id: str, with_option: str, without_option: str, sqlite_db: Database
) -> None:
    from fixture_harness import load_source

    pair = next(p for p in RUNNABLE if p.id == pair_id)
    source = pair.expected.read_text()
    assert source.count(with_option) == 1, "the mutation must remove exactly one loader option"
    mutant = load_source(source.replace(with_option, without_option), f"mutant_{pair.name}")
    sync_outcome, async_outcome = await run_pair(load_module(pair.before), mutant, "run", sqlite_db)
    assert async_outcome.raised in _LAZY_LOAD_ERRORS, "the mutant must fail on a lazy read"
    assert (sync_outcome.raised, sync_outcome.result) != (async_outcome.raised, async_outcome.result)


# Review fixtures whose AWT201 marker sits on a read of objects a caller loaded, or that no loader option can load
# (pair, function taking the session, what the expected code raises under an AsyncSession): the marker is on a real
# lazy load, and none is needed where the helper reads only columns.
_LAZY_READS_IN_HELPERS = [
    ("review/lazy_load_in_untyped_helper", "listed", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_in_untyped_helper", "first_orders", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_in_untyped_helper", "listed_names", {None}),
    ("review/lazy_load_inline_aliased_entity", "address_emails", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_inline_aliased_entity", "order_counts", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_after_with_entities", "owner_name", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_after_with_entities", "first_address_emails", _LAZY_LOAD_ERRORS),
    ("review/deferred_column_rows_options_per_entity", "address_emails", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_enumerated_listed_instances", "numbered_order_ids", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_enumerated_listed_instances", "paired_order_ids", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_select_statement_variable", "owner_name", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_select_statement_variable", "order_counts", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_select_statement_variable_iterated", "owner_names", _LAZY_LOAD_ERRORS),
    ("review/lazy_load_select_statement_variable_iterated", "line_counts", _LAZY_LOAD_ERRORS),
]


@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")  # aiosqlite's
@pytest.mark.parametrize(
    ("pair_id", "function", "raises", "backend"),
    [
        pytest.param(*case, backend, id=f"{case[1]}[{backend}]")
        for case in _LAZY_READS_IN_HELPERS
        for backend in BACKENDS
    ],
)
async def test_a_lazy_read_in_a_helper_raises_under_asyncio(
    pair_id: str, function: str, raises: set[str | None], backend: str, database: Database
) -> None:
    from fixture_harness import run_async_side, run_sync_side

    pair = next(p for p in PAIRS if p.id == pair_id)
    before = run_sync_side(getattr(load_module(pair.before), function), "run", database)
    after = await run_async_side(getattr(load_module(pair.expected), function), "run", database)
    assert before.raised is None
    assert after.raised in raises
    if after.raised is None:
        assert after.result == before.result


# Review fixtures whose lazy read no loader option the rewrite can add would load (pair, function, its query in the
# expected code, that query with the option the engine wrote before it flagged them): the option is refused with
# ArgumentError ("... does not apply to any of the root entities"), by the query itself, before any read.
_UNLOADABLE_READS = [
    pytest.param(
        "review/lazy_load_inline_aliased_entity",
        "address_emails",
        "select(aliased(User)).filter_by(id=1)",
        # another `aliased(User)` is another alias than the one selected
        "select(aliased(User)).options(selectinload(aliased(User).addresses)).filter_by(id=1)",
        id="inline-alias",
    ),
    pytest.param(
        "review/lazy_load_after_with_entities",
        "owner_name",
        "select(User).with_only_columns(Address)",
        # options go where the query starts, before `with_entities` selects Address
        "select(User).options(selectinload(Address.user)).with_only_columns(Address)",
        id="with-entities",
    ),
]


@pytest.mark.parametrize(("pair_id", "function", "query", "with_option"), _UNLOADABLE_READS)
async def test_a_loader_option_for_a_flagged_read_raises(
    pair_id: str, function: str, query: str, with_option: str, sqlite_db: Database
) -> None:
    from fixture_harness import load_source, run_async_side

    pair = next(p for p in PAIRS if p.id == pair_id)
    source = pair.expected.read_text()
    assert source.count(query) == 1
    source = source.replace(query, with_option).replace("import aliased", "import aliased, selectinload")
    outcome = await run_async_side(getattr(load_source(source, f"option_{pair.name}"), function), "run", sqlite_db)
    assert outcome.raised == "ArgumentError"
