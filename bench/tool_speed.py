"""awaitify's speed on one tree, against the LibCST and `ast` parse floors measured in the same run.

For a source tree it runs, each on a fresh copy outside any git work tree:

1. the floors (`bench.floors`, single core): LibCST parse+codegen and `ast.parse` of every `.py` file;
2. `check` (first run), then `check` again on the unchanged tree;
3. `migrate --diff` (writes nothing);
4. `migrate` on a copy.

`compare_with_stock_codemod` sets `migrate` beside a stock LibCST codemod with scope metadata
(`bench.stock_codemod`, run by `python -m libcst.tool codemod`) on copies of one tree of the size issue 7 quotes.

Each figure: wall and CPU seconds, lines/s, peak RSS, exit code, and the wall ratio to each floor. The ratios
are what the targets of issue 7 are about; absolute seconds drift on a shared machine, so CPU seconds are too.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.floors import python_files
from bench.measure import run_measured

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".venv"))
    # the copy on disk before a tool runs: else the first fsync of `migrate`'s atomic writes flushes the whole
    # copy (setting up the bench, not awaitify's work; a user's checkout is not a second old)
    os.sync()
    return dest


def _floor(kind: str, root: Path, timeout: float) -> dict[str, Any]:
    measured = run_measured([sys.executable, "-m", "bench.floors", kind, str(root)], REPO_ROOT, timeout)
    if measured.returncode != 0:
        raise RuntimeError(f"floor {kind} failed: {measured.stderr_tail}")
    data: dict[str, Any] = json.loads(measured.stdout)
    data["peak_rss_mib"] = measured.peak_rss_mib
    return data


def _awaitify(args: list[str], cwd: Path, timeout: float, cache_home: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "codemods", "-q", *args]
    # a cache of its own: the first `check` must not be answered from an earlier run's cache of the same tree
    measured = run_measured(cmd, cwd, timeout, env={**os.environ, "XDG_CACHE_HOME": str(cache_home)})
    summary = measured.summary()
    summary["command"] = "awaitify " + " ".join(args)
    # 0 = clean, 1 = findings / review items / non-empty diff, 2 = errors (ruff's convention).
    summary["crashed"] = measured.returncode not in (0, 1) or "Traceback" in measured.stderr_tail
    summary["stdout_lines"] = measured.stdout.count("\n")
    if summary["crashed"] or measured.timed_out:
        logger.warning("%s: exit %s\n%s", summary["command"], measured.returncode, measured.stderr_tail)
    return summary


def _with_ratios(run: dict[str, Any], lines: int, floors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    wall = run["wall_s"]
    run["lines_per_s"] = round(lines / wall, 1) if wall else None
    for name, floor in floors.items():
        run[f"x_{name}_floor"] = round(wall / floor["wall_s"], 2) if floor["wall_s"] else None
        run[f"x_{name}_floor_cpu"] = round(run["cpu_s"] / floor["cpu_s"], 2) if floor["cpu_s"] else None
    return run


def measure_tree(label: str, source: Path, jobs: int, timeout: float) -> dict[str, Any]:
    """All tool-speed figures of one tree (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix=f"awaitify-bench-{label}-") as tmp:
        work = Path(tmp)
        check_tree = _copy_tree(source, work / "check")
        files = python_files(check_tree)
        lines = sum(p.read_text(encoding="utf-8").count("\n") for p in files)
        logger.info("%s: %d files, %d lines; floors", label, len(files), lines)
        floors = {"libcst": _floor("libcst", check_tree, timeout), "ast": _floor("ast", check_tree, timeout)}
        trees_held = _floor("ast-kept", check_tree, timeout)
        jobs_args = ["--jobs", str(jobs)]
        runs: dict[str, dict[str, Any]] = {}
        logger.info("%s: check", label)
        cache_home = work / "cache"  # empty: the first check is a cold one
        runs["check"] = _awaitify(["check", *jobs_args, "."], check_tree, timeout, cache_home)
        logger.info("%s: check again (unchanged tree)", label)
        runs["check_rerun"] = _awaitify(["check", *jobs_args, "."], check_tree, timeout, cache_home)
        logger.info("%s: migrate --diff", label)
        runs["migrate_diff"] = _awaitify(["migrate", "--diff", *jobs_args, "."], check_tree, timeout, cache_home)
        migrate_tree = _copy_tree(source, work / "migrate")
        logger.info("%s: migrate", label)
        runs["migrate"] = _awaitify(["migrate", *jobs_args, "."], migrate_tree, timeout, cache_home)
        changed = sum((migrate_tree / p.relative_to(check_tree)).read_bytes() != p.read_bytes() for p in files)
        for run in runs.values():
            _with_ratios(run, lines, floors)
    return {
        "label": label,
        "files": len(files),
        "lines": lines,
        "jobs": jobs,
        "files_changed_by_migrate": changed,
        "floors": floors,
        # peak RSS of a process that only parses every file with `ast` and keeps the trees
        "trees_held_rss_mib": trees_held["peak_rss_mib"],
        "runs": runs,
        "targets": targets(floors, runs),
    }


def targets(floors: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Issue 7's targets, as met / not met (a benchmark, never an assertion)."""

    def verdict(value: float | None, limit: float, what: str) -> dict[str, Any]:
        return {"target": what, "value": value, "limit": limit, "met": value is not None and value <= limit}

    check, rerun, migrate = runs["check"], runs["check_rerun"], runs["migrate"]
    return {
        "migrate_vs_libcst": verdict(migrate.get("x_libcst_floor"), 0.5, "migrate wall <= 0.5x LibCST parse+codegen"),
        "check_vs_ast": verdict(check.get("x_ast_floor"), 3.0, "check wall <= 3x ast.parse"),
        "check_rerun_vs_check": verdict(
            round(rerun["wall_s"] / check["wall_s"], 3) if check["wall_s"] else None,
            0.1,
            "check re-run on an unchanged tree <= 0.1x the first check",
        ),
    }


STOCK_CODEMOD = "bench.stock_codemod.AwaitSessionCalls"


def compare_with_stock_codemod(source: Path, jobs: int, timeout: float) -> dict[str, Any]:
    """`awaitify migrate` and the stock codemod, each on a fresh copy of `source`, with `jobs` processes each:
    their wall and CPU seconds, peak RSS, and how many files and lines each changed."""
    with tempfile.TemporaryDirectory(prefix="awaitify-bench-stock-") as tmp:
        work = Path(tmp)
        original = _copy_tree(source, work / "original")
        files = python_files(original)
        lines = sum(p.read_text(encoding="utf-8").count("\n") for p in files)
        stock_tree = _copy_tree(source, work / "stock")
        logger.info("stock LibCST codemod on %d files, %d lines", len(files), lines)
        cmd = [sys.executable, "-m", "libcst.tool", "codemod", "-x", STOCK_CODEMOD, "--no-format", "-j", str(jobs), "."]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        measured = run_measured(cmd, stock_tree, timeout, env=env)
        stock = measured.summary()
        stock["command"] = "python -m libcst.tool codemod -x " + " ".join(cmd[5:])
        stock["crashed"] = measured.returncode != 0 or "Traceback" in measured.stderr_tail
        if stock["crashed"] or measured.timed_out:
            logger.warning("stock codemod: exit %s\n%s", measured.returncode, measured.stderr_tail)
        awaitify_tree = _copy_tree(source, work / "awaitify")
        logger.info("awaitify migrate on the same tree")
        migrate = _awaitify(["migrate", "--jobs", str(jobs), "."], awaitify_tree, timeout, work / "cache")
        for run, tree in ((stock, stock_tree), (migrate, awaitify_tree)):
            run["files_changed"], run["lines_changed"] = changes(original, tree, files)
    return {
        "files": len(files),
        "lines": lines,
        "jobs": jobs,
        "stock": stock,
        "awaitify": migrate,
        "speedup": round(stock["wall_s"] / migrate["wall_s"], 1) if migrate["wall_s"] else None,
    }


def changes(original: Path, rewritten: Path, files: list[Path]) -> tuple[int, int]:
    """Files that differ between the two trees, and lines changed in them (a changed line counts once)."""
    changed_files = changed_lines = 0
    for path in files:
        before = path.read_text(encoding="utf-8").splitlines()
        after = (rewritten / path.relative_to(original)).read_text(encoding="utf-8").splitlines()
        if before == after:
            continue
        changed_files += 1
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        changed_lines += sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return changed_files, changed_lines
