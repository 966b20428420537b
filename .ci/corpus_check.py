"""`make corpus-check`: run `awaitify migrate` over a copy of every `.py` file of the venv's site-packages.

Code nobody here wrote, SQLAlchemy's own source included. Fails (exit 1) when awaitify crashes (a
traceback, an internal error, an exit code other than 0/2), when a file that parsed before no longer
parses, when a file that does not use SQLAlchemy is not byte-identical afterwards, when a file that
parses is reported failed, when the report and the disk disagree, or when files appear or vanish.

Prints the figures: files, lines, seconds, changed, failed, byte-identical non-SQLAlchemy files.

    .venv/bin/python .ci/corpus_check.py [--jobs N] [--only PKG,...] [--limit N] [--keep DIR] [--second-run]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PYTHON = REPO / ".venv" / "bin" / "python"
CORPUS = "corpus"  # not "site-packages": that name is one of awaitify's default excludes
SHOWN = 25  # problems listed per kind


@dataclass
class Problems:
    kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, item: str) -> None:
        self.kinds.setdefault(kind, []).append(item)

    def __bool__(self) -> bool:
        return any(self.kinds.values())


def site_packages_of(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def python_files(site: Path) -> list[str]:
    """Every regular `.py` file below site (symlinks not followed), sorted POSIX relative paths."""
    found = []
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            path = Path(dirpath) / name
            if name.endswith(".py") and not path.is_symlink() and path.is_file():
                found.append(path.relative_to(site).as_posix())
    return sorted(found)


def parses(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def uses_sqlalchemy(rel: str, data: bytes) -> bool:
    return rel.split("/", 1)[0] == "sqlalchemy" or b"sqlalchemy" in data.lower()


def excluded_by_default(python: Path, files: Sequence[str]) -> list[str]:
    """Files awaitify's default excludes would skip (a `build/` package...): they are named explicitly."""
    code = (
        "import sys, json; from codemods.discover import matches, DEFAULT_EXCLUDES; "
        "print(json.dumps([f for f in json.load(sys.stdin) if matches(f, DEFAULT_EXCLUDES)]))"
    )
    out = subprocess.run(
        [str(python), "-c", code],
        input=json.dumps(list(files)),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return list(json.loads(out.stdout))


def run_migrate(python: Path, root: Path, extra: Sequence[str], jobs: int) -> tuple[int, str, float]:
    argv = [
        str(python),
        "-m",
        "codemods",
        "migrate",
        CORPUS,
        *extra,
        "--allow-dirty",
        "-q",
        "--jobs",
        str(jobs),
        "--report",
        "report.json",
    ]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "250"}
    started = time.monotonic()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return done.returncode, done.stdout + done.stderr, seconds


def check(args: argparse.Namespace) -> int:
    python = Path(os.path.abspath(args.python))  # awaitify runs in the corpus copy; not resolve(): keep the venv's link
    site = Path(args.site_packages) if args.site_packages else site_packages_of(python)
    files = python_files(site)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        files = [rel for rel in files if rel.split("/", 1)[0].removesuffix(".py") in wanted]
    if args.limit:
        files = files[: args.limit]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="awaitify-corpus-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    root = work / "proj"
    (root / CORPUS).mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "corpus"\n', encoding="utf-8")
    before: dict[str, bytes] = {}
    for rel in files:
        dest = root / CORPUS / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = (site / rel).read_bytes()
        dest.write_bytes(data)
        before[rel] = data
    lines = sum(data.count(b"\n") for data in before.values())
    extra = [f"{CORPUS}/{rel}" for rel in excluded_by_default(python, files)]
    sys.stdout.write(f"corpus: {len(files)} files, {lines} lines from {site}\n")
    sys.stdout.flush()

    code, output, seconds = run_migrate(python, root, extra, args.jobs)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    problems = Problems()
    if code not in (0, 2):
        problems.add("exit code", f"awaitify exited {code}")
    for marker in ("Traceback (most recent call last)", "internal error"):
        if marker in output:
            problems.add("crash", f"{marker!r} in the output")
    report_path = root / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {"files": []}
    status = {f["path"].removeprefix(f"{CORPUS}/"): f for f in report["files"]}

    after = {rel: (root / CORPUS / rel).read_bytes() if (root / CORPUS / rel).exists() else None for rel in files}
    present = {p.relative_to(root / CORPUS).as_posix() for p in (root / CORPUS).rglob("*") if p.is_file()}
    for rel in sorted(present - set(files)):
        problems.add("new file", rel)
    changed = failed = identical_plain = plain = 0
    for rel in files:
        old, new = before[rel], after[rel]
        entry = status.get(rel)
        if new is None:
            problems.add("file vanished", rel)
            continue
        if entry is None:
            problems.add("not in the report", rel)
        elif entry["status"] == "failed":
            failed += 1
            if parses(old):
                problems.add("parses but failed", f"{rel}: {entry['error']}")
            if new != old:
                problems.add("failed but written", rel)
        if new != old:
            changed += 1
            if entry is not None and entry["status"] != "changed":
                problems.add("report/disk disagree", f"{rel}: reported {entry['status']}, changed on disk")
            if parses(old) and not parses(new):
                problems.add("no longer parses", rel)
        elif entry is not None and entry["status"] == "changed":
            problems.add("report/disk disagree", f"{rel}: reported changed, identical on disk")
        if not uses_sqlalchemy(rel, old):
            plain += 1
            if new == old:
                identical_plain += 1
            else:
                problems.add("collateral change (no SQLAlchemy)", rel)

    unparsable = sum(1 for data in before.values() if not parses(data))
    second = ""
    if args.second_run and code in (0, 2):
        snapshot = {rel: (root / CORPUS / rel).read_bytes() for rel in files}
        code2, output2, seconds2 = run_migrate(python, root, extra, args.jobs)
        again = [rel for rel in files if (root / CORPUS / rel).read_bytes() != snapshot[rel]]
        for rel in again:
            problems.add("second run changed", rel)
        if "Traceback (most recent call last)" in output2:
            problems.add("crash", "traceback in the second run")
        second = f"second run:          {seconds2:.1f} s, exit {code2}, {len(again)} file(s) changed again\n"

    sys.stdout.write(
        "\n== awaitify corpus check ==\n"
        f"files:               {len(files)}\n"
        f"lines:               {lines}\n"
        f"seconds:             {seconds:.1f} (jobs={args.jobs})\n"
        f"peak RSS:            {peak_mb:.0f} MB\n"
        f"exit code:           {code}\n"
        f"changed:             {changed}\n"
        f"failed:              {failed} ({unparsable} do not parse on this Python)\n"
        f"non-SQLAlchemy:      {identical_plain}/{plain} byte-identical\n"
        f"{second}"
        f"work dir:            {work}\n"
    )
    if problems:
        sys.stdout.write("\nFAILED:\n")
        for kind, items in sorted(problems.kinds.items()):
            sys.stdout.write(f"  {kind}: {len(items)}\n")
            for item in items[:SHOWN]:
                sys.stdout.write(f"    {item}\n")
            if len(items) > SHOWN:
                sys.stdout.write(f"    ... and {len(items) - SHOWN} more\n")
        if "crash" in problems.kinds or "exit code" in problems.kinds:
            sys.stdout.write("\n--- awaitify output (tail) ---\n" + output[-4000:] + "\n")
        return 1
    sys.stdout.write("\nOK\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--python", default=str(DEFAULT_PYTHON if DEFAULT_PYTHON.exists() else sys.executable))
    parser.add_argument("--site-packages", default=None, help="default: the purelib of --python")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (a quick look)")
    parser.add_argument("--only", default="", metavar="PKG,...", help="only these top-level packages")
    parser.add_argument("--keep", default=None, metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--second-run", action="store_true", help="also check a second run changes nothing")
    return check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
