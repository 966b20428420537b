"""The stock LibCST codemod `make bench` compares awaitify with: it does what it claims, run as the bench runs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext

from bench import report, tool_speed
from bench.stock_codemod import AwaitSessionCalls

REPO = Path(__file__).resolve().parents[2]

SOURCE = textwrap.dedent(
    """\
    from sqlalchemy.orm import Session as S


    class Service:
        def __init__(self, db: S, cache) -> None:
            self.db = db
            self.cache = cache

        def save(self, item):
            self.db.add(item)
            self.db.commit()
            self.cache.flush()
            return item


    def remove(db: S, item, other):
        db.delete(item)
        other.commit()
        db = other
        return item


    def touch(db: S):
        db.commit()
    """
)

EXPECTED = (
    SOURCE.replace("    def save(", "    async def save(")
    .replace("self.db.commit()", "await self.db.commit()")
    .replace("def touch(db: S):\n    db.commit()", "async def touch(db: S):\n    await db.commit()")
)


def test_it_awaits_session_io_and_makes_the_function_async() -> None:
    """`db` in `remove` is rebound to another object: scope analysis says it is not only the session, so no await."""
    new = AwaitSessionCalls(CodemodContext()).transform_module(cst.parse_module(SOURCE)).code
    assert new == EXPECTED


def test_the_comparison_runs_both_tools_on_copies(tmp_path: Path) -> None:
    tree = tmp_path / "generated"
    generator = REPO / "fixtures" / "bench" / "generate_repo.py"
    subprocess.run([sys.executable, str(generator), str(tree), "--domains", "2"], check=True, capture_output=True)
    before = {p: p.read_bytes() for p in tree.rglob("*.py")}
    compared = tool_speed.compare_with_stock_codemod(tree, jobs=2, timeout=600, rounds=2)
    assert {p: p.read_bytes() for p in tree.rglob("*.py")} == before  # the source tree itself is not touched
    stock, migrate = compared["stock"], compared["awaitify"]
    assert (stock["returncode"], stock["crashed"], migrate["returncode"], migrate["crashed"]) == (0, False, 0, False)
    assert 0 < stock["files_changed"] <= migrate["files_changed"]
    assert 0 < stock["lines_changed"] < migrate["lines_changed"]  # awaitify does more: queries, callers
    speedups = compared["speedup_rounds"]
    assert len(speedups) == 2 and len(stock["wall_s_rounds"]) == len(migrate["wall_s_rounds"]) == 2
    assert min(speedups) - 0.05 <= compared["speedup"] <= max(speedups) + 0.05  # their median (of two: the mean)
    assert stock["wall_s"] == min(stock["wall_s_rounds"])  # of two, the lower middle one
    text = "\n".join(report._stock_section(compared))
    assert f"{compared['lines']:,} lines" in text and "x faster than the stock codemod" in text
    assert "the median of 2 rounds" in text


def test_a_tree_is_measured_in_rounds(tmp_path: Path) -> None:
    """Every run and floor once per round; a ratio is the median of the rounds' own ratios, and the figures come
    from the round with the median wall time."""
    tree = tmp_path / "generated"
    generator = REPO / "fixtures" / "bench" / "generate_repo.py"
    subprocess.run([sys.executable, str(generator), str(tree), "--domains", "1"], check=True, capture_output=True)
    measured = tool_speed.measure_tree("tiny", tree, jobs=2, timeout=600, rounds=3)
    assert measured["rounds"] == 3 and measured["files_changed_by_migrate"] > 0
    for run in measured["runs"].values():
        assert len(run["wall_s_rounds"]) == 3 and run["returncode"] in (0, 1) and not run["crashed"]
        assert run["wall_s"] == sorted(run["wall_s_rounds"])[1]
        assert run["x_ast_floor"] == sorted(run["x_ast_floor_rounds"])[1]
    assert measured["targets"]["check_vs_ast"]["value"] == measured["runs"]["check"]["x_ast_floor"]
    startup = measured["runs"]["startup"]
    assert startup["command"] == "awaitify --version" and 0 < startup["wall_s"] < measured["runs"]["check"]["wall_s"]
    bounded = measured["runs"]["check_low_memory"]
    assert bounded["command"] == f"awaitify check --no-cache --max-tree-mb {tool_speed.LOW_TREE_MB} --jobs 2 ."
    assert bounded["stdout_lines"] == measured["runs"]["check"]["stdout_lines"]
    text = "\n".join(report._tool_section({"tiny": measured}))
    assert "Medians of 3 rounds" in text
    assert "| check, trees bounded (`--max-tree-mb 1 --no-cache`) |" in text
    assert "| start-up alone (`awaitify --version`) |" in text and "Start-up alone" in text


def test_changes_counts_files_and_lines(tmp_path: Path) -> None:
    original, rewritten = tmp_path / "a", tmp_path / "b"
    for root, texts in ((original, ("x = 1\ny = 2\nz = 3\n", "same\n")), (rewritten, ("x = 1\ny = 20\n", "same\n"))):
        root.mkdir()
        (root / "m.py").write_text(texts[0])
        (root / "n.py").write_text(texts[1])
    assert tool_speed.changes(original, rewritten, [original / "m.py", original / "n.py"]) == (1, 2)


def test_the_verdict_says_whether_it_is_an_order_of_magnitude() -> None:
    def compared(stock_wall: float) -> dict[str, object]:
        run = {"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mib": 50, "peak_tree_rss_mib": 60, "files_changed": 1}
        run |= {"lines_changed": 2, "returncode": 0, "crashed": False, "timed_out": False}
        stock = {**run, "wall_s": stock_wall}
        return {"files": 3, "lines": 4, "jobs": 2, "stock": stock, "awaitify": run, "speedup": stock_wall}

    assert "more than an order of magnitude" in "\n".join(report._stock_section(compared(25.0)))
    assert "not an order of magnitude" in "\n".join(report._stock_section(compared(8.0)))
