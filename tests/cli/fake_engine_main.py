"""Run the real `awaitify` CLI with a stand-in engine, for tests of file I/O mechanics only.

The stand-in follows the engine contract (codemods/engine.py) with trivial, predictable behaviour:
- migrate: `OLD_CALL(` becomes `new_call(`, and a changed file gets a `# migrated` first line
  (added with a bare "\\n", so the runner must restore the file's own newline style);
  a file that does not parse comes back FAILED; `REVIEWME` on a line gives an AWT201 review item;
  `BREAKME` makes the rewrite unparsable; `AWAITME` adds `await` to a plain `def`;
  `FLIPFLOP` makes every run change the file again; `FOLLOWER` changes only once another file
  already contains `new_call(` (a migration that is not a fixed point).
- check: `LEFTOVER` on a line gives an AWT301 finding (unless AWT301 is disabled); a file that does
  not parse gives one AWT000 finding, as the real engine does.
- FAKE_ENGINE_CRASH=1 makes the engine raise; FAKE_ENGINE_LOG=<file> records the call (JSON).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

import libcst

import codemods.engine as engine
from codemods.model import EngineOptions, FileOutcome, FileStatus, Finding


def _log(kind: str, sources: Mapping[str, str], options: EngineOptions) -> None:
    if os.environ.get("FAKE_ENGINE_CRASH"):
        raise RuntimeError("the fake engine crashed on purpose")
    log = os.environ.get("FAKE_ENGINE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            record = {
                "kind": kind,
                "keys": list(sources),
                "disabled_rules": sorted(options.disabled_rules),
                "session_factories": sorted(options.session_factories),
                "jobs": options.jobs,
            }
            handle.write(json.dumps(record) + "\n")


def _marked(path: str, text: str, marker: str, code: str, message: str) -> list[Finding]:
    return [
        Finding(path, number, line.index(marker) + 1, code, message)
        for number, line in enumerate(text.split("\n"), start=1)
        if marker in line
    ]


def migrate_sources(
    sources: Mapping[str, str],
    options: EngineOptions,
    left_alone: Mapping[str, str] | None = None,
    memo: object = None,  # the real engine's ParseMemo; nothing to reuse here
) -> dict[str, FileOutcome]:
    _log("migrate", sources, options)
    out = {}
    for path, text in sources.items():
        if left_alone and path in left_alone:  # as the engine: left as it is, failed with the caller's reason
            out[path] = FileOutcome(path, FileStatus.FAILED, text, text, error=left_alone[path])
            continue
        try:
            libcst.parse_module(text)
        except libcst.ParserSyntaxError as exc:
            out[path] = FileOutcome(path, FileStatus.FAILED, text, text, error=f"syntax error: {exc.message}")
            continue
        new = text.replace("OLD_CALL(", "new_call(")
        if "FOLLOWER" in new and any("new_call(" in other for other in sources.values()):
            new = new.replace("FOLLOWER", "FOLLOWED")  # changes only once another file is migrated
        if "FLIPFLOP" in new:
            new = "# again\n" + new
        if new != text and not new.startswith("# migrated"):
            new = "# migrated\n" + new
        if "BREAKME" in new:
            new += "\ndef broken(:\n"
        if "AWAITME" in new:  # parses (LibCST grammar) but does not compile
            new += "\ndef still_sync():\n    await thing()\n"
        findings = _marked(path, new, "REVIEWME", "AWT201", "review this line")
        status = FileStatus.CHANGED if new != text else FileStatus.UNCHANGED
        out[path] = FileOutcome(path, status, text, new, findings=findings)
    return out


def check_sources(sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    _log("check", sources, options)
    out: dict[str, list[Finding]] = {}
    for path, text in sources.items():
        try:
            libcst.parse_module(text)
        except libcst.ParserSyntaxError as exc:  # the engine's convention: one AWT000 finding
            out[path] = [Finding(path, 1, 1, "AWT000", f"syntax error: {exc.message}")]
            continue
        disabled = "AWT301" in options.disabled_rules
        out[path] = [] if disabled else _marked(path, text, "LEFTOVER", "AWT301", "leftover: sync call")
    return out


engine.migrate_sources = migrate_sources  # type: ignore[assignment]
engine.check_sources = check_sources  # type: ignore[assignment]

if __name__ == "__main__":
    from codemods.cli import main

    sys.exit(main(prog_name="awaitify"))
