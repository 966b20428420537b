"""The hint rounds keep a function's facts only when nothing it read can have changed (see codemods.fact_deps)."""

from __future__ import annotations

from collections.abc import Hashable

from codemods.fact_deps import FactDependencies


def _analysed(deps: FactDependencies, qualname: str, reads: dict[str, object], requests: list[str]) -> None:
    deps.begin(qualname)
    for key, value in reads.items():
        deps.hint_read(key, value)
        deps.hint_read(key, "a later, larger value is not what it first saw")
    for callee in requests:
        deps.requested(callee)
    deps.end()


def test_stale_are_the_changed_readers_and_everything_that_asked_for_them() -> None:
    deps = FactDependencies()
    _analysed(deps, "m.leaf", {"k": frozenset({1})}, [])
    _analysed(deps, "m.caller", {}, ["m.leaf"])
    _analysed(deps, "m.top", {}, ["m.caller"])
    _analysed(deps, "m.other", {"j": frozenset()}, ["m.unrelated"])
    hints: dict[Hashable, object] = {"k": frozenset({1, 2}), "j": frozenset()}
    assert deps.stale(hints.__getitem__) == {"m.leaf", "m.caller", "m.top"}
    # what was stale is forgotten: only the kept function is still recorded
    assert deps.stale(lambda key: "changed") == {"m.other"}


def test_nothing_is_stale_when_every_read_still_holds() -> None:
    deps = FactDependencies()
    _analysed(deps, "m.f", {"k": frozenset({1})}, ["m.g"])
    _analysed(deps, "m.g", {"any": True}, ["m.f"])  # recursion: each asked for the other
    hints: dict[Hashable, object] = {"k": frozenset({1}), "any": True}
    assert deps.stale(hints.__getitem__) == set()


def test_nested_analyses_record_their_own_reads() -> None:
    deps = FactDependencies()
    deps.begin("m.outer")
    deps.requested("m.inner")
    deps.begin("m.inner")
    deps.hint_read("k", 1)
    deps.end()
    deps.end()
    deps.hint_read("ignored: nothing is being analysed", 0)
    assert deps.stale({"k": 2}.__getitem__) == {"m.inner", "m.outer"}
