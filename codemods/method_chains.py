"""Reading a method chain on the stdlib `ast`: `db.query(A).filter(x).all()` as its calls, base first, and the
variable a Query chain starts from.

Apart from the analyzer: plain functions of a node, used by several of its layers.
"""

from __future__ import annotations

import ast


def _chain_calls(node: ast.expr) -> list[tuple[str, ast.Call]]:
    """`db.query(A).filter(x).all()` -> [("query", ...), ("filter", ...), ("all", ...)], base first."""
    out: list[tuple[str, ast.Call]] = []
    current: ast.expr = node
    while True:
        if isinstance(current, ast.Subscript):
            current = current.value
            continue
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            out.append((current.func.attr, current))
            if current.func.attr == "query":
                break
            current = current.func.value
            continue
        break
    out.reverse()
    return out


def _chain_methods(node: ast.expr) -> list[str]:
    return [method for method, _ in _chain_calls(node)]


def _chain_base_name(node: ast.expr) -> str | None:
    """The variable a Query chain starts from (`q` in `q.filter(x).all()`), if any."""
    current = node
    while True:
        if isinstance(current, ast.Subscript):
            current = current.value
        elif isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            if current.func.attr == "query":
                return None
            current = current.func.value
        elif isinstance(current, ast.Name):
            return current.id
        else:
            return None


def _chain_base_is_var(node: ast.expr) -> bool:
    chain = _chain_calls(node)
    return not chain or chain[0][0] != "query"
