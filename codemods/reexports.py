"""Imports a module must keep because another module of the project imports the name from it (a re-export).

`from sqlalchemy.orm import object_session` in `app/core.py` binds `object_session` in `app.core`, and
`app/jobs.py` may import it from there (`from app.core import object_session`). When `core`'s rewrite leaves the
name unused there (its calls became `async_object_session`), dropping the import would make importing `jobs`
fail (`ImportError: cannot import name 'object_session' from 'app.core'`) unless `jobs` itself drops it too: its
own import goes (the name is among its removable ones) and no read of the name is left (each read is renamed).
Otherwise the import stays in `core`, unused there.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Callable

from codemods import edits as E
from codemods.edits import FilePlan
from codemods.project_analysis import _Analysis, _Parsed
from codemods.spans import SpanMaker

# module name -> imported name -> the (path, local name) of each project module importing it from there
_Importers = dict[str, dict[str, list[tuple[str, str]]]]
_last: tuple[weakref.ref[_Analysis], _Importers] | None = None  # the index of the analysis under way


def _importers(analysis: _Analysis) -> _Importers:
    global _last
    if _last is None or _last[0]() is not analysis:
        index: _Importers = {}
        project = analysis.project
        for path, item in analysis.parsed.items():
            for local, target in item.symbols.imports.items():
                module, _, name = project.remap_source_root(target).rpartition(".")
                if module in project.modules:
                    index.setdefault(module, {}).setdefault(name, []).append((path, local))
        _last = (weakref.ref(analysis), index)
    return _last[1]


def reexported(
    item: _Parsed, analysis: _Analysis, removable: set[str], plan_of: Callable[[_Parsed], FilePlan]
) -> set[str]:
    """The names of `item`'s imports among `removable` (its plan may drop them) that another module of the
    project imports from it and keeps importing after its own rewrite. `plan_of`: the plan of that module."""
    imported = _importers(analysis).get(item.symbols.name, {})
    kept: set[str] = set()
    for name in sorted(imported.keys() & item.symbols.imports.keys() & removable):
        for path, local in imported[name]:
            if path != item.path and _keeps_import(analysis, analysis.parsed[path], local, plan_of):
                kept.add(name)
                break
    return kept


def _keeps_import(analysis: _Analysis, importer: _Parsed, local: str, plan_of: Callable[[_Parsed], FilePlan]) -> bool:
    """Whether `importer`'s import of `local` survives its rewrite: it is left alone, the name is not one its plan
    may drop, or a read of it is left (one not renamed by the plan)."""
    if importer.symbols.name in analysis.left_alone or importer.path in analysis.failures:
        return True
    plan = plan_of(importer)
    if local not in plan.removable:
        return True
    renamed = {edit.span for edit in plan.edits if edit.kind == E.RENAME}
    spans = SpanMaker(importer.text)
    return any(
        isinstance(node, ast.Name) and node.id == local and spans.span(node) not in renamed
        for node in ast.walk(importer.tree)
    )
