"""The `awaitify` command line: migrate, check, rules, explain.

Exit codes (like ruff): 0 success / clean; 1 findings (`check`) or a non-empty diff
(`migrate --diff`); 2 usage error, invalid config, a file that failed, output that cannot be written (a full
disk; a closed stdout, refused before the command starts), or an internal error; 130 and 143 interrupted by
Ctrl-C or SIGTERM.
Results go to stdout; messages, progress and the summary table to stderr.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from codemods import __version__, diffing, interrupts, teardown
from codemods.baseline import BaselineError, load_baseline, split_known, write_baseline
from codemods.config import MAX_FILE_TIMEOUT, ConfigError, limit_problem
from codemods.model import FileStatus
from codemods.report import (
    CHECK_FORMATS,
    CheckReport,
    MigrateReport,
    finding_line,
    migrate_report_for,
    rules_json,
    rules_markdown,
    rules_table,
    summary_table,
)
from codemods.rules.registry import RULES, get_rule
from codemods.runner import DirtyTreeError, RunOptions, check_clean_tree, prepare, run_check, run_migrate
from codemods.source_lines import source_lines

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.text import Text

logger = logging.getLogger("codemods")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PROGRESS_THRESHOLD = 50  # files; smaller runs finish before a bar is worth drawing
# `--jobs`: the work is all CPU, so processes beyond the cores only add forks and switches (`migrate --diff` of
# target_backend/ on 2 cores: 0.5 s with --jobs 1, 1.3 s with 8, 2.4 s with 64, 7.0 s with 500; --jobs 100000
# forked for minutes). A few per core are allowed (to try a split wider than the machine); more is a usage error.
JOBS_PER_CPU = 4
CPU_COUNT = os.cpu_count() or 1
MAX_JOBS = JOBS_PER_CPU * CPU_COUNT

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    verbose: int = 0
    quiet: bool = False


# rich is imported where something is printed: a quiet run that prints nothing (`-q`, no failure, no review item)
# needs none of it (`rich.console`, `rich.logging` and `rich.text` took ~25 ms of a ~0.13 s start-up, `-X importtime`)


def _stdout() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def _text(message: str = "", style: str = "") -> Text:
    from rich.text import Text

    return Text(message, style=style)


class _RichLogHandler(logging.Handler):
    """Log records on stderr through rich's `RichHandler`, built at the first record a run logs (see `_stdout`)."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.logging import RichHandler

            self._rich = RichHandler(console=_stderr(), show_time=False, show_path=False, markup=False)
            self._rich.setFormatter(self.formatter)
        self._rich.emit(record)


def _settings() -> Settings:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value:
        _settings().verbose = max(_settings().verbose, value)
        _configure_logging()
    return value


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        _settings().quiet = True
        _configure_logging()
    return value


def _configure_logging() -> None:
    settings = _settings()
    level = logging.WARNING
    if settings.verbose >= 2:
        level = logging.DEBUG
    elif settings.verbose == 1:
        level = logging.INFO
    elif settings.quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(message)s", handlers=[_RichLogHandler()], force=True)


def common_options(function: F) -> F:
    """-v/-q on the group and on every command, so they work before or after the command name."""
    function = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set_verbose,
        help="More output (-vv for debug); shows tracebacks of internal errors.",
    )(function)
    function = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_set_quiet,
        help="Only errors and results: no progress bar, no summary.",
    )(function)
    return function


# errno values of a write that found no room (a full disk or quota, a file too big): out of a command, only the
# output's writes can raise them, since every file a run writes reports its own errors
_OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class AwaitifyGroup(click.Group):
    """Turns any unexpected exception into a one-line error and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno in _OUTPUT_FULL):
                # the files a run writes report their own errors (per file, or the report's path): the output
                ctx.exit(teardown.output_lost(exc))
            settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
            if settings.verbose:
                logger.exception("internal error")
            message = f"awaitify: internal error: {type(exc).__name__}: {exc}"
            if not settings.verbose:
                message += " (run with -v for the traceback)"
            _stderr().print(_text(message, style="bold red"))
            ctx.exit(EXIT_ERROR)


@click.group(cls=AwaitifyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="awaitify")
@common_options
def main() -> None:
    """Migrate a FastAPI + SQLAlchemy code base from the sync Session to AsyncSession."""
    _configure_logging()


def run() -> NoReturn:
    """The `awaitify` console script: `main`, then a quick exit that skips freeing the run's trees (see
    codemods.teardown). SIGTERM ends it as Ctrl-C does; exit codes 130 and 143 (see codemods.interrupts). Call
    `main` itself to run the command line in a process that goes on."""
    teardown.standard_descriptors_opened()
    interrupts.handle_interrupts()
    teardown.run_and_exit(_main_writing_safely)


def _main_writing_safely() -> None:
    """`main`, with output that cannot be written outside a command (`--version`, `--help` into a full disk or a
    closed pipe) reported in a line, as inside one (see AwaitifyGroup.invoke), not as a traceback. With stdout
    closed (`>&-`: sys.stdout is None), no command starts (see teardown.output_closed)."""
    try:
        if sys.stdout is None:
            sys.exit(teardown.output_closed())
        main(prog_name="awaitify")
    except OSError as exc:
        sys.exit(teardown.output_lost(exc))
    except SystemExit:
        interrupted = interrupts.exit_code_after_interrupt()
        if interrupted is not None:
            sys.exit(interrupted)
        raise
    finally:
        interrupts.stop_handling_interrupts()


class SourcePath(click.Path):
    """A path to migrate or check; an empty one is a usage error, not the current directory (`Path("")` is `.`):
    `awaitify migrate "$APP_DIR"` with the variable unset must not rewrite whatever directory it runs in."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail("an empty path (an unset variable?): name a file or a directory, `.` for this one", param, ctx)
        return super().convert(value, param, ctx)


class LimitRange(click.FloatRange):
    """A limit option: a number >= 0 (0: no limit) up to `maximum`, in `unit`s; inf and nan are usage errors, as in
    the config (see config.limit_problem), where FloatRange lets them through."""

    def __init__(self, unit: str, maximum: float = math.inf) -> None:
        super().__init__(min=0)
        self.unit = unit
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        problem = limit_problem(number, self.unit, self.maximum)
        if problem:
            self.fail(f"{problem}, got {value}", param, ctx)
        return number


def selection_options(function: F) -> F:
    decorators = [
        click.argument("paths", nargs=-1, required=True, type=SourcePath(path_type=Path)),
        click.option(
            "--include",
            multiple=True,
            metavar="GLOB",
            help="Only files matching a glob (repeatable; replaces the config's include).",
        ),
        click.option(
            "--exclude",
            multiple=True,
            metavar="GLOB",
            help="Skip files/directories matching a glob (repeatable; replaces the config's).",
        ),
        click.option(
            "--only",
            multiple=True,
            metavar="GLOB",
            help="Staged migration: analyse everything, rewrite/report only files matching GLOB, relative to the "
            "project root (repeatable; replaces the config's only; see docs/staged-migrations.md).",
        ),
        click.option("--disable", multiple=True, metavar="AWTnnn", help="Disable a rule (repeatable)."),
        click.option(
            "--session-factory",
            "session_factories",
            multiple=True,
            metavar="DOTTED.NAME",
            help="A callable that returns a session or is a session dependency (repeatable).",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1, max=MAX_JOBS),
            default=None,
            help=f"Worker processes (default: all cores; at most {JOBS_PER_CPU} per core: {MAX_JOBS} here).",
        ),
        click.option(
            "--file-timeout",
            type=LimitRange("seconds", MAX_FILE_TIMEOUT),
            default=None,
            metavar="SECONDS",
            help="Give up on a file after this long: it is reported and left as it is (default 120; 0: no limit; "
            f"at most {MAX_FILE_TIMEOUT:g}).",
        ),
        click.option(
            "--max-file-mb",
            type=LimitRange("megabytes"),
            default=None,
            metavar="MB",
            help="Skip files bigger than this (reported, left as they are; default 2; 0: no limit).",
        ),
        click.option(
            "--max-tree-mb",
            type=LimitRange("megabytes"),
            default=None,
            metavar="MB",
            help="Memory each process may give to parsed trees; beyond it, trees are let go and parsed again when "
            "needed: slower, same result (default 512; 0: no limit).",
        ),
        common_options,
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _run_options(**kwargs: Any) -> RunOptions:
    return RunOptions(
        paths=tuple(kwargs["paths"]),
        include=tuple(kwargs["include"]),
        exclude=tuple(kwargs["exclude"]),
        disable=tuple(kwargs["disable"]),
        session_factories=tuple(kwargs["session_factories"]),
        only=tuple(kwargs["only"]),
        jobs=kwargs["jobs"] or CPU_COUNT,
        file_timeout=kwargs["file_timeout"],
        max_file_mb=kwargs["max_file_mb"],
        max_tree_mb=kwargs["max_tree_mb"],
    )


def _fail(message: str) -> None:
    _stderr().print(_text(f"awaitify: error: {message}", style="bold red"))
    click.get_current_context().exit(EXIT_ERROR)


class RichProgress:
    """The runner's Progress shown as a rich bar on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("Starting", total=None)

    def stage(self, description: str, total: int | None) -> None:
        # refresh now: a fast stage would otherwise never be drawn by the timed refresh
        self._progress.update(self._task, description=description, total=total, completed=0, refresh=True)

    def advance(self) -> None:
        self._progress.advance(self._task)


@contextmanager
def _progress(files: int) -> Iterator[RichProgress | None]:
    if files <= PROGRESS_THRESHOLD or _settings().quiet:
        yield None
        return
    console = _stderr()
    if not console.is_terminal:
        yield None
        return
    # imported here, as `Syntax` in `explain`: a run without a terminal needs neither (~25 ms of start-up)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield RichProgress(progress)


def _print_failures(outcomes: dict[str, str]) -> None:
    if not outcomes:  # no console (see `_stdout`)
        return
    console = _stderr()
    for path, message in sorted(outcomes.items()):
        console.print(_text(f"{diffing.quote_path(path)}: error: {message}", style="red"))


# ---- migrate ----------------------------------------------------------------------------------


@main.command()
@selection_options
@click.option("--diff", is_flag=True, help="Print a unified diff and write nothing (exit 1 when non-empty).")
@click.option("--allow-dirty", is_flag=True, help="Rewrite files even if they have uncommitted changes.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the full report to FILE (.html, .json, .md, else text).",
)
def migrate(diff: bool, allow_dirty: bool, report_path: Path | None, **kwargs: Any) -> None:
    """Rewrite PATHS in place from Session to AsyncSession.

    \b
    Exit codes: 0 done (or --diff with nothing to change), 1 --diff with changes,
    2 usage/config error, uncommitted changes in target files, or any file that failed
    (also a path that is missing, or is a symlink or below one: symlinks are never followed).
    """
    try:
        workspace = prepare(_run_options(**kwargs))
        if not diff and not allow_dirty:
            check_clean_tree(workspace)
    except ConfigError as exc:
        _fail(str(exc))
        return
    except DirtyTreeError as exc:
        _fail(_dirty_tree_message(exc))
        return
    with _progress(len(workspace.discovery.files)) as progress:
        report = run_migrate(workspace, write=not diff, progress=progress)

    if diff:
        _print_diff(report)
    _print_review_items(report, to_stderr=diff)
    _print_failures({o.path: o.error or "failed" for o in report.by_status(FileStatus.FAILED)})
    if report_path is not None:
        _write_report(report, report_path)
    if not _settings().quiet:
        _stderr().print(summary_table(report))

    if report.by_status(FileStatus.FAILED):
        click.get_current_context().exit(EXIT_ERROR)
    if diff and report.by_status(FileStatus.CHANGED):
        click.get_current_context().exit(EXIT_FINDINGS)


def _dirty_tree_message(error: DirtyTreeError) -> str:
    """Why migrate refuses to start: the files git could not give back, ignored ones named as such."""
    ignored = set(error.ignored)
    listing = "\n".join(
        f"  {diffing.quote_path(path)}" + (" (ignored by git)" if path in ignored else "") for path in error.files
    )
    what = "have uncommitted changes or are ignored by git" if ignored else "have uncommitted changes"
    advice = "Commit or stash them first so the migration can be reviewed and undone, or pass --allow-dirty."
    if ignored:
        advice += (
            "\nAn ignored file is not in the repository (git cannot restore it): commit it, back it up, or leave it "
            "out with `exclude` in [tool.awaitify]."
        )
    return f"{len(error.files)} target file(s) {what}:\n{listing}\n{advice}"


def unified_diff(path: str, old: str, new: str) -> list[str]:
    """Diff lines without their line endings (a file's CRLF would only be noise on a terminal)."""
    old_name, new_name = diffing.diff_names(path)
    lines = diffing.unified_diff(
        source_lines(old, keepends=True), source_lines(new, keepends=True), fromfile=old_name, tofile=new_name
    )
    out = []
    for line in lines:
        out.append(line.rstrip("\r\n"))
        if not line.endswith("\n"):
            out.append("\\ No newline at end of file")
    return out


def _print_diff(report: MigrateReport) -> None:
    """The diff on stdout: colored on a terminal; elsewhere (a file, a pipe to `git apply`) written as it is,
    every character kept (a console would drop control characters such as form feeds) and at once (a console
    print per line took 10 s for a 145,000-line diff)."""
    console = _stdout()
    for outcome in sorted(report.by_status(FileStatus.CHANGED), key=lambda o: o.path):
        lines = unified_diff(outcome.path, outcome.old_text, outcome.new_text)
        if not console.is_terminal:
            console.file.write("".join(f"{line}\n" for line in lines))
            continue
        text = _text()
        for line in lines:
            text.append(f"{line}\n", style=_diff_style(line))
        console.print(text, end="")


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def _print_review_items(report: MigrateReport, to_stderr: bool) -> None:
    if not report.findings:  # no console (see `_stdout`)
        return
    console = _stderr() if to_stderr else _stdout()
    for finding in report.findings:
        console.print(_text(finding_line(finding)))


def _write_report(report: MigrateReport, path: Path) -> None:
    kind, render = migrate_report_for(path.name)
    try:
        path.write_text(render(report), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write report {path}: {exc.strerror or exc}")
    logger.info("%s report written to %s", kind, path)


# ---- check ------------------------------------------------------------------------------------


@main.command()
@selection_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(CHECK_FORMATS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Only report findings not in this baseline file (matched on path, rule and line text).",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Write every current finding to the --baseline file and exit 0 (unless a file failed).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Analyse even a tree already checked (results are cached in $XDG_CACHE_HOME/awaitify/check).",
)
def check(output_format: str, baseline_path: Path | None, update_baseline: bool, no_cache: bool, **kwargs: Any) -> None:
    """List sync leftovers in PATHS. Writes nothing (except --update-baseline).

    \b
    Exit codes: 0 clean, 1 leftovers found, 2 usage/config error or a file that could not be checked
    (also a path that is missing, or is a symlink or below one: symlinks are never followed).
    Silence one line with `# awaitify: ignore[AWTnnn]` (or a bare `# awaitify: ignore`).
    With --baseline FILE, only findings not in FILE count (create it with --update-baseline).
    """
    if update_baseline and baseline_path is None:
        _fail("--update-baseline needs --baseline FILE")
        return
    try:
        workspace = prepare(_run_options(**kwargs))
        known = load_baseline(baseline_path) if baseline_path and not update_baseline else None
    except (ConfigError, BaselineError) as exc:
        _fail(str(exc))
        return
    with _progress(len(workspace.discovery.files)) as progress:
        report = run_check(workspace, progress=progress, no_cache=no_cache)
    if update_baseline and baseline_path is not None:
        _update_baseline(baseline_path, report)
        return
    baselined = 0
    if known is not None:
        report.findings, old = split_known(report, known)
        baselined = len(old)
    sys.stdout.write(CHECK_FORMATS[output_format](report))
    sys.stdout.flush()
    _print_failures(report.failures)
    if output_format == "text" and not _settings().quiet:
        _print_check_summary(report, baselined)
    if report.failures:
        click.get_current_context().exit(EXIT_ERROR)
    if report.findings:
        click.get_current_context().exit(EXIT_FINDINGS)


def _update_baseline(path: Path, report: CheckReport) -> None:
    try:
        count = write_baseline(path, report)
    except OSError as exc:
        _fail(f"cannot write baseline {path}: {exc.strerror or exc}")
        return
    _print_failures(report.failures)
    if not _settings().quiet:
        _stderr().print(_text(f"Baseline {path} written: {count} finding(s).", style="bold"))
    if report.failures:
        click.get_current_context().exit(EXIT_ERROR)


def _print_check_summary(report: CheckReport, baselined: int = 0) -> None:
    files = len({f.path for f in report.findings})
    new = "new " if baselined else ""
    if report.findings:
        message = f"Found {len(report.findings)} {new}leftover(s) in {files} file(s) ({report.scanned} checked)."
    else:
        message = f"No {new}leftovers in {report.scanned} file(s)."
    if baselined:
        message += f" {baselined} known leftover(s) in the baseline not shown."
    _stderr().print(_text(message, style="bold"))


# ---- rules / explain --------------------------------------------------------------------------


@main.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    show_default=True,
    help="markdown gives the full rule docs page.",
)
@common_options
def rules(output_format: str) -> None:
    """List every rule: code, name, kind and summary."""
    all_rules = list(RULES.values())
    if output_format == "table":
        _stdout().print(rules_table(all_rules))
        return
    sys.stdout.write(rules_markdown(all_rules) if output_format == "markdown" else rules_json(all_rules))


@main.command()
@click.argument("code")
@common_options
def explain(code: str) -> None:
    """Show the documentation of one rule, e.g. `awaitify explain AWT102`."""
    rule = get_rule(code)
    if rule is None:
        _fail(f"unknown rule code {code!r}; `awaitify rules` lists them all")
        return
    from rich.syntax import Syntax

    console = _stdout()
    console.print(_text(f"{rule.code} {rule.name} ({rule.kind.value})", style="bold"))
    console.print()
    console.print(_text(rule.summary))
    console.print()
    console.print(_text("Why: ", style="bold") + _text(rule.why))
    for title, example in (("Before", rule.before), ("After", rule.after)):
        if example:
            console.print()
            console.print(_text(f"{title}:", style="bold"))
            console.print(Syntax(example, "python", theme="ansi_dark", background_color="default"))
