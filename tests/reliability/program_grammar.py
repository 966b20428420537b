"""A small grammar of FastAPI + SQLAlchemy projects for the property tests.

A drawn project has fixed models and session plumbing, service modules whose functions use
`db.query(...)` chains, add/commit/refresh/delete, call other helpers (also across modules) and mix in
plain code, comments and blank lines; routers that call the services through `Depends(get_db)`; and
plain modules that never touch SQLAlchemy (those must come out byte-identical).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

MODELS = """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    age: Mapped[int] = mapped_column(default=0)
    items: Mapped[list["Item"]] = relationship(back_populates="owner")


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(50))
    price: Mapped[int] = mapped_column(default=0)
    owner: Mapped[User] = relationship(back_populates="items")
"""

DB = """\
import os

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///app.db"))
SessionLocal = sessionmaker(bind=engine, autoflush=False)


def get_db():
    with SessionLocal() as db:
        yield db
"""

MODEL_NAMES = ("User", "Item")
FILTERS = {
    "User": ("User.id == key", "User.age >= key", 'User.name == "bob"', "User.name.like(pattern)"),
    "Item": ("Item.id == key", "Item.price > key", "Item.owner_id == key", 'Item.title != "x"'),
}
ORDER = {"User": ("User.id", "User.name", "User.age.desc()"), "Item": ("Item.id", "Item.price.desc()")}
TERMINALS = ("first", "all", "count", "one_or_none")
PLAIN = (
    "total = sum(range(key))",
    'label = f"{key:>4}"  # padded',
    "values = [k * 2 for k in range(3)]",
    "pattern = 'a%' if key else \"b%\"",
    'note = (\n        "long text that goes on "\n        "and on"\n    )',
    "flag = key > 3 and \\\n        key < 10",
)


@dataclass(frozen=True)
class Function:
    name: str
    lines: tuple[str, ...]


@st.composite
def query_line(draw: st.DrawFn, target: str) -> str:
    model = draw(st.sampled_from(MODEL_NAMES))
    chain = f"db.query({model})"
    for _ in range(draw(st.integers(0, 2))):
        chain += f".filter({draw(st.sampled_from(FILTERS[model]))})"
    if draw(st.booleans()):
        chain += f".order_by({draw(st.sampled_from(ORDER[model]))})"
    terminal = draw(st.sampled_from(TERMINALS))
    if terminal == "all" and draw(st.booleans()):
        return f"for row in {chain}.all():\n        {target} = row"
    return f"{target} = {chain}.{terminal}()"


@st.composite
def function(draw: st.DrawFn, name: str, callees: tuple[str, ...]) -> Function:
    lines: list[str] = ["pattern = 'a%'", "result = None"]
    for index in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(("query", "write", "call", "plain", "comment", "if")))
        if kind == "query":
            lines.append(draw(query_line(f"result_{index}")))
        elif kind == "write":
            lines += draw(
                st.sampled_from(
                    (
                        ['obj = User(name="n", age=key)', "db.add(obj)", "db.commit()", "db.refresh(obj)"],
                        ["item = Item(owner_id=key, title='t')", "db.add(item)", "db.flush()"],
                        ["gone = db.get(User, key)", "if gone is not None:", "    db.delete(gone)", "db.commit()"],
                        ["db.rollback()"],
                    )
                )
            )
        elif kind == "call" and callees:
            lines.append(f"result_{index} = {draw(st.sampled_from(callees))}(db, key)")
        elif kind == "plain":
            lines.append(draw(st.sampled_from(PLAIN)))
        elif kind == "comment":
            lines += ["", draw(st.sampled_from(("# a comment", "#: keep me", "# type: ignore")))]
        elif kind == "if":
            lines += ["if key % 2:  # odd", "    db.commit()", "else:", "    pass"]
    lines.append(draw(st.sampled_from(("return result", "return key", "return None"))))
    return Function(name, tuple(lines))


def render_function(fn: Function) -> str:
    body = "".join(f"    {line}\n" if line else "\n" for line in "\n".join(fn.lines).split("\n"))
    return f"def {fn.name}(db: Session, key: int):\n{body}"


@st.composite
def service_module(draw: st.DrawFn, index: int, imported: tuple[str, ...]) -> tuple[str, list[str]]:
    names: list[str] = []
    chunks = []
    for k in range(draw(st.integers(1, 4))):
        name = f"svc{index}_f{k}"
        fn = draw(function(name, tuple(names) + imported))
        chunks.append(render_function(fn))
        names.append(name)
    header = "from sqlalchemy.orm import Session\n\nfrom app.models import Item, User\n"
    modules = sorted({name.split("_", 1)[0] for name in imported})
    for module in modules:
        used = sorted(n for n in imported if n.startswith(f"{module}_"))
        header += f"from app.services.{module} import {', '.join(used)}\n"
    return header + "\n\n" + "\n\n".join(chunks), names


def router_module(index: int, services: dict[str, list[str]]) -> str:
    lines = [
        "from fastapi import APIRouter, Depends",
        "from sqlalchemy.orm import Session",
        "",
        "from app.db import get_db",
    ]
    for module, names in sorted(services.items()):
        lines.append(f"from app.services.{module} import {', '.join(names)}")
    lines += ["", f'router = APIRouter(prefix="/r{index}")', ""]
    for names in (services[module] for module in sorted(services)):
        for name in names:
            lines += [
                "",
                f'@router.get("/{name}/{{key}}")',
                f"def get_{name}(key: int, db: Session = Depends(get_db)):",
                f'    return {{"value": {name}(db, key)}}',
                "",
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


@st.composite
def plain_module(draw: st.DrawFn) -> str:
    parts = ['"""A module that has nothing to do with databases."""', "import asyncio", ""]
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("func", "class", "async")))
        if kind == "func":
            parts += ["", f"def helper_{k}(session, key):", "    session.commit()", "    return session.query(key)", ""]
        elif kind == "class":
            parts += ["", f"class Thing{k}:", "    def commit(self):", "        return 1", ""]
        else:
            parts += ["", f"async def tick_{k}():", "    await asyncio.sleep(0)", ""]
    return "\n".join(parts).rstrip("\n") + "\n"


@st.composite
def projects(draw: st.DrawFn) -> dict[str, str]:
    """engine key -> source text of one drawn project."""
    files = {
        "app/__init__.py": "",
        "app/models.py": MODELS,
        "app/db.py": DB,
        "app/services/__init__.py": "",
        "app/routers/__init__.py": "",
    }
    services: dict[str, list[str]] = {}
    for index in range(draw(st.integers(1, 3))):
        imported: tuple[str, ...] = ()
        if services and draw(st.booleans()):
            module = draw(st.sampled_from(sorted(services)))
            imported = tuple(services[module][:1])
        text, names = draw(service_module(index, imported))
        files[f"app/services/svc{index}.py"] = text
        services[f"svc{index}"] = names
    files["app/routers/r0.py"] = router_module(0, services)
    for k in range(draw(st.integers(0, 2))):
        files[f"app/plain_{k}.py"] = draw(plain_module())
    return files


def plain_keys(files: dict[str, str]) -> list[str]:
    return [key for key in files if key.startswith("app/plain_")]
