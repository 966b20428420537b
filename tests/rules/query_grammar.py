"""A small grammar of legacy Query chains, rendered twice: as the sync before-code and as the canonical
async after-code (the rewrite rules of fixtures/NOTES.md, written independently of the engine).

Used by the property tests: hypothesis draws chains, both renderings run against the seeded database, and
any difference is a rule that does not preserve behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

HEADER_BEFORE = (
    "from sqlalchemy import func\n"
    "from sqlalchemy.orm import Session, selectinload\n\n"
    "from models import Address, Order, User\n\n\n"
)
HEADER_AFTER = (
    "from sqlalchemy import func, select\n"
    "from sqlalchemy.ext.asyncio import AsyncSession\n"
    "from sqlalchemy.orm import selectinload\n\n"
    "from models import Address, Order, User\n\n\n"
)


@dataclass(frozen=True)
class Base:
    model: str
    join_target: str  # relationship joined by join/outerjoin
    joined_model: str
    entity_lists: tuple[tuple[str, ...], ...]
    filters: tuple[str, ...]
    joined_filters: tuple[str, ...]
    filter_by: str
    joined_filter_by: str
    order_bys: tuple[str, ...]
    eager: str
    pks: tuple[str, ...]


BASES = (
    Base(
        model="User",
        join_target="User.addresses",
        joined_model="Address",
        entity_lists=(
            ("User",),
            ("User.name",),
            ("User.id", "User.age"),
            ("User", "User.age"),
            ("User", "Address"),
            ("User.name", "Address.city"),
        ),
        filters=("User.age >= 30", "User.email.isnot(None)", 'User.name == "bob"', "User.id > 1"),
        joined_filters=('Address.city == "Paris"', "Address.city.is_(None)", 'Address.email.like("%home%")'),
        filter_by='name="bob"',
        joined_filter_by='city="Paris"',
        order_bys=("User.id", "User.name, User.id.desc()", "User.age.desc(), User.id"),
        eager="selectinload(User.addresses)",
        pks=("1", "3", "99"),
    ),
    Base(
        model="Order",
        join_target="Order.user",
        joined_model="User",
        entity_lists=(("Order",), ("Order.status",), ("Order.status", "Order.total"), ("Order", "User.name")),
        filters=("Order.total > 50", 'Order.status == "new"', "Order.note.is_(None)"),
        joined_filters=("User.age == 30", 'User.name != "bob"'),
        filter_by='status="paid"',
        joined_filter_by='name="alice"',
        order_bys=("Order.id", "Order.total.desc()", "Order.status, Order.id"),
        eager="selectinload(Order.lines)",
        pks=("2", "5", "42"),
    ),
)

TERMINALS = ("all", "first", "one", "one_or_none", "scalar", "count", "iterate")


@dataclass
class Chain:
    base: Base
    entities: tuple[str, ...]
    modifiers: list[tuple[str, str]] = field(default_factory=list)  # (method, argument text)
    terminal: str = "all"
    get_pk: str | None = None  # for the get() terminal

    # ---- facts the rules depend on
    @property
    def full_entities(self) -> list[str]:
        return [e for e in self.entities if "." not in e]

    @property
    def single_entity(self) -> bool:
        return len(self.entities) == 1 and "." not in self.entities[0]

    @property
    def joined(self) -> bool:
        return any(m in ("join", "outerjoin") for m, _ in self.modifiers)

    @property
    def needs_unique(self) -> bool:
        # Legacy Query de-duplicates whenever a full entity is selected; rows can repeat through a join or
        # through a cross join with another class's columns (query(Order, User.name): two users are "bob").
        classes = {e.split(".")[0] for e in self.entities}
        return bool(self.full_entities) and (self.joined or len(classes) > 1)

    # ---- rendering
    def _chain(self, *, legacy: bool) -> str:
        parts = []
        for method, arg in self.modifiers:
            if not legacy and method == "filter":
                method = "where"
            parts.append(f".{method}({arg})")
        return "".join(parts)

    def before_expr(self) -> str:
        if self.terminal == "get":
            opts = self._chain(legacy=True)
            return f"db.query({self.base.model}){opts}.get({self.get_pk})"
        q = f"db.query({', '.join(self.entities)}){self._chain(legacy=True)}"
        if self.terminal == "iterate":
            return f"[x for x in {q}]"
        return f"{q}.{self.terminal}()"

    def after_expr(self) -> str:
        if self.terminal == "get":
            opts = [arg for _, arg in self.modifiers]
            options = f", options=[{', '.join(opts)}]" if opts else ""
            return f"await db.get({self.base.model}, {self.get_pk}{options})"
        stmt = f"select({', '.join(self.entities)}){self._chain(legacy=False)}"
        unique = ".unique()" if self.needs_unique else ""
        if self.terminal == "count":
            return f"await db.scalar(select(func.count()).select_from({stmt}.subquery()))"
        if self.terminal == "iterate":
            source = f"await db.scalars({stmt})" if self.single_entity else f"await db.execute({stmt})"
            if unique:
                source = f"({source}){unique}"
            return f"[x for x in {source}]"
        if self.terminal in ("all", "first"):
            if self.terminal == "first":
                stmt += ".limit(1)"
            method = "scalars" if self.single_entity else "execute"
            return f"(await db.{method}({stmt})){unique}.{self.terminal}()"
        if self.terminal in ("one", "one_or_none"):
            fetch = f"scalar_{self.terminal}" if self.single_entity else self.terminal
            return f"(await db.execute({stmt})){unique}.{fetch}()"
        if self.terminal == "scalar":
            return f"(await db.execute({stmt})){unique}.scalar_one_or_none()"
        raise AssertionError(self.terminal)

    def before_source(self) -> str:
        return HEADER_BEFORE + f"def run(db: Session):\n    return {self.before_expr()}\n"

    def after_source(self) -> str:
        return HEADER_AFTER + f"async def run(db: AsyncSession):\n    return {self.after_expr()}\n"


@st.composite
def chains(draw: st.DrawFn) -> Chain:
    base = draw(st.sampled_from(BASES))
    terminal = draw(st.sampled_from((*TERMINALS, "get")))
    if terminal == "get":
        chain = Chain(base, (base.model,), terminal="get", get_pk=draw(st.sampled_from(base.pks)))
        if draw(st.booleans()):
            chain.modifiers.append(("options", base.eager))
        return chain
    entities = draw(st.sampled_from(base.entity_lists))
    chain = Chain(base, entities, terminal=terminal)
    # Each part is drawn on its own (not as a free list) so that joins, the case where result shapes and
    # de-duplication differ, come up in about two chains out of three.
    join = draw(st.sampled_from((None, "join", "outerjoin")))
    if join:
        chain.modifiers.append((join, base.join_target))
    filter_pool = base.filters + (base.joined_filters if join else ())
    for condition in draw(st.lists(st.sampled_from(filter_pool), max_size=2)):
        chain.modifiers.append(("filter", condition))
    if draw(st.booleans()):
        chain.modifiers.append(("filter_by", base.joined_filter_by if join else base.filter_by))
    if draw(st.booleans()):
        chain.modifiers.append(("order_by", draw(st.sampled_from(base.order_bys))))
    if draw(st.integers(0, 3)) == 0:
        chain.modifiers.append(("distinct", ""))
    if entities == (base.model,) and draw(st.booleans()):
        chain.modifiers.append(("options", base.eager))
    # Query refuses filter/join/order_by after LIMIT/OFFSET (select() does not): they go last.
    if draw(st.booleans()):
        chain.modifiers.append(("limit", str(draw(st.integers(1, 3)))))
    if draw(st.booleans()):
        chain.modifiers.append(("offset", str(draw(st.integers(0, 2)))))
    return chain
