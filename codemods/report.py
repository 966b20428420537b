"""Output formats: `check` findings (text, JSON, GitHub annotations, SARIF 2.1.0, GitLab Code Quality)
and the `migrate` run report (text, JSON, Markdown; HTML in html_report.py), plus the summary table
shown at the end of a run.

Everything here is pure: data in, strings (or a rich renderable) out. Paths are the display paths
the runner already chose (relative to the working directory when the file is below it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from codemods import __version__
from codemods.diffing import diff_names, quote_path, unified_diff
from codemods.model import FileOutcome, FileStatus, Finding
from codemods.rules.registry import RULES, Rule, RuleKind
from codemods.source_lines import source_lines

if TYPE_CHECKING:  # imported where the tables are built: a quiet run shows none (see codemods.cli._stdout)
    from rich.table import Table

TOOL_NAME = "awaitify"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {RuleKind.CHECK: "error", RuleKind.REVIEW: "warning", RuleKind.REWRITE: "note"}


@dataclass(frozen=True)
class CheckedFile:
    """A file with findings: its path relative to the project root and its lines (for fingerprints)."""

    key: str
    lines: tuple[str, ...]

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


@dataclass
class CheckReport:
    """What `check` found: leftovers, and the files it could not look at (path -> reason).

    `files` maps the display path of every file with findings to its root-relative key and lines,
    so that baselines and GitLab fingerprints do not depend on line numbers or the working directory.
    """

    scanned: int
    findings: list[Finding] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    files: dict[str, CheckedFile] = field(default_factory=dict)


@dataclass
class MigrateReport:
    """What `migrate` did to every file it looked at (outcome paths are display paths)."""

    scanned: int
    outcomes: dict[str, FileOutcome] = field(default_factory=dict)
    written: bool = False

    def by_status(self, status: FileStatus) -> list[FileOutcome]:
        return [o for o in self.outcomes.values() if o.status is status]

    @property
    def findings(self) -> list[Finding]:
        return sorted(f for o in self.outcomes.values() for f in o.findings)


# ---- shared pieces ----------------------------------------------------------------------------


def finding_line(finding: Finding) -> str:
    """`path:line:col: AWTnnn message`, the path quoted as `git diff` quotes a name with a newline (see quote_path)."""
    return f"{quote_path(finding.path)}:{finding.line}:{finding.col}: {finding.code} {finding.message}"


def rule_counts(findings: Iterable[Finding]) -> dict[str, int]:
    return dict(sorted(Counter(f.code for f in findings).items()))


def _finding_json(finding: Finding) -> dict[str, Any]:
    rule = RULES.get(finding.code)
    return {
        "path": finding.path,
        "line": finding.line,
        "col": finding.col,
        "code": finding.code,
        "name": rule.name if rule else None,
        "message": finding.message,
    }


# ---- check ------------------------------------------------------------------------------------


def check_text(report: CheckReport) -> str:
    return "".join(finding_line(f) + "\n" for f in report.findings)


def check_json(report: CheckReport) -> str:
    document = {
        "tool": TOOL_NAME,
        "version": __version__,
        "summary": {
            "files": report.scanned,
            "findings": len(report.findings),
            "failed": len(report.failures),
            "by_rule": rule_counts(report.findings),
        },
        "findings": [_finding_json(f) for f in report.findings],
        "errors": [{"path": path, "message": message} for path, message in sorted(report.failures.items())],
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def check_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: one `::error` annotation per finding and per failed file."""
    lines = [
        f"::error file={_escape_property(f.path)},line={f.line},col={f.col},"
        f"title={_escape_property(f.code)}::{_escape_data(f.message)}"
        for f in report.findings
    ]
    lines += [
        f"::error file={_escape_property(path)},title={TOOL_NAME}::{_escape_data(message)}"
        for path, message in sorted(report.failures.items())
    ]
    return "".join(line + "\n" for line in lines)


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    help_text = rule.summary + "\n\n" + rule.why
    help_markdown = f"{rule.summary}\n\n{rule.why}"
    if rule.before or rule.after:
        help_text += f"\n\nBefore:\n{rule.before}\n\nAfter:\n{rule.after}"
        help_markdown += f"\n\nBefore:\n```python\n{rule.before}\n```\n\nAfter:\n```python\n{rule.after}\n```"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.kind]},
        "properties": {"tags": [rule.kind.value]},
    }


def check_sarif(report: CheckReport) -> str:
    """SARIF 2.1.0 as GitHub code scanning accepts it (URIs relative to the checkout root)."""
    codes = list(RULES)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for f in report.findings:
        rule = RULES.get(f.code)
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[rule.kind] if rule else "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(f.line, 1), "startColumn": max(f.col, 1)},
                    }
                }
            ],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": quote(path)}}}],
        }
        for path, message in sorted(report.failures.items())
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_sarif_rule(RULES[code]) for code in codes],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.failures,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


_GITLAB_SEVERITY = {RuleKind.CHECK: "major", RuleKind.REVIEW: "minor", RuleKind.REWRITE: "info"}


def check_gitlab(report: CheckReport) -> str:
    """GitLab Code Quality report (the `codequality` artifact of a merge request widget).

    The fingerprint is stable across edits elsewhere in the file: it hashes the root-relative path,
    the rule code and the finding's line text (see codemods.baseline), not the line number.
    """
    from codemods.baseline import fingerprints  # baseline imports this module

    prints = fingerprints(report)
    issues: list[dict[str, Any]] = []
    for f in report.findings:
        rule = RULES.get(f.code)
        issues.append(
            {
                "description": f"{f.code} {f.message}",
                "check_name": f.code,
                "fingerprint": prints[f],
                "severity": _GITLAB_SEVERITY[rule.kind] if rule else "major",
                "location": {"path": f.path, "lines": {"begin": max(f.line, 1)}},
            }
        )
    for path, message in sorted(report.failures.items()):
        issues.append(
            {
                "description": f"awaitify could not check this file: {message}",
                "check_name": "AWT000",
                "fingerprint": hashlib.sha256(f"failure\0{path}".encode()).hexdigest(),
                "severity": "blocker",
                "location": {"path": path, "lines": {"begin": 1}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"


CHECK_FORMATS = {
    "text": check_text,
    "json": check_json,
    "github": check_github,
    "sarif": check_sarif,
    "gitlab": check_gitlab,
}


# ---- migrate ----------------------------------------------------------------------------------


def migrate_summary(report: MigrateReport) -> dict[str, Any]:
    findings = report.findings
    stats = {name: 0 for name in ("functions_made_async", "awaits_added", "queries_rewritten")}
    for outcome in report.outcomes.values():
        for name in stats:
            stats[name] += getattr(outcome.stats, name)
    return {
        "scanned": report.scanned,
        "changed": len(report.by_status(FileStatus.CHANGED)),
        "unchanged": len(report.by_status(FileStatus.UNCHANGED)),
        "failed": len(report.by_status(FileStatus.FAILED)),
        "review_items": len(findings),
        "by_rule": rule_counts(findings),
        "stats": stats,
        "written": report.written,
    }


def migrate_json(report: MigrateReport) -> str:
    files = [
        {
            "path": o.path,
            "status": o.status.value,
            "error": o.error,
            "findings": [_finding_json(f) for f in sorted(o.findings)],
            "stats": dataclasses.asdict(o.stats),
            "async_reasons": o.async_reasons,
        }
        for o in _sorted_outcomes(report.outcomes)
    ]
    document = {"tool": TOOL_NAME, "version": __version__, "summary": migrate_summary(report), "files": files}
    return json.dumps(document, indent=2) + "\n"


def migrate_text(report: MigrateReport) -> str:
    summary = migrate_summary(report)
    out = [f"awaitify {__version__} migrate report", ""]
    names = ("scanned", "changed", "unchanged", "failed", "review_items")
    out += [f"{name}: {summary[name]}" for name in names]
    out += [f"{name}: {value}" for name, value in summary["stats"].items()]
    for outcome in _sorted_outcomes(report.outcomes):
        if outcome.status is FileStatus.UNCHANGED and not outcome.findings:
            continue
        out += ["", f"{quote_path(outcome.path)}: {outcome.status.value}"]
        if outcome.error:
            out.append(f"  error: {outcome.error}")
        out += [f"  {finding_line(f)}" for f in sorted(outcome.findings)]
        for function, chain in sorted(outcome.async_reasons.items()):
            out.append(f"  async {function}: {' -> '.join(chain)}")
    return "\n".join(out) + "\n"


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def migrate_markdown(report: MigrateReport) -> str:
    summary = migrate_summary(report)
    out = [f"# awaitify migrate report ({__version__})", "", "| | files |", "|---|---:|"]
    out += [f"| {name} | {summary[name]} |" for name in ("scanned", "changed", "unchanged", "failed")]
    out += ["", "| stat | count |", "|---|---:|"]
    out += [f"| {name.replace('_', ' ')} | {value} |" for name, value in summary["stats"].items()]
    failed = report.by_status(FileStatus.FAILED)
    if failed:
        out += ["", "## Failed files", ""]
        out += [f"- `{quote_path(o.path)}`: {_md(o.error or 'failed')}" for o in sorted(failed, key=lambda o: o.path)]
    findings = report.findings
    if findings:
        out += ["", "## Review items", "", "| location | rule | message |", "|---|---|---|"]
        out += [f"| `{quote_path(f.path)}:{f.line}:{f.col}` | {f.code} | {_md(f.message)} |" for f in findings]
    reasons = [o for o in _sorted_outcomes(report.outcomes) if o.async_reasons]
    if reasons:
        out += ["", "## Why functions became async", ""]
        for outcome in reasons:
            for function, chain in sorted(outcome.async_reasons.items()):
                steps = " → ".join(f"`{step}`" for step in chain)
                out.append(f"- `{function}` ({quote_path(outcome.path)}): {steps}")
    out += _markdown_changes(report)
    if summary["by_rule"]:
        out += ["", "## Rules", "", "| rule | name | review items | why |", "|---|---|---:|---|"]
        for code, count in summary["by_rule"].items():
            rule = RULES.get(code)
            name, why = (rule.name, _md(rule.why)) if rule else ("", "")
            out.append(f"| [{code}]({RULES_DOC_URL}#{code.lower()}) | {name} | {count} | {why} |")
    return "\n".join(out) + "\n"


# Review items link here; relative to the repository root, where docs/rules.md is generated.
RULES_DOC_URL = "docs/rules.md"


def _markdown_changes(report: MigrateReport) -> list[str]:
    """Each changed file's diff, folded (GitHub and most Markdown viewers render <details>)."""
    changed = sorted(report.by_status(FileStatus.CHANGED), key=lambda o: o.path)
    if not changed:
        return []
    out = ["", "## Changes", ""]
    for outcome in changed:
        old_name, new_name = diff_names(outcome.path)
        diff = unified_diff(
            source_lines(outcome.old_text), source_lines(outcome.new_text), old_name, new_name, lineterm=""
        )
        fence = "~~~~" if "```" in outcome.new_text or "```" in outcome.old_text else "```"
        stats = outcome.stats
        name = html.escape(quote_path(outcome.path))
        out += [
            f"<details><summary><code>{name}</code>: {stats.functions_made_async} made async, "
            f"{stats.awaits_added} awaits, {stats.queries_rewritten} queries</summary>",
            "",
            f"{fence}diff",
            *diff,
            fence,
            "",
            "</details>",
            "",
        ]
    return out


def migrate_report_for(filename: str) -> tuple[str, Any]:
    """The report format chosen by a file name's extension."""
    lowered = filename.lower()
    if lowered.endswith((".html", ".htm")):
        from codemods.html_report import migrate_html  # html_report imports this module

        return "html", migrate_html
    if lowered.endswith(".json"):
        return "json", migrate_json
    if lowered.endswith((".md", ".markdown")):
        return "markdown", migrate_markdown
    return "text", migrate_text


def _sorted_outcomes(outcomes: Mapping[str, FileOutcome]) -> list[FileOutcome]:
    return sorted(outcomes.values(), key=lambda o: o.path)


# ---- the summary table ------------------------------------------------------------------------


def summary_table(report: MigrateReport) -> Table:
    from rich.table import Table

    summary = migrate_summary(report)
    table = Table(title="awaitify migrate" + ("" if report.written else " (dry run)"), title_justify="left")
    table.add_column("files")
    table.add_column("count", justify="right")
    for name in ("scanned", "changed", "unchanged", "failed"):
        table.add_row(name, str(summary[name]), style="red" if name == "failed" and summary[name] else None)
    if any(summary["stats"].values()):
        table.add_section()
        for name, value in summary["stats"].items():
            table.add_row(name.replace("_", " "), str(value))
    if summary["by_rule"]:
        table.add_section()
        table.add_row("[bold]review items by rule[/]", str(summary["review_items"]))
        for code, count in summary["by_rule"].items():
            rule = RULES.get(code)
            table.add_row(f"{code} {rule.name if rule else ''}".rstrip(), str(count))
    return table


RULES_DOC_BANNER = (
    "<!-- Generated from codemods/rules/registry.py: do not edit. "
    "Regenerate with `python -m codemods rules --format markdown > docs/rules.md`. -->"
)


def rules_markdown(rules: Sequence[Rule]) -> str:
    """One section per rule, generated from the registry (the rule docs page)."""
    out = [RULES_DOC_BANNER, "", "# awaitify rules", ""]
    out += [
        "Codes: `AWT1xx` rewrites `awaitify migrate` applies, `AWT2xx` review items it leaves as "
        "`# awaitify: review AWTnnn <reason>` markers, `AWT3xx` leftovers `awaitify check` reports. "
        "`awaitify explain AWTnnn` prints one rule.",
        "",
    ]
    out += ["| code | name | kind | summary |", "|---|---|---|---|"]
    out += [f"| [{r.code}](#{r.code.lower()}) | {r.name} | {r.kind.value} | {_md(r.summary)} |" for r in rules]
    for rule in rules:
        heading = f"**{rule.name}** ({rule.kind.value}): {rule.summary}"
        out += ["", f"## {rule.code}", "", heading, "", rule.why]
        for title, example in (("Before", rule.before), ("After", rule.after)):
            if example:
                out += ["", f"{title}:", "", "```python", example, "```"]
    return "\n".join(out) + "\n"


def rules_json(rules: Sequence[Rule]) -> str:
    document = [
        {
            "code": r.code,
            "name": r.name,
            "kind": r.kind.value,
            "summary": r.summary,
            "why": r.why,
            "before": r.before,
            "after": r.after,
        }
        for r in rules
    ]
    return json.dumps(document, indent=2) + "\n"


def rules_table(rules: Sequence[Rule]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="awaitify rules", title_justify="left")
    for column in ("code", "name", "kind", "summary"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        table.add_row(rule.code, rule.name, rule.kind.value, Text(rule.summary))
    return table
