"""Alembic's scripts: `env.py` and the revision scripts, which Alembic runs synchronously on a sync connection.

They stay as they are. Made `async def`, a revision's `upgrade()` would return an un-awaited coroutine: nothing
migrated, and the revision recorded as applied. The sessions and engines a script makes itself (`Session(bind=
op.get_bind())`, env.py's `create_engine`) stay sync with it; only its calls into code that became async are
flagged (AWT213, see `worker_boundaries`).
"""

from __future__ import annotations

from codemods.symbols import ModuleSymbols

ALEMBIC_CONTEXT = "alembic.context"
ALEMBIC_OP = "alembic.op"


def is_alembic_env(module: ModuleSymbols) -> bool:
    """A module importing `alembic.context` (`from alembic import context`): Alembic's env.py."""
    return ALEMBIC_CONTEXT in module.imported_prefixes


def is_revision_script(module: ModuleSymbols) -> bool:
    """A module importing `alembic.op` (`from alembic import op`): a revision script."""
    return ALEMBIC_OP in module.imported_prefixes


def is_alembic_script(module: ModuleSymbols) -> bool:
    return is_alembic_env(module) or is_revision_script(module)
