"""Issue 7's "memory flat in repo size" as a curve: the peak RSS of a cold `check` by the size of the tree.

`tool_speed`'s memory ratio sets the generated repository against `target_backend/`, two trees unlike in kind
(the generator's domains are not the backend's modules). Here the same generator at several sizes (and
`target_backend/` beside them) is checked once each, with the default tree budget and with `--max-tree-mb`
`LOW_TREE_MB`, and the growth from the second largest tree to the largest is reported: how many times the peak
grows for how many times the lines, and the MiB each 1,000 more lines cost. Flat would be a peak that does not
grow (x1.0, 0 MiB per 1,000 lines).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from bench.floors import line_count, python_files
from bench.tool_speed import LOW_TREE_MB, copy_tree, run_awaitify

logger = logging.getLogger(__name__)

# run key -> the options of `check --no-cache` it adds
RUNS: dict[str, list[str]] = {"check": [], "check_low_memory": ["--max-tree-mb", str(LOW_TREE_MB)]}


def measure(trees: list[tuple[str, Path]], jobs: int, timeout: float) -> dict[str, Any]:
    """One cold `check` of each tree per run of `RUNS`, smallest first: the points and their growth."""
    points = []
    for label, source in trees:
        logger.info("memory by size: %s", label)
        with tempfile.TemporaryDirectory(prefix="awaitify-bench-size-") as tmp:
            tree = copy_tree(source, Path(tmp) / "tree")
            files = python_files(tree)
            point: dict[str, Any] = {
                "label": label,
                "files": len(files),
                "lines": line_count(files),
            }
            for key, options in RUNS.items():
                args = ["check", "--no-cache", *options, "--jobs", str(jobs), "."]
                run = run_awaitify(args, tree, timeout, Path(tmp) / "cache")
                point[key] = {name: run[name] for name in ("peak_rss_mib", "wall_s", "returncode", "crashed")}
        points.append(point)
    points.sort(key=lambda point: point["lines"])
    return {"jobs": jobs, "points": points, "growth": growth(points)}


def growth(points: list[dict[str, Any]]) -> dict[str, Any]:
    """From the second largest tree to the largest, per run: x the peak RSS for x the lines, MiB per 1,000 lines."""
    if len(points) < 2:
        return {}
    smaller, larger = sorted(points, key=lambda point: point["lines"])[-2:]
    lines_ratio = larger["lines"] / smaller["lines"]
    out: dict[str, Any] = {"from": smaller["label"], "to": larger["label"], "lines_ratio": round(lines_ratio, 2)}
    for key in RUNS:
        before, after = smaller[key]["peak_rss_mib"], larger[key]["peak_rss_mib"]
        if not before or not after:
            continue
        out[key] = {
            "rss_ratio": round(after / before, 2),
            "mib_per_1000_lines": round((after - before) / ((larger["lines"] - smaller["lines"]) / 1000), 3),
        }
    return out


def markdown(by_size: dict[str, Any]) -> list[str]:
    out = [
        f"### Memory by tree size: a cold `check --no-cache --jobs {by_size['jobs']}`, one run each",
        "",
        "| tree | files | lines | peak RSS MiB, default budget | wall s | peak RSS MiB, `--max-tree-mb "
        f"{LOW_TREE_MB}` | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for point in by_size["points"]:
        cells = [point["label"], f"{point['files']:,}", f"{point['lines']:,}"]
        for key in RUNS:
            run = point[key]
            flag = " (crashed)" if run["crashed"] else ""
            cells += [f"{run['peak_rss_mib']:,.0f}{flag}", f"{run['wall_s']:.2f}"]
        out.append("| " + " | ".join(cells) + " |")
    grown = by_size["growth"]
    if grown.get("check") and grown.get("check_low_memory"):
        default, bounded = grown["check"], grown["check_low_memory"]
        out += [
            "",
            f"From {grown['from']} to {grown['to']} ({grown['lines_ratio']}x the lines), the peak grows "
            f"x{default['rss_ratio']} with the default budget ({default['mib_per_1000_lines']} MiB per 1,000 lines) "
            f"and x{bounded['rss_ratio']} with `--max-tree-mb {LOW_TREE_MB}` ({bounded['mib_per_1000_lines']} MiB "
            "per 1,000 lines); flat would be x1.0.",
        ]
    return [*out, ""]
