"""Annotations the migration overrules (AWT222).

An annotation naming a database handle that its value contradicts (`SessionLocal: Session = sessionmaker(...)`,
`-> Session` over `return sessionmaker(...)`) loses to the value's type (`project.overrules_annotation`): the code
using the name was written against what it holds. What the migration then makes async, or awaits, follows from a
type the annotation denies, and the annotation stays wrong in the migrated code; the marker says so.
"""

from __future__ import annotations

from codemods.types import ConnectionType, EngineType, SessionFactoryType, SessionType, Type

CODE = "AWT222"

# what each kind of handle is called in the marker, and how the migrated code should annotate it
_KIND_NAMES: dict[type, str] = {
    SessionType: "a session",
    SessionFactoryType: "a session factory",
    EngineType: "an engine",
    ConnectionType: "a connection",
}
_ASYNC_ANNOTATIONS: dict[type, str] = {
    SessionType: "AsyncSession",
    SessionFactoryType: "async_sessionmaker[AsyncSession]",
    EngineType: "AsyncEngine",
    ConnectionType: "AsyncConnection",
}


def review_text(declared: Type, value_type: Type) -> str | None:
    """The AWT222 marker's text for an annotation naming `declared` over a value of `value_type`, or None when the
    two are the same kind of handle (`db: AsyncSession = Session(engine)`: the rewrite of the value makes the
    annotation right)."""
    if type(declared) is type(value_type):
        return None
    declared_name = _KIND_NAMES.get(type(declared))
    value_name = _KIND_NAMES.get(type(value_type))
    if declared_name is None or value_name is None:
        return None
    return (
        f"{CODE} annotated as {declared_name}, but the value is {value_name} (its uses were migrated as one): "
        f"annotate it {_ASYNC_ANNOTATIONS[type(value_type)]}"
    )
