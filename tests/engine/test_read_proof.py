"""`read_proof.all_read_at_module_level` against `symtable` (`query_imports.module_level_reads`): it may only prove
what symtable answers, on snippets that shadow, declare and hide the names in every way Python allows."""

from __future__ import annotations

import ast
import itertools
import sys

import pytest

from codemods.query_imports import CORE_NAMES, module_level_reads, query_imports_read
from codemods.read_proof import all_read_at_module_level

NAMES = ("func", "select")

# each snippet: (code, the names the proof must find read at module level: it proves no more than symtable)
SNIPPETS: list[tuple[str, set[str]]] = [
    ("x = select(A)\n", {"select"}),
    ("def f():\n    return select(A)\n", {"select"}),
    ("def f(select):\n    return select(A)\n", set()),
    ("def f():\n    select = 1\n    return select(A)\n", set()),
    ("def f():\n    return select(A)\n    select = 1\n", set()),
    ("def f():\n    def g():\n        return select(A)\n    select = 1\n", set()),
    ("def f(select):\n    def g():\n        return select(A)\n", set()),
    ("def f(select):\n    def g():\n        global select\n        return select(A)\n", {"select"}),
    ("def f(select):\n    class C:\n        x = select(A)\n", set()),
    ("def f():\n    class C:\n        select = 1\n        def m(self):\n            return select(A)\n", {"select"}),
    ("class C:\n    select = 1\n    x = select(A)\n", set()),
    ("class C:\n    select = 1\n    y = [select(a) for a in b]\n", {"select"}),
    ("class C:\n    global select\n    select = 1\n    x = select(A)\n", {"select"}),
    ("def f():\n    global select\n    def g():\n        return select(A)\n", {"select"}),
    ("def f(select):\n    global func\n    def g():\n        return select(A), func.count()\n", {"func"}),
    ("def f():\n    nonlocal_ = 1\n    def g():\n        nonlocal nonlocal_\n        return select(A)\n", {"select"}),
    ("def f():\n    select = 1\n    def g():\n        nonlocal select\n        return select(A)\n", set()),
    ("def f():\n    for select in x:\n        pass\n    return select(A)\n", set()),
    ("def f():\n    with x as select:\n        return select(A)\n", set()),
    ("def f():\n    try:\n        pass\n    except E as select:\n        return select(A)\n", set()),
    ("def f():\n    import select\n    return select(A)\n", set()),
    ("def f():\n    from m import x as select\n    return select(A)\n", set()),
    ("def f():\n    import select.x\n    return select(A)\n", set()),
    ("def f():\n    import x.select\n    return select(A)\n", {"select"}),
    ("def f():\n    from select import x\n    return select(A)\n", {"select"}),
    ("def f():\n    def select():\n        pass\n    return select(A)\n", set()),
    ("def f():\n    class select:\n        pass\n    return select(A)\n", set()),
    ("def f():\n    del select\n    return select(A)\n", set()),
    ("def f():\n    select += 1\n    return select(A)\n", set()),
    ("def f():\n    select: int = 1\n    return select(A)\n", set()),
    ("def f():\n    select: int\n    return select(A)\n", set()),
    ("def f():\n    (select): int\n    return select(A)\n", set()),
    ("def f():\n    (select) = 1\n    return select(A)\n", set()),
    ("def f():\n    [a, *select] = x\n    return select(A)\n", set()),
    ("def f():\n    if (select := 1):\n        return select(A)\n", set()),
    ("def f():\n    return [select for select in x]\n", set()),
    ("def f():\n    return [select(a) for a in x]\n", {"select"}),
    ("def f():\n    return [a for a in select(x)]\n", {"select"}),
    ("def f(x):\n    return [a for select in x for a in select(x)]\n", set()),
    ("def f(x):\n    return [[select(a) for a in y] for select in x]\n", set()),
    ("def f(x):\n    return [[a for a in select] for select in x]\n", set()),
    ("def f(x):\n    return [[a for a in select(b)] for b in x]\n", {"select"}),
    ("def f(select):\n    return [a for a in select(x)]\n", set()),
    ("def f():\n    return [select for select in select(A)]\n", {"select"}),
    ("class C:\n    select = 1\n    y = [a for a in select(b)]\n", set()),
    ("def f():\n    return {k: select(v) for k, v in x}\n", {"select"}),
    ("def f():\n    return (select(v) for v in x)\n", {"select"}),
    ("def f():\n    return [y for y in x if (select := y)]\n", set()),
    ("f = lambda select: select(A)\n", set()),
    ("f = lambda x: select(x)\n", {"select"}),
    ("f = lambda x=select(A): x\n", {"select"}),
    ("def f(x=select(A)):\n    select = 1\n", {"select"}),
    ("def f(select=select):\n    return select(A)\n", {"select"}),
    ("@select\ndef f(select):\n    pass\n", {"select"}),
    ("def f(select):\n    @select\n    def g():\n        pass\n", set()),
    ("def f(*select):\n    return select(A)\n", set()),
    ("def f(**select):\n    return select(A)\n", set()),
    ("def f(*, select):\n    return select(A)\n", set()),
    ("def f(select, /):\n    return select(A)\n", set()),
    ("def f(x: select):\n    pass\n", set()),
    ("def f() -> select:\n    pass\n", set()),
    ("from __future__ import annotations\ndef f(x: select) -> func:\n    pass\n", set()),
    ("x: select = 1\n", set()),
    ("x: int = select(A)\n", {"select"}),
    ("class C(select):\n    pass\n", {"select"}),
    ("class C(metaclass=select):\n    pass\n", {"select"}),
    ("class C(select=1):\n    pass\n", set()),
    ("def f(select):\n    class C(select):\n        pass\n", set()),
    ("x.select(A)\n", set()),
    ("x . select(A)\n", set()),
    ("x.\\\n    select(A)\n", set()),
    ("f(select=1)\n", set()),
    ("'select(A)'\n", set()),
    ("'''\nselect(A)\n'''\n", set()),
    ("# select(A)\n", set()),
    ("x = 1  # select(A)\n", set()),
    ("s = '#'; select(A)\n", {"select"}),
    ("def f():\n    return f'{select(A)}'\n", set()),
    ("def f():\n    '''select(A)'''\n    return select(B)\n", {"select"}),
    ("match x:\n    case select:\n        pass\nselect(A)\n", set()),
    ("def f():\n    match x:\n        case {'a': 1, **select}:\n            return select(A)\n", set()),
    ("def f():\n    global select\n    select = 1\n    return select(A)\n", {"select"}),
    ("global select\nselect(A)\n", {"select"}),
    ("def f():\n    select(A)\n    global select\n", {"select"}),  # symtable rejects it: every candidate kept
    ("nonlocal select\n", set()),
    ("def f(select, select):\n    pass\nselect(A)\n", {"select"}),
    ("def f():\n    from m import *\nselect(A)\n", {"select"}),
    ("def f():\n    return select(A)\n\ndef g(select):\n    return select(B)\n", {"select"}),
    ("def g(select):\n    return select(B)\n\ndef f():\n    return select(A)\n", {"select"}),
    ("def f():\n    return select(A).where(func.count() > 1)\n", {"select", "func"}),
    ("def deco(func):\n    def wrapper(*a):\n        return func(*a), select(A)\n    return wrapper\n", {"select"}),
    ("async def f():\n    async with x as select:\n        return select(A)\n", set()),
    ("async def f():\n    return [select(a) async for a in x]\n", {"select"}),
    ("def f():\n    try:\n        pass\n    except* E as select:\n        return select(A)\n", set()),
    ("x = (\n    select(A)  # func\n)\n", {"select"}),
    ("x = [  # select\n    1,\n]\n", set()),
    ("def f():\n    return select\\\n(A)\n", {"select"}),
    ("def f():\n    é = 1\n    return select(A)\n", set()),
    ("if x:\n    def f():\n        return select(A)\nelse:\n    select = 1\n", {"select"}),
    ("while select(A):\n    break\n", {"select"}),
    ("def f():\n    while x:\n        select = 1\n    else:\n        return select(A)\n", set()),
    ("def f():\n    with a, b as (c, select):\n        return select(A)\n", set()),
    ("def f():\n    for (a, (b, select)) in x:\n        return select(A)\n", set()),
    ("def f():\n    x[select] = 1\n    x.select = select(A)\n", {"select"}),
    ("def f():\n    return super().select(A)\n", set()),
    ("class C:\n    def select(self):\n        return select(A)\n", {"select"}),
    ("class C:\n    def m(self):\n        return select(A)\n    def select(self):\n        pass\n", {"select"}),
    ("def f():\n    def select(self):\n        pass\n    class C:\n        x = select(A)\n", set()),
]


def _python_models_symtable() -> bool:
    return sys.version_info[:2] == (3, 11)


@pytest.mark.parametrize(("code", "expected"), SNIPPETS, ids=[str(i) for i in range(len(SNIPPETS))])
def test_the_proof_gives_only_symtables_answer(code: str, expected: set[str]) -> None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        pytest.skip("the snippet does not parse here")
    for size in (1, 2):
        for names in map(set, itertools.combinations(NAMES, size)):
            proved = all_read_at_module_level(code, tree, names)
            if proved:
                assert module_level_reads(code, names) in (None, names), (code, names)
            if _python_models_symtable():
                assert proved == (names <= expected), (code, names)


def test_query_imports_read_with_the_tree_keeps_what_symtable_keeps() -> None:
    for code, _ in SNIPPETS:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        add = set(CORE_NAMES)
        assert query_imports_read(add, code, set(NAMES), tree) == query_imports_read(add, code, set(NAMES)), code
