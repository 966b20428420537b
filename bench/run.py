"""`make bench`: awaitify's speed against the parse floors, and the migrated backend under load (issue 7).

`python -m bench.run [--domains N] [--duration S] [--skip-tool] [--skip-runtime]` from the repository root
writes `bench/results.json`, `bench/results.md` and `bench/plot.png`. Targets are reported as met / not met,
never asserted. Load points: 8 s measured after 2 s warm-up, 16 points (2 backends x 2 cache modes x 4
concurrencies), about 4 minutes of load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench import memory_by_size, report, runtime, tool_speed  # noqa: E402

logger = logging.getLogger("bench")

HEADLINE_CONCURRENCY = 64


def _generate(dest: Path, domains: int) -> None:
    sys.path.insert(0, str(REPO_ROOT / "fixtures" / "bench"))
    from generate_repo import generate  # type: ignore[import-not-found]  # (on the path at run time only)

    generate(dest, domains=domains)


def _git_state() -> dict[str, Any]:
    """The commit measured, and whether `codemods/` had uncommitted changes (they were measured too)."""
    import subprocess

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
        return proc.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "codemods_dirty": bool(git("status", "--porcelain", "codemods")),
    }


def _memory_scaling(tool: dict[str, Any]) -> dict[str, Any]:
    """Issue 7's "memory flat in repo size": peak RSS of the big tree over the small one, per command."""
    big, small = tool["generated"], tool["target_backend"]
    ratios = {
        name: round(big["runs"][name]["peak_rss_mib"] / small["runs"][name]["peak_rss_mib"], 2)
        for name in big["runs"]
        if name != "startup" and small["runs"][name]["peak_rss_mib"]  # the start-up reads no tree
    }
    # the runs with the trees' memory bounded are an option, not the default: reported apart
    per_run = {name: ratio for name, ratio in ratios.items() if not name.endswith("_low_memory")}
    worst = max(per_run.values(), default=None)
    return {
        "target": "peak RSS flat in repo size (generated vs target_backend, largest process)",
        "lines_ratio": round(big["lines"] / small["lines"], 1),
        "rss_ratio_by_run": per_run,
        "rss_ratio_bounded": {name: ratio for name, ratio in ratios.items() if name.endswith("_low_memory")},
        "value": worst,
        "limit": 1.5,
        "met": worst is not None and worst <= 1.5,
    }


def _headline(runtime_results: dict[str, Any]) -> None:
    """runtime.<backend>.{rps,p50_ms,p99_ms} at concurrency 64, cache on (the figures the README quotes)."""
    for name in ("sync", "async"):
        backend = runtime_results.get(name, {})
        points = backend.get("cache_on", {}).get("points", [])
        point: dict[str, Any] = next((p for p in points if p.get("concurrency") == HEADLINE_CONCURRENCY), {})
        backend.update(
            {
                "at_concurrency": HEADLINE_CONCURRENCY,
                "cache": "on",
                "rps": point.get("rps"),
                "p50_ms": point.get("p50_ms"),
                "p99_ms": point.get("p99_ms"),
                "errors": point.get("errors"),
                "sql_per_request": point.get("sql_per_request"),
                "peak_rss_mib": max(backend.get(c, {}).get("peak_rss_mib") or 0 for c in ("cache_on", "cache_off")),
            }
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=265, help="generator scale (265 ~ 2,100 files, 200k lines)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--stock-domains",
        type=int,
        default=23,
        help="scale of the comparison with a stock LibCST codemod (23 ~ 195 files, 17k lines)",
    )
    parser.add_argument(
        "--size-domains",
        type=int,
        nargs="*",
        default=[530],
        help="more generator scales for the memory-by-size curve, beside target_backend/, --stock-domains and "
        "--domains (530 ~ 4,250 files); given no value: no curve",
    )
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per load point")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--tool-timeout", type=float, default=900.0, help="bound of each awaitify run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="tool speed: rounds of floors and runs, one after the other (figures: medians of the rounds)",
    )
    parser.add_argument("--skip-tool", action="store_true")
    parser.add_argument("--skip-runtime", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="RESULTS_JSON",
        help="measure nothing: merge these results files (later ones win) and render them into --out",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.combine:
        return _write(_combined(args.combine), args.out)

    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
            "jobs": args.jobs,
            "domains": args.domains,
            **_git_state(),
        }
    }
    t0 = time.perf_counter()
    if not args.skip_tool:
        results["meta"]["bytecode"] = tool_speed.precompile([REPO_ROOT / "codemods", REPO_ROOT / "bench"])
        with tempfile.TemporaryDirectory(prefix="awaitify-bench-gen-") as tmp:
            generated = Path(tmp) / "generated"
            _generate(generated, args.domains)
            stock_tree = Path(tmp) / "stock-scale"
            _generate(stock_tree, args.stock_domains)
            results["tool_speed"] = {
                "generated": tool_speed.measure_tree("generated", generated, args.jobs, args.tool_timeout, args.rounds),
                "target_backend": tool_speed.measure_tree(
                    "target_backend", REPO_ROOT / "target_backend", args.jobs, args.tool_timeout, args.rounds
                ),
            }
            results["tool_speed"]["memory_scaling"] = _memory_scaling(results["tool_speed"])
            results["stock_codemod"] = tool_speed.compare_with_stock_codemod(
                stock_tree, args.jobs, args.tool_timeout, args.rounds
            )
            if args.size_domains:
                sizes = [
                    ("`target_backend/`", REPO_ROOT / "target_backend"),
                    (f"generated, {args.stock_domains} domains", stock_tree),
                    (f"generated, {args.domains} domains", generated),
                ]
                for domains in args.size_domains:
                    sizes.append((f"generated, {domains} domains", Path(tmp) / f"size-{domains}"))
                    _generate(sizes[-1][1], domains)
                results["memory_by_size"] = memory_by_size.measure(sizes, args.jobs, args.tool_timeout)
    if not args.skip_runtime:
        results["runtime"] = runtime.run(args.concurrency, args.duration, args.warmup, args.tool_timeout)
        _headline(results["runtime"])
    results["meta"]["loadavg_end"] = os.getloadavg()
    results["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    return _write(results, args.out)


def _combined(paths: list[Path]) -> dict[str, Any]:
    """Sections of several runs in one results dictionary; `meta` keeps each run's own under `runs`."""
    merged: dict[str, Any] = {"meta": {"runs": []}}
    for path in paths:
        part = json.loads(path.read_text())
        merged["meta"]["runs"].append({"file": str(path), **part.pop("meta")})
        merged.update(part)
    tool = merged.get("tool_speed")
    if tool and "memory_scaling" not in tool:
        tool["memory_scaling"] = _memory_scaling(tool)
    first, last = merged["meta"]["runs"][0], merged["meta"]["runs"][-1]
    merged["meta"].update(
        {
            "started": first["started"],
            "python": first["python"],
            "cpus": first["cpus"],
            "loadavg_start": first["loadavg_start"],
            "loadavg_end": last["loadavg_end"],
            "commit": ", ".join(str(r.get("commit") or "unrecorded")[:10] for r in merged["meta"]["runs"]),
            "codemods_dirty": any(r.get("codemods_dirty") for r in merged["meta"]["runs"]),
            "total_s": round(sum(r.get("total_s", 0) for r in merged["meta"]["runs"]), 1),
        }
    )
    return merged


def _write(results: dict[str, Any], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out / "results.md").write_text(report.markdown(results))
    if "runtime" in results:
        report.plot(results["runtime"], out / "plot.png")
    logger.info("wrote %s/results.{json,md}%s", out, ", plot.png" if "runtime" in results else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
