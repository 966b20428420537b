"""Plain data shared by every stage of the pipeline (picklable, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from codemods.tree_budget import DEFAULT_MAX_TREE_MB, mb_to_bytes


class FileStatus(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, order=True)
class Finding:
    """One located message: a review item left by `migrate`, or a leftover found by `check`."""

    path: str
    line: int
    col: int
    code: str
    message: str


@dataclass
class FileStats:
    functions_made_async: int = 0
    awaits_added: int = 0
    queries_rewritten: int = 0

    def add(self, other: FileStats) -> None:
        self.functions_made_async += other.functions_made_async
        self.awaits_added += other.awaits_added
        self.queries_rewritten += other.queries_rewritten


@dataclass
class FileOutcome:
    """What the engine did (or would do) to one file."""

    path: str
    status: FileStatus
    old_text: str
    new_text: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    stats: FileStats = field(default_factory=FileStats)
    # For every function made async: the call-graph path that forced it, e.g.
    # ["api.routers.get_user", "api.services.UserService.get", "<session I/O: commit>"].
    async_reasons: dict[str, list[str]] = field(default_factory=dict)
    # The engine has verified new_text (codemods.verify: it compiles) where it rewrote the file, in parallel.
    verified: bool = False


@dataclass(frozen=True)
class PytestAsyncioSettings:
    """The target project's pytest-asyncio configuration (see codemods.pytest_config)."""

    auto_mode: bool = False
    test_loop_scope: str | None = None
    fixture_loop_scope: str | None = None


@dataclass
class EngineOptions:
    """Knobs of the engine, from `[tool.awaitify]` and command-line flags."""

    disabled_rules: frozenset[str] = frozenset()
    # Extra callables whose result is a session (e.g. "app.db.new_session") or that FastAPI
    # dependencies resolve to a session (e.g. "app.deps.get_session").
    session_factories: frozenset[str] = frozenset()
    jobs: int = 1
    # Wall-clock seconds the work on one file may take before it is reported and left as it is (None: no limit).
    file_timeout: float | None = 120.0
    # Where `check` keeps the findings of a tree it has already checked (None: no cache).
    cache_dir: str | None = None
    # Staged migration (`--only`): globs of the files this run may rewrite; () rewrites the whole project.
    only: tuple[str, ...] = ()
    # How the project's pytest runs async tests: decides the marks and loop scopes of migrated tests.
    pytest_asyncio: PytestAsyncioSettings = field(default_factory=PytestAsyncioSettings)
    # Estimated bytes of parsed trees a process holds at once; beyond it, trees are let go and parsed again when
    # needed (None: no limit; see codemods.tree_budget).
    max_tree_bytes: int | None = mb_to_bytes(DEFAULT_MAX_TREE_MB)
