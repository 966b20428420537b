"""A small on-disk cache of `check` results, keyed by a hash of everything that decides them."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from codemods import __version__
from codemods.model import EngineOptions, Finding
from codemods.scope import in_scope

log = logging.getLogger(__name__)

KEEP_ENTRIES = 16  # the newest results kept; older ones are removed when a new one is stored


@functools.cache
def _code_digest() -> str:
    """awaitify's own code: an engine change that keeps the version (a development tree, a patched install)
    must not be answered with findings the old code computed."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class CheckCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(sources: Mapping[str, str], options: EngineOptions) -> str:
        digest = hashlib.sha256()
        header = [
            __version__,
            _code_digest(),
            sorted(options.disabled_rules),
            sorted(options.session_factories),
            repr(options.pytest_asyncio),
        ]
        digest.update(json.dumps(header).encode())
        for path in sorted(sources):
            digest.update(path.encode() + b"\0")
            digest.update(hashlib.sha256(sources[path].encode("utf-8", "surrogatepass")).digest())
        return digest.hexdigest()

    def load(self, key: str) -> dict[str, list[Finding]] | None:
        entry = self.directory / f"{key}.json"
        try:
            raw = json.loads(entry.read_text(encoding="utf-8"))
            return {path: [Finding(**item) for item in items] for path, items in raw.items()}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:  # a damaged entry is a miss, never an error
            log.debug("ignoring unreadable cache entry %s: %s", entry, exc)
            return None

    def store(self, key: str, result: Mapping[str, list[Finding]]) -> None:
        payload = {path: [vars(f) for f in findings] for path, findings in result.items()}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle)
            os.replace(tmp, self.directory / f"{key}.json")
            entries = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in entries[KEEP_ENTRIES:]:
                stale.unlink(missing_ok=True)
        except OSError as exc:  # a read-only cache location only costs speed
            log.debug("check cache not written: %s", exc)


def cached_findings(
    sources: Mapping[str, str], options: EngineOptions, analysed: Callable[[], dict[str, list[Finding]]]
) -> dict[str, list[Finding]]:
    """The findings of the tree, from the cache in `options.cache_dir` when it has them, else `analysed()`
    (then stored). Light on purpose: a cache hit never imports the engine (LibCST alone takes 0.1 s to import).

    With `--only`, the findings of the files in scope (the whole project is still analysed)."""
    if options.cache_dir is None:
        return _in_scope(analysed(), options.only)
    cache = CheckCache(Path(options.cache_dir))
    key = cache.key(sources, options)
    result = cache.load(key)
    if result is None:
        result = analysed()
        cache.store(key, result)
    return _in_scope(result, options.only)


def _in_scope(result: dict[str, list[Finding]], only: tuple[str, ...]) -> dict[str, list[Finding]]:
    if not only:
        return result
    return {
        path: findings
        for path, findings in result.items()
        if in_scope(path, only) or any(f.code == "AWT000" for f in findings)  # failures stay failures
    }
