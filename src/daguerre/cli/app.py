"""The ``daguerre`` command: a Typer app with one small module per command.

This module is imported for every invocation, ``--version`` included, so it imports no torch,
numpy or cv2; each command imports what it needs inside its function.

To add a command, write ``cli/<name>_cmd.py`` with a ``register(app: typer.Typer)`` function,
then import it below and add it to ``COMMANDS`` (a two-line change).

Exit codes: 0 success, 1 some file or step failed, 2 usage error (bad option, unknown name),
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Annotated

import typer

from daguerre import __version__
from daguerre.cli import (
    degrade_cmd,
    detect_cmd,
    eval_cmd,
    restore_cmd,
    serve_cmd,
    stylize_cmd,
    train_cmd,
    weights_cmd,
)
from daguerre.errors import DaguerreError

COMMANDS: tuple[ModuleType, ...] = (
    degrade_cmd,
    restore_cmd,
    detect_cmd,
    stylize_cmd,
    train_cmd,
    eval_cmd,
    serve_cmd,
    weights_cmd,
)

app = typer.Typer(
    name="daguerre",
    help="Restore, age and restyle old photographs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold whole images
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"daguerre {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Restore, age and restyle old photographs."""


for _module in COMMANDS:
    _module.register(app)


def main() -> None:
    """Console entry point (``daguerre``, ``python -m daguerre``).

    A ``DaguerreError`` that escapes a command (a user error outside a per-file loop, such
    as a bad config file) is printed as one ``error:`` line with exit code 1, no traceback.
    """
    try:
        app()
    except DaguerreError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
