"""Why awaitify keeps a click command sync (worker_boundaries.is_cli_command, fixtures/review/cli_commands_doing_io):
click calls a command's function synchronously, so an `async def` command returns a coroutine nobody awaits and
does nothing, with exit status 0."""

from __future__ import annotations

import inspect

import click
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
