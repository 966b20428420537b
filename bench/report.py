"""`bench/results.md` and `bench/plot.png` from the results dictionary of `bench.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import memory_by_size

_RUN_LABELS = {
    "startup": "start-up alone (`awaitify --version`)",
    "check": "check",
    "check_rerun": "check (again, unchanged tree)",
    "migrate_diff": "migrate --diff",
    "migrate": "migrate",
    "check_low_memory": "check, trees bounded (`--max-tree-mb 1 --no-cache`)",
    "migrate_diff_low_memory": "migrate --diff, trees bounded (`--max-tree-mb 1`)",
}


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _tool_section(tool: dict[str, Any]) -> list[str]:
    out = ["## Tool speed", ""]
    for key, tree in tool.items():
        if key == "memory_scaling":
            continue
        floors = tree["floors"]
        out += [
            f"### {tree['label']}: {tree['files']:,} files, {tree['lines']:,} lines, `--jobs {tree['jobs']}`"
            f" ({tree['files_changed_by_migrate']:,} files rewritten by migrate)",
            "",
            "| run | wall s | CPU s | lines/s | x LibCST floor (wall / CPU) | x ast floor (wall / CPU) "
            "| peak RSS MiB (largest process / tree) | exit |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, floor in floors.items():
            out.append(
                f"| floor: {'LibCST parse_module + .code' if name == 'libcst' else 'ast.parse'} (1 core) "
                f"| {_fmt(floor['wall_s'])} | {_fmt(floor['cpu_s'])} "
                f"| {_fmt(tree['lines'] / floor['wall_s'], 0)} "
                f"| | | {_fmt(floor['peak_rss_mib'], 0)} | 0 |"
            )
        for key, label in _RUN_LABELS.items():
            run = tree["runs"].get(key)
            if run is None:  # results of a bench from before the run was measured
                continue
            flag = " (crashed)" if run["crashed"] else (" (timed out)" if run["timed_out"] else "")
            out.append(
                f"| {label} | {_fmt(run['wall_s'])} | {_fmt(run['cpu_s'])} | {_fmt(run['lines_per_s'], 0)} "
                f"| {_fmt(run['x_libcst_floor'])} / {_fmt(run['x_libcst_floor_cpu'])} "
                f"| {_fmt(run['x_ast_floor'])} / {_fmt(run['x_ast_floor_cpu'])} "
                f"| {_fmt(run['peak_rss_mib'], 0)} / {_fmt(run['peak_tree_rss_mib'], 0)} "
                f"| {run['returncode']}{flag} |"
            )
        if tree.get("rounds", 1) > 1:
            check, migrate = tree["runs"]["check"], tree["runs"]["migrate"]
            out += [
                "",
                f"Medians of {tree['rounds']} rounds, one after the other (each: the floors, then every run; a "
                "ratio is a run against the floors of its own round). Per round: `check` "
                f"{_rounds(check.get('x_ast_floor_rounds'))}x the ast floor, `migrate` "
                f"{_rounds(migrate.get('x_libcst_floor_rounds'))}x the LibCST floor; floors "
                f"{_rounds(tree['floors']['ast'].get('wall_s_rounds'))} s (ast) and "
                f"{_rounds(tree['floors']['libcst'].get('wall_s_rounds'))} s (LibCST).",
            ]
        out += _startup_note(tree)
        if "trees_held_rss_mib" in tree:
            out += [
                "",
                "Holding every module's `ast` tree at once, and nothing else: "
                f"{_fmt(tree['trees_held_rss_mib'], 0)} MiB peak RSS "
                "(the analysis holds those of the modules it reads: bench/README.md).",
            ]
        out += ["", "| target (issue 7) | measured | limit | met |", "|---|---:|---:|---|"]
        for target in tree["targets"].values():
            met = "**met**" if target["met"] else "not met"
            out.append(f"| {target['target']} | {_fmt(target['value'])}x | {target['limit']}x | {met} |")
        out.append("")
    scaling = tool.get("memory_scaling")
    if scaling:
        met = "**met**" if scaling["met"] else "not met"
        out += [
            f"Memory: {scaling['target']}: the generated tree has {scaling['lines_ratio']}x the lines; "
            f"peak RSS ratios {scaling['rss_ratio_by_run']} (limit {scaling['limit']}x): {met}.",
            "",
        ]
        if scaling.get("rss_ratio_bounded"):
            out += [
                f"With the trees' memory bounded (`--max-tree-mb 1`), the ratios are {scaling['rss_ratio_bounded']}: "
                "what is left grows with the symbol tables and facts of the whole project (bench/README.md).",
                "",
            ]
    return out


def _startup_note(tree: dict[str, Any]) -> list[str]:
    """What the fixed cost of a run is worth on this tree: on a small one it, not the parse, sets the ratios."""
    startup, check = tree["runs"].get("startup"), tree["runs"]["check"]
    if not startup or not startup["wall_s"] or not check["wall_s"]:
        return []
    return [
        "",
        f"Start-up alone (`awaitify --version`: the interpreter and the command line's imports) takes "
        f"{_fmt(startup['wall_s'])} s, {_fmt(startup['x_ast_floor'])}x this tree's ast floor and "
        f"{startup['wall_s'] / check['wall_s']:.0%} of `check`: every run pays it (and `migrate` its engine's and "
        "LibCST's imports besides), whatever the size of the tree.",
    ]


def _stock_section(compared: dict[str, Any]) -> list[str]:
    """awaitify beside a stock LibCST codemod with scope metadata, on one tree (issue 7: "more than an order of
    magnitude faster on that size while doing more")."""
    out = [
        f"### Scale: a stock LibCST codemod with scope metadata and awaitify, {compared['files']:,} files, "
        f"{compared['lines']:,} lines, {compared['jobs']} processes each",
        "",
        "The stock codemod (`bench/stock_codemod.py`, run by `python -m libcst.tool codemod`) resolves LibCST's "
        "`ScopeProvider` and `QualifiedNameProvider` for every module and only awaits the I/O calls of sessions "
        "it sees in that module (and makes their functions async); `migrate` does the whole migration.",
        "",
        "| tool | wall s | CPU s | peak RSS MiB (largest process / tree) | files changed | lines changed | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (("stock", "stock LibCST codemod"), ("awaitify", "awaitify migrate")):
        run = compared[key]
        flag = " (crashed)" if run["crashed"] else (" (timed out)" if run["timed_out"] else "")
        out.append(
            f"| {label} | {_fmt(run['wall_s'])} | {_fmt(run['cpu_s'])} "
            f"| {_fmt(run['peak_rss_mib'], 0)} / {_fmt(run['peak_tree_rss_mib'], 0)} "
            f"| {run['files_changed']:,} | {run['lines_changed']:,} | {run['returncode']}{flag} |"
        )
    speedup = compared["speedup"]
    verdict = "more than" if speedup is not None and speedup > 10 else "not"
    rounds = ""
    if compared.get("rounds", 1) > 1:
        rounds = f" (the median of {compared['rounds']} rounds: {_rounds(compared.get('speedup_rounds'))}x)"
    out += [
        "",
        f"awaitify is {_fmt(speedup, 1)}x faster than the stock codemod here (wall){rounds}: {verdict} an order of "
        "magnitude.",
        "",
    ]
    return out


def _rounds(values: list[float | None] | None) -> str:
    return " / ".join(_fmt(value) for value in values or [])


def _paired_note(rt: dict[str, Any]) -> list[str]:
    """The single-client comparison made in alternating windows (see bench.runtime._paired_single_client)."""
    paired = rt.get("paired_single_client")
    if not paired:
        return []
    out = [
        f"Concurrency 1, paired: both backends up, {paired['rounds']} rounds of one {paired['duration_s']:g} s "
        "window each, in alternation (the order swapped every round; data reseeded and cache flushed before each "
        "window), since the table's series run one backend after the other and a shared machine drifts between "
        "them:",
        "",
    ]
    for cache in ("cache_on", "cache_off"):
        summary = paired.get(cache)
        if not summary:
            continue
        out.append(
            f"- cache {cache.removeprefix('cache_')}: sync {_fmt(summary['sync_median_rps'])} req/s, async "
            f"{_fmt(summary['async_median_rps'])} req/s (medians); async / sync per round: median "
            f"{_fmt(summary['ratio_median'])}, from {_fmt(summary['ratio_min'])} to {_fmt(summary['ratio_max'])}."
        )
    return [*out, ""]


def _runtime_section(rt: dict[str, Any]) -> list[str]:
    out = [
        "## Runtime: sync original vs migrated `target_backend/` (PostgreSQL, one uvicorn process each)",
        "",
        f"Closed loop, {rt['duration_s']:g} s measured after {rt['warmup_s']:g} s warm-up per point; "
        "mix: 30% list, 30% search, 30% detail, 10% write (see `bench/load.py`). Percentiles cover every "
        "request, failed and unanswered ones included; ≥ marks a p99 that falls on a failed or unanswered "
        "request (a lower bound). SQL and CPU per request are deltas of the server's counters over the "
        "window (approximate at high concurrency: requests straddle its ends). Load generator CPU: the whole "
        "`bench.load` process (start-up included), which must stay well under a core for the point to measure "
        "the backend.",
        "",
        f"Headline (concurrency {rt['sync'].get('at_concurrency')}, cache on): "
        f"sync {_fmt(rt['sync'].get('rps'))} req/s, p99 {_fmt(rt['sync'].get('p99_ms'))} ms; "
        f"async {_fmt(rt['async'].get('rps'))} req/s, "
        f"p99 {_fmt(rt['async'].get('p99_ms'))} ms.",
        "",
        "| cache | concurrency | backend | req/s | p50 ms | p99 ms | errors | SQL / request "
        "| server CPU ms / request | server peak RSS MiB | load generator CPU s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cache in ("cache_on", "cache_off"):
        for index, concurrency in enumerate(rt["concurrency"]):
            for name in ("sync", "async"):
                points = rt.get(name, {}).get(cache, {}).get("points", [])
                p = points[index] if index < len(points) else {}
                if p.get("failed"):
                    out.append(f"| {cache[6:]} | {concurrency} | {name} | load run failed | | | | | | | |")
                    continue
                out.append(
                    f"| {cache[6:]} | {concurrency} | {name} | {_fmt(p.get('rps'))} "
                    f"| {_fmt(p.get('p50_ms'))} "
                    f"| {'≥ ' if p.get('p99_is_lower_bound') else ''}{_fmt(p.get('p99_ms'))} "
                    f"| {_fmt(p.get('errors'))} | {_fmt(p.get('sql_per_request'))} "
                    f"| {_fmt(p.get('server_cpu_ms_per_request'), 1)} "
                    f"| {_fmt(p.get('server_peak_rss_mib'), 0)} | {_fmt(p.get('loadgen_cpu_s'), 1)} |"
                )
    out += _stalled_note(rt)
    out += _paired_note(rt)
    out += _census_table(rt)
    for name in ("sync", "async"):
        for cache in ("cache_on", "cache_off"):
            logged = rt.get(name, {}).get(cache, {}).get("server_errors_logged")
            if logged:
                out.append(f"\nServer log of {name} ({cache}): {logged}")
    out.append("")
    return out


def _stalled_note(rt: dict[str, Any]) -> list[str]:
    """Points where a backend answered nothing in the window: named as what they are (see bench/README.md)."""
    stalled = [
        f"{name} at {concurrency} (cache {cache[6:]})"
        for name in ("sync", "async")
        for cache in ("cache_on", "cache_off")
        for concurrency, p in zip(rt["concurrency"], rt.get(name, {}).get(cache, {}).get("points", []), strict=False)
        if not p.get("failed") and p.get("rps") == 0 and p.get("errors")
    ]
    if not stalled:
        return []
    why = "its server log below says what it waited on"
    if all(point.startswith("sync ") for point in stalled):
        why = (
            "the sync original deadlocks at that load (sync I/O on the event loop in an `async def` endpoint from 64 "
            "clients, FastAPI's threadpool/connection-pool deadlock at 256: `bench/README.md` has the diagnosis), "
            "which the migration removes; not a load generator artefact"
        )
    return ["", f"No request answered in the window: {', '.join(stalled)}; {why}."]


def _census_table(rt: dict[str, Any]) -> list[str]:
    """SQL statements per endpoint, one request at a time (second call; the first in parentheses)."""
    sync = rt.get("sync", {}).get("cache_off", {}).get("sql_per_endpoint", {})
    migrated = rt.get("async", {}).get("cache_off", {}).get("sql_per_endpoint", {})
    if not sync and not migrated:
        return []
    out = [
        "",
        "SQL statements per endpoint, cache off, one request at a time "
        "(second call; the first in parentheses when it differs):",
        "",
        "| endpoint | kind | sync | async | HTTP status (sync / async) |",
        "|---|---|---:|---:|---|",
    ]

    def cell(entry: dict[str, Any] | None) -> str:
        if not entry:
            return "-"
        first, second = entry["sql"]
        return f"{second}" + (f" ({first})" if first != second else "")

    for name in sorted(set(sync) | set(migrated)):
        a, b = sync.get(name), migrated.get(name)
        kind = (a or b or {}).get("kind", "")
        status = f"{(a or {}).get('status', ['-'])[-1]} / {(b or {}).get('status', ['-'])[-1]}"
        flag = " **more SQL after migration**" if a and b and b["sql"][1] > a["sql"][1] else ""
        path = (a or b or {}).get("path", name)
        out.append(f"| `{path}` | {kind} | {cell(a)} | {cell(b)}{flag} | {status} |")
    return out


def _commit_line(meta: dict[str, Any]) -> str:
    commit = str(meta.get("commit", "?"))
    line = (
        f"awaitify at commits `{commit}` (one per merged run)"
        if "," in commit
        else f"awaitify at commit `{commit[:10]}`"
    )
    if meta.get("codemods_dirty"):
        line += " with uncommitted changes in `codemods/` (measured as they were)"
    return line + "."


def _bytecode_line(bytecode: dict[str, Any]) -> str:
    compiled = ", ".join(f"`{name}/`" for name in bytecode["byte_compiled"])
    return (
        f"The tools' own modules ({compiled}) were byte-compiled before measuring, as a pip install of a wheel does"
        + (
            " (this machine sets PYTHONDONTWRITEBYTECODE: from source, every run compiles them first)."
            if bytecode.get("PYTHONDONTWRITEBYTECODE")
            else "."
        )
    )


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# awaitify benchmarks",
        "",
        f"Run {meta['started']} on {meta['cpus']} CPUs, Python {meta['python']}, "
        f"{meta.get('total_s', '?')} s in all; load average at start "
        f"{', '.join(f'{x:.1f}' for x in meta['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.1f}' for x in meta['loadavg_end'])} "
        "(a shared machine: compare ratios, not seconds).",
        "",
        _commit_line(meta),
        "",
    ]
    if meta.get("bytecode"):
        lines += [_bytecode_line(meta["bytecode"]), ""]
    if "tool_speed" in results:
        lines += _tool_section(results["tool_speed"])
    if "memory_by_size" in results:
        lines += memory_by_size.markdown(results["memory_by_size"])
    if "stock_codemod" in results:
        lines += _stock_section(results["stock_codemod"])
    if "runtime" in results:
        lines += _runtime_section(results["runtime"])
        lines += ["![throughput and p99 vs concurrency](plot.png)", ""]
    return "\n".join(lines)


def plot(rt: dict[str, Any], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rps, ax_p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"sync": "tab:red", "async": "tab:blue"}
    for name, color in styles.items():
        for cache, line in (("cache_on", "-"), ("cache_off", "--")):
            points = [p for p in rt.get(name, {}).get(cache, {}).get("points", []) if not p.get("failed")]
            if not points:
                continue
            xs = [p["concurrency"] for p in points]
            label = f"{name} ({cache.replace('_', ' ')})"
            ax_rps.plot(xs, [p["rps"] for p in points], line, marker="o", color=color, label=label)
            ax_p99.plot(xs, [p["p99_ms"] for p in points], line, marker="o", color=color, label=label)
    for ax, title, ylabel in ((ax_rps, "Throughput", "requests / s"), (ax_p99, "p99 latency", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(rt["concurrency"], [str(c) for c in rt["concurrency"]])
        ax.set_xlabel("concurrency (closed loop)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax_p99.set_yscale("log")
    ax_rps.legend(fontsize=8)
    fig.suptitle("target_backend on PostgreSQL: sync original vs awaitify-migrated")
    fig.tight_layout()
    fig.savefig(dest, dpi=110)
    plt.close(fig)
