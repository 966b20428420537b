"""`awaitify migrate --report report.html`: a self-contained page, rendered in headless Chromium."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from eco_helpers import HANG_GUARD_SECONDS, awaitify_here, copy_shop, git

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent: install Debian's `chromium` package (apt-get install -y chromium)",
)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of migrating the shop fixture, with one review item (an `expire()`)."""
    shop = copy_shop(tmp_path_factory.mktemp("html") / "shop")
    main = shop / "app" / "main.py"
    text = main.read_text(encoding="utf-8")
    main.write_text(text.replace("    db.refresh(order)\n", "    db.refresh(order)\n    db.expire(order)\n"))
    git("init", "-q", ".", cwd=shop)
    report = shop / "report.html"
    result = awaitify_here("migrate", "--allow-dirty", "--report", "report.html", "app", cwd=shop)
    assert result.code == 0, result
    return report


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(
        argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=HANG_GUARD_SECONDS, check=False
    )


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_page_is_self_contained(report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page)
    assert not re.search(r'(href|src)="(?!#)', page), "every link stays in the page"


def test_the_page_has_every_part(report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    for section in ("summary", "files", "async", "review", "rules"):
        assert f'<section id="{section}">' in page
    # summary numbers, the call-graph path, the diff, the review item linked to its rule's doc
    assert re.search(r'data-stat="functions made async"><span class="value">6<', page)
    assert re.search(r'data-stat="queries rewritten"><span class="value">3<', page)
    assert "<code>app.main.create_order</code>" in page and "<code>app.db.customer_by_name</code>" in page
    assert '<span class="add">+async def create_order(' in page
    assert '<a class="rule-link" href="#awt202">AWT202</a>' in page
    assert '<article class="rule review" id="awt202">' in page
    assert "expire() makes the next attribute read lazy-load" in page


@needs_chromium
def test_chromium_renders_it_without_errors(report_html: Path, tmp_path: Path) -> None:
    dom = _chromium(report_html, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    assert _console_messages(dom.stderr) == []
    for anchor in ('id="summary"', 'id="files"', 'id="async"', 'id="review"', 'id="awt202"'):
        assert anchor in dom.stdout
    assert "awaitify migrate report" in dom.stdout
    assert dom.stdout.count('class="file"') == 2

    shot = tmp_path / "report.png"
    render = _chromium(report_html, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert render.returncode == 0, render.stderr
    assert _console_messages(render.stderr) == []
    width, height, distinct = _png_facts(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    assert distinct > 40, "the screenshot is (nearly) blank"


@needs_chromium
def test_the_console_check_catches_a_broken_page(tmp_path: Path) -> None:
    """The control: the same flags do report a script error, so a clean log above means something."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>notDefined();</script>", encoding="utf-8")
    result = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("Uncaught" in line for line in _console_messages(result.stderr)), result.stderr


def _png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the pixel data (a blank page has few)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return width, height, len(set(pixels))


def test_the_markdown_report_of_a_migrated_tree(report_html: Path) -> None:
    shop = report_html.parent
    git("add", ".", cwd=shop)
    result = awaitify_here("migrate", "--diff", "--report", "report.md", "app", cwd=shop)
    assert result.code == 0, result  # already migrated: the diff is empty, the report still written
    text = (shop / "report.md").read_text(encoding="utf-8")
    assert "| functions made async | 0 |" in text and "## Changes" not in text


def test_the_markdown_report_of_a_migration(tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    main = shop / "app" / "main.py"
    main.write_text(main.read_text(encoding="utf-8").replace("db.refresh(order)\n", "db.expire(order)\n"))
    result = awaitify_here("migrate", "--diff", "--report", "report.md", "app", cwd=shop)
    assert result.code == 1, result
    text = (shop / "report.md").read_text(encoding="utf-8")
    for heading in ("## Review items", "## Why functions became async", "## Changes", "## Rules"):
        assert f"\n{heading}\n" in text
    assert "| functions made async | 6 |" in text
    assert "`app.main.create_order` → `app.db.customer_by_name` → `runs a query on db`" in text
    assert "```diff\n--- a/app/main.py\n+++ b/app/main.py\n" in text
    assert "+async def create_order(" in text
    assert "| [AWT202](docs/rules.md#awt202) | expire | 1 |" in text
