"""``daguerre train restore|scratch``: train the restoration GAN or the scratch detector.

Runs unchanged under ``torchrun --nproc_per_node=N -m daguerre train restore ...`` (DDP).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

train_app = typer.Typer(help="Train a model on your own folders.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config (see configs/train/).", exists=True),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set optim.steps=1000."),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.")
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N, mps.")]


def _setup_logging(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(),
        logging.FileHandler(run_dir / "train.log"),
    ]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True
    )


DataOpt = Annotated[
    list[Path], typer.Option("--data", help="Folder(s) of clean photos.", exists=True)
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoints, logs).")]
ValOpt = Annotated[
    list[Path] | None, typer.Option("--val", help="Validation folder(s).", exists=True)
]


def _data_overrides(data: list[Path], val: list[Path] | None) -> list[str]:
    """``data.train=[...]`` (and ``data.val=[...]``) overrides for the strict config loader."""
    paths = [f"data.train={[str(p) for p in data]}"]
    if val:
        paths.append(f"data.val={[str(p) for p in val]}")
    return paths


@train_app.command("restore")
def restore(
    data: DataOpt,
    out: OutOpt,
    val: ValOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Train a restoration GAN on clean photos degraded on the fly."""
    from daguerre.config import load_config
    from daguerre.train.config import TrainConfig
    from daguerre.train.restore_run import train_restore

    paths = _data_overrides(data, val)
    cfg = load_config(TrainConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_restore(cfg, out, device=device, resume=resume)


@train_app.command("scratch")
def scratch(
    data: DataOpt,
    out: OutOpt,
    val: ValOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Train the scratch/dust/tear detector on clean photos damaged on the fly."""
    from daguerre.config import load_config
    from daguerre.train.scratch import ScratchTrainConfig, train_scratch

    paths = _data_overrides(data, val)
    cfg = load_config(ScratchTrainConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_scratch(cfg, out, device=device, resume=resume)


@train_app.command("grade")
def grade(
    data: DataOpt,
    out: OutOpt,
    val: ValOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
) -> None:
    """Train the whole-image colour grade of a restoration model (RUN/best, kind grade)."""
    from daguerre.config import load_config
    from daguerre.train.grade import GradeTrainConfig, train_grade

    paths = _data_overrides(data, val)
    cfg = load_config(GradeTrainConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_grade(cfg, out)


@train_app.command("kind")
def kind(
    data: DataOpt,
    out: OutOpt,
    val: ValOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
) -> None:
    """Train the photo-kind router (old print vs digital photo) that picks a restoration expert."""
    from daguerre.config import load_config
    from daguerre.train.kind import KindTrainConfig, train_kind

    paths = _data_overrides(data, val)
    cfg = load_config(KindTrainConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_kind(cfg, out)


@train_app.command("style")
def style(
    domain_a: Annotated[
        list[Path],
        typer.Option("--a", help="Domain A (the photos): folder(s) or image file(s).", exists=True),
    ],
    domain_b: Annotated[
        list[Path],
        typer.Option(
            "--b", help="Domain B (the style): folder(s), or a single painting.", exists=True
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoints, logs).")],
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Train an unpaired A->B style (CycleGAN); the result is RUN/style for `stylize --style`."""
    from daguerre.config import load_config
    from daguerre.train.cyclegan import CycleGANConfig, train_style

    paths = [f"data.a={[str(p) for p in domain_a]}", f"data.b={[str(p) for p in domain_b]}"]
    cfg = load_config(CycleGANConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_style(cfg, out, device=device, resume=resume)


@train_app.command("adain")
def adain(
    content: Annotated[
        list[Path], typer.Option("--content", help="Folder(s) of content photos.", exists=True)
    ],
    style: Annotated[
        list[Path], typer.Option("--style", help="Folder(s) or file(s) of paintings.", exists=True)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (checkpoints, logs).")],
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Train the AdaIN decoder for painting mode; the result is RUN/adain (--adain-model)."""
    from daguerre.config import load_config
    from daguerre.train.adain import AdaINTrainConfig, train_adain

    paths = [f"data.content={[str(p) for p in content]}", f"data.style={[str(p) for p in style]}"]
    cfg = load_config(AdaINTrainConfig, config, [*paths, *(overrides or [])])
    _setup_logging(out)
    train_adain(cfg, out, device=device, resume=resume)


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group."""
    app.add_typer(train_app, name="train")
