"""``daguerre train restore|scratch|style|adain|grade|router``: one command body.

Runs unchanged under ``torchrun --nproc_per_node=N -m daguerre train restore ...`` (DDP).
The kinds differ only in their help line and their folder options, each of which fills one
config key (``--data A --data B`` -> ``data.train=['A', 'B']``); their configs, tasks and
data are :data:`daguerre.train.kinds.KINDS`.
"""

# no `from __future__ import annotations`: typer reads the built signatures' annotations as is
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

train_app = typer.Typer(help="Train a model on your own folders.", no_args_is_help=True)


class Folders(NamedTuple):
    """A repeatable path option (``--data``) and the config key it fills (``data.train``)."""

    flag: str
    key: str
    help: str
    required: bool = True


DATA = Folders("--data", "data.train", "Folder(s) of clean photos.")
VAL = Folders("--val", "data.val", "Validation folder(s).", required=False)
A = Folders("--a", "data.a", "Domain A (the photos): folder(s) or image file(s).")
B = Folders("--b", "data.b", "Domain B (the style): folder(s), or a single painting.")
CONTENT = Folders("--content", "data.content", "Folder(s) of content photos.")
STYLE = Folders("--style", "data.style", "Folder(s) or file(s) of paintings.")
COMMANDS: dict[str, tuple[tuple[Folders, ...], str]] = {
    "restore": ((DATA, VAL), "Train a restoration GAN on clean photos degraded on the fly."),
    "scratch": ((DATA, VAL),
                "Train the scratch/dust/tear detector on clean photos damaged on the fly."),
    "grade": ((DATA, VAL), "Train the whole-image colour grade of a restoration model "
                           "(RUN/best, kind grade)."),
    "router": ((DATA, VAL), "Train the photo-type router (old print vs digital photo) that picks "
                          "a restoration expert."),
    "style": ((A, B), "Train an unpaired A->B style (CycleGAN); the result is RUN/style for "
                      "`stylize --style`."),
    "adain": ((CONTENT, STYLE), "Train the AdaIN decoder for painting mode; the result is "
                                "RUN/adain (--adain-model)."),
}  # fmt: skip


REQUIRED = inspect.Parameter.empty


def _option(name: str, kind: Any, default: Any, *decls: str, **info: Any) -> inspect.Parameter:
    """A keyword parameter that typer reads as the option ``decls``."""
    annotation = Annotated[kind, typer.Option(*decls, **info)]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


def _folder_option(folders: Folders) -> inspect.Parameter:
    kind, default = (list[Path], REQUIRED) if folders.required else (list[Path] | None, None)
    name = folders.flag.lstrip("-")
    return _option(name, kind, default, folders.flag, help=folders.help, exists=True)


SHARED = [
    _option("out", Path, REQUIRED, "--out", "-o", help="Run folder (checkpoints, logs)."),
    _option("config", Path | None, None, "--config", "-c", exists=True,
            help="YAML config (see configs/train/)."),
    _option("overrides", list[str] | None, None, "--set",
            help="Override a config key, e.g. --set optim.steps=1000."),
    _option("resume", bool, False, "--resume",
            help="Continue from the newest checkpoint in --out."),
    _option("device", str, "auto", "--device", help="auto, cpu, cuda, cuda:N, mps."),
    _option("wandb", bool, False, "--wandb",
            help='Also log to Weights & Biases (pip install "daguerre\\[wandb]").'),
]  # fmt: skip


def _setup_logging(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(),
        logging.FileHandler(run_dir / "train.log"),
    ]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True
    )


def run_training(kind: str, folders: dict[str, list[Path] | None], **options: Any) -> None:
    """The body of every ``daguerre train KIND``: load its config strictly, then train.

    Args:
        kind: a key of :data:`daguerre.train.kinds.KINDS`.
        folders: config key -> the paths given for it (``None``: not given); applied first,
            then ``--config``, then ``--set`` overrides.
        options: ``out``, ``config``, ``overrides``, ``resume``, ``device``, ``wandb``.

    Raises:
        MissingExtraError: ``--wandb`` and Weights & Biases is not installed.
        ConfigError: an unknown key or a wrong value in the config.
    """
    from daguerre.config import load_config
    from daguerre.train.kinds import KINDS
    from daguerre.train.tblog import require_wandb
    from daguerre.train.trainer import train

    if options["wandb"]:
        require_wandb()  # before any data or network is built
    paths = [f"{key}={[str(p) for p in given]}" for key, given in folders.items() if given]
    overrides = [*paths, *(options["overrides"] or [])]
    cfg = load_config(KINDS[kind].config, options["config"], overrides)
    _setup_logging(options["out"])
    train(KINDS[kind], cfg, options["out"], device=options["device"], resume=options["resume"],
          wandb=options["wandb"])  # fmt: skip


def _command(kind: str, folders: tuple[Folders, ...], summary: str) -> Callable[..., None]:
    """The typer command of one kind: its folder options, then the shared ones."""

    def command(**options: Any) -> None:
        given = {f.key: options.pop(f.flag.lstrip("-")) for f in folders}
        run_training(kind, given, **options)

    signature = inspect.Signature([*map(_folder_option, folders), *SHARED])
    command.__signature__ = signature  # type: ignore[attr-defined]  # typer reads the options
    command.__doc__, command.__name__ = summary, kind
    return command


for _kind, (_folders, _summary) in COMMANDS.items():
    train_app.command(_kind)(_command(_kind, _folders, _summary))


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group."""
    app.add_typer(train_app, name="train")
