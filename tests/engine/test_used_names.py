"""`used_names_of_code` (stdlib `ast`) must find exactly the names `used_names` (a LibCST visit) finds: the
import edits decide from them which imports to add and which to drop."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from codemods.imports_edit import used_names, used_names_of_code

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for folder in ("fixtures", "target_backend", "codemods", "tests") for p in (REPO / folder).rglob("*.py")
)
TRICKY = [
    "from a import b as c\nimport d.e\nx = d.e.f(c, key=None, other=True)\n",
    "def f(a, /, b=False, *args, k, **kw):\n    global g\n    nonlocal_ = lambda y: y\n    return ...\n",
    "class C(Base, metaclass=Meta):\n    async def m(self):\n        try:\n            pass\n        except E as err:\n"
    "            del err\n",
    "match p:\n    case Point(x=0, y=yy) | [first, *rest] | {'k': v, **others} | (captured as alias):\n        pass\n",
    "s = f'{value!r:>{width}}'\n@deco.attr(arg)\ndef g(): pass\n(w := 1)\n",
    "for a, (b, *c) in d:\n    e.f, g[h] = a, b\nwith i() as (j, k), l():\n    m += [n for n in o if (p := n)]\n",
    "class CRUD:\n    def update(self, db, *, select=None):\n        self.delete(db, update=1)\n        del db\n",
    # string annotations read the names they spell; a string elsewhere reads none
    'def f(db: "AsyncSession", x: Optional["A | B"] = None) -> "list[C]":\n    y: "D" "E" = "F"\n    return G("H")\n',
]


@pytest.mark.parametrize("code", TRICKY)
def test_tricky_code(code: str) -> None:
    assert used_names_of_code(code) == used_names(cst.parse_module(code))


def test_every_project_file() -> None:
    assert len(SOURCES) > 100
    differing = []
    for path in SOURCES:
        code = path.read_text(encoding="utf-8")
        try:
            module = cst.parse_module(code)
        except cst.ParserSyntaxError:
            continue
        found = used_names_of_code(code)
        if found is not None and found != used_names(module):
            differing.append(path.relative_to(REPO).as_posix())
    assert differing == []


def test_code_ast_cannot_parse_is_left_to_libcst() -> None:
    assert used_names_of_code("def f(:\n") is None


# (code, names it refers to): what is only bound or spells a keyword or attribute is not a use
REFERENCES = [
    (
        "class CRUD:\n    def update(self, db, *, db_obj):\n        return crud.delete(db, select=db_obj)\n",
        {"crud", "db", "db_obj"},
    ),
    ("def remove(select):\n    pass\n", set()),
    ("update = 1\nfor delete in x:\n    pass\n", {"x"}),
    ("with f() as select:\n    pass\nexcept_ = [update for update in y]\n", {"f", "y", "update"}),
    ("global select\nselect += 1\n", {"select"}),
    ("del update\n", {"update"}),
    ("x = select(User)\n", {"select", "User"}),
    ("match p:\n    case Point(update=delete):\n        pass\n", {"p", "Point"}),
]


@pytest.mark.parametrize(("code", "names"), REFERENCES)
def test_only_references_are_uses(code: str, names: set[str]) -> None:
    assert used_names_of_code(code) == names
    assert used_names(cst.parse_module(code)) == names


def test_type_parameters_bind_in_libcst() -> None:
    """Syntax newer than this Python is read by LibCST only: a type parameter or alias name binds."""
    assert used_names(cst.parse_module("type Rows[T] = list[T]\n")) == {"list", "T"}
