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
    compared = tool_speed.compare_with_stock_codemod(tree, jobs=2, timeout=600)
    assert {p: p.read_bytes() for p in tree.rglob("*.py")} == before  # the source tree itself is not touched
    stock, migrate = compared["stock"], compared["awaitify"]
    assert (stock["returncode"], stock["crashed"], migrate["returncode"], migrate["crashed"]) == (0, False, 0, False)
    assert 0 < stock["files_changed"] <= migrate["files_changed"]
    assert 0 < stock["lines_changed"] < migrate["lines_changed"]  # awaitify does more: queries, callers
    assert compared["speedup"] == round(stock["wall_s"] / migrate["wall_s"], 1)
    text = "\n".join(report._stock_section(compared))
    assert f"{compared['lines']:,} lines" in text and "x faster than the stock codemod" in text


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
