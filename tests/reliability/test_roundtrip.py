"""Round-trip fidelity: everything outside the rewritten spans comes back exactly as it was.

Each fixture is a module that needs rewriting (a function that commits on a `Session`) plus a block
between `# <keep>` and `# </keep>` holding one formatting feature; that block must appear verbatim in
the output. Byte-level features (CRLF, BOM, a latin-1 file with a coding cookie, tabs) go through the
real CLI and are compared as bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rel_helpers import assert_no_crash, awaitify, write_tree

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, FileStatus

HEADER = "from sqlalchemy.orm import Session\n\n"
WORK = "\n\ndef work(db: Session, obj):\n    db.add(obj)\n    db.commit()  # persist\n    db.refresh(obj)\n"
MIGRATED_WORK = (
    "\n\nasync def work(db: AsyncSession, obj):\n    db.add(obj)\n    await db.commit()  # persist\n"
    "    await db.refresh(obj)\n"
)

KEEP_BLOCKS = {
    "comments": """\
# A comment on its own line.
X = 1  # trailing comment
#: sphinx-style attribute doc
Y = [  # opening
    1,  # one
    # between
    2,
]  # closing
""",
    "blank-lines": """\
A = 1



B = 2
   \n\t
C = 3
""",
    "quotes": '''\
S1 = 'single'
S2 = "double"
S3 = \'\'\'triple
  single\'\'\'
S4 = """triple "double" """
S5 = r"raw \\d+" + b'bytes'.decode() + f"{S1!r:>10}" + rb'\\x00'.decode()
S6 = "implicit" 'concatenation' \\
     "continued"
''',
    "continuations": """\
TOTAL = 1 + \\
        2 + \\
    3
if TOTAL > 1 and \\
   TOTAL < 10:
    pass
""",
    "decorators": """\
import functools


@functools.lru_cache(maxsize=None)  # cached
@functools.wraps(print)
def cached(x):
    return x


class K:
    @property
    def p(self):
        return 1

    @p.setter
    def p(self, value):  # setter
        pass
""",
    "type-comments": """\
VALUES = []  # type: list[int]


def typed(a, b):
    # type: (int, str) -> None
    x = a  # type: int
    return None  # type: ignore[return-value]
""",
    "fmt-off": """\
# fmt: off
MATRIX = [
  1,0,   0,
  0,1,0  ,
]
custom   =   {  'a':1 }
# fmt: on
# fmt: skip
ALIGNED = (1,    2)  # fmt: skip
""",
    "unicode": """\
GREETING = "héllo wörld — 日本語 🎉"  # ünïcode comment
ΔT = 1
""",
    "form-feeds": 'SECTION = "one"\n\x0c\n# a page break above, another inside the next line\nPAGE = 2\x0c  # \x0c\n',
    "semicolons-and-odd-spacing": """\
a = 1; b = 2;  c  =  3
def  spaced ( x ,y ) :  return  x+y
lam = lambda: (yield)
""",
}


def _module(block: str) -> str:
    return f"{HEADER}# <keep>\n{block}# </keep>\n{WORK}"


@pytest.mark.parametrize("name", sorted(KEEP_BLOCKS))
def test_block_outside_the_rewrite_is_kept_verbatim(name: str) -> None:
    text = _module(KEEP_BLOCKS[name])
    outcome = migrate_sources({"app/mod.py": text}, EngineOptions())["app/mod.py"]
    assert outcome.status is FileStatus.CHANGED, outcome.error
    assert f"# <keep>\n{KEEP_BLOCKS[name]}# </keep>\n" in outcome.new_text
    assert outcome.new_text.endswith(MIGRATED_WORK)


def test_a_query_after_a_form_feed_is_rewritten() -> None:
    # `ast` counts lines at \n, \r\n and \r only; str.splitlines also breaks at a form feed, which shifted every
    # line below it by one and made the query's source text unreadable ("rewrite failed")
    models = (
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\nclass Base(DeclarativeBase):\n"
        "    pass\n\n\nclass User(Base):\n    __tablename__ = 'users'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str]\n"
    )
    crud = (
        "from sqlalchemy.orm import Session\n\x0c\nfrom app.models import User\n\n\n"
        "def get(db: Session, name: str):\n    return db.query(User).filter(User.name == name).first()\n"
    )
    outcome = migrate_sources({"app/models.py": models, "app/crud.py": crud}, EngineOptions())["app/crud.py"]
    assert outcome.status is FileStatus.CHANGED, outcome.error
    assert outcome.new_text.endswith(
        "\x0c\nfrom app.models import User\n\n\nasync def get(db: AsyncSession, name: str):\n"
        "    return (await db.scalars(select(User).where(User.name == name).limit(1))).first()\n"
    )


def test_comments_inside_rewritten_statements_survive() -> None:
    text = HEADER + (
        "\n\ndef work(db: Session, obj):\n"
        "    db.add(obj)  # stage\n"
        "    db.commit(  # flush and commit\n"
        "    )\n"
        "    db.refresh(\n"
        "        obj,  # the same object\n"
        "    )\n"
    )
    new = migrate_sources({"app/mod.py": text}, EngineOptions())["app/mod.py"].new_text
    for comment in ("# stage", "# flush and commit", "# the same object"):
        assert comment in new


def test_comments_inside_a_rewritten_query_chain_survive() -> None:
    models = (
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\n"
        "class Base(DeclarativeBase):\n    pass\n\n\n"
        "class User(Base):\n    __tablename__ = 'users'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    text = (
        "from sqlalchemy.orm import Session\n\nfrom app.models import User\n\n\n"
        "def get(db: Session, key: int):\n"
        "    return (\n"
        "        db.query(User)  # every user\n"
        "        # only the one we want\n"
        "        .filter(User.id == key)  # by key\n"
        "        .first()\n"
        "    )\n"
    )
    outcomes = migrate_sources({"app/models.py": models, "app/svc.py": text}, EngineOptions())
    new = outcomes["app/svc.py"].new_text
    assert "select(User)" in new, new
    for comment in ("# every user", "# only the one we want", "# by key"):
        assert comment in new, new


# ---- byte level, through the CLI ------------------------------------------------------------------

TABBED = HEADER + "\n\ndef work(db: Session, obj):\n\tif obj:\n\t\tdb.add(obj)  # tab\n\tdb.commit()\n"


def _run(project: Path, name: str, data: bytes) -> bytes:
    write_tree(project, {name: data})
    result = awaitify("migrate", name, "--allow-dirty", "-q", cwd=project)
    assert_no_crash(result)
    assert result.code == 0, result
    return (project / name).read_bytes()


def test_crlf_everywhere(project: Path) -> None:
    text = _module(KEEP_BLOCKS["comments"])
    out = _run(project, "crlf.py", text.replace("\n", "\r\n").encode())
    assert b"await db.commit()" in out
    assert out.count(b"\n") == out.count(b"\r\n"), "a bare LF crept in"
    assert f"# <keep>\n{KEEP_BLOCKS['comments']}# </keep>\n".replace("\n", "\r\n").encode() in out


def test_bom_is_kept(project: Path) -> None:
    text = _module(KEEP_BLOCKS["unicode"])
    out = _run(project, "bom.py", b"\xef\xbb\xbf" + text.encode())
    assert out.startswith(b"\xef\xbb\xbf") and not out.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert b"await db.commit()" in out
    assert KEEP_BLOCKS["unicode"].encode() in out


def test_latin1_with_coding_cookie(project: Path) -> None:
    block = 'NAME = "café crème"  # déjà vu\n'
    text = "# -*- coding: latin-1 -*-\n" + _module(block)
    out = _run(project, "latin.py", text.encode("latin-1"))
    assert out.startswith(b"# -*- coding: latin-1 -*-\n"), out[:80]
    assert block.encode("latin-1") in out
    assert "await db.commit()".encode("latin-1") in out
    out.decode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        out.decode("utf-8")  # still latin-1, not re-encoded as UTF-8


def test_tabs_are_kept(project: Path) -> None:
    out = _run(project, "tabs.py", TABBED.encode())
    assert b"\tif obj:\n\t\tdb.add(obj)  # tab\n\tawait db.commit()\n" in out


def test_no_final_newline(project: Path) -> None:
    text = _module(KEEP_BLOCKS["quotes"]).rstrip("\n")
    out = _run(project, "nonl.py", text.encode())
    assert out.endswith(b"await db.refresh(obj)")


def test_crlf_file_without_changes_is_byte_identical(project: Path) -> None:
    data = b"import os\r\n\r\nX = os.sep  # crlf\r\n"
    assert _run(project, "plain.py", data) == data


# ---- imports: the only place outside the rewritten statements that may change ------------------

IMPORT_BUG = "bug: the Session import is removed while a string annotation still names Session"


def test_string_annotation_keeps_a_defined_name() -> None:
    """`db: "Session"` survives as "Session" but its import is deleted: NameError in get_type_hints/FastAPI."""
    text = 'from sqlalchemy.orm import Session\n\n\ndef get(db: "Session"):\n    db.commit()\n'
    new = migrate_sources({"a.py": text}, EngineOptions())["a.py"].new_text
    names_session = '"Session"' in new
    assert not names_session or "import Session" in new or "Session," in new or ", Session" in new, new


def test_type_comment_keeps_a_defined_name() -> None:
    text = (
        '"""Doc."""\nfrom sqlalchemy.orm import Session\n\n\n'
        "def get(db, key):\n    # type: (Session, int) -> None\n    return key\n"
    )
    new = migrate_sources({"a.py": text}, EngineOptions())["a.py"].new_text
    # the comment is migrated as an annotation would be, and the name it reads is imported
    assert new == text.replace(
        "from sqlalchemy.orm import Session", "from sqlalchemy.ext.asyncio import AsyncSession"
    ).replace("(Session, int)", "(AsyncSession, int)")


def test_removed_first_import_leaves_no_leading_blank_lines() -> None:
    text = 'from sqlalchemy.orm import Session\n\n\ndef get(db: "Session"):\n    db.commit()\n'
    new = migrate_sources({"a.py": text}, EngineOptions())["a.py"].new_text
    assert not new.startswith("\n"), repr(new)
