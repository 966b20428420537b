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


def test_the_paired_single_client_comparison() -> None:
    from bench.runtime import paired_summary

    summary = paired_summary([300.0, 280.0, 310.0, None], [330.0, 266.0, 341.0, 320.0])
    assert summary["sync_median_rps"] == 300.0 and summary["async_median_rps"] == 325.0
    # the round without a sync figure has no ratio; 330/300, 266/280, 341/310
    assert (summary["ratio_median"], summary["ratio_min"], summary["ratio_max"]) == (1.1, 0.95, 1.1)
    rt = {"paired_single_client": {"rounds": 4, "duration_s": 4.0, "cache_on": summary}}
    note = "\n".join(report._paired_note(rt))
    assert "4 rounds of one 4 s window each, in alternation" in note
    assert "- cache on: sync 300.00 req/s, async 325.00 req/s (medians); async / sync per round: median 1.10" in note
    assert "cache off" not in note
    assert report._paired_note({}) == []


def _tree(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    floor = {"wall_s": 0.03, "cpu_s": 0.03, "peak_rss_mib": 50}
    verdict = {"target": "t", "value": 1.0, "limit": 3.0, "met": True}
    return {
        "label": "small",
        "files": 59,
        "lines": 3643,
        "jobs": 2,
        "files_changed_by_migrate": 24,
        "floors": {"libcst": floor, "ast": floor},
        "runs": runs,
        "targets": {"check_vs_ast": verdict},
    }


def _run(wall: float) -> dict[str, Any]:
    return {
        "wall_s": wall,
        "cpu_s": wall,
        "lines_per_s": 3643 / wall,
        "x_libcst_floor": wall / 0.03,
        "x_libcst_floor_cpu": wall / 0.03,
        "x_ast_floor": wall / 0.03,
        "x_ast_floor_cpu": wall / 0.03,
        "peak_rss_mib": 52,
        "peak_tree_rss_mib": 60,
        "returncode": 0,
        "crashed": False,
        "timed_out": False,
    }


def test_the_start_up_is_set_beside_the_runs() -> None:
    runs = {key: _run(0.2) for key in ("check", "check_rerun", "migrate_diff", "migrate")}
    text = "\n".join(report._tool_section({"small": _tree({"startup": _run(0.15), **runs})}))
    assert "| start-up alone (`awaitify --version`) | 0.15 |" in text
    assert "takes 0.15 s, 5.00x this tree's ast floor and 75% of `check`" in text


def test_results_from_before_the_start_up_was_measured_still_render() -> None:
    runs = {key: _run(0.2) for key in ("check", "check_rerun", "migrate_diff", "migrate")}
    text = "\n".join(report._tool_section({"small": _tree(runs)}))
    assert "| check | 0.20 |" in text and "start-up" not in text.lower()


def test_memory_scaling_is_over_the_runs_that_read_the_tree() -> None:
    from bench.run import _memory_scaling

    def tree(lines: int, rss: dict[str, float]) -> dict[str, Any]:
        return {"lines": lines, "runs": {name: {"peak_rss_mib": value} for name, value in rss.items()}}

    small = tree(3643, {"startup": 50, "check": 63, "migrate": 63, "check_low_memory": 40})
    big = tree(198420, {"startup": 50, "check": 489, "migrate": 512, "check_low_memory": 280})
    scaling = _memory_scaling({"generated": big, "target_backend": small})
    assert scaling["rss_ratio_by_run"] == {"check": 7.76, "migrate": 8.13}
    assert scaling["value"] == 8.13 and not scaling["met"]
    # the bounded runs are an option: beside the verdict, not in it
    assert scaling["rss_ratio_bounded"] == {"check_low_memory": 7.0}
    text = "\n".join(report._tool_section({"memory_scaling": scaling}))
    assert "With the trees' memory bounded (`--max-tree-mb 1`), the ratios are {'check_low_memory': 7.0}" in text
