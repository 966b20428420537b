"""The benchmark's markdown names the points where a backend answered nothing, and why."""

from __future__ import annotations

from typing import Any

from bench import report


def _runtime(sync_rps: float, async_rps: float) -> dict[str, Any]:
    def backend(rps: float) -> dict[str, Any]:
        points = [{"rps": 300.0, "errors": 0}, {"rps": rps, "errors": 0 if rps else 64}]
        return {"cache_on": {"points": points}, "cache_off": {"points": points}}

    return {"concurrency": [1, 64], "sync": backend(sync_rps), "async": backend(async_rps)}


def test_points_with_no_answer_are_named_as_the_original_deadlocking() -> None:
    note = "\n".join(report._stalled_note(_runtime(0.0, 410.0)))
    assert "sync at 64 (cache on), sync at 64 (cache off)" in note
    assert "deadlocks" in note and "async at" not in note


def test_an_async_point_with_no_answer_is_not_explained_away() -> None:
    note = "\n".join(report._stalled_note(_runtime(0.0, 0.0)))
    assert "async at 64 (cache on)" in note
    assert "deadlocks" not in note and "server log" in note


def test_no_note_when_every_point_answered() -> None:
    assert report._stalled_note(_runtime(250.0, 410.0)) == []
