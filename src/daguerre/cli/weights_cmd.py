"""``daguerre weights``: list, verify and promote model weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

weights_app = typer.Typer(
    help="Shipped model weights: list, verify, promote.", no_args_is_help=True
)


@weights_app.command("list")
def list_cmd() -> None:
    """List shipped models."""
    from daguerre.weights import list_models

    for name in list_models():
        typer.echo(name)


@weights_app.command("verify")
def verify_cmd() -> None:
    """Check shipped weights against SHA256SUMS (exit 1 on any mismatch)."""
    from daguerre.weights.promote import verify

    problems = verify()
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("all shipped weights match SHA256SUMS")


@weights_app.command("promote")
def promote_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint or model folder.", exists=True)],
    name: Annotated[str, typer.Option("--as", help="Shipped model name, e.g. restore.")],
    fp32: Annotated[bool, typer.Option("--fp32", help="Keep float32 weights.")] = False,
) -> None:
    """Ship a checkpoint's EMA generator as fp16 safetensors with config, card and checksum."""
    from daguerre.weights.promote import promote

    typer.echo(f"promoted to {promote(checkpoint, name, fp16=not fp32)}")


def register(app: typer.Typer) -> None:
    """Add the ``weights`` command group."""
    app.add_typer(weights_app, name="weights")
