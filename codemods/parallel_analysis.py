"""The per-function analysis of a big project, split between this process and forked workers.

The analysis of a module asks for the facts of the functions it calls, in any module, and hint rounds repeat it
until the hints (queries, sessions and mapped objects handed to project functions) stop growing (see
`fact_deps`). Every worker is a fork taken once the project is parsed: it shares the trees, symbols and sources
without copying them, and owns a fixed share of the modules for every round. A worker computes the facts its
modules ask for itself (a callee's facts may be computed in two processes: the same code on the same trees gives
the same facts; modules that import each other share a process where the balance allows, so it happens seldom),
and sends back the facts of its own modules as it finds them (read by this process between two of its own modules)
and, once done, the hints it gathered; between rounds every worker receives the union of all hints, so a round ends
with the same hints it would with one process. The shares balance an estimate of what each module's analysis costs
(`analysis_costs`), and of what a share analyses again of the modules it imports from another (`DUPLICATE_SHARE`).

Only plain data crosses between processes (facts, hints, failure messages); trees never do.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import cast

from codemods import analyze, argument_hints, interrupts
from codemods.argument_hints import HintState, RecordedHint
from codemods.function_facts import FunctionFacts
from codemods.types import QueryType

log = logging.getLogger(__name__)

# A module's analysis: its facts, or the reason it could not be analysed.
AnalyseModule = Callable[[str], "list[FunctionFacts] | str"]
# Modules the hints gathered so far make worth analysing, not analysed yet (see codemods.relevance).
MoreModules = Callable[[HintState], list[str]]
# (facts of the modules whose facts changed, new failures, every hint the worker holds)
_RoundResult = tuple[dict[str, list[FunctionFacts]], dict[str, str], HintState]

MAX_ROUNDS = 8


class WorkerLost(Exception):
    """A worker died or could not be started: the caller analyses the project in one process instead."""


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class ModuleShape:
    """What the estimate of a module's analysis cost reads of it, known before the split (see `analysis_costs`)."""

    size: int  # the length of its text
    functions: int  # functions and methods in its symbols
    holds_tree: bool  # its tree is held: one let go (by the budget, or parsed by the parse helper) is parsed again


# The estimate of a module's analysis, in bytes of text: FUNCTION_BYTES more for each function and method, and
# REPARSE_SHARE more of that when its tree is parsed again. Measured 2026-12-07 in both processes of `check --jobs 2`
# on the generated 2,131-file repository: each module's CPU time (its functions' and bodies' own time, callees
# apart, and its parse again; ~0.72 us a byte analysed, ~0.2 us a byte parsed again), then over 4,000 random splits
# of its linked groups in two, how far the share of the estimate given to a process is from its share of the
# measured time (of ~4.3 s), as a standard deviation: 0.027 s by size alone, 0.018 s with 250 bytes a function,
# 0.015 s with the parse again too, 0.009 s with the callees of `analysis_costs` too (0.006 s by the measured times
# themselves); 200-400 bytes and 0.2-0.3 all do within 0.001 s of it. (The first module each process analyses
# pays ~0.04 s of warm-up whatever it is: left out.)
FUNCTION_BYTES = 250
REPARSE_SHARE = 0.3


def analysis_costs(
    paths: Iterable[str], shapes: Mapping[str, ModuleShape], links: Mapping[str, Iterable[str]]
) -> dict[str, int]:
    """The estimated cost of analysing each module of `shapes` (see `FUNCTION_BYTES`), for `shares`.

    `paths`: the modules analysed (the others are analysed only for the functions those call); `links`: path ->
    the paths it imports names from. The functions a module calls in a module not analysed for itself are
    analysed on its behalf, in its process (that module parsed again as a rule: its tree is let go): the cost of
    such a module is spread evenly over the analysed modules importing it, which each process pays once if any of
    them is in its share."""
    own = {path: _own_cost(shape) for path, shape in shapes.items()}
    analysed = set(paths)
    importers: dict[str, int] = {}
    for path in analysed:
        for other in set(links.get(path, ())):
            if other not in analysed and other in own:
                importers[other] = importers.get(other, 0) + 1
    return {
        path: cost + sum(own[other] // importers[other] for other in set(links.get(path, ())) if other in importers)
        for path, cost in own.items()
    }


def _own_cost(shape: ModuleShape) -> int:
    cost = shape.size + FUNCTION_BYTES * shape.functions
    return cost if shape.holds_tree else round(cost * (1 + REPARSE_SHARE))


def shares(
    paths: Sequence[str], sizes: Mapping[str, int], count: int, links: Mapping[str, Iterable[str]] | None = None
) -> list[list[str]]:
    """`count` shares of similar total size, each in path order. `sizes`: what each module's analysis costs, as
    an estimate (see `analysis_costs`).

    `links`: path -> the paths it imports names from. The analysis of a module computes the facts of every
    function it calls, in any module, so a callee in another share is analysed twice: modules linked by imports
    go to the same share where the balance allows (groups of linked modules, see `_linked_groups`, largest
    first), and a share's load counts what it analyses again of the modules it imports from other shares (see
    `_Loads`): each group goes to the share that leaves the heaviest load lightest (the lightest share, without
    links)."""
    cap = sum(sizes[path] for path in paths) / max(count, 1) / GROUPS_PER_SHARE
    loads = _Loads(count, sizes, links or {}, paths)
    groups = _linked_groups(paths, sizes, links or {}, cap)
    for group in sorted(groups, key=lambda g: (-sum(sizes[path] for path in g), g[0])):
        loads.place(group, min(range(count), key=lambda share: loads.after(group, share)))
    order = {path: index for index, path in enumerate(paths)}
    return [sorted(share, key=order.__getitem__) for share in loads.assigned]


# The share of a module's analysis a process pays again when modules of its share import it from another share:
# the functions they call there are analysed in both. Measured 2026-12-07 (`check --jobs 2`, the generated
# 2,131-file repository, two splits): a process computing the facts of functions of 219 modules of the other share
# its modules import spent 0.053 s of 2.31 s on them, ~8% of what their analysis costs; 242 modules, 0.115 s of
# 3.25 s (a loaded machine), ~13%; 77 and 98 modules, ~4%. Left out of the balance, it made a process of the split
# by `analysis_costs` ~0.1 s busier than the other.
DUPLICATE_SHARE = 0.1


class _Loads:
    """The shares as groups are placed, and what each will cost: its modules' estimates, and DUPLICATE_SHARE of
    the estimate of each module of another share that one of them imports (once a share)."""

    def __init__(self, count: int, sizes: Mapping[str, int], links: Mapping[str, Iterable[str]], paths: Sequence[str]):
        self.sizes = sizes
        self.assigned: list[list[str]] = [[] for _ in range(count)]
        self.loads = [0.0] * count
        self._share_of: dict[str, int] = {}
        self._charged: set[tuple[int, str]] = set()  # (share, a module of another share it pays again)
        among = set(paths)
        self._imports = {path: sorted(set(links.get(path, ())) & among - {path}) for path in paths}
        self._importers: dict[str, list[str]] = {}
        for path in paths:
            for other in self._imports[path]:
                self._importers.setdefault(other, []).append(path)

    def after(self, group: list[str], share: int) -> tuple[float, float, int]:
        """How heavy the heaviest share and `share` would be with `group` in `share` (and `share`, for ties)."""
        loads = list(self.loads)
        for gainer, path in self._charges(group, share):
            loads[gainer] += DUPLICATE_SHARE * self.sizes[path]
        loads[share] += sum(self.sizes[path] for path in group)
        return max(loads), loads[share], share

    def place(self, group: list[str], share: int) -> None:
        for gainer, path in self._charges(group, share):
            self.loads[gainer] += DUPLICATE_SHARE * self.sizes[path]
            self._charged.add((gainer, path))
        self.loads[share] += sum(self.sizes[path] for path in group)
        self.assigned[share].extend(group)
        self._share_of.update(dict.fromkeys(group, share))

    def _charges(self, group: list[str], share: int) -> list[tuple[int, str]]:
        """(a share, a module of another share it would pay again), new with `group` in `share`: the group's
        imports placed elsewhere, and the group's modules that modules placed elsewhere import."""
        charges = set()
        for path in group:
            for other in self._imports[path]:
                placed = self._share_of.get(other, share)
                if placed != share:
                    charges.add((share, other))
            for importer in self._importers.get(path, ()):
                placed = self._share_of.get(importer, share)
                if placed != share:
                    charges.add((placed, path))
        return sorted(charges - self._charged)  # sorted: the loads add up in the same order in every run


# A group of linked modules holds at most 1/GROUPS_PER_SHARE of a share, so that the groups still balance the
# shares. Functions analysed by both processes, measured 2026-12-06 with `check --jobs 2` (without links ->
# 8 / 16 / 32 / 64): the generated 2,131-file repository 990 of 14,784 -> 266 / 108 / 64 / 15; its 195-file
# version 90 of ~1,300 -> 36 / 15 / 82 / 90; target_backend/ 31 of ~270 -> 22 / 22 / - / 31. A larger number
# forms smaller groups, too small for a small project's domains.
GROUPS_PER_SHARE = 16


def _linked_groups(
    paths: Sequence[str], sizes: Mapping[str, int], links: Mapping[str, Iterable[str]], cap: float
) -> list[list[str]]:
    """The paths in groups, each sorted: two linked modules join their groups while the joined group stays under
    `cap` in size. The links to modules few others import join first: they say the most about who calls whom (a
    module most import, a base or a session helper, would otherwise glue the project into one group)."""
    among = set(paths)
    edges = {(path, other) for path in paths for other in links.get(path, ()) if other in among and other != path}
    importers: dict[str, int] = {}
    for _path, other in edges:
        importers[other] = importers.get(other, 0) + 1
    root = {path: path for path in paths}
    weight = {path: sizes[path] for path in paths}

    def find(path: str) -> str:
        while root[path] != path:
            root[path] = root[root[path]]
            path = root[path]
        return path

    for path, other in sorted(edges, key=lambda edge: (importers[edge[1]], edge)):
        first, second = sorted((find(path), find(other)))
        if first != second and weight[first] + weight[second] <= cap:
            root[second] = first
            weight[first] += weight[second]
    groups: dict[str, list[str]] = {}
    for path in sorted(paths):
        groups.setdefault(find(path), []).append(path)
    return list(groups.values())


class _Share:
    """One process' share of the modules, and the facts it has already reported for each."""

    def __init__(self, paths: list[str], analyse: AnalyseModule) -> None:
        self.paths = paths
        self.analyse = analyse
        self.failed: set[str] = set()
        self.reported: dict[str, list[FunctionFacts]] = {}
        # called with each module whose facts changed, as soon as they are known (a worker sends them in parts)
        self.on_changed: Callable[[str, list[FunctionFacts]], None] | None = None
        # called after each module (this process reads what the workers sent meanwhile, see `_Receiver`)
        self.after_each: Callable[[], None] | None = None

    def run_round(self, hints: HintState | None, more: Sequence[str] = ()) -> _RoundResult:
        if more:
            self.paths = sorted([*self.paths, *more])
        if hints is not None:
            argument_hints.merge_hints(hints)
            analyze.start_next_round()
        changed: dict[str, list[FunctionFacts]] = {}
        failures: dict[str, str] = {}
        for path in self.paths:
            if path in self.failed:
                continue
            result = self.analyse(path)
            if isinstance(result, str):
                self.failed.add(path)
                failures[path] = result
            elif not _same_objects(self.reported.get(path), result):
                changed[path] = result
                self.reported[path] = result
                if self.on_changed is not None:
                    self.on_changed(path, result)
            if self.after_each is not None:
                self.after_each()
        return changed, failures, argument_hints.hint_state()


def _same_objects(before: list[FunctionFacts] | None, now: list[FunctionFacts]) -> bool:
    """Whether a module's facts are the very objects already reported (kept by the round's facts cache)."""
    return before is not None and len(before) == len(now) and all(a is b for a, b in zip(before, now, strict=True))


def _worker_main(connection: Connection, share: _Share, parent_ends: Sequence[Connection]) -> None:
    """A worker's loop: a round for each message, until told to stop or the parent is gone. `parent_ends`: the
    parent's ends of the pipes, inherited by the fork: closed, so that the parent's end is the only one, and its
    death shows here (EOF, a broken pipe) instead of leaving the worker blocked on the pipe forever."""
    for end in parent_ends:
        end.close()
    parts = _Parts(connection)
    share.on_changed = parts.add
    try:
        while True:
            message = connection.recv()
            if message is None:
                return
            _changed, failures, hints = share.run_round(*message)
            parts.send()
            connection.send(("ok", (failures, hints)))
    except (EOFError, KeyboardInterrupt):
        return
    except BaseException as exc:  # reported to the parent, which falls back to one process
        with contextlib.suppress(OSError, ValueError):
            connection.send(("error", f"{type(exc).__name__}: {exc}"))


# A worker sends a round's facts this many modules at a time: the receiving process holds one part's pickle at a
# time, not the whole round's (on the generated 4,251-file repository, ~28 MB more at the end of the first round).
MODULES_PER_PART = 64


class _Parts:
    """A worker's facts of the round, sent MODULES_PER_PART modules at a time as its analysis finds them, not all
    after it: this process reads each part between two of its own modules (see `_Receiver`), so that what is left
    to read once both are done is the last part, not the round (~3.6 MB of pickle for half the generated 2,131-file
    repository: 0.058 s to pickle in the worker, 0.053 s to read here, measured 2026-12-07, that this process spent
    after the worker's last module, the worker pickling meanwhile)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.part: dict[str, list[FunctionFacts]] = {}

    def add(self, path: str, facts: list[FunctionFacts]) -> None:
        self.part[path] = facts
        if len(self.part) >= MODULES_PER_PART:
            self.send()

    def send(self) -> None:
        if self.part:
            self.connection.send(("facts", self.part))
            self.part = {}


def _union(states: list[HintState]) -> HintState:
    params: dict[tuple[str, str], frozenset[QueryType]] = {}
    sessions: dict[tuple[str, str], frozenset[RecordedHint]] = {}
    for state_params, state_sessions in states:
        for key, kinds in state_params.items():
            params[key] = params.get(key, frozenset()) | kinds
        for key, types in state_sessions.items():
            sessions[key] = sessions.get(key, frozenset()) | types
    return params, sessions


def analyse_in_parallel(
    paths: Sequence[str],
    sizes: dict[str, int],
    analyse: AnalyseModule,
    more_modules: MoreModules,
    processes: int,
    links: Mapping[str, Iterable[str]] | None = None,
) -> tuple[dict[str, list[FunctionFacts]], dict[str, str]]:
    """Facts of every module in `paths`, and of the modules `more_modules` adds between rounds (in path
    order), and the modules that failed (in the order a single process would have met them), with this
    process analysing one share and forked workers the others.

    Raises WorkerLost when a worker cannot be started or dies: nothing of a partial run is kept."""
    all_shares = [_Share(share, analyse) for share in shares(paths, sizes, processes, links)]
    loads = [sum(sizes[path] for path in share.paths) for share in all_shares]
    context = multiprocessing.get_context("fork")
    workers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for share in all_shares[1:]:
            parent_end, child_end = context.Pipe()
            parent_ends = [parent_end, *(connection for _process, connection in workers)]
            arguments = (_worker_main, child_end, share, parent_ends)
            process = context.Process(target=interrupts.quiet_child, args=arguments, daemon=True)
            try:
                interrupts.start_quiet_child(process)
            finally:
                child_end.close()
                if process.pid is not None:  # started (an interrupt may come right after)
                    workers.append((process, parent_end))
    except OSError as exc:
        _stop(workers)
        raise WorkerLost(f"cannot start a worker: {exc}") from exc
    except BaseException:
        _stop(workers)
        raise
    facts: dict[str, list[FunctionFacts]] = {}
    failures: dict[str, str] = {}
    try:
        hints: HintState | None = None
        more: list[list[str]] = [[] for _ in all_shares]
        for _round in range(MAX_ROUNDS):
            for index, (_process, connection) in enumerate(workers, start=1):
                _send(connection, (hints, more[index]))
            receivers = [_Receiver(connection) for _process, connection in workers]
            all_shares[0].after_each = functools.partial(_read_sent, receivers)
            results = [all_shares[0].run_round(hints, more[0])]
            results.extend(receiver.result() for receiver in receivers)  # the rest, once this share is done
            round_failures: dict[str, str] = {}
            for changed, failed, _state in results:
                facts.update(changed)
                round_failures.update(failed)
            failures.update(sorted(round_failures.items()))
            merged = _union([state for _changed, _failed, state in results])
            added = more_modules(merged)
            if not added and (merged == hints or not any(merged)):
                break
            more = [[] for _ in all_shares]
            for path in added:  # each to the share with the least to analyse
                lightest = loads.index(min(loads))
                more[lightest].append(path)
                loads[lightest] += sizes[path]
            hints = merged
    finally:
        _stop(workers)
    ordered = {path: facts[path] for path in sorted(facts) if path not in failures}
    return ordered, failures


def _send(connection: Connection, message: object) -> None:
    try:
        connection.send(message)
    except OSError as exc:  # the worker is gone (a broken pipe): as when a reply never comes
        raise WorkerLost(f"an analysis worker stopped: {reason(exc)}") from exc


class _Receiver:
    """A worker's round, read as it comes: its facts in parts (see `_Parts`), then its failures and hints."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.changed: dict[str, list[FunctionFacts]] = {}
        self.rest: tuple[dict[str, str], HintState] | None = None

    def read_sent(self) -> None:
        """Read what the worker has sent so far, without waiting for more."""
        while self.rest is None and _ready(self.connection):
            self._read()

    def result(self) -> _RoundResult:
        """The worker's round, once it has sent all of it."""
        while self.rest is None:
            self._read()
        return self.changed, *self.rest

    def _read(self) -> None:
        try:
            status, payload = cast(tuple[str, object], self.connection.recv())
        except (EOFError, OSError) as exc:
            raise WorkerLost(f"an analysis worker stopped: {reason(exc)}") from exc
        if status == "facts":
            self.changed.update(cast(dict[str, list[FunctionFacts]], payload))
        elif status != "ok" or isinstance(payload, str):
            raise WorkerLost(f"an analysis worker failed: {payload}")
        else:
            self.rest = cast(tuple[dict[str, str], HintState], payload)


def _read_sent(receivers: list[_Receiver]) -> None:
    for receiver in receivers:
        receiver.read_sent()


def _ready(connection: Connection) -> bool:
    try:
        return connection.poll()
    except (EOFError, OSError) as exc:
        raise WorkerLost(f"an analysis worker stopped: {reason(exc)}") from exc


def _stop(workers: list[tuple[multiprocessing.process.BaseProcess, Connection]]) -> None:
    for process, connection in workers:
        with contextlib.suppress(OSError, ValueError):
            connection.send(None)
        connection.close()
        end_process(process)


def reason(exc: BaseException) -> str:
    """Why a connection to another process broke, in a message: its text, or its class when it has none (EOF)."""
    return str(exc) or type(exc).__name__


def end_process(process: multiprocessing.process.BaseProcess, grace: float = 5) -> None:
    """Wait up to `grace` seconds for a forked process told to stop (or done) to end, then kill it."""
    process.join(timeout=grace)
    if process.is_alive():
        process.kill()
        process.join()
