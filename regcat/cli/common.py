"""What every command module shares: the Typer app, consoles, the global options, and
the adapter that turns RegcatError into one line and exit 2."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from regcat.errors import EXIT_BAD_INPUT, RegcatError

app = typer.Typer(
    help="regcat — catalogue of Norwegian health-register variables, codings and mappings.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import a codebook into the catalogue.", no_args_is_help=True)
app.add_typer(import_app, name="import")
# Registered on `app` by the first module that adds an export command (an empty group
# would show up as a command with nothing behind it).
export_app = typer.Typer(help="Export catalogue content to other formats.", no_args_is_help=True)

out = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class State:
    catalogue: Path | None = None
    index: Path | None = None


state = State()


def index_dir() -> Path:
    if state.index is not None:
        return state.index
    return Path(os.environ.get("REGCAT_INDEX", ".regcat"))


def handle_errors(function: Callable) -> Callable:
    """Turn RegcatError into one line on stderr and exit 2; never a traceback."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except RegcatError as exc:
            err.print(f"error: {exc.render()}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, click.ClickException):
            raise  # the command's own exit codes and usage errors
        except KeyboardInterrupt:
            err.print("interrupted; nothing was half-written")
            raise typer.Exit(130) from None
        except OSError as exc:  # a path the user gave: a directory, too long, no space…
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"error: {where}{exc.strerror or exc}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            # Input we did not foresee must still not end in a traceback for a user;
            # REGCAT_DEBUG=1 shows it to whoever fixes the bug.
            if os.environ.get("REGCAT_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            err.print(
                f"error: {type(exc).__name__}: {first} "
                "(unexpected; rerun with REGCAT_DEBUG=1 for details and report it)",
                markup=False,
            )
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def catalogue_dir() -> Path:
    from regcat.layout import resolve_catalogue

    return resolve_catalogue(state.catalogue)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.callback()
def main_options(
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            "-c",
            help="Catalogue directory (default: $REGCAT_CATALOGUE, else the bundled catalogue).",
        ),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Index directory (default: $REGCAT_INDEX, else ./.regcat)."),
    ] = None,
) -> None:
    state.catalogue = catalogue
    state.index = index


def register_id_option(value: str) -> str:
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise RegcatError(
            f"--register {value!r}: expected a lower-case id such as 'noric' (a-z, 0-9, _)"
        )
    return value
