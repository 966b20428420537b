"""The engine's public entry points: pure text in, text and findings out (no file I/O here).

`sources` maps a POSIX path relative to the project root (``pkg/mod.py``) to the file's decoded text.
The path gives the module name used to resolve imports across files.
"""

from __future__ import annotations

from collections.abc import Mapping

from codemods.model import EngineOptions, FileOutcome, Finding


def migrate_sources(sources: Mapping[str, str], options: EngineOptions) -> dict[str, FileOutcome]:
    """Rewrite every file of the project; files that need no change come back UNCHANGED."""
    raise NotImplementedError("engine under construction")


def check_sources(sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    """Sync leftovers per file (AWT3xx), with review markers left by a previous migrate."""
    raise NotImplementedError("engine under construction")
