"""fixtures/coloring/README.md lists every case with the summary and run mode of its case.json."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "coloring"


def test_readme_table_matches_the_cases() -> None:
    expected = []
    for case in sorted(p for p in ROOT.iterdir() if (p / "case.json").exists()):
        meta = json.loads((case / "case.json").read_text(encoding="utf-8"))
        expected.append(f"| `{case.name}` | {meta.get('run') or '—'} | {meta['summary']} |")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert rows == expected
