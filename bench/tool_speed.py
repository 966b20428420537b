"""awaitify's speed on one tree, against the LibCST and `ast` parse floors measured in the same run.

For a source tree it runs, each on a fresh copy outside any git work tree:

1. the floors (`bench.floors`, single core): LibCST parse+codegen and `ast.parse` of every `.py` file;
2. `check` (first run), then `check` again on the unchanged tree;
3. `migrate --diff` (writes nothing);
4. `migrate` on a copy;
5. `check` (without its cache) and `migrate --diff` again, with the trees' memory bounded (`--max-tree-mb`,
   `LOW_TREE_MB`): what holding at most one module's tree at a time saves and costs.

`compare_with_stock_codemod` sets `migrate` beside a stock LibCST codemod with scope metadata
(`bench.stock_codemod`, run by `python -m libcst.tool codemod`) on copies of one tree of the size issue 7 quotes.

Each figure: wall and CPU seconds, lines/s, peak RSS, exit code, and the wall ratio to each floor. The ratios
are what the targets of issue 7 are about; absolute seconds drift on a shared machine, so CPU seconds are too.
With several rounds (`make bench` runs 3), each figure is a median of the rounds (see `measure_tree`).
"""

from __future__ import annotations

import compileall
import difflib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.floors import line_count, python_files
from bench.measure import run_measured

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
# The budget of tree memory of the bounded runs: the trees of ~20 KB of source, about one module's at a time.
LOW_TREE_MB = 1


def precompile(directories: list[Path]) -> dict[str, Any]:
    """Byte-compile the measured tools' own modules (awaitify's `codemods/`, the stock codemod in `bench/`), as
    installing a wheel with pip does: an editable install has no `.pyc` files, and where the environment sets
    PYTHONDONTWRITEBYTECODE (as these machines do), every run would compile ~12,000 lines of awaitify before
    starting (measured 2026-12-06: importing `codemods.cli` and `codemods.engine` 0.25-0.35 s from source, 0.15-0.21 s
    from `.pyc`; each rewrite worker 0.03 s more). The dependencies' `.pyc` files come with their install."""
    done = {directory.name: compileall.compile_dir(directory, quiet=1) for directory in directories}
    if not all(done.values()):
        raise RuntimeError(f"byte-compiling failed: {done}")
    return {"byte_compiled": sorted(done), "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "")}


def copy_tree(source: Path, dest: Path) -> Path:
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


def run_awaitify(args: list[str], cwd: Path, timeout: float, cache_home: Path) -> dict[str, Any]:
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


def measure_tree(label: str, source: Path, jobs: int, timeout: float, rounds: int = 1) -> dict[str, Any]:
    """All tool-speed figures of one tree (see the module docstring), in `rounds` rounds one after the other, each
    measuring the floors and then every run. Each figure is the round with the median wall time, and each ratio
    the median of the rounds' own ratios (a run against the floors of its round): on a shared machine, one slow
    moment then moves a figure less. The rounds' values are kept beside (`*_rounds`)."""
    with tempfile.TemporaryDirectory(prefix=f"awaitify-bench-{label}-") as tmp:
        work = Path(tmp)
        check_tree = copy_tree(source, work / "check")
        files = python_files(check_tree)
        lines = line_count(files)
        trees_held = _floor("ast-kept", check_tree, timeout)
        measured = [_round(label, index, source, work, check_tree, jobs, timeout) for index in range(rounds)]
        changed = sum((work / "migrate" / p.relative_to(check_tree)).read_bytes() != p.read_bytes() for p in files)
    floors = {name: _median_round([m[0][name] for m in measured]) for name in measured[0][0]}
    runs: dict[str, dict[str, Any]] = {}
    for key in measured[0][1]:
        samples = [_with_ratios(dict(m[1][key]), lines, m[0]) for m in measured]
        run = _median_round(samples)
        for field in ("x_libcst_floor", "x_libcst_floor_cpu", "x_ast_floor", "x_ast_floor_cpu", "lines_per_s"):
            values = [sample[field] for sample in samples]
            run[field] = _median(values)
            run[f"{field}_rounds"] = values
        runs[key] = run
    rerun_ratios = [m[1]["check_rerun"]["wall_s"] / m[1]["check"]["wall_s"] for m in measured]
    return {
        "label": label,
        "files": len(files),
        "lines": lines,
        "jobs": jobs,
        "rounds": rounds,
        "files_changed_by_migrate": changed,
        "floors": floors,
        # peak RSS of a process that only parses every file with `ast` and keeps the trees
        "trees_held_rss_mib": trees_held["peak_rss_mib"],
        "runs": runs,
        "targets": targets(floors, runs, _median(rerun_ratios)),
    }


def _round(
    label: str, index: int, source: Path, work: Path, check_tree: Path, jobs: int, timeout: float
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """One round: the floors, then the start-up alone (`awaitify --version`), `check`, `check` again, `migrate
    --diff`, `migrate` (on a fresh copy), and `check` and `migrate --diff` with the trees' memory bounded."""
    logger.info("%s, round %d: floors", label, index + 1)
    floors = {"libcst": _floor("libcst", check_tree, timeout), "ast": _floor("ast", check_tree, timeout)}
    jobs_args = ["--jobs", str(jobs)]
    runs: dict[str, dict[str, Any]] = {}
    cache_home = work / f"cache-{index}"  # empty: the first check of the round is a cold one
    logger.info("%s, round %d: start-up, check, check again, migrate --diff, migrate", label, index + 1)
    # the fixed cost of every run (the interpreter and the command line's imports): what a small tree's ratios show
    runs["startup"] = run_awaitify(["--version"], check_tree, timeout, cache_home)
    runs["check"] = run_awaitify(["check", *jobs_args, "."], check_tree, timeout, cache_home)
    runs["check_rerun"] = run_awaitify(["check", *jobs_args, "."], check_tree, timeout, cache_home)
    runs["migrate_diff"] = run_awaitify(["migrate", "--diff", *jobs_args, "."], check_tree, timeout, cache_home)
    migrate_tree = work / "migrate"
    shutil.rmtree(migrate_tree, ignore_errors=True)
    runs["migrate"] = run_awaitify(["migrate", *jobs_args, "."], copy_tree(source, migrate_tree), timeout, cache_home)
    bounded = ["--max-tree-mb", str(LOW_TREE_MB), *jobs_args, "."]
    runs["check_low_memory"] = run_awaitify(["check", "--no-cache", *bounded], check_tree, timeout, cache_home)
    runs["migrate_diff_low_memory"] = run_awaitify(["migrate", "--diff", *bounded], check_tree, timeout, cache_home)
    return floors, runs


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), 3) if known else None


def _median_round(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample with the median wall time (the lower middle one of an even number), with every round's wall."""
    ordered = sorted(samples, key=lambda sample: sample["wall_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["wall_s_rounds"] = [sample["wall_s"] for sample in samples]
    return chosen


def targets(
    floors: dict[str, dict[str, Any]], runs: dict[str, dict[str, Any]], rerun_ratio: float | None
) -> dict[str, dict[str, Any]]:
    """Issue 7's targets, as met / not met (a benchmark, never an assertion). `rerun_ratio`: `check` again over
    the first `check` (the median of the rounds' ratios)."""

    def verdict(value: float | None, limit: float, what: str) -> dict[str, Any]:
        return {"target": what, "value": value, "limit": limit, "met": value is not None and value <= limit}

    check, migrate = runs["check"], runs["migrate"]
    return {
        "migrate_vs_libcst": verdict(migrate.get("x_libcst_floor"), 0.5, "migrate wall <= 0.5x LibCST parse+codegen"),
        "check_vs_ast": verdict(check.get("x_ast_floor"), 3.0, "check wall <= 3x ast.parse"),
        "check_rerun_vs_check": verdict(
            round(rerun_ratio, 3) if rerun_ratio is not None else None,
            0.1,
            "check re-run on an unchanged tree <= 0.1x the first check",
        ),
    }


STOCK_CODEMOD = "bench.stock_codemod.AwaitSessionCalls"


def compare_with_stock_codemod(source: Path, jobs: int, timeout: float, rounds: int = 1) -> dict[str, Any]:
    """`awaitify migrate` and the stock codemod, each on a fresh copy of `source`, with `jobs` processes each, in
    `rounds` rounds of one run of each: their wall and CPU seconds (the round with the median wall time), peak RSS,
    how many files and lines each changed, and the median of the rounds' speed-ups."""
    with tempfile.TemporaryDirectory(prefix="awaitify-bench-stock-") as tmp:
        work = Path(tmp)
        original = copy_tree(source, work / "original")
        files = python_files(original)
        lines = line_count(files)
        stocks, migrates = [], []
        for index in range(rounds):
            logger.info(
                "round %d: stock LibCST codemod, then awaitify migrate, on %d files, %d lines",
                index + 1,
                len(files),
                lines,
            )
            stocks.append(_stock_codemod(source, work / f"stock-{index}", original, files, jobs, timeout))
            awaitify_tree = copy_tree(source, work / f"awaitify-{index}")
            migrate = run_awaitify(["migrate", "--jobs", str(jobs), "."], awaitify_tree, timeout, work / "cache")
            migrate["files_changed"], migrate["lines_changed"] = changes(original, awaitify_tree, files)
            migrates.append(migrate)
    speedups = [
        stock["wall_s"] / migrate["wall_s"] if migrate["wall_s"] else None
        for stock, migrate in zip(stocks, migrates, strict=True)
    ]
    speedup = _median(speedups)
    return {
        "files": len(files),
        "lines": lines,
        "jobs": jobs,
        "rounds": rounds,
        "stock": _median_round(stocks),
        "awaitify": _median_round(migrates),
        "speedup": round(speedup, 1) if speedup is not None else None,
        "speedup_rounds": [round(value, 2) if value is not None else None for value in speedups],
    }


def _stock_codemod(
    source: Path, dest: Path, original: Path, files: list[Path], jobs: int, timeout: float
) -> dict[str, Any]:
    stock_tree = copy_tree(source, dest)
    cmd = [sys.executable, "-m", "libcst.tool", "codemod", "-x", STOCK_CODEMOD, "--no-format", "-j", str(jobs), "."]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    measured = run_measured(cmd, stock_tree, timeout, env=env)
    stock = measured.summary()
    stock["command"] = "python -m libcst.tool codemod -x " + " ".join(cmd[5:])
    stock["crashed"] = measured.returncode != 0 or "Traceback" in measured.stderr_tail
    if stock["crashed"] or measured.timed_out:
        logger.warning("stock codemod: exit %s\n%s", measured.returncode, measured.stderr_tail)
    stock["files_changed"], stock["lines_changed"] = changes(original, stock_tree, files)
    return stock


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
