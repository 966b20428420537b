"""`FunctionAnalyzer._infer_locals` types each assigned value again in a later round only when a local it read, or
the facts of other functions, changed since (`_round_type`): the same answers as typing every value every round,
for less work."""

from __future__ import annotations

import ast

import pytest

from codemods import analyze
from codemods.analyze import FunctionAnalyzer
from codemods.engine import migrate_sources
from codemods.model import EngineOptions
from codemods.type_inference import TypeInference
from codemods.types import Type

MODELS = """from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
"""

# `a` takes its type in the third round only: from `b`, which takes it from `c` in the second
CHAINED = """from sqlalchemy.orm import Session

from app.models import User


def names(db: Session):
    a = b
    b = c
    c = db.query(User)
    return a.all()
"""

# `q = helper(q, ...)`: typed by what the helper returns, once the helper is analysed (a later round)
THROUGH_A_HELPER = """from sqlalchemy.orm import Session

from app.models import User


def narrowed(q, user_id):
    return q.filter(User.id == user_id)


def first_user(db: Session, user_id: int):
    q = db.query(User)
    q = narrowed(q, user_id)
    for user in q:
        return user
    return q.first()
"""

# one local assigned twice, a loop variable, a tuple unpacked
MIXED = """from sqlalchemy.orm import Session

from app.models import User


def mixed(db: Session, flag: bool):
    query = db.query(User)
    if flag:
        query = query.filter(User.id > 1)
    users, count = query.all(), query.count()
    for user in query:
        db.delete(user)
    total = sum(1 for _ in query)
    db.commit()
    return users, count, total
"""


def _migrated(routes: str) -> str:
    sources = {"app/models.py": MODELS, "app/routes.py": routes}
    return migrate_sources(sources, EngineOptions())["app/routes.py"].new_text


def _typing_every_round(
    self: FunctionAnalyzer, value: ast.expr, previous: analyze._RoundType | None
) -> analyze._RoundType:
    """The behaviour before `_round_type`: every value typed again each round."""
    return analyze._RoundType(self.type_of(value), {}, 0)


@pytest.mark.parametrize("routes", [CHAINED, THROUGH_A_HELPER, MIXED])
def test_the_same_migration_as_typing_every_value_every_round(routes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reusing = _migrated(routes)
    monkeypatch.setattr(FunctionAnalyzer, "_round_type", _typing_every_round)
    assert reusing == _migrated(routes)


def test_a_local_read_that_changed_types_the_value_again() -> None:
    """`a = b` is typed before `b` has a type (first round), then after (third): it must not keep the first answer."""
    assert "return (await db.scalars(a)).all()" in _migrated(CHAINED)


def test_a_value_whose_reads_did_not_change_is_typed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`query = db.query(User)` reads `db`, a parameter bound before the rounds: the second round, run because
    `query` went from unbound to a Query, keeps its first type (the walk types it once more, memoised)."""
    typed: list[str] = []
    original = TypeInference.type_of

    def counting(self: TypeInference, node: ast.expr) -> Type | None:
        if self._type_memo is None and isinstance(node, ast.Call) and ast.unparse(node) == "db.query(User)":
            typed.append(self.facts.qualname)
        return original(self, node)

    monkeypatch.setattr(TypeInference, "type_of", counting)
    _migrated(
        """from sqlalchemy.orm import Session

from app.models import User


def everyone(db: Session):
    query = db.query(User)
    return query.all()
"""
    )
    assert typed.count("app.routes.everyone") == 1
