"""Which query-building names (`select`, `func`, ...) a rewritten module reads as the module-level name."""

from __future__ import annotations

from codemods.query_imports import CORE_NAMES, module_level_reads, query_imports_read

DECORATOR = """
def per_tag(func):
    def wrapper(*args):
        for tag in select(Tag):
            func(tag, *args)
    return wrapper
"""


def test_a_parameter_read_in_a_nested_function_is_not_the_module_level_name() -> None:
    assert module_level_reads(DECORATOR, {"func", "select"}) == {"select"}


def test_reads_at_top_level_in_a_class_or_under_global_are_module_level() -> None:
    assert module_level_reads("x = func.count()\n", {"func"}) == {"func"}
    assert module_level_reads("class A:\n    n = func.count()\n", {"func"}) == {"func"}
    code = "def f():\n    global func\n    return func.count()\n"
    assert module_level_reads(code, {"func"}) == {"func"}


def test_only_query_candidates_read_locally_are_left_out() -> None:
    add = set(CORE_NAMES)
    kept = query_imports_read(add, DECORATOR, {"func", "select", "Tag"})
    assert {item.local for item in kept} == {"select", "delete", "update"}  # unused ones: update_imports skips them


def test_code_that_does_not_compile_keeps_every_candidate() -> None:
    assert module_level_reads("def f(:\n", {"func"}) is None
    assert query_imports_read(set(CORE_NAMES), "def f(:\n", {"func"}) == set(CORE_NAMES)
