"""The `regcat` command line: thin adapters that parse options, call one library
function and print. Exit codes: 0 ok, 1 findings, 2 bad usage or unusable input.

Each feature's commands live in their own module here and register themselves on the
shared app when imported below.
"""

from regcat.cli import check, codegen, core, imports, mappings, reports, suggest, transform  # noqa: F401  (registers the commands)
from regcat.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
