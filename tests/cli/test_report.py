"""report: pure output formats, checked without a subprocess."""

from __future__ import annotations

import json

import jsonschema
import pytest
from cli_helpers import validate_sarif
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from codemods.html_report import migrate_html
from codemods.model import FileOutcome, FileStats, FileStatus, Finding
from codemods.report import (
    CheckReport,
    MigrateReport,
    check_github,
    check_sarif,
    migrate_json,
    migrate_markdown,
    migrate_report_for,
    migrate_text,
    summary_table,
)


def validate(document: dict) -> None:
    validate_sarif(document)


def test_the_schema_rejects_what_github_would() -> None:
    """The vendored schema must be able to fail: a result without message, a bad level, an extra key."""
    report = CheckReport(scanned=1, findings=[Finding("a.py", 1, 1, "AWT301", "m")])
    good = json.loads(check_sarif(report))
    validate(good)
    for breakage in (
        lambda d: d["runs"][0]["results"][0].pop("message"),
        lambda d: d["runs"][0]["results"][0].update(level="fatal"),
        lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].update(startLine=0),
        lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
        lambda d: d.update(version="2.0.0"),
        lambda d: d["runs"][0]["results"][0].update(rule_id="AWT301"),
    ):
        broken = json.loads(json.dumps(good))
        breakage(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


@settings(deadline=None, max_examples=60)  # no timing in assertions: the machine may be busy
@given(
    st.lists(
        st.builds(
            Finding,
            path=st.text(min_size=1, max_size=20).map(lambda s: s.replace("\0", "") or "x"),
            line=st.integers(min_value=0, max_value=10_000),
            col=st.integers(min_value=0, max_value=500),
            code=st.sampled_from(["AWT101", "AWT201", "AWT301", "AWT999"]),
            message=st.text(max_size=50),
        ),
        max_size=5,
    ),
    st.dictionaries(st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=20), max_size=3),
)
def test_sarif_always_validates(findings: list[Finding], failures: dict[str, str]) -> None:
    validate(json.loads(check_sarif(CheckReport(scanned=len(findings), findings=findings, failures=failures))))


def test_sarif_uri_is_percent_encoded() -> None:
    report = CheckReport(scanned=1, findings=[Finding("my app/a#1.py", 1, 1, "AWT301", "m")])
    document = json.loads(check_sarif(report))
    uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/a%231.py"


def test_github_escapes_properties_and_data() -> None:
    report = CheckReport(scanned=1, findings=[Finding("a,b:c.py", 3, 4, "AWT301", "50% done\nnext line")])
    assert check_github(report) == "::error file=a%2Cb%3Ac.py,line=3,col=4,title=AWT301::50%25 done%0Anext line\n"


def _migrate_report() -> MigrateReport:
    report = MigrateReport(scanned=3, written=True)
    report.outcomes = {
        "a.py": FileOutcome(
            "a.py",
            FileStatus.CHANGED,
            "old",
            "new",
            findings=[Finding("a.py", 2, 1, "AWT201", "lazy | load")],
            stats=FileStats(functions_made_async=1, awaits_added=2, queries_rewritten=1),
            async_reasons={"app.a.f": ["app.a.f", "<session I/O: commit>"]},
        ),
        "b.py": FileOutcome("b.py", FileStatus.UNCHANGED, "x", "x"),
        "c.py": FileOutcome("c.py", FileStatus.FAILED, "", "", error="syntax error: line 1"),
    }
    return report


def test_migrate_json() -> None:
    document = json.loads(migrate_json(_migrate_report()))
    assert document["summary"] == {
        "scanned": 3,
        "changed": 1,
        "unchanged": 1,
        "failed": 1,
        "review_items": 1,
        "by_rule": {"AWT201": 1},
        "written": True,
        "stats": {"functions_made_async": 1, "awaits_added": 2, "queries_rewritten": 1},
    }
    a = document["files"][0]
    assert a["path"] == "a.py" and a["status"] == "changed"
    assert a["async_reasons"] == {"app.a.f": ["app.a.f", "<session I/O: commit>"]}
    assert document["files"][2]["error"] == "syntax error: line 1"


def test_migrate_markdown_escapes_table_cells() -> None:
    text = migrate_markdown(_migrate_report())
    assert "| `a.py:2:1` | AWT201 | lazy \\| load |" in text
    assert "- `c.py`: syntax error: line 1" in text
    assert "`app.a.f` (a.py)" in text


def test_migrate_text() -> None:
    text = migrate_text(_migrate_report())
    assert "a.py: changed" in text
    assert "  a.py:2:1: AWT201 lazy | load" in text
    assert "  async app.a.f: app.a.f -> <session I/O: commit>" in text
    assert "b.py" not in text  # unchanged files without findings are left out


@pytest.mark.parametrize(("name", "kind"), [("r.json", "json"), ("R.MD", "markdown"), ("r.txt", "text"), ("r", "text")])
def test_report_kind_by_extension(name: str, kind: str) -> None:
    assert migrate_report_for(name)[0] == kind


def test_summary_table_counts_stats_and_rules() -> None:
    console = Console(record=True, width=120, color_system=None)
    console.print(summary_table(_migrate_report()))
    text = console.export_text()
    rows = {" ".join(line.strip("│┃ ").split()) for line in text.splitlines()}
    for row in (
        "scanned │ 3",
        "changed │ 1",
        "unchanged │ 1",
        "failed │ 1",
        "awaits added │ 2",
        "review items by rule │ 1",
        "AWT201 lazy-load │ 1",
    ):
        assert row in rows, text
    assert "(dry run)" not in text


@pytest.mark.parametrize("render", [migrate_markdown, migrate_text, migrate_html])
def test_a_newline_in_a_file_name_does_not_split_report_lines(render) -> None:
    """Quoted as `git diff` quotes it (see diffing.quote_path) in the diff headers and `path:line:col` lines."""
    finding = Finding("app/new\nline.py", 3, 1, "AWT201", "lazy load")
    report = MigrateReport(scanned=1, written=False)
    report.outcomes["app/new\nline.py"] = FileOutcome(
        "app/new\nline.py", FileStatus.CHANGED, "x = 1\n", "x = 2\n", findings=[finding]
    )
    text = render(report)
    if render is migrate_html:  # a <pre> of lines too
        assert '<span class="head">--- &quot;a/app/new\\nline.py&quot;</span>' in text
        return
    if render is migrate_text:
        assert '"app/new\\nline.py":3:1: AWT201 lazy load' in text
    else:
        assert '--- "a/app/new\\nline.py"\n+++ "b/app/new\\nline.py"\n' in text
    assert "new\nline" not in text
