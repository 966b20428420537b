"""The elements of annotated containers of a project class are instances of it (`PLUGINS: dict[str, Plugin]`):
a method called on one resolves to the class's method and is awaited once that becomes async.

The runnable case is `fixtures/coloring/annotated_container_elements`; most cases here are those where the
elements must stay untyped (the keys of a mapping, a value of no project class), so that nothing is awaited on a
guess, or be one of several classes (`A | B`, a sequence or a mapping of them, a literal of instances of several
classes: awaited only where every class's method is async, else flagged AWT213).
"""

from __future__ import annotations

import ast

import pytest

from codemods.engine import migrate_sources
from codemods.model import EngineOptions
from codemods.type_inference import TypeInference
from codemods.types import Type

PLUGINS = """from sqlalchemy.orm import Session


class NamePlugin:
    def on_user(self, db: Session, user_id: int) -> str:
        db.commit()
        return "name"


class CountPlugin:
    def on_user(self, db: Session, user_id: int) -> str:
        db.commit()
        return "count"
"""


def _migrated_routes(routes: str) -> str:
    sources = {"app/plugins.py": PLUGINS, "app/routes.py": routes}
    return migrate_sources(sources, EngineOptions())["app/routes.py"].new_text


def test_a_local_dict_literal_of_one_class_and_get_with_a_default_of_it() -> None:
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import NamePlugin


def run(db: Session, slug: str) -> str:
    plugins = {"a": NamePlugin(), "b": NamePlugin()}
    return plugins.get(slug, NamePlugin()).on_user(db, 1)
"""
    )
    assert "return await plugins.get(slug, NamePlugin()).on_user(db, 1)" in migrated


def test_get_with_a_default_of_another_type_stays_untyped() -> None:
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import NamePlugin

PLUGINS: dict[str, NamePlugin] = {"a": NamePlugin()}


def run(db: Session, slug: str) -> str:
    return PLUGINS.get(slug, "none").on_user(db, 1)
"""
    )
    assert 'return PLUGINS.get(slug, "none").on_user(db, 1)' in migrated


def test_values_of_a_mapping_of_several_classes_are_one_of_them() -> None:
    """A dict literal of several classes, `dict[str, A | B]`: a value is an instance of one of them, unknown which;
    a method every one of them has async is awaited. Both were left untyped until 2026-12-08: the calls neither
    awaited nor flagged."""
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import CountPlugin, NamePlugin

MIXED = {"a": NamePlugin(), "b": CountPlugin()}
EITHER: dict[str, NamePlugin | CountPlugin] = {"a": NamePlugin()}


def run(db: Session, slug: str) -> list[str]:
    local = {"a": NamePlugin(), "b": CountPlugin()}
    found = [MIXED[slug].on_user(db, 1), EITHER.get(slug, CountPlugin()).on_user(db, 1), local[slug].on_user(db, 1)]
    for _, plugin in MIXED.items():
        found.append(plugin.on_user(db, 2))
    return found + [plugin.on_user(db, 3) for plugin in EITHER.values()]
"""
    )
    assert (
        "found = [await MIXED[slug].on_user(db, 1), await EITHER.get(slug, CountPlugin()).on_user(db, 1), "
        "await local[slug].on_user(db, 1)]"
    ) in migrated
    assert "found.append(await plugin.on_user(db, 2))" in migrated
    assert "return found + [await plugin.on_user(db, 3) for plugin in EITHER.values()]" in migrated


@pytest.mark.parametrize("call", ["REGISTRY[slug].on_user(db, 1)", "LISTED[0].on_user(db, 1)", "plugin.on_user(db, 1)"])
def test_a_method_of_several_classes_that_disagree_is_flagged(call: str) -> None:
    """One class's method became async, the other's did not: awaiting the call would break the one, not awaiting it
    the other. Flagged AWT213 and left as it is, whichever container holds them (a dict literal, `list[A | B]`, a
    parameter `A | B`)."""
    plugins = (
        PLUGINS
        + """

class LabelPlugin:
    def on_user(self, db: Session, user_id: int) -> str:
        return "label"
"""
    )
    routes = f"""from sqlalchemy.orm import Session

from app.plugins import LabelPlugin, NamePlugin

REGISTRY = {{"name": NamePlugin(), "label": LabelPlugin()}}
LISTED: list[NamePlugin | LabelPlugin] = [LabelPlugin()]


def run(db: Session, slug: str, plugin: NamePlugin | LabelPlugin) -> str:
    return {call}
"""
    outcome = migrate_sources({"app/plugins.py": plugins, "app/routes.py": routes}, EngineOptions())["app/routes.py"]
    assert f"    return {call}  # awaitify: review AWT213 calls one of NamePlugin.on_user() (async) and " in (
        outcome.new_text
    )
    assert [finding.code for finding in outcome.findings] == ["AWT213"]


def test_elements_of_a_sequence_of_several_classes_are_one_of_them() -> None:
    """`tuple[A | B, ...]`, `list[Union[A, B]]`: each element is an instance of one of the classes, unknown which;
    a method every one of them has async is awaited (both `on_user` do I/O here). The tuple's elements were left
    untyped, and the list's typed as the first class, until 2026-12-08 (see the review fixture
    `annotated_union_methods_disagree` for classes whose methods disagree)."""
    migrated = _migrated_routes(
        """from typing import Union

from sqlalchemy.orm import Session

from app.plugins import CountPlugin, NamePlugin

CHAIN: tuple[Union[NamePlugin, CountPlugin], ...] = (NamePlugin(),)
LISTED: list[NamePlugin | CountPlugin] = [CountPlugin()]


def run(db: Session, index: int) -> list[str]:
    return [CHAIN[0].on_user(db, 1), LISTED[index].on_user(db, 1)]
"""
    )
    assert "return [await CHAIN[0].on_user(db, 1), await LISTED[index].on_user(db, 1)]" in migrated


def test_iterating_a_mapping_gives_its_keys() -> None:
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import NamePlugin

PLUGINS: dict[str, NamePlugin] = {"a": NamePlugin()}


def run(db: Session) -> list[str]:
    names = [slug.on_user(db, 1) for slug in PLUGINS]
    return names + [PLUGINS[0].on_user(db, 1)]
"""
    )
    assert "names = [slug.on_user(db, 1) for slug in PLUGINS]" in migrated
    assert "return names + [PLUGINS[0].on_user(db, 1)]" in migrated


def test_optional_values_are_instances() -> None:
    migrated = _migrated_routes(
        """from typing import Optional

from sqlalchemy.orm import Session

from app.plugins import NamePlugin

PLUGINS: dict[str, Optional[NamePlugin]] = {"a": NamePlugin()}


def run(db: Session, slug: str) -> str:
    return PLUGINS[slug].on_user(db, 1)
"""
    )
    assert "return await PLUGINS[slug].on_user(db, 1)" in migrated


def test_a_local_annotated_with_a_mapping_of_several_classes() -> None:
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import CountPlugin, NamePlugin


def run(db: Session, slug: str) -> str:
    plugins: dict[str, NamePlugin | CountPlugin] = {"a": NamePlugin()}
    return plugins[slug].on_user(db, 1)
"""
    )
    assert "return await plugins[slug].on_user(db, 1)" in migrated


def test_a_local_dict_literal_with_a_value_of_no_class_stays_untyped() -> None:
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session

from app.plugins import NamePlugin


def run(db: Session, slug: str) -> str:
    optional = {"a": NamePlugin(), "b": None}
    return optional[slug].on_user(db, 1)
"""
    )
    assert "return optional[slug].on_user(db, 1)" in migrated


def test_the_values_of_a_dict_literal_are_typed_until_one_settles_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A response dict (`{"id": user_id, ...}`): its first value is no instance, so the dict is no mapping of
    instances whatever the others are, and they are not typed for it (typing them was ~5% of `check`'s CPU).
    Which values: ones the walk itself does not type (it types a call's callee, for one)."""
    typed: list[str] = []
    original = TypeInference.type_of

    def recording(self: TypeInference, node: ast.expr) -> Type | None:
        typed.append(ast.unparse(node))
        return original(self, node)

    monkeypatch.setattr(TypeInference, "type_of", recording)
    migrated = _migrated_routes(
        """from sqlalchemy.orm import Session


def run(db: Session, user_id: int) -> dict[str, object]:
    db.commit()
    return {"id": user_id, "double": user_id * 2, "ids": [user_id]}
"""
    )
    assert "    await db.commit()\n" in migrated
    assert "user_id" in typed
    assert not {"user_id * 2", "[user_id]"} & set(typed), typed
