"""The `migrate` report as one self-contained HTML page (`awaitify migrate --report report.html`).

No scripts, fonts, images or stylesheets from elsewhere: the page is mailed, attached to a pull
request or opened from a CI artifact, offline. Review items link to the rule docs in the page
(`#awt202`, the same anchors as docs/rules.md).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from codemods import __version__
from codemods.diffing import diff_names, unified_diff
from codemods.model import FileOutcome, FileStatus, Finding
from codemods.report import MigrateReport, migrate_summary
from codemods.rules.registry import RULES, Rule
from codemods.source_lines import source_lines

DIFF_OPEN_LINES = 400  # longer diffs start folded so the page stays readable
# The rewrites behind the summary's numbers, documented in the rules section with the review items.
STAT_RULES = {"functions_made_async": "AWT110", "awaits_added": "AWT111", "queries_rewritten": "AWT102"}

STYLE = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; --accent: #0969da;
  --add: #dafbe1; --add-fg: #116329; --del: #ffebe9; --del-fg: #82071e; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;
  font: 15px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; }
header h1 { margin: 0 0 4px; font-size: 28px; }
.meta { color: var(--muted); margin: 0; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 0;
  margin: 16px 0 8px; z-index: 1; }
nav a { margin-right: 18px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h2 { margin-top: 36px; padding-bottom: 6px; border-bottom: 1px solid var(--line); font-size: 22px; }
h3 { margin: 0; font-size: 16px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h4 { margin: 14px 0 6px; font-size: 14px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
code, pre { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; background: var(--bg-soft); }
.card .value { font-size: 30px; font-weight: 600; display: block; }
.card .label { color: var(--muted); }
.card.bad .value { color: var(--bad); }
.card.warn .value { color: var(--warn); }
table { border-collapse: collapse; margin: 8px 0 16px; max-width: 100%; }
td { overflow-wrap: anywhere; }
h3 code, li code { overflow-wrap: anywhere; }
th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.tables { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
.file { border: 1px solid var(--line); border-radius: 8px; margin: 16px 0; padding: 14px 18px; }
.badge { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 999px; border: 1px solid; }
.status-changed { color: var(--add-fg); background: var(--add); }
.status-failed { color: var(--del-fg); background: var(--del); }
.status-unchanged { color: var(--muted); background: var(--bg-soft); }
.file-stats { color: var(--muted); margin: 4px 0 0; }
.error { color: var(--bad); font-weight: 600; }
ul.items, ol.paths { margin: 0; padding-left: 20px; }
ul.items li, ol.paths li { margin: 3px 0; }
.chain code { background: var(--bg-soft); padding: 1px 4px; border-radius: 4px; }
.chain .reason { color: var(--warn); font-style: italic; }
.arrow { color: var(--muted); margin: 0 4px; }
details summary { cursor: pointer; color: var(--muted); margin: 8px 0; }
pre.diff { margin: 0; padding: 8px 0; overflow-x: auto; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; }
pre.diff span { display: block; padding: 0 12px; white-space: pre; }
pre.diff .add { background: var(--add); color: var(--add-fg); }
pre.diff .del { background: var(--del); color: var(--del-fg); }
pre.diff .hunk { color: var(--accent); background: #ddf4ff; }
pre.diff .head { color: var(--muted); font-weight: 600; }
.rule { border-left: 4px solid var(--line); padding: 4px 16px; margin: 18px 0; }
.rule.review { border-color: var(--warn); }
.rule.check { border-color: var(--bad); }
.rule.rewrite { border-color: var(--add-fg); }
.rule pre { background: var(--bg-soft); padding: 8px 12px; border-radius: 6px; overflow-x: auto; }
.muted { color: var(--muted); }
"""


def migrate_html(report: MigrateReport) -> str:
    summary = migrate_summary(report)
    findings = report.findings
    codes = sorted({f.code for f in findings} | set(STAT_RULES.values()))
    mode = "files written" if report.written else "dry run: nothing written"
    body = [
        "<header>",
        "<h1>awaitify migrate report</h1>",
        f'<p class="meta">awaitify {_e(__version__)} · {_e(mode)} · {summary["scanned"]} file(s) scanned</p>',
        "</header>",
        '<nav><a href="#summary">Summary</a><a href="#files">Files</a><a href="#async">Why async</a>'
        '<a href="#review">Review items</a><a href="#rules">Rules</a></nav>',
        *_summary_section(summary),
        *_files_section(report),
        *_async_section(report),
        *_review_section(findings),
        *_rules_section([RULES[code] for code in codes if code in RULES]),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>awaitify migrate report</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _summary_section(summary: dict[str, object]) -> list[str]:
    stats = summary["stats"]
    assert isinstance(stats, dict)
    by_rule = summary["by_rule"]
    assert isinstance(by_rule, dict)
    cards = [
        (stats["functions_made_async"], "functions made async", STAT_RULES["functions_made_async"], ""),
        (stats["awaits_added"], "awaits added", STAT_RULES["awaits_added"], ""),
        (stats["queries_rewritten"], "queries rewritten", STAT_RULES["queries_rewritten"], ""),
        (summary["review_items"], "review items", None, "warn" if summary["review_items"] else ""),
        (summary["changed"], "files changed", None, ""),
        (summary["failed"], "files failed", None, "bad" if summary["failed"] else ""),
    ]
    out = ['<section id="summary">', "<h2>Summary</h2>", '<div class="cards">']
    for value, label, code, tone in cards:
        link = f' <a href="#{code.lower()}">{code}</a>' if code else ""
        out.append(
            f'<div class="card {tone}" data-stat="{_e(label)}"><span class="value">{value}</span>'
            f'<span class="label">{_e(label)}{link}</span></div>'
        )
    out += ["</div>", '<div class="tables">', "<table>", '<tr><th>files</th><th class="num">count</th></tr>']
    for name in ("scanned", "changed", "unchanged", "failed"):
        out.append(f'<tr><td>{name}</td><td class="num">{summary[name]}</td></tr>')
    out.append("</table>")
    if by_rule:
        out += ['<table id="by-rule">', '<tr><th>review items by rule</th><th class="num">count</th></tr>']
        for code, count in by_rule.items():
            out.append(f'<tr><td>{_rule_link(code)}</td><td class="num">{count}</td></tr>')
        out.append("</table>")
    out += ["</div>", "</section>"]
    return out


def _files_section(report: MigrateReport) -> list[str]:
    outcomes = sorted(report.outcomes.values(), key=lambda o: o.path)
    shown = [o for o in outcomes if o.status is not FileStatus.UNCHANGED or o.findings]
    quiet = [o for o in outcomes if o not in shown]
    out = ['<section id="files">', "<h2>Files</h2>"]
    if not shown:
        out.append('<p class="muted">No file needed a change.</p>')
    for outcome in shown:
        out += _file_article(outcome)
    if quiet:
        out.append(f"<details><summary>{len(quiet)} file(s) unchanged</summary><ul>")
        out += [f"<li><code>{_e(o.path)}</code></li>" for o in quiet]
        out.append("</ul></details>")
    out.append("</section>")
    return out


def _file_article(outcome: FileOutcome) -> list[str]:
    status = outcome.status.value
    stats = outcome.stats
    out = [
        f'<article class="file" id="{_file_id(outcome.path)}">',
        f'<h3><code>{_e(outcome.path)}</code><span class="badge status-{status}">{status}</span></h3>',
        f'<p class="file-stats">{stats.functions_made_async} function(s) made async · '
        f"{stats.awaits_added} await(s) added · {stats.queries_rewritten} quer(y/ies) rewritten · "
        f"{len(outcome.findings)} review item(s)</p>",
    ]
    if outcome.error:
        out.append(f'<p class="error">error: {_e(outcome.error)}</p>')
    if outcome.async_reasons:
        out += ["<h4>Why these functions became async</h4>", '<ol class="paths">']
        out += [f"<li>{_chain(chain, function)}</li>" for function, chain in sorted(outcome.async_reasons.items())]
        out.append("</ol>")
    if outcome.findings:
        out += ["<h4>Review items</h4>", '<ul class="items">']
        out += [f"<li>{_finding_item(f)}</li>" for f in sorted(outcome.findings)]
        out.append("</ul>")
    if outcome.status is FileStatus.CHANGED:
        diff = _diff_lines(outcome.path, outcome.old_text, outcome.new_text)
        opened = " open" if len(diff) <= DIFF_OPEN_LINES else ""
        out.append(f'<details class="diff"{opened}><summary>Diff ({len(diff)} lines)</summary>')
        out.append('<pre class="diff">' + "".join(_diff_span(line) for line in diff) + "</pre></details>")
    out.append("</article>")
    return out


def _async_section(report: MigrateReport) -> list[str]:
    rows = [
        (function, outcome.path, chain)
        for outcome in sorted(report.outcomes.values(), key=lambda o: o.path)
        for function, chain in sorted(outcome.async_reasons.items())
    ]
    out = ['<section id="async">', "<h2>Why functions became async</h2>"]
    if not rows:
        out.append('<p class="muted">No function became async.</p>')
    else:
        out.append(
            '<p class="muted">The call-graph path from each function to the database I/O that forced it '
            f"async (rule {_rule_link('AWT110')}); its callers await it ({_rule_link('AWT111')}).</p>"
        )
        out += ["<table>", "<tr><th>function</th><th>file</th><th>path to the I/O</th></tr>"]
        for function, path, chain in rows:
            out.append(
                f"<tr><td><code>{_e(function)}</code></td>"
                f'<td><a href="#{_file_id(path)}">{_e(path)}</a></td><td>{_chain(chain, None)}</td></tr>'
            )
        out.append("</table>")
    out.append("</section>")
    return out


def _review_section(findings: Sequence[Finding]) -> list[str]:
    out = ['<section id="review">', "<h2>Review items</h2>"]
    if not findings:
        out.append('<p class="muted">No review items: nothing needs a human decision.</p>')
    else:
        out.append(
            '<p class="muted">Each line kept its code and got a <code># awaitify: review AWTnnn</code> marker; '
            "<code>awaitify check</code> lists the markers until they are removed.</p>"
        )
        out += ["<table>", "<tr><th>location</th><th>rule</th><th>reason</th></tr>"]
        for f in findings:
            out.append(
                f'<tr><td><a href="#{_file_id(f.path)}"><code>{_e(f.path)}:{f.line}:{f.col}</code></a></td>'
                f"<td>{_rule_link(f.code)}</td><td>{_e(f.message)}</td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return out


def _rules_section(rules: Iterable[Rule]) -> list[str]:
    out = ['<section id="rules">', "<h2>Rules</h2>"]
    out.append(
        '<p class="muted">The rules this report refers to (all of them: <code>awaitify rules</code>, '
        "docs/rules.md, <code>awaitify explain AWTnnn</code>).</p>"
    )
    for rule in rules:
        out += [
            f'<article class="rule {rule.kind.value}" id="{rule.code.lower()}">',
            f"<h3>{rule.code} <code>{_e(rule.name)}</code>"
            f'<span class="badge status-unchanged">{rule.kind.value}</span></h3>',
            f"<p>{_inline_code(rule.summary)}</p>",
            f"<p><strong>Why:</strong> {_inline_code(rule.why)}</p>",
        ]
        for title, example in (("Before", rule.before), ("After", rule.after)):
            if example:
                out.append(f'<p class="muted">{title}:</p><pre><code>{_e(example)}</code></pre>')
        out.append("</article>")
    out.append("</section>")
    return out


# ---- small pieces -----------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _inline_code(text: str) -> str:
    """The registry's Markdown backticks as <code>, everything else escaped."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


def _rule_link(code: str) -> str:
    rule = RULES.get(code)
    name = f" {_e(rule.name)}" if rule else ""
    return f'<a class="rule-link" href="#{code.lower()}">{_e(code)}</a>{name}'


def _finding_item(finding: Finding) -> str:
    return f"line {finding.line}:{finding.col} · {_rule_link(finding.code)}: {_e(finding.message)}"


def _chain(chain: Sequence[str], function: str | None) -> str:
    """`a → b → <reason>`: functions in code, the final I/O reason in italics."""
    steps = list(chain)
    lead = f"<code>{_e(function)}</code>: " if function is not None else ""
    if steps and function is not None and steps[0] == function:
        steps = steps[1:] or steps
    rendered = []
    for i, step in enumerate(steps):
        is_reason = i == len(steps) - 1 and not _looks_like_function(step)
        rendered.append(f'<span class="reason">{_e(step)}</span>' if is_reason else f"<code>{_e(step)}</code>")
    return f'{lead}<span class="chain">{"<span class=arrow>→</span>".join(rendered)}</span>'


def _looks_like_function(step: str) -> bool:
    return re.fullmatch(r"[\w.<>]+", step) is not None and "." in step


def _file_id(path: str) -> str:
    return "file-" + re.sub(r"[^A-Za-z0-9_-]+", "-", path).strip("-")


def _diff_lines(path: str, old: str, new: str) -> list[str]:
    old_name, new_name = diff_names(path)
    return list(unified_diff(source_lines(old), source_lines(new), old_name, new_name, lineterm=""))


def _diff_span(line: str) -> str:
    if line.startswith(("+++", "---")):
        css = "head"
    elif line.startswith("@@"):
        css = "hunk"
    elif line.startswith("+"):
        css = "add"
    elif line.startswith("-"):
        css = "del"
    else:
        css = "ctx"
    return f'<span class="{css}">{_e(line) or " "}</span>'
