"""`bench.memory_by_size`: the peak RSS of a cold `check` by tree size, and how it grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import memory_by_size, report
from tests.engine.trees import generated_repo


def _point(label: str, lines: int, default: float, bounded: float) -> dict[str, Any]:
    def run(peak: float) -> dict[str, Any]:
        return {"peak_rss_mib": peak, "wall_s": 1.0, "returncode": 1, "crashed": False}

    return {
        "label": label,
        "files": lines // 100,
        "lines": lines,
        "check": run(default),
        "check_low_memory": run(bounded),
    }


def test_growth_is_from_the_second_largest_tree_to_the_largest() -> None:
    points = [
        _point("big", 400_000, 712.0, 256.0),
        _point("small", 3_600, 35.0, 32.0),
        _point("mid", 200_000, 367.0, 141.0),
    ]
    grown = memory_by_size.growth(points)
    assert (grown["from"], grown["to"], grown["lines_ratio"]) == ("mid", "big", 2.0)
    assert grown["check"] == {"rss_ratio": 1.94, "mib_per_1000_lines": 1.725}
    assert grown["check_low_memory"] == {"rss_ratio": 1.82, "mib_per_1000_lines": 0.575}
    assert memory_by_size.growth(points[:1]) == {}


def test_the_curve_is_in_the_markdown() -> None:
    points = [_point("small", 3_600, 35.0, 32.0), _point("mid", 200_000, 367.0, 141.0)]
    by_size = {"jobs": 2, "points": points, "growth": memory_by_size.growth(points)}
    text = report.markdown(
        {
            "meta": {
                "started": "now",
                "cpus": 2,
                "python": "3.11",
                "loadavg_start": [1, 1, 1],
                "loadavg_end": [1, 1, 1],
            },
            "memory_by_size": by_size,
        }
    )
    assert "| mid | 2,000 | 200,000 | 367 | 1.00 | 141 | 1.00 |" in text
    assert "(55.56x the lines), the peak grows x10.49 with the default budget" in text
    assert "flat would be x1.0" in text


def test_two_small_trees_are_measured(tmp_path: Path) -> None:
    trees = [(f"generated, {n} domains", generated_repo(tmp_path / f"g{n}", domains=n)) for n in (2, 1)]
    by_size = memory_by_size.measure(trees, jobs=1, timeout=120)
    assert [point["label"] for point in by_size["points"]] == ["generated, 1 domains", "generated, 2 domains"]
    for point in by_size["points"]:
        assert point["files"] > 0 and point["lines"] > 0
        for key in memory_by_size.RUNS:
            assert point[key]["returncode"] == 1 and not point[key]["crashed"]  # findings: sync code to migrate
            assert point[key]["peak_rss_mib"] > 10
    assert by_size["growth"]["to"] == "generated, 2 domains"
