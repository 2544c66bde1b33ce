"""Docs are checked: every command has help text and is named in the README; the
README's quick start is exactly the two make targets CI and users run."""

from __future__ import annotations

import re

import click
import typer.main

from regcat.cli import app

from .conftest import REPO


def commands() -> list[tuple[str, click.Command]]:
    root = typer.main.get_command(app)
    found = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            else:
                found.append((f"{prefix}{name}", command))

    walk(root, "")
    return found


def test_every_command_has_help():
    missing = [name for name, command in commands() if not (command.help or "").strip()]
    assert commands(), "no commands found"
    assert not missing, f"commands without help text: {missing}"


def test_every_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [
        name
        for name, _ in commands()
        if f"regcat {name}" not in readme and f" {name} " not in readme
    ]
    assert not missing, f"commands missing from README.md: {missing}"


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no quick start block"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert lines == ["make run", "make test"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
