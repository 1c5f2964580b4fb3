"""Run logging on rank 0: TensorBoard, a ``metrics.jsonl`` that needs nothing, optionally W&B.

Weights & Biases is an optional extra (``pip install 'daguerre[wandb]'``), imported only when a
run asks for it (``daguerre train ... --wandb``). It gets the same scalars as TensorBoard under
the same names (``train/g``, ``val/psnr``); ``WANDB_MODE=offline`` and ``WANDB_DIR`` work as
usual, and without ``WANDB_DIR`` its files go to the run folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from daguerre.config import to_dict
from daguerre.errors import DaguerreError

log = logging.getLogger(__name__)


class MissingExtraError(DaguerreError):
    """An option needs a package from an optional extra that is not installed."""


def require_wandb() -> Any:
    """The ``wandb`` module.

    Raises:
        MissingExtraError: wandb is not installed.
    """
    try:
        import wandb
    except ImportError as err:
        raise MissingExtraError(
            '--wandb needs Weights & Biases: pip install "daguerre[wandb]"'
        ) from err
    return wandb


class RunLogger:
    """Writes scalars to TensorBoard (if installed), ``run_dir/metrics.jsonl`` and W&B.

    On ranks other than 0 every method is a no-op.

    Args:
        run_dir: the run folder (``tb/``, ``metrics.jsonl``).
        enabled: False on ranks other than 0.
        wandb: also log to Weights & Biases (project ``daguerre``, run named after the folder).
        config: the run config, recorded by W&B.

    Raises:
        MissingExtraError: ``wandb`` is asked for and not installed.
    """

    def __init__(
        self, run_dir: Path, *, enabled: bool = True, wandb: bool = False, config: Any = None
    ) -> None:
        self.enabled = enabled
        self.writer: Any = None
        self.wandb: Any = None
        self.jsonl = run_dir / "metrics.jsonl"
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir / "tb"))
        except ImportError:
            log.warning("tensorboard is not installed; logging to metrics.jsonl only")
        if wandb:
            self.wandb = _start_wandb(run_dir, config)

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        """Log named scalars at ``step`` as ``PREFIX/NAME``."""
        if not self.enabled:
            return
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)
        if self.wandb is not None:
            self.wandb.log({f"{prefix}/{name}": value for name, value in values.items()}, step=step)
        record = {"step": step, "time": time.time(), "prefix": prefix, **values}
        with self.jsonl.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def image(self, step: int, name: str, grid: torch.Tensor) -> None:
        """Log a ``(3,H,W)`` [0,1] image (TensorBoard only)."""
        if self.enabled and self.writer is not None:
            self.writer.add_image(name, grid.clamp(0, 1), step)

    def close(self) -> None:
        """Flush and close."""
        if self.writer is not None:
            self.writer.close()
        if self.wandb is not None:
            self.wandb.finish()
            self.wandb = None


def _start_wandb(run_dir: Path, config: Any) -> Any:
    """A W&B run for ``run_dir``; its files go to ``WANDB_DIR`` or else the run folder."""
    wandb = require_wandb()
    folder = Path(os.environ.get("WANDB_DIR", run_dir))
    folder.mkdir(parents=True, exist_ok=True)
    settings = to_dict(config) if config is not None else None
    return wandb.init(project="daguerre", name=run_dir.name, dir=str(folder), config=settings)
