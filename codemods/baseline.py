"""Baselines for `check`: adopt the gate on a big repository and fail only on *new* leftovers.

A finding is known when the baseline holds the same root-relative path, rule code and line text
(whitespace-normalised, hashed): never the line number, so edits elsewhere in a file keep it known.
Identical lines with the same code are counted, so a second copy of a known leftover is new.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemods import __version__
from codemods.model import Finding
from codemods.report import TOOL_NAME, CheckReport

BASELINE_FORMAT = 1


class BaselineError(Exception):
    """The baseline file cannot be read or is not an awaitify baseline."""


@dataclass(frozen=True, order=True)
class BaselineKey:
    path: str
    code: str
    line_hash: str


def normalise_line(text: str) -> str:
    """Indentation and spacing do not make a finding new; the code on the line does."""
    return " ".join(text.split())


def line_hash(text: str) -> str:
    return hashlib.sha256(normalise_line(text).encode("utf-8")).hexdigest()[:16]


def keyed_findings(report: CheckReport) -> list[tuple[Finding, BaselineKey]]:
    """Every finding with its baseline key (root-relative path, code, line hash), in report order."""
    out = []
    for finding in report.findings:
        checked = report.files.get(finding.path)
        path = checked.key if checked else finding.path
        text = checked.line_text(finding.line) if checked else ""
        out.append((finding, BaselineKey(path, finding.code, line_hash(text))))
    return out


def fingerprints(report: CheckReport) -> dict[Finding, str]:
    """A stable, unique id per finding (GitLab Code Quality): its key plus its rank among equal keys."""
    seen: Counter[BaselineKey] = Counter()
    out: dict[Finding, str] = {}
    for finding, key in keyed_findings(report):
        rank = seen[key]
        seen[key] += 1
        raw = f"{key.path}\0{key.code}\0{key.line_hash}\0{rank}"
        out[finding] = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return out


def load_baseline(path: Path) -> Counter[BaselineKey]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist (create it with --update-baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("tool") != TOOL_NAME:
        raise BaselineError(f"{path} is not an awaitify baseline")
    if document.get("format") != BASELINE_FORMAT:
        raise BaselineError(f"{path}: unsupported baseline format {document.get('format')!r}")
    known: Counter[BaselineKey] = Counter()
    try:
        for entry in document["findings"]:
            known[BaselineKey(str(entry["path"]), str(entry["code"]), str(entry["line_hash"]))] += int(
                entry.get("count", 1)
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"{path}: malformed baseline entry ({exc})") from None
    return known


def baseline_document(report: CheckReport) -> dict[str, Any]:
    counts: Counter[BaselineKey] = Counter()
    messages: dict[BaselineKey, str] = {}
    for finding, key in keyed_findings(report):
        counts[key] += 1
        messages.setdefault(key, finding.message)
    entries = [
        {
            "path": key.path,
            "code": key.code,
            "line_hash": key.line_hash,
            "count": counts[key],
            "message": messages[key],
        }
        for key in sorted(counts)
    ]
    return {"tool": TOOL_NAME, "format": BASELINE_FORMAT, "version": __version__, "findings": entries}


def write_baseline(path: Path, report: CheckReport) -> int:
    """Write every current finding to the baseline; returns how many findings it holds."""
    document = baseline_document(report)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(report.findings)


def split_known(report: CheckReport, known: Counter[BaselineKey]) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings the baseline already holds)."""
    budget = Counter(known)
    new: list[Finding] = []
    old: list[Finding] = []
    for finding, key in keyed_findings(report):
        if budget[key] > 0:
            budget[key] -= 1
            old.append(finding)
        else:
            new.append(finding)
    return new, old
