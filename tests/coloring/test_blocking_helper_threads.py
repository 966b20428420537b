"""Where the blocking helpers of coloring/blocking_helpers_without_clients run once migrated: the event loop's thread,
or a worker thread. Recorded per call (`urllib.request.urlopen`, `time.sleep`), not timed.

- The expected tree (the rewrite) runs every such call in a worker thread, as the sync routes did, except the one
  construction AWT220 flags (`CoverArtClient(cover_server.base_url())`): that one runs on the loop until it is
  fixed by hand, as its marker says.
- The same tree with the calls left as awaitify 31243f9 left them (`fetch_cover(url)`, not
  `await asyncio.to_thread(fetch_cover, url)`: the helpers' modules were not analysed, nothing was said; the code is
  what it wrote, but for an unused `import asyncio` and the one marker) runs every one of them on the event loop,
  where each holds every other request while the cover server answers.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from coloring_harness import (
    CASES_DIR,
    _async_client,
    _project_engines,
    copy_tree,
    loaded_project,
    reset_database,
    sqlite_database,
)

CASE = CASES_DIR / "blocking_helpers_without_clients"
# `await asyncio.to_thread(fn, a, b)` -> `fn(a, b)`: what the migration wrote before these helpers were analysed
_IN_A_THREAD = re.compile(r"await asyncio\.to_thread\((?P<fn>[\w.]+)(?:, (?P<args>[^()]*))?\)")

Calls = list[tuple[str, bool]]  # (what was called, whether it ran on the event loop's thread)


def _recording(name: str, function: Callable[..., Any], calls: Calls, loop_thread: int) -> Callable[..., Any]:
    def record(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, threading.get_ident() == loop_thread))
        return function(*args, **kwargs)

    return record


async def _calls_per_request(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Calls]:
    db = sqlite_database(tmp_path / "covers.db")
    reset_database(db)
    calls: Calls = []
    loop_thread = threading.get_ident()  # the test runs on the event loop's thread
    monkeypatch.setattr(urllib.request, "urlopen", _recording("urlopen", urllib.request.urlopen, calls, loop_thread))
    monkeypatch.setattr(time, "sleep", _recording("sleep", time.sleep, calls, loop_thread))
    per_request: dict[str, Calls] = {}
    with loaded_project(root, db.env_url) as entry:
        async with _async_client(entry.app) as client:
            for path in ("/covers/labels", "/covers/client"):
                calls.clear()
                response = await client.get(path)
                assert response.status_code == 200, response.text
                per_request[path] = sorted(calls)
        for engine in _project_engines(root):
            await engine.dispose()
    return per_request


async def test_the_rewrite_runs_the_helpers_in_worker_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_tree(CASE / "expected", tmp_path / "expected")
    calls = await _calls_per_request(root, tmp_path, monkeypatch)
    # three covers fetched through labels.cover_label, and the service's backoff before its query
    assert calls["/covers/labels"] == [("sleep", False), *[("urlopen", False)] * 3]
    # the two constructions and cover_for fetch; the flagged construction (an argument the rewrite cannot move)
    # is the one call on the loop
    assert calls["/covers/client"] == [("sleep", False), ("urlopen", False), ("urlopen", False), ("urlopen", True)]


async def test_the_calls_left_as_they_were_run_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_tree(CASE / "expected", tmp_path / "left")
    for path in root.rglob("*.py"):
        text = path.read_text()
        path.write_text(_IN_A_THREAD.sub(lambda m: f"{m['fn']}({m['args'] or ''})", text))
    assert "to_thread" not in "".join(p.read_text() for p in root.rglob("*.py"))
    calls = await _calls_per_request(root, tmp_path, monkeypatch)
    assert calls["/covers/labels"] == [("sleep", True), *[("urlopen", True)] * 3]
    assert calls["/covers/client"] == [("sleep", True), *[("urlopen", True)] * 3]
