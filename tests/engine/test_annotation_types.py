"""The project's memos of annotation types: by node, let go with the trees (`type_of_annotation`), or kept as long as
the symbol tables that keep the node (`declared_type`); either way the same answer as typing the annotation anew."""

from __future__ import annotations

import ast
import gc
import weakref

from codemods.project import Project
from codemods.symbols import SharedExpressions, collect_symbols
from codemods.types import SYNC_SESSION, SessionFactoryType

DB = """from typing import Optional

from sqlalchemy.orm import Session, sessionmaker


def get(db: "Optional[Session]", factory: sessionmaker[Session]) -> Session:
    return db
"""


def _project() -> Project:
    return Project([collect_symbols("app/db.py", ast.parse(DB), DB, SharedExpressions())])


def test_declared_types_of_the_symbols_annotations() -> None:
    project = _project()
    func = project.functions["app.db.get"]
    db, factory = func.params
    assert project.declared_type("app.db", db.annotation) == SYNC_SESSION  # a string annotation, parsed
    assert project.declared_type("app.db", factory.annotation) == SessionFactoryType(is_async=False)
    assert project.declared_type("app.db", func.returns) == SYNC_SESSION
    project.forget_resolved_nodes()  # a tree let go: the symbols' own annotations keep their answers
    assert project.declared_type("app.db", db.annotation) == project.type_of_annotation("app.db", db.annotation)


def test_a_tree_annotation_is_let_go_with_the_resolved_nodes() -> None:
    """An annotation of a function body (`x: Session = ...`) is a node of its tree: the memo must not keep the tree
    alive once it is let go (see `tree_budget`)."""
    project = _project()
    annotation = ast.parse("x: Session = make()").body[0].annotation  # type: ignore[attr-defined]
    assert project.type_of_annotation("app.db", annotation) == SYNC_SESSION
    kept = weakref.ref(annotation)
    del annotation
    gc.collect()
    assert kept() is not None  # memoised
    project.forget_resolved_nodes()
    gc.collect()
    assert kept() is None
