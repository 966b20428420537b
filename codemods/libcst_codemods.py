"""awaitify as a LibCST codemod, for teams that orchestrate their codemods with `python -m libcst.tool`.

    python -m libcst.tool codemod -x codemods.libcst_codemods.MigrateToAsyncSession --no-format app/

or, with `codemods` in the `modules:` list of `.libcst.codemod.yaml` (`python -m libcst.tool initialize .`
writes one), `python -m libcst.tool codemod libcst_codemods.MigrateToAsyncSession app/`.

LibCST hands a codemod one module at a time, so the engine sees that file alone: a function made
async in another file is not awaited here, and a session passed in from elsewhere is only known by
its annotation. `awaitify migrate` analyses the whole repository at once; prefer it when you can.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodCommand, CodemodContext

from codemods.model import EngineOptions, FileStatus


class AwaitifyCodemodError(Exception):
    """The engine could not rewrite this module (syntax it cannot analyse, an unsound rewrite)."""


class MigrateToAsyncSession(CodemodCommand):
    """Every awaitify rewrite (AWT1xx) on one module, review markers (AWT2xx) where it cannot convert."""

    DESCRIPTION = (
        "Migrate SQLAlchemy Session code to AsyncSession (awaitify). Single-module view: "
        "use `awaitify migrate` for cross-file call graphs."
    )

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--disable",
            dest="disable",
            action="append",
            default=[],
            metavar="AWTnnn",
            help="Disable an awaitify rule (repeatable).",
        )
        arg_parser.add_argument(
            "--session-factory",
            dest="session_factories",
            action="append",
            default=[],
            metavar="DOTTED.NAME",
            help="A callable that returns a session or is a session dependency (repeatable).",
        )

    def __init__(
        self,
        context: CodemodContext,
        disable: Sequence[str] = (),
        session_factories: Sequence[str] = (),
    ) -> None:
        super().__init__(context)
        self.options = EngineOptions(
            disabled_rules=frozenset(code.upper() for code in disable),
            session_factories=frozenset(session_factories),
            jobs=1,  # libcst.tool already runs one process per file
        )

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        from codemods.engine import migrate_sources
        from codemods.verify import verify_rewrite

        key = self._module_key()
        old_text = tree.code
        outcome = migrate_sources({key: old_text}, self.options)[key]
        for finding in outcome.findings:
            self.warn(f"{finding.code} line {finding.line}: {finding.message}")
        if outcome.status is FileStatus.FAILED:
            raise AwaitifyCodemodError(outcome.error or "awaitify could not rewrite this module")
        if outcome.status is FileStatus.UNCHANGED or outcome.new_text == old_text:
            return tree
        error = verify_rewrite(old_text, outcome.new_text, key)
        if error is not None:
            raise AwaitifyCodemodError(error)
        return cst.parse_module(outcome.new_text)

    def _module_key(self) -> str:
        """The module's path as the engine names it (relative, POSIX): it gives the module's own name."""
        filename = self.context.filename
        if not filename:
            return "module.py"
        path = Path(os.path.abspath(filename))
        for base in (self.context.metadata_manager.root_path if self.context.metadata_manager else None, Path.cwd()):
            if base is None:
                continue
            try:
                return path.relative_to(Path(os.path.abspath(base))).as_posix()
            except ValueError:
                continue
        return path.name


__all__ = ["AwaitifyCodemodError", "MigrateToAsyncSession"]
