"""What the review rules about sync callers claim, checked by running it.

- A click command stays sync (worker_boundaries.is_cli_command, fixtures/review/cli_commands_doing_io): click calls
  a command's function synchronously, so an `async def` command returns a coroutine nobody awaits and does nothing,
  with exit status 0.
- `functools.lru_cache` on a function that became async is flagged (AWT218, fixtures/review/cached_function_doing_io):
  it keeps the coroutine, and the second await of it raises.
"""

from __future__ import annotations

import asyncio
import inspect
from functools import lru_cache

import click
import pytest
from click.testing import CliRunner


def test_an_async_click_command_does_nothing() -> None:
    ran: list[str] = []

    @click.command()
    def sync_command() -> None:
        ran.append("sync")

    @click.command()
    async def async_command() -> None:
        ran.append("async")

    runner = CliRunner()
    assert runner.invoke(sync_command, []).exit_code == 0
    result = runner.invoke(async_command, [], standalone_mode=False)
    assert result.exit_code == 0  # reported as a success
    assert inspect.iscoroutine(result.return_value)  # the body, never run
    result.return_value.close()
    assert ran == ["sync"]


def test_lru_cache_keeps_the_coroutine_of_an_async_function() -> None:
    calls: list[int] = []

    @lru_cache(maxsize=1)
    async def cached() -> int:
        calls.append(1)
        return 42

    async def twice() -> int:
        assert await cached() == 42
        return await cached()

    with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
        asyncio.run(twice())
    assert calls == [1]
