"""Statement-level rewriting (`statement_rewrite.try_apply`) gives exactly the text of the full LibCST rewrite
(`transform.apply_plan_full`), on every plan the engine makes for real inputs: the rule fixtures, the demo
backend, the coloring projects, a generated repository, and layouts chosen to stress the splicing (comments,
semicolons, one-line bodies, decorators, `elif`, nested classes, imports at the bottom...).

It must also take the fast path for most files: a path that always declined would pass the equality test.
"""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from codemods import engine
from codemods import transform as T
from codemods.edits import Edit
from codemods.model import EngineOptions
from codemods.source_lines import source_lines
from codemods.statement_rewrite import apply_plan, try_apply

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
MODELS_TEXT = (FIXTURES / "_runtime" / "models.py").read_text()
FAMILIES = ("queries", "session_io", "engine", "review")

Job = tuple[str, str, T.FilePlan]


def _capture(sources: dict[str, str]) -> list[Job]:
    """The (path, text, plan) jobs the engine hands to the rewrite, for a project (one process: `_apply_one` is
    where every file's rewrite goes, whether the engine plans the files first or in its rewrite workers)."""
    jobs: list[Job] = []
    original = engine._apply_one

    def record(
        job: tuple[str, str, T.FilePlan, float | None], tree: ast.Module | None = None
    ) -> tuple[str, str, str | None]:
        jobs.append(job[:3])
        # the tree the engine hands over with the text is the text's own (the rewrite reads it, not the text)
        assert tree is None or ast.dump(tree, include_attributes=True) == ast.dump(
            ast.parse(job[1]), include_attributes=True
        ), job[0]
        return original(job, tree)

    engine._apply_one = record  # type: ignore[assignment]
    try:
        engine.migrate_sources(sources, EngineOptions(jobs=1))
    finally:
        engine._apply_one = original  # type: ignore[assignment]
    return jobs


def _tree(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.py"))}


def _fixture_pairs() -> list[Job]:
    jobs: list[Job] = []
    for family in FAMILIES:
        for path in sorted((FIXTURES / family).glob("*.py")):  # before and expected texts both
            jobs += _capture({"models.py": MODELS_TEXT, "case.py": path.read_text()})
    return jobs


def _coloring() -> list[Job]:
    jobs: list[Job] = []
    for project in sorted((FIXTURES / "coloring").iterdir()):
        if (project / "before").is_dir():
            jobs += _capture(_tree(project / "before"))
    return jobs


def _generated(tmp: Path) -> list[Job]:
    dest = tmp / "generated"
    subprocess.run(
        [sys.executable, str(FIXTURES / "bench" / "generate_repo.py"), str(dest), "--domains", "8"],
        check=True,
        capture_output=True,
    )
    return _capture(_tree(dest))


def _layouts() -> list[Job]:
    jobs: list[Job] = []
    for name, text in LAYOUTS.items():
        jobs += _capture({"models.py": MODELS_TEXT, f"{name}.py": text})
    return jobs


LAYOUTS = {
    "comments_and_semicolons": '''"""Docstring."""
# leading comment

from sqlalchemy.orm import Session  # trailing comment

from models import User, Address


def count(db: Session):  # the count
    n = db.query(User).count(); m = db.query(Address).count()  # both
    if n: return db.query(User).all()
    total = (
        db.query(User)  # users
        # a comment inside
        .filter(User.age > 3)
        .count()
    )
    return n + m + total
''',
    "elif_decorators_nested": """import functools

from sqlalchemy.orm import Session

from models import User


def deco(f):
    return f


class Outer:
    class Inner:
        @deco
        @functools.wraps(deco)
        def get(self, db: Session, uid: int):
            if uid < 0:
                return None
            elif uid == 0:
                return db.query(User).first()
            else:
                for user in db.query(User).filter(User.id == uid).all():
                    return user
            while db.query(User).count() > 100:
                break
            return db.get(User, uid)

    def run(self, db: Session):
        return self.Inner().get(db, 1)


def run(db: Session):
    with db.begin():
        x = Outer().run(db)
    return x
""",
    "imports_at_the_bottom": '''from sqlalchemy.orm import Session


def first(db: Session):
    return db.query(User).order_by(User.id).first()


class Repo:
    """Comment lines and blank lines between statements."""

    # a comment

    def all(self, db: Session):
        return db.query(User).all()
    # trailing block comment


from models import User  # noqa: E402
''',
    "compound_headers": """from sqlalchemy.orm import Session

from models import User


def run(db: Session, names=("a", "b")):
    result = []
    try:
        for u in db.query(User).filter(
            User.name.in_(names),  # the names
        ).all():
            result.append(u)
    except ValueError:
        pass
    finally:
        db.commit()
    match len(result):
        case 0:
            db.query(User).delete()
        case _:
            pass
    return [u.id for u in db.query(User).all()] if result else db.scalars(db.query(User).statement).all()
""",
    "displaced_comments_in_headers": """from sqlalchemy.orm import Session

from models import User


def run(db: Session):
    for user in db.query(User).filter(  # kept
        User.age > 3,  # the filter
    ).order_by(User.id).all():
        # above the first statement
        print(user)
    while db.query(User).filter(
        User.age > 3  # the condition
    ).count():
        break
    while db.query(User).count(  # lost by the rewrite
    ):
        # above the first statement
        break
    x = db.query(User).count(  # lost here too
    )
    return x
""",
    "review_markers": """from sqlalchemy.orm import Session

from models import Order


class OrderBook:
    def __init__(self, db: Session):
        self.db = db

    def __len__(self):
        n = self.db.query(Order).count() ;<blanks>
        m = self.db.query(Order).filter(
            Order.total > 3,
        ).count()<blanks>
        return n + m + len(self.db.query(Order).filter(Order.total > 2).all()); x = 1
""".replace("<blanks>", "   "),
}


CORPORA: dict[str, Callable[[Path], list[Job]]] = {
    "fixture_pairs": lambda tmp: _fixture_pairs(),
    "target_backend": lambda tmp: _capture(_tree(ROOT / "target_backend")),
    "library": lambda tmp: _capture(_tree(FIXTURES / "library")),
    "coloring": lambda tmp: _coloring(),
    "generated_repo": _generated,
    "layouts": lambda tmp: _layouts(),
}
# the share of files the fast path must take (the rest: helpers, @asynccontextmanager, statement replacements)
MIN_FAST_SHARE = {"fixture_pairs": 0.9, "target_backend": 0.9, "coloring": 0.7, "generated_repo": 0.9, "layouts": 0.8}


def _outcome(rewrite: Callable[[str, T.FilePlan], str], text: str, plan: T.FilePlan) -> str | tuple[str, str]:
    try:
        return rewrite(text, plan)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_fast_path_is_byte_identical(corpus: str, tmp_path: Path) -> None:
    jobs = CORPORA[corpus](tmp_path)
    fast = 0
    for path, text, plan in jobs:
        full = _outcome(T.apply_plan_full, text, plan)
        new = try_apply(text, plan)
        if new is not None:
            fast += 1
            assert new == full, f"{corpus}: {path}"
        assert _outcome(apply_plan, text, plan) == full, f"{corpus}: {path}"
        if new is not None:  # given the tree the engine already has, not parsed again: the same text
            assert try_apply(text, plan, ast.parse(text)) == new, f"{corpus}: {path}"
    if corpus == "library":
        assert not jobs  # data for the backend's tests: no session code, nothing to rewrite
        return
    assert jobs
    assert fast >= MIN_FAST_SHARE[corpus] * len(jobs), f"{corpus}: fast path for {fast}/{len(jobs)} files"


def test_a_tree_given_is_read_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "from sqlalchemy.orm import Session\n\n\ndef f(db: Session):\n    return db.get(1)\n"
    plan = T.FilePlan("m", edits=[Edit("await", (5, 11, 5, 20))])
    tree = ast.parse(text)
    before = ast.dump(tree, include_attributes=True)
    parsed: list[str] = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda source, *a, **k: parsed.append(source) or real_parse(source, *a, **k))
    new = try_apply(text, plan, tree)
    assert new is not None and "return await db.get(1)" in new
    assert text not in parsed  # the new text is parsed (the import fix-up), the old one is not
    assert ast.dump(tree, include_attributes=True) == before


def test_layouts_take_the_fast_path_and_change_text() -> None:
    for path, text, plan in _layouts():
        new = try_apply(text, plan)
        if path == "displaced_comments_in_headers.py":
            # a header rewrite drops a comment, kept above the body's first statement: after the comments
            # already there, which the header-only unit does not hold; the fast path declines
            assert new is None
            continue
        assert new is not None, path
        assert new != text, path


def test_a_decision_finding_no_node_fails_the_same_way() -> None:
    text = "from sqlalchemy.orm import Session\n\n\ndef f(db: Session):\n    x = 1\n    return db.get(1)\n"
    plan = T.FilePlan("m", edits=[Edit("await", (5, 4, 5, 9))])  # `x = 1` is no call
    assert try_apply(text, plan) is None
    with pytest.raises(T.TransformError) as fast_error:
        apply_plan(text, plan)
    with pytest.raises(T.TransformError) as full_error:
        T.apply_plan_full(text, plan)
    assert str(fast_error.value) == str(full_error.value)


@pytest.mark.parametrize(
    "text",
    [
        "import x\r\ndef f():\r\n    return x.y()\r\n",  # `\r\n` line ends
        "import x\n\x0c\ndef f():\n    return x.y()\n",  # a form feed
        "import x\ndef f():\n    return x.y()",  # no final newline
        "import x\nif 1:\n\tdef f():\n\t\treturn x.y()\n",  # tab indentation
    ],
)
def test_unusual_files_take_the_full_path(text: str) -> None:
    lines = source_lines(text)
    line = next(number for number, line in enumerate(lines, 1) if "return" in line)
    column = lines[line - 1].index("x.y()")
    plan = T.FilePlan("m", edits=[Edit("await", (line, column, line, column + 5))])
    assert try_apply(text, plan) is None
    assert apply_plan(text, plan) == T.apply_plan_full(text, plan) != text


def test_the_applier_has_no_field_callbacks() -> None:
    """`_Applier` skips LibCST's per-field callbacks: it must define none (`visit_Call_func`...); LibCST's own
    typed stubs of them do nothing."""
    import re

    own = [
        name
        for cls in T._Applier.__mro__
        if cls.__module__.startswith("codemods")
        for name in vars(cls)
        if re.fullmatch(r"(visit|leave)_[A-Z][A-Za-z]*_\w+", name)
    ]
    assert own == []


def test_simple_statements_are_rewritten_by_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`await` and renames alone (`self.db.commit()`, `return service.get(db, id)`) need no LibCST: a good share
    of the generated repo's statements take the text path, and the files still equal the full rewrite (above)."""
    from codemods import statement_rewrite

    taken: list[bool] = []
    real = statement_rewrite._text_rewrite

    def counting(unit: object, source: object) -> str | None:
        code = real(unit, source)  # type: ignore[arg-type]
        taken.append(code is not None)
        return code

    monkeypatch.setattr(statement_rewrite, "_text_rewrite", counting)
    for _path, text, plan in _generated(tmp_path):
        new = try_apply(text, plan)
        assert new is None or new == T.apply_plan_full(text, plan)
    assert sum(taken) >= 0.2 * len(taken), f"{sum(taken)} of {len(taken)} statements by text"


def _units_taken(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, frozenset[str], bool]]:
    """Records, for every unit `_text_rewrite` sees: whether it went by text, its decision kinds (a query's as
    `query:<terminal>`), whether it is a header."""
    from codemods import statement_rewrite

    taken: list[tuple[bool, frozenset[str], bool]] = []
    real = statement_rewrite._text_rewrite

    def recording(unit: statement_rewrite._Unit, source: object) -> str | None:
        code = real(unit, source)  # type: ignore[arg-type]
        kinds = frozenset(f"query:{e.query.terminal}" if e.query else e.kind for e in unit.edits)
        taken.append((code is not None, kinds, unit.header_only))
        return code

    monkeypatch.setattr(statement_rewrite, "_text_rewrite", recording)
    return taken


def _case_jobs(text: str) -> list[Job]:
    return [job for job in _capture({"models.py": MODELS_TEXT, "case.py": text}) if job[0] == "case.py"]


TEXT_CASES = {
    # headers: decorators, a multi-line signature, a def made async, an `async def` already, nested scopes
    "headers": """from sqlalchemy.orm import Session

from models import User


def deco(f):
    return f


class Repo:
    class Inner:
        @deco
        @staticmethod
        def many(
            db: Session,
            name: str,
        ) -> list[User]:
            return [db.get(User, name)]

    def __init__(self, db: Session) -> None:
        self.db = db


async def already(db: Session, other: Session = None):
    return db


def outer(db: Session):
    def inner(session: Session):
        return session.get(User, 1)

    return inner(db)
""",
    # query chains: every common terminal, `unique`, parameters, options, a multi-line chain in parentheses,
    # strings and lambdas holding dots and parentheses, an awaited result used as a primary, several per line
    "queries": """from sqlalchemy.orm import Session, joinedload

from models import User, Address


class Repo:
    def many(self, db: Session, name: str) -> list:
        rows = (
            db.query(User)
            .filter(User.name == name, User.email.like("%.x(y)"))
            .order_by(User.id)
            .all()
        )
        first = db.query(User).filter_by(name="a.b(").first()
        n = db.query(User).count() + db.query(Address).filter(Address.city == ")").count()
        bits = db.query(User).count().bit_length()
        u = db.query(User).get(1)
        v = db.query(User).options(joinedload(User.addresses)).get(2)
        s = db.query(User.id).filter(User.id > 1).scalar()
        m = db.query(User.name).params(x=1).all()
        j = db.query(User).options(joinedload(User.addresses)).all()
        top = db.query(User).order_by(User.id).limit(3).offset(1).populate_existing().all()
        for a in u.addresses:
            print(a.city)
        return [rows, first, n, bits, u, v, s, m, j, top, sorted(db.query(User).all(), key=lambda x: x.name)]


async def already(db: Session):
    return db.query(User).one()


def later(db: Session, names: list[str]):
    q = db.query(User.id, User.name).filter(User.age > 3)
    db.commit()
    return q.one_or_none(), q.filter(User.id == 2).all(), db.query(User).filter(
        User.name.in_([n for n in names if n.endswith(").")])
    ).all()[0]


def loop(db: Session):
    for user in db.query(User).filter(User.age > (1)).order_by(User.id).all():
        print(user.name)
""",
    # awaits the transformer parenthesises (`(await f()).x`), or whose call is in parentheses or an argument
    "awaits": """from sqlalchemy.orm import Session

from models import User


def one(db: Session) -> User:
    return db.get(User, 1)


def wrap(uid: int, db: Session) -> User:
    return db.get(User, uid)


def names(db: Session) -> list:
    return [one(db).name, one(db).email, (one(db)).age, ( one(db) ).id, str(one(db)), one(db)[0], sorted(
        [one(db)],
        key=len,
    )[0], (
        one(db)
    ), wrap(one(db).id, db).name, wrap((one(db)).id, db)]
""",
    # review markers at the end of a simple statement's last line, strings wrapped in `text()`, expressions
    # replaced
    "reviews_and_replacements": """from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from models import Order, User


class OrderBook:
    def __init__(self, db: Session):
        self.db = db

    def __len__(self):
        return self.db.query(Order).count()

    def users(self):
        return self.db.query(User).filter(
            User.age > 3
        ).count()<blanks>


def run(db: Session):
    return db.execute("SELECT id FROM users WHERE age = :age ORDER BY id", {"age": 30}).scalars().all()


def make():
    return create_engine("sqlite:///:memory:")
""".replace("<blanks>", "   "),
    # bulk deletes and updates (their row count read or not), iterated queries
    "bulk_and_iteration": """from sqlalchemy.orm import Session, joinedload

from models import User


def purge(db: Session, age: int) -> int:
    db.query(User).filter(User.age < age).delete()
    n = db.query(User).filter(User.age > age).update({"age": age}, synchronize_session=False)
    names = []
    for user in db.query(User).filter(User.age == age):
        names.append(user.name)
    for user in db.query(User).options(joinedload(User.addresses)):
        names.append(user.name)
    return n + len(names)
""",
    # a comment (ASCII or not) after a statement's code: no rewrite can displace it
    "trailing_comments": """from sqlalchemy.orm import Session

from models import User


def get(db: Session, uid: int):
    users = db.query(User).filter(User.email == None).order_by(User.id).all()  # noqa: E711
    rows = (
        db.query(User.name)
        .filter(User.id == uid)
        .all()
    )  # la requête, é
    db.commit(); n = db.query(User).count()  # both
    return users, rows, n
""",
}

# a query unit the text path must leave to LibCST (each case's query units all do)
DECLINE_CASES = {
    "comment_in_chain": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return (
        db.query(User)  # users
        .filter(User.id == 1)
        .all()
    )
""",
    "parenthesised_link": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return (db.query(User)).filter(User.id == 1).all()
""",
    "parenthesised_chain_before_terminal": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return (db.query(User).filter(User.id == 1)).all()
""",
    "non_ascii": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query(User).filter(User.name == "é").all()
""",
    "backslash_continuation": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query(User) \\
        .filter(User.id == 1).all()
""",
    "nested_query_argument": """from sqlalchemy.orm import Session

from models import Address, User


def f(db: Session):
    return db.query(User).filter(User.id.in_(db.query(Address.user_id).filter(Address.id > 1))).all()
""",
    "parenthesised_model_of_get": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query((User)).get(1)
""",
    "query_in_an_f_string": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return f"{db.query(User).count()} users"
""",
    "parenthesised_callee": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return (db.query(User).filter)(User.id == 1).all()
""",
    "multi_line_params": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query(User.name).params(x=max(
        1, 2)).all()
""",
    "hash_in_a_string": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query(User).filter(User.name == "#1").all()  # a comment too
""",
    "parenthesised_before_a_dropped_link": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return (db.query(User.name)).params(x=1).filter(User.id == 1).all()
""",
    "trailing_comma_in_get": """from sqlalchemy.orm import Session

from models import User


def f(db: Session):
    return db.query(User).get(1,)
""",
}


@pytest.mark.parametrize("name", sorted(TEXT_CASES))
def test_text_cases_go_by_text_and_equal_the_full_rewrite(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _case_jobs(TEXT_CASES[name])
    taken = _units_taken(monkeypatch)
    for _path, text, plan in jobs:
        new = try_apply(text, plan)
        assert new is not None
        assert new == T.apply_plan_full(text, plan)
        assert new != text
    assert taken
    assert all(by_text for by_text, _, _ in taken), [kinds for by_text, kinds, _ in taken if not by_text]
    kinds = frozenset().union(*(k for _, k, _ in taken))
    if name == "queries":
        wanted = {"all", "first", "count", "get", "scalar", "one", "one_or_none", "builder"}
        assert {f"query:{terminal}" for terminal in wanted} <= kinds
    if name == "bulk_and_iteration":
        assert {"query:delete", "query:update", "query:iter"} <= kinds
    if name == "headers":
        assert any(header and unit_kinds == {"rename"} for _, unit_kinds, header in taken)


@pytest.mark.parametrize("name", sorted(DECLINE_CASES))
def test_query_shapes_the_text_path_declines(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _case_jobs(DECLINE_CASES[name])
    taken = _units_taken(monkeypatch)
    for _path, text, plan in jobs:
        new = try_apply(text, plan)
        assert new is None or new == T.apply_plan_full(text, plan)
        assert apply_plan(text, plan) == T.apply_plan_full(text, plan)
    queries = [by_text for by_text, kinds, _ in taken if any(kind.startswith("query:") for kind in kinds)]
    assert queries, "the case has no query unit"
    assert not any(queries)


def test_query_units_and_headers_are_rewritten_by_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Query chains and headers with renames need no LibCST either: most of the generated repo's query units
    and header units go by text (the files equal the full rewrite, above)."""
    taken = _units_taken(monkeypatch)
    for _path, text, plan in _generated(tmp_path):
        new = try_apply(text, plan)
        assert new is None or new == T.apply_plan_full(text, plan)
    queries = [by_text for by_text, kinds, _ in taken if any(kind.startswith("query:") for kind in kinds)]
    headers = [by_text for by_text, kinds, header in taken if header and kinds == {"rename"}]
    assert queries and headers
    assert sum(queries) >= 0.8 * len(queries), f"{sum(queries)} of {len(queries)} query units by text"
    assert sum(headers) >= 0.8 * len(headers), f"{sum(headers)} of {len(headers)} header units by text"


MUTATED_BASE = """from sqlalchemy.orm import Session, joinedload

from models import User, Address


def helper(db: Session, uid: int) -> User:
    return db.get(User, uid)


class Repo:
    def many(self, db: Session, name: str, uid: int):
        rows = db.query(User).filter(User.name == name, User.age > 3).order_by(User.id).all()
        first = db.query(User).filter_by(name=name).order_by(User.id).first()
        n = db.query(User).filter(User.age > 1).count() + db.query(Address).count()
        u = db.query(User).get(uid)
        v = db.query(User).options(joinedload(User.addresses)).get(uid)
        s = db.query(User.id).filter(User.id > 1).scalar()
        m = db.query(User.name).params(x=1).filter(User.id == uid).all()
        j = db.query(User).options(joinedload(User.addresses)).all()
        db.query(User).filter(User.age < 0).delete()
        k = db.query(User).filter(User.age > 99).update({"age": 1}, synchronize_session=False)
        h = helper(db, uid).name + str(helper(db, 2))
        q = db.query(User.id, User.name).filter(User.age > 3)
        w = q.filter(User.id == 2).all()
        for user in db.query(User).filter(User.age == uid):
            print(user.name)
        return rows, first, n, u, v, s, m, j, k, h, w
"""


def _mutate(text: str, rng: random.Random) -> str:
    """`text` with one expression of `Repo.many` reshaped: parentheses around it (or around it on lines of its
    own), blanks around a dot or before a call's arguments, a line break inside brackets, a trailing comma, a
    comment inside brackets or at the end of the line, blanks at the end of the line."""
    tree = ast.parse(text)
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    method = tree.body[-1].body[0]  # type: ignore[attr-defined]
    nodes = [
        node
        for stmt in method.body
        for node in ast.walk(stmt)
        if isinstance(node, ast.expr)
        and not isinstance(node, ast.Slice | ast.JoinedStr | ast.FormattedValue)
        and not isinstance(getattr(node, "ctx", None), ast.Store)
    ]
    node = rng.choice(nodes)
    start = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[operator]
    segment = text[start:end]
    kind = rng.choice(["paren", "paren", "own_lines", "dot", "call", "break", "comma", "comment", "line_end"])
    if kind == "paren":
        return f"{text[:start]}({segment}){text[end:]}"
    if kind == "own_lines":
        return f"{text[:start]}(\n            {segment}\n        ){text[end:]}"
    if kind == "dot" and isinstance(node, ast.Attribute):
        dot = segment.rfind(".")
        return text[:start] + segment[:dot] + rng.choice([" .", ". ", " . "]) + segment[dot + 1 :] + text[end:]
    if kind == "call" and isinstance(node, ast.Call):
        func_end = starts[node.func.end_lineno - 1] + node.func.end_col_offset  # type: ignore[operator]
        return f"{text[:func_end]} {text[func_end:]}"
    if kind == "break" and isinstance(node, ast.Attribute):
        dot = segment.rfind(".")
        return f"{text[:start]}({segment[:dot]}\n            {segment[dot:]}){text[end:]}"
    if kind in {"break", "comment"} and isinstance(node, ast.Call) and node.args:
        first = starts[node.args[0].lineno - 1] + node.args[0].col_offset
        return text[:first] + ("  # c" if kind == "comment" else "") + "\n                " + text[first:]
    if kind == "comma" and isinstance(node, ast.Call) and (node.args or node.keywords):
        return f"{text[: end - 1]},{text[end - 1 :]}"
    if kind == "line_end":
        line_end = text.index("\n", end)
        return text[:line_end] + rng.choice(["  # é note", "   "]) + text[line_end:]
    return text


def test_mutated_query_chains_equal_the_full_rewrite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Query chains, awaits and renames reshaped at random (parentheses, blanks, line breaks, trailing commas,
    comments): the text path either declines a unit or writes what LibCST writes, and still takes most."""
    taken = _units_taken(monkeypatch)
    rng = random.Random(20261206)
    for _ in range(40):
        text = MUTATED_BASE
        for _ in range(rng.randint(1, 8)):
            mutated = _mutate(text, rng)
            try:
                ast.parse(mutated)
            except SyntaxError:
                continue
            text = mutated
        for path, source, plan in _case_jobs(text):
            new = try_apply(source, plan)
            assert new is None or new == T.apply_plan_full(source, plan), (path, source)
    assert sum(by_text for by_text, _, _ in taken) >= 0.7 * len(taken)


def test_names_in_use_agree_with_the_tree_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import fix-up's "names in use", decided from the text when it can (`_names_in_use`), are those the
    walk of the new tree finds, for every name `update_imports` asks about; the generated repo's files are all
    decided so."""
    from codemods import statement_rewrite
    from codemods.imports_text import used_names_of_tree

    decided: list[bool] = []
    real = statement_rewrite._names_in_use

    def checking(
        text: str, source: statement_rewrite._Source, plan: T.FilePlan, written: frozenset[str]
    ) -> set[str] | None:
        names = real(text, source, plan, written)
        decided.append(names is not None)
        if names is not None:
            wanted = plan.removable | {item.local for item in plan.imports}
            assert names == used_names_of_tree(source.tree) & wanted, plan.module_name
        return names

    monkeypatch.setattr(statement_rewrite, "_names_in_use", checking)
    for _path, text, plan in [*_fixture_pairs(), *_layouts(), *_coloring()]:
        try_apply(text, plan)
    assert decided
    decided.clear()
    for _path, text, plan in _generated(tmp_path):
        try_apply(text, plan)
    assert decided and all(decided)


@pytest.mark.parametrize(
    ("text", "decided"),
    [
        ('"""Session docs."""\nfrom sqlalchemy.orm import Session\n\n\nclass A:\n    """A Session."""\n', True),
        ("import x\n\nx.Session()\n", True),
        ("from sqlalchemy.orm import Session; y = Session\n", False),
        ("def f():\n    from sqlalchemy.orm import Session\n    return Session\n", False),
        ("f(Session=1)\n", False),
        ("class Session:\n    pass\n", False),
        ("x = 'Session'\n", False),
        ("def f(Session):\n    pass\n", False),
        ("x = 1  # é\nSession = 2\n", False),
    ],
)
def test_names_in_use_decides_only_what_it_can_prove(text: str, decided: bool) -> None:
    from codemods import statement_rewrite
    from codemods.imports_text import used_names_of_tree

    tree = ast.parse(text)
    plan = T.FilePlan("m", removable={"Session"})
    names = statement_rewrite._names_in_use(text, statement_rewrite._Source(text, tree), plan, frozenset())
    assert (names is not None) == decided
    assert names is None or names == used_names_of_tree(tree) & {"Session"}


@pytest.mark.parametrize(
    "statement",
    [
        "from a import b",
        "from a.b.c import d",
        "from a . b import c",
        "from a .b import c",
        "import a.b as c",
        "import x.y",
        "from a.\\\n b import c",
        "from a.b import (c)",
    ],
)
def test_dotted_names_of_imports_read_as_libcst_writes_them(statement: str) -> None:
    import libcst as cst

    from codemods.imports_edit import _dotted_code

    line = cst.parse_module(statement + "\n").body[0]
    assert isinstance(line, cst.SimpleStatementLine)
    small = line.body[0]
    if isinstance(small, cst.ImportFrom):
        assert small.module is not None
        node: cst.BaseExpression = small.module
    else:
        assert isinstance(small, cst.Import)
        node = small.names[0].name
    assert _dotted_code(node) == cst.Module([]).code_for_node(node)


@pytest.mark.parametrize(
    "text",
    [
        "if (x := 1):\n    pass\n",
        "while y := f():\n    pass\n",
        "class A(B, metaclass=M):\n    pass\n",
        "for a in b[1:2]:\n    pass\n",
        "if d[{1: 2}[1]]:\n    pass\n",
        "def f(a: int = 1, *, b: dict[str, int] | None = None) -> list[int]:\n    pass\n",
        "def f(\n    a: int,\n) -> None:\n    pass\n",
        "def f(a=lambda: 1):\n    pass\n",
        "with a as b, c:\n    pass\n",
        "if x: pass\n",
    ],
)
def test_header_colon_found_without_tokenizing_as_with(text: str) -> None:
    """`_colon_line` reads headers without `tokenize` where it can: the same line as the tokenizer's."""
    from codemods import statement_rewrite

    tree = ast.parse(text)
    stmt = tree.body[0]
    source = statement_rewrite._Source(text, tree)
    assert statement_rewrite._colon_line(source, stmt) == statement_rewrite._colon_line_tokenized(source, stmt.lineno)


@pytest.mark.parametrize(
    "line",
    [
        'for x in f(":"):',
        "for x in f(':', \"#\"):",
        'if x == "a:b":  # c: d',
        'if x == "":',
        "if x == '' or y:",
        'def f(a: str = "(") -> None:',
        'class A(B["x:y"]):',
        "if x:  # comment",
        "if x  # comment:",
        'if f"{x:>3}":',
        'if rf"{x}:" or y:',
        'if """a:""":',
        "if '''a''' or b:",
        'if "a\\":" or b:',
        'if x["a"  # b:\n  ]:',
        "with open(p, 'r') as h, g(\"]\"):",
        "while d[':']:",
        "if (y := 'a:'):",
        "elif 'x':",
        "try:",
        "if a == 'b' == c:  # 'quoted' #",
        'if "unterminated:',
        'if x == "a:b" and (\n    y\n):',
        "for x in {'k': 1}[\n    'k'\n]:",
        "def f(\n    a: int,  # a: b\n    b: str = ':',\n) -> dict[str, int]:  # c",
        "if (x  # note:\n    and y):",
        "if (\n    x  # a \\ in a comment\n):",
        "if (x and\n    y) or \\\n  z:",
    ],
)
def test_header_colon_scanned_as_the_tokenizer_finds_it(line: str) -> None:
    """`_header_colon_scan` skips one-line strings and comments, and goes on to the next line inside brackets:
    whenever it finds the colon, the tokenizer finds it on the same line (it may leave the tokenizer to find it)."""
    from codemods import statement_rewrite

    text = line + "\n    pass\n"
    source = statement_rewrite._Source(text, ast.Module(body=[], type_ignores=[]))
    scanned = statement_rewrite._header_colon_scan(source.lines, 1)
    if scanned is not None:
        assert statement_rewrite._colon_line_tokenized(source, 1) == scanned
    assert (scanned is None) == (line in _HEADERS_TOKENIZED)


_HEADERS_TOKENIZED = {  # what the scan leaves to the tokenizer
    "if x  # comment:",
    'if f"{x:>3}":',
    'if rf"{x}:" or y:',
    'if """a:""":',
    "if '''a''' or b:",
    'if "a\\":" or b:',
    'if "unterminated:',
    "if (\n    x  # a \\ in a comment\n):",
    "if (x and\n    y) or \\\n  z:",
}
