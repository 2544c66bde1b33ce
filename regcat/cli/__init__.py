"""The `regcat` command line: thin adapters that parse options, call one library
function and print. Exit codes: 0 ok, 1 findings, 2 bad usage or unusable input.

Each feature's commands live in their own module here and register themselves on the
shared app when imported below.
"""

# Imported for their side effect (registering commands), in the order `--help` lists
# them: the catalogue first, then mappings and reports, then code generation.
from regcat.cli import core  # noqa: F401, I001
from regcat.cli import imports, mappings  # noqa: F401
from regcat.cli import reports, suggest  # noqa: F401
from regcat.cli import check, codegen, linkml_map, transform  # noqa: F401
from regcat.cli import fhir, healthdcat, serve, site  # noqa: F401
from regcat.cli import ehr  # noqa: F401
from regcat.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
