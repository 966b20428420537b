"""The glue around the engine: discover → read → engine → verify → write, for `migrate` and `check`.

The engine is called in exactly two places, `_engine_migrate` and `_engine_check`; everything else
here is file handling. A file that cannot be read, does not parse, or whose rewrite fails
verification or cannot be written is reported FAILED and the run goes on with the other files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from codemods import interrupts, teardown
from codemods.check_cache import cached_findings
from codemods.config import Config, ConfigError, load_config
from codemods.discover import Discovery, discover, find_project_root
from codemods.gc_pause import collector_paused
from codemods.model import EngineOptions, FileOutcome, FileStatus, Finding
from codemods.pytest_config import load_pytest_asyncio_settings
from codemods.report import CheckedFile, CheckReport, MigrateReport
from codemods.scope import unmatched_globs
from codemods.source_io import SourceError, SourceFile, StagedWrite, read_source, stage_source, sync_directories
from codemods.source_lines import source_lines
from codemods.suppress import apply_suppressions
from codemods.tree_budget import mb_to_bytes
from codemods.vcs import IGNORED, unsafe_files
from codemods.verify import verify_rewrite

if TYPE_CHECKING:
    from codemods.engine import ParseMemo

logger = logging.getLogger(__name__)

# check_sources reports a file it cannot analyse (syntax error, nesting too deep) as one finding
# with this code; the runner turns it into a failed file (exit 2), never into a leftover (exit 1).
ENGINE_FAILURE_CODE = "AWT000"


class Progress(Protocol):
    """Where the runner reports how far it is; the CLI shows it as a progress bar, or not at all."""

    def stage(self, description: str, total: int | None) -> None: ...

    def advance(self) -> None: ...


class NoProgress:
    def stage(self, description: str, total: int | None) -> None:
        logger.debug("%s (%s files)", description, total if total is not None else "?")

    def advance(self) -> None:
        pass


class DirtyTreeError(Exception):
    """Target files have uncommitted changes or are ignored by git; `files` are their display paths, `ignored`
    those of them git ignores."""

    def __init__(self, files: Sequence[str], ignored: Sequence[str] = ()) -> None:
        super().__init__("uncommitted changes in target files")
        self.files = list(files)
        self.ignored = list(ignored)


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for (config from pyproject.toml is merged in by `prepare`)."""

    paths: tuple[Path, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    session_factories: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    jobs: int = 1
    file_timeout: float | None = None  # None: the config's (default 120 s)
    max_file_mb: float | None = None  # None: the config's (default 2 MB)
    max_tree_mb: float | None = None  # None: the config's (default 512 MB)


@dataclass
class Workspace:
    """The project a run works on: its root, merged config and files (engine key -> path)."""

    root: Path
    config: Config
    discovery: Discovery
    jobs: int
    cwd: Path

    @property
    def engine_options(self) -> EngineOptions:
        return EngineOptions(
            disabled_rules=self.config.disable,
            session_factories=self.config.session_factories,
            jobs=self.jobs,
            file_timeout=self.config.file_timeout or None,
            only=self.config.only,
            max_tree_bytes=mb_to_bytes(self.config.max_tree_mb or None),
            pytest_asyncio=load_pytest_asyncio_settings(self.root),
        )

    def display(self, key: str) -> str:
        """How a file is named to the user: relative to the working directory when below it."""
        path = self.root / key
        try:
            return path.relative_to(self.cwd).as_posix()
        except ValueError:
            return path.as_posix()


def prepare(options: RunOptions, cwd: Path | None = None) -> Workspace:
    """Find the project root, load and merge its config, and discover the files. Raises ConfigError."""
    existing = [p for p in options.paths if os.path.lexists(p)]
    root = find_project_root(existing or [Path(".")])
    config = load_config(root).merged(
        include=options.include,
        exclude=options.exclude,
        disable=options.disable,
        session_factories=options.session_factories,
        file_timeout=options.file_timeout,
        max_file_mb=options.max_file_mb,
        only=options.only,
        max_tree_mb=options.max_tree_mb,
    )
    if config.source:
        logger.info("config: %s", config.source)
    discovery = discover(options.paths, config.include, config.exclude, root=root)
    if not discovery.files and not discovery.missing and not discovery.not_followed:
        logger.warning("no Python files found under %s", ", ".join(map(str, options.paths)))
    logger.info("project root: %s; %d file(s)", root, len(discovery.files))
    unmatched = unmatched_globs(config.only, discovery.files)
    if unmatched and discovery.files:
        raise ConfigError(
            f"--only glob(s) matching no file of {root}: {', '.join(map(repr, unmatched))} "
            "(globs are matched against paths relative to the project root, like `pkg/users/**`)"
        )
    here = Path(os.path.abspath(cwd or Path.cwd()))
    return Workspace(root=root, config=config, discovery=discovery, jobs=options.jobs, cwd=here)


def check_clean_tree(workspace: Workspace) -> None:
    """Raise DirtyTreeError when a target file has uncommitted changes in its git work tree, or is ignored by git
    (git has no copy of it to restore)."""
    unsafe = unsafe_files(workspace.discovery.files.values())
    if unsafe:
        real_cwd = Path(os.path.realpath(workspace.cwd))
        shown = {path: _display_path(path, real_cwd) for path in sorted(unsafe)}
        ignored = [shown[path] for path, why in unsafe.items() if why == IGNORED]
        raise DirtyTreeError(list(shown.values()), sorted(ignored))


# ---- migrate ----------------------------------------------------------------------------------


def run_migrate(workspace: Workspace, write: bool, progress: Progress | None = None) -> MigrateReport:
    progress = progress or NoProgress()
    sources, outcomes = _read_all(workspace, progress)
    texts = {key: source.text for key, source in sources.items()}
    unwritable: dict[str, str] = {}
    while True:
        verified = _migrate_verified(texts, sources, workspace.engine_options, progress, unwritable)
        if not write:
            break
        changed = [key for key, outcome in verified.items() if outcome.status is FileStatus.CHANGED]
        progress.stage("Writing", len(changed))
        written, cannot = _write_all(changed, sources, verified, progress)
        if not cannot:
            verified.update(written)
            break
        # nothing written: the project is planned again without them, as for a rewrite that fails verification
        logger.info("planning again without %d file(s) that cannot be written", len(cannot))
        unwritable |= cannot
    outcomes.update(verified)
    report = MigrateReport(scanned=len(workspace.discovery.files), written=write)
    report.outcomes = {
        workspace.display(key): _for_display(outcome, workspace.display(key))
        for key, outcome in sorted(outcomes.items())
    }
    for path, reason in _not_discovered(workspace).items():
        report.outcomes[path] = _failed(path, reason)
    return report


def _migrate_verified(
    texts: Mapping[str, str],
    sources: Mapping[str, SourceFile],
    options: EngineOptions,
    progress: Progress,
    left_alone: Mapping[str, str],
) -> dict[str, FileOutcome]:
    """The engine's outcomes, each verified (it compiles; a second run changes nothing).

    A file that fails verification is left as it was, and the project is planned again without it, as the
    engine does for a rewrite that fails: otherwise other files would await its functions, which stayed sync.
    `left_alone` (path -> why): files to leave as they are from the start (FAILED, with that reason)."""
    from codemods import engine  # imported here: `rules`, `explain`, `--version` need no engine

    # the engine runs again on the output: files it did not change are not read again, and it parses the rewritten
    # ones while its rewrite workers run (see engine.ParseMemo)
    memo = engine.ParseMemo(parse_ahead=True)
    with collector_paused():  # while the memo holds every tree, a collection would walk them all (~2 s each)
        verified = _verified_until_stable(texts, sources, options, progress, memo, left_alone)
    # the trees of the last analysis: freed as the function returns, or with the process (console script: see
    # codemods.teardown). Only the last: keeping the first analysis' as well would add to the peak memory.
    teardown.keep(memo)
    return verified


def _verified_until_stable(
    texts: Mapping[str, str],
    sources: Mapping[str, SourceFile],
    options: EngineOptions,
    progress: Progress,
    memo: ParseMemo,
    left_alone_at_start: Mapping[str, str],
) -> dict[str, FileOutcome]:
    left_alone = dict(left_alone_at_start)
    while True:
        progress.stage("Analysing and rewriting", None)
        results = _engine_migrate(texts, options, left_alone, memo)
        progress.stage("Verifying", len(sources))
        verified: dict[str, FileOutcome] = {}
        for key, source in sources.items():
            verified[key] = _verify(key, source, results.get(key))
            progress.advance()
        progress.stage("Checking that a second run changes nothing", None)
        _verify_stable(verified, sources, options, left_alone, memo)
        failed_verification = {
            key: outcome.error or "failed verification"
            for key, outcome in verified.items()
            if outcome.status is FileStatus.FAILED
            and key not in left_alone
            and (key not in results or results[key].status is not FileStatus.FAILED)
        }
        if not failed_verification:
            return verified
        logger.info("planning again without %d file(s) that failed verification", len(failed_verification))
        left_alone |= failed_verification


def _verify(key: str, source: SourceFile, outcome: FileOutcome | None) -> FileOutcome:
    if outcome is None:
        return _failed(key, "the engine returned no result for this file", source.text)
    outcome = dataclasses.replace(outcome, old_text=source.text)
    if outcome.status is FileStatus.FAILED:
        return dataclasses.replace(outcome, new_text=source.text, error=outcome.error or "failed")
    if outcome.status is FileStatus.CHANGED and outcome.new_text == source.text:
        outcome = dataclasses.replace(outcome, status=FileStatus.UNCHANGED)
    if outcome.status is FileStatus.UNCHANGED:
        return dataclasses.replace(outcome, new_text=source.text)
    if outcome.verified:  # the engine's rewrite worker has compiled this very text (see verify_rewrite)
        return outcome
    error = verify_rewrite(source.text, outcome.new_text, key)
    if error is not None:
        return dataclasses.replace(outcome, status=FileStatus.FAILED, new_text=source.text, error=error)
    return outcome


def _verify_stable(
    outcomes: dict[str, FileOutcome],
    sources: Mapping[str, SourceFile],
    options: EngineOptions,
    left_alone: Mapping[str, str],
    memo: ParseMemo,
) -> None:
    """A second run over the rewritten project must change nothing (migrate twice = migrate once).

    A file the second run would change is reported failed and left untouched: a rewritten file that
    changes again, or an untouched file that other files' rewrites would make change.
    """
    if not any(o.status is FileStatus.CHANGED for o in outcomes.values()):
        return
    texts = {key: o.new_text for key, o in outcomes.items()}
    second = _engine_migrate(texts, options, left_alone, memo)
    for key, outcome in outcomes.items():
        again = second.get(key)
        if outcome.status is FileStatus.FAILED or again is None:
            continue
        if again.status is not FileStatus.CHANGED or again.new_text == texts[key]:
            continue
        if outcome.status is FileStatus.CHANGED:
            error = "rewrite is not stable: a second run would change it again (left untouched)"
        else:
            error = "not a fixed point: after the other files' rewrites, a second run would change this file"
        outcomes[key] = dataclasses.replace(outcome, status=FileStatus.FAILED, new_text=sources[key].text, error=error)


# Each write waits on its fsync (the disk, not the CPU): a few threads overlap them (796 files: 0.42 s -> 0.27 s).
WRITER_THREADS = 8


def _write_all(
    keys: Sequence[str], sources: Mapping[str, SourceFile], outcomes: Mapping[str, FileOutcome], progress: Progress
) -> tuple[dict[str, FileOutcome], dict[str, str]]:
    """Every file written, or none: (each file's outcome, {}), or ({}, the files that cannot be written -> why).

    Each file's new bytes are first staged beside it (see source_io.stage_source: a file changed on disk since it
    was read, or that cannot be replaced, fails there); only when every file is staged does each replace its file
    (a rename each: a failure then, a race, is reported per file). A project half-migrated because some of its
    files could not be written would not run: the caller plans again without those. An interrupt (Ctrl-C,
    SIGTERM) while writing takes effect once every file is written (under a second for hundreds of files; see
    interrupts.deferred): the project is left migrated, not half-written."""
    with interrupts.deferred("the writes under way"), ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        staged = list(pool.map(lambda key: _stage(sources[key], outcomes[key]), keys))
        ready = [write for write in staged if isinstance(write, StagedWrite)]
        if len(ready) < len(staged):
            for write in ready:
                write.discard()
            return {}, {key: why for key, why in zip(keys, staged, strict=True) if isinstance(why, str)}
        written: dict[str, FileOutcome] = {}
        commits = pool.map(lambda key, write: _commit(write, sources[key], outcomes[key]), keys, ready)
        for key, outcome in zip(keys, commits, strict=True):
            written[key] = outcome
            progress.advance()
        # once every file is renamed: each directory synced once, not once per file it holds (796 files in 4
        # directories: the commits took 1.4-1.9 s summed over the threads, syncing the directory after each rename)
        sync_directories(ready)
    return written, {}


def _stage(source: SourceFile, outcome: FileOutcome) -> StagedWrite | str:
    """The file's new text staged (see source_io.stage_source), or why it cannot be written."""
    try:
        return stage_source(source, outcome.new_text)
    except SourceError as exc:
        return str(exc)


def _commit(staged: StagedWrite, source: SourceFile, outcome: FileOutcome) -> FileOutcome:
    try:
        staged.commit(sync_directory=False)  # the caller syncs each directory once (see _write_all)
    except SourceError as exc:
        return dataclasses.replace(outcome, status=FileStatus.FAILED, new_text=source.text, error=str(exc))
    return outcome


def _for_display(outcome: FileOutcome, display: str) -> FileOutcome:
    text = outcome.new_text if outcome.status is FileStatus.CHANGED else outcome.old_text
    findings = [dataclasses.replace(f, path=display) for f in apply_suppressions(text, outcome.findings)]
    return dataclasses.replace(outcome, path=display, findings=sorted(findings))


# ---- check ------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where `check` keeps results of trees it has seen: $XDG_CACHE_HOME/awaitify/check (or ~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "awaitify" / "check"


def run_check(workspace: Workspace, progress: Progress | None = None, *, no_cache: bool = False) -> CheckReport:
    progress = progress or NoProgress()
    sources, failed = _read_all(workspace, progress)
    report = CheckReport(scanned=len(workspace.discovery.files))
    progress.stage("Checking", None)
    options = replace(workspace.engine_options, cache_dir=None if no_cache else str(default_cache_dir()))
    results = _engine_check({key: source.text for key, source in sources.items()}, options)
    for key, findings in results.items():
        display = workspace.display(key)
        errors = [f for f in findings if f.code == ENGINE_FAILURE_CODE]
        if errors:  # the engine could not analyse the file (syntax error, ...): a failure, not a finding
            report.failures[display] = "; ".join(f.message for f in errors)
            continue
        text = sources[key].text if key in sources else ""
        kept = [dataclasses.replace(f, path=display) for f in apply_suppressions(text, findings)]
        if kept:
            report.files[display] = CheckedFile(key=key, lines=tuple(source_lines(text)))
        report.findings += kept
    report.findings.sort()
    for key, outcome in failed.items():
        report.failures[workspace.display(key)] = outcome.error or "failed"
    report.failures.update(_not_discovered(workspace))
    return report


# ---- shared -----------------------------------------------------------------------------------


def _engine_migrate(
    sources: Mapping[str, str],
    options: EngineOptions,
    left_alone: Mapping[str, str] | None = None,
    memo: ParseMemo | None = None,
) -> dict[str, FileOutcome]:
    if not sources:
        return {}
    from codemods import engine  # imported here: `rules`, `explain`, `--version` need no engine

    return engine.migrate_sources(sources, options, left_alone, memo)


def _engine_check(sources: Mapping[str, str], options: EngineOptions) -> dict[str, list[Finding]]:
    if not sources:
        return {}

    def analysed() -> dict[str, list[Finding]]:
        from codemods import engine  # only on a cache miss: importing it costs a third of a cached run

        return engine.check_sources(sources, replace(options, cache_dir=None, only=()))

    return cached_findings(sources, options, analysed)


def _not_discovered(workspace: Workspace) -> dict[str, str]:
    """The paths the run could not look at, each a failed path (display path -> why): given paths that do not exist
    or are (or are below) symlinks, and directories that could not be listed."""
    discovery = workspace.discovery
    failures = dict.fromkeys(discovery.missing, "no such file or directory")
    failures.update(discovery.not_followed)
    for directory, reason in discovery.unreadable.items():
        failures[_display_path(Path(directory), workspace.cwd)] = reason
    return failures


def _read_all(workspace: Workspace, progress: Progress) -> tuple[dict[str, SourceFile], dict[str, FileOutcome]]:
    progress.stage("Reading", len(workspace.discovery.files))
    sources: dict[str, SourceFile] = {}
    failed: dict[str, FileOutcome] = {}
    limit = int(workspace.config.max_file_mb * 1_000_000)
    for key, path in workspace.discovery.files.items():
        size = _size(path)
        if limit and size is not None and size > limit:
            failed[key] = _failed(key, _too_big(size, workspace.config.max_file_mb))
            progress.advance()
            continue
        try:
            sources[key] = read_source(path)
        except SourceError as exc:
            failed[key] = _failed(key, str(exc))
        progress.advance()
    return sources, failed


def _size(path: Path) -> int | None:
    """The file's size, None when it cannot be read (read_source then says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def _too_big(size: int, limit_mb: float) -> str:
    return (
        f"{size / 1_000_000:.1f} MB, over the per-file limit of {limit_mb:g} MB (left as it is; raise it with "
        "--max-file-mb)"
    )


def _failed(path: str, error: str, text: str = "") -> FileOutcome:
    return FileOutcome(path=path, status=FileStatus.FAILED, old_text=text, new_text=text, error=error)


def _display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()
