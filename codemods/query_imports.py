"""The SQLAlchemy names a rewritten query may need (`select`, `func`, ...), and when the module needs their import.

A rewritten query spells `select(...)`, `func.count()`, `delete(...)` or `update(...)`: each is a candidate import,
added when the rewritten module reads the name. A read counts only as the module-level name: a name read where a
local binding of it is in scope (`def deco(func)` calling `func(...)` in its wrapper) needs no import, which would
be unused (ruff F401) or shadowed there. Scopes come from the stdlib `symtable` (the compiler's own analysis),
which parses the module again: a caller holding its `ast` tree first tries `read_proof`, which proves the usual
answer (every candidate read at module level) from the tree, looking only where the names occur.
"""

from __future__ import annotations

import ast
import symtable

from codemods.edits import ImportName
from codemods.read_proof import all_read_at_module_level

# Candidates only: an import is added when the rewritten module reads the name at module level (see update_imports).
CORE_NAMES = frozenset(ImportName("sqlalchemy", n) for n in ("select", "func", "delete", "update"))


def module_level_reads(code: str, names: set[str]) -> set[str] | None:
    """Those of `names` that `code` reads as module-level names: at top level, or in a function or class where
    neither it nor an enclosing function binds them. None when `code` cannot be compiled."""
    try:
        table = symtable.symtable(code, "<module>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: set[str] = set()
    stack = [table]
    while stack and found != names:
        scope = stack.pop()
        for name in names - found:
            try:
                symbol = scope.lookup(name)
            except KeyError:
                continue
            if symbol.is_referenced() and (scope.get_type() == "module" or symbol.is_global()):
                found.add(name)
        stack.extend(scope.get_children())
    return found


def query_imports_read(
    add: set[ImportName], code: str, in_use: set[str] | None, tree: ast.Module | None = None
) -> set[ImportName]:
    """`add` without the `CORE_NAMES` candidates that `code` (the rewritten module, whose used names are `in_use`
    when known) reads only as a local name, never as the module-level one. `tree`: `ast.parse(code)`, when the
    caller has it (it spares `symtable` whenever it proves every candidate read at module level)."""
    candidates = {item.local for item in add & CORE_NAMES if in_use is None or item.local in in_use}
    if not candidates:
        return add
    if tree is not None and all_read_at_module_level(code, tree, candidates):
        return add
    read = module_level_reads(code, candidates)
    if read is None or read == candidates:
        return add
    return {item for item in add if item not in CORE_NAMES or item.local not in candidates - read}
