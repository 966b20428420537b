"""The staged fixture projects: `fixtures/staged/<case>/` holds `before/`, one tree per stage and `case.json`.

case.json: ``requests`` (every tree answers them like `before/`), ``stages`` (``only`` globs and the ``tree``
the stage gives from the previous one), ``blocked`` (a run whose in-scope files must stay as they are) and
``twin`` (the sync provider and the async twin the stages switch to).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coloring_harness import ROOT, read_tree

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, FileOutcome

STAGED_DIR = ROOT / "fixtures" / "staged"


@dataclass(frozen=True)
class StagedCase:
    name: str
    path: Path
    meta: dict[str, Any] = field(hash=False, compare=False)

    def tree(self, name: str) -> Path:
        return self.path / name

    @property
    def stages(self) -> list[tuple[tuple[str, ...], str]]:
        return [(tuple(stage["only"]), stage["tree"]) for stage in self.meta["stages"]]

    def previous_tree(self, index: int) -> str:
        return "before" if index == 0 else self.stages[index - 1][1]

    def __str__(self) -> str:
        return self.name


def discover_staged_cases() -> list[StagedCase]:
    return [
        StagedCase(path.name, path, json.loads((path / "case.json").read_text()))
        for path in sorted(STAGED_DIR.iterdir())
        if (path / "case.json").is_file()
    ]


def migrate_staged(sources: dict[str, str], only: tuple[str, ...]) -> dict[str, FileOutcome]:
    outcomes = migrate_sources(sources, EngineOptions(only=only))
    assert all(o.error is None for o in outcomes.values()), {p: o.error for p, o in outcomes.items() if o.error}
    return outcomes


def texts(outcomes: dict[str, FileOutcome]) -> dict[str, str]:
    return {path: outcome.new_text for path, outcome in outcomes.items()}


__all__ = ["StagedCase", "discover_staged_cases", "migrate_staged", "read_tree", "texts"]
