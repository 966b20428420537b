"""Deterministic import edits on a LibCST module: add names, drop names nothing uses any more.

New names join an existing `from <module> import ...` statement when there is one; otherwise a new
statement takes the place of an import that became empty, or goes after the last top-level import.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True, order=True)
class ImportName:
    module: str
    name: str
    asname: str | None = None

    @property
    def local(self) -> str:
        return self.asname or self.name


def _module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return cst.Module([]).code_for_node(node.module)


def _alias_local(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return cst.Module([]).code_for_node(alias.name)


class _NameUses(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False


def used_names(module: cst.Module) -> set[str]:
    visitor = _NameUses()
    module.visit(visitor)
    return visitor.names


def _new_alias(item: ImportName) -> cst.ImportAlias:
    return cst.ImportAlias(
        name=cst.Name(item.name),
        asname=cst.AsName(name=cst.Name(item.asname)) if item.asname else None,
    )


def _join_aliases(aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    out = []
    for index, alias in enumerate(aliases):
        if index < len(aliases) - 1:
            comma = alias.comma if isinstance(alias.comma, cst.Comma) else cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" ")
            )
            out.append(alias.with_changes(comma=comma))
        else:
            out.append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return out


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
    )


def update_imports(
    module: cst.Module, add: set[ImportName], removable: set[str], force_remove: frozenset[str] = frozenset()
) -> cst.Module:
    """Add `add`; drop imported names in `removable` that the module no longer uses, and `force_remove`."""
    in_use = used_names(module)
    body = list(module.body)
    anchor: int | None = None
    present: set[tuple[str, str]] = set()
    for index, stmt in enumerate(body):
        if not _is_import(stmt):
            continue
        assert isinstance(stmt, cst.SimpleStatementLine)
        small = stmt.body[0]
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            continue
        kept = [
            a for a in small.names
            if not (_alias_local(a) in removable and _alias_local(a) not in in_use)
            and not (_alias_local(a) in force_remove and (_module_name(small) or "").startswith("sqlalchemy"))
        ]
        for alias in kept:
            present.add((_module_name(small) or "", _alias_local(alias)))
        if len(kept) == len(small.names):
            continue
        if kept:
            body[index] = stmt.with_changes(body=[_set_names(small, kept)])
        else:
            body[index] = cst.RemovalSentinel.REMOVE  # type: ignore[call-overload]
            anchor = index if anchor is None else anchor
    plain = sorted(item.name for item in add if not item.module)
    add = {item for item in add if item.module}
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Import):
            for alias in stmt.body[0].names:
                present.add(("", _alias_local(alias)))
    missing = sorted(item for item in add if (item.module, item.local) not in present)
    by_module: dict[str, list[ImportName]] = {}
    for item in missing:
        by_module.setdefault(item.module, []).append(item)
    new_statements: list[cst.SimpleStatementLine] = []
    for module_name, items in sorted(by_module.items()):
        merged = False
        for index, stmt in enumerate(body):
            if stmt is cst.RemovalSentinel.REMOVE or not _is_import(stmt):
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            small = stmt.body[0]
            if isinstance(small, cst.ImportFrom) and _module_name(small) == module_name and not isinstance(
                small.names, cst.ImportStar
            ):
                body[index] = stmt.with_changes(body=[_set_names(small, [*small.names, *map(_new_alias, items)])])
                merged = True
                break
        if not merged:
            new_statements.append(
                cst.SimpleStatementLine(body=[cst.ImportFrom(
                    module=cst.parse_expression(module_name),  # type: ignore[arg-type]
                    names=_join_aliases([_new_alias(i) for i in items]),
                )])
            )
    plain_statements = [
        cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name(name))])])
        for name in plain if ("", name) not in present
    ]
    if plain_statements:
        first_import = next((i for i, s in enumerate(body) if s is not cst.RemovalSentinel.REMOVE and _is_import(s)), None)
        if first_import is None:
            first_import = _insert_position(body)
        else:
            first = body[first_import]
            plain_statements[0] = plain_statements[0].with_changes(leading_lines=first.leading_lines)  # type: ignore[union-attr]
            body[first_import] = first.with_changes(leading_lines=[])  # type: ignore[union-attr]
        for offset, stmt in enumerate(plain_statements):
            body.insert(first_import + offset, stmt)
        if anchor is not None and anchor >= first_import:
            anchor += len(plain_statements)
    if new_statements:
        position = anchor if anchor is not None else _insert_position(body)
        if anchor is not None:
            removed = module.body[anchor]
            new_statements[0] = new_statements[0].with_changes(leading_lines=removed.leading_lines)
            body[anchor] = new_statements[0]  # type: ignore[call-overload]
            for offset, stmt in enumerate(new_statements[1:], start=1):
                body.insert(anchor + offset, stmt)
        else:
            for stmt in new_statements:
                index = _sorted_position(body, _module_name(stmt.body[0]) or "", position)  # type: ignore[arg-type]
                following = body[index] if index < len(body) else None
                if isinstance(following, cst.SimpleStatementLine) and _is_import(following):
                    stmt = stmt.with_changes(leading_lines=following.leading_lines)
                    body[index] = following.with_changes(leading_lines=[])
                body.insert(index, stmt)
    return module.with_changes(body=[s for s in body if s is not cst.RemovalSentinel.REMOVE])


def _set_names(node: cst.ImportFrom, names: list[cst.ImportAlias]) -> cst.ImportFrom:
    joined = _join_aliases(list(names))
    if node.lpar is not None and len(joined) > 0:
        # keep a trailing comma in parenthesised multi-line imports
        last = names[-1]
        if isinstance(last.comma, cst.Comma):
            joined[-1] = joined[-1].with_changes(comma=last.comma)
    return node.with_changes(names=joined)


def _sorted_position(body: list[object], module_name: str, fallback: int) -> int:
    """Among the top-level `from <same package> import` statements, keep module names sorted."""
    package = module_name.split(".")[0]
    last_same = None
    for index, stmt in enumerate(body):
        if stmt is cst.RemovalSentinel.REMOVE or not _is_import(stmt):  # type: ignore[arg-type]
            continue
        small = stmt.body[0]  # type: ignore[attr-defined]
        if not isinstance(small, cst.ImportFrom):
            continue
        other = _module_name(small) or ""
        if other.split(".")[0] != package:
            continue
        if other > module_name:
            return index
        last_same = index
    return last_same + 1 if last_same is not None else fallback


def _insert_position(body: list[object]) -> int:
    last_sqlalchemy = last_import = None
    for index, stmt in enumerate(body):
        if stmt is cst.RemovalSentinel.REMOVE:
            continue
        if _is_import(stmt):  # type: ignore[arg-type]
            last_import = index
            code = cst.Module([]).code_for_node(stmt)  # type: ignore[arg-type]
            if "sqlalchemy" in code:
                last_sqlalchemy = index
        elif last_import is not None:
            break
    if last_sqlalchemy is not None:
        return last_sqlalchemy + 1
    if last_import is not None:
        return last_import + 1
    first = body[0] if body else None
    docstring = (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )
    return 1 if docstring else 0
