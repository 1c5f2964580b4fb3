"""The one training loop: every model kind trains through :class:`Trainer` and brings a Task.

BasicSR's split without its registries: the trainer owns the plumbing once (seed, device,
torchrun, mixed precision, EMA, optimiser steps and learning-rate schedule, checkpoints with
exact resume, logging, validation schedule, ``RUN/best``); a :class:`Task` owns what is
specific to one model. A run folder holds ``config.resolved.yaml``, ``tb/``,
``metrics.jsonl``, ``checkpoints/step_XXXXXXX/`` (``*.safetensors``, ``config.json``,
``trainer_state.pt``), ``best/`` and the task's model folders (``style/``, ``final/``...).

Usage (one process, or under ``torchrun --nproc_per_node=N -m daguerre train restore ...``)::

    trainer = Trainer(cfg, Path("runs/x"), RestoreTask, device=torch.device("cpu"))
    trainer.fit(dataset, validator)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn
from torch.utils.data import Dataset

from daguerre.config import dump_config
from daguerre.train import checkpoints
from daguerre.train.config import RunConfig
from daguerre.train.distributed import barrier
from daguerre.train.loop import Progress, make_stream
from daguerre.train.run import Batch, Run
from daguerre.train.schedule import linear_decay
from daguerre.weights.checkpoint import ModelConfig, save_model

log = logging.getLogger(__name__)

V = TypeVar("V")  # what a task validates on: fixed pairs, sample crops, cached samples
RESOLVED_CONFIG = "config.resolved.yaml"

# --- the task protocol -----------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """How long a task trains, on what batches, and how often it validates.

    ``batch`` is per step and process; after ``decay_start`` (a fraction of ``steps``) every
    learning rate decays linearly to 0; a validation runs after the last step and, when
    ``val_every`` > 0, every ``val_every`` steps; ``workers`` make the samples.
    """

    steps: int
    batch: int
    decay_start: float
    val_every: int = 0
    workers: int = 0

    @classmethod
    def of(cls, cfg: Any, val_every: int) -> Schedule:
        """From a config's ``optim.steps``, ``optim.decay_start``, ``data.batch``/``workers``."""
        o, data = cfg.optim, cfg.data
        return cls(o.steps, data.batch, o.decay_start, val_every, getattr(data, "workers", 0))


@dataclass(frozen=True)
class Validation:
    """What a validation found.

    ``metrics`` are logged under ``val/``; ``score`` is compared as a tuple, higher is better,
    and the best so far goes to ``RUN/best`` (``None``: this one does not compete).
    """

    metrics: dict[str, float] = field(default_factory=dict)
    score: tuple[float, ...] | None = None


class Task(Generic[V]):
    """What one model brings to the loop; the :class:`Trainer` does everything else.

    A subclass names its :attr:`config` class and its data (:meth:`training_data`,
    :meth:`validation_data`). It is built as ``Task(cfg, run)`` (torch RNG seeded), registers
    its optimisers and EMAs with the :class:`~daguerre.train.run.Run`, sets :attr:`schedule`,
    :attr:`nets` (the trained networks by checkpoint name, unwrapped; the trainer adds the
    EMAs) and :attr:`model` (what ships and ``RUN/best`` holds, usually an EMA), and
    implements :meth:`model_config` and :meth:`train_step`. The other methods are optional.
    """

    config: ClassVar[type[RunConfig]]  # the kind's config class
    schedule: Schedule
    nets: dict[str, nn.Module]
    model: nn.Module
    headline: tuple[str, ...] = ("loss",)  # scalars on the progress line

    @classmethod
    def training_data(cls, cfg: Any, run_dir: Path) -> Dataset[Any]:
        """The training samples; raises ConfigError when ``cfg`` names no inputs."""
        raise NotImplementedError

    @classmethod
    def validation_data(cls, cfg: Any, run_dir: Path) -> V | None:
        """Fixed validation data (built on rank 0 only), or None."""
        return None

    def model_config(self) -> ModelConfig:
        """The ``config.json`` of :attr:`model` and of every checkpoint."""
        raise NotImplementedError

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One step on a batch on the device (4-D tensors channels-last); the scalars to log."""
        raise NotImplementedError

    def validate(self, val: V) -> Validation:
        """Score :attr:`model` on fixed validation data (rank 0 only)."""
        return Validation()

    def exports(self) -> dict[str, tuple[nn.Module, ModelConfig]]:
        """Model folders ``RUN/NAME`` written with every checkpoint."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Trainer state beyond nets, optimisers and step (history pools, RNG)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (``state`` is the whole trainer state)."""

    def finish(self) -> None:
        """Called once on rank 0 after the last checkpoint."""


T = TypeVar("T", bound=Task[Any])

# --- the trainer -----------------------------------------------------------------------------


class Trainer(Generic[T]):
    """Builds a task, trains it for its schedule, checkpoints, validates and resumes exactly.

    Args:
        cfg: the resolved config (written to ``RUN/config.resolved.yaml``).
        run_dir: the run folder.
        task: ``task(cfg, run)`` builds the task with the torch RNG seeded by ``cfg.seed``
            (weight init); the global RNG is left as it was.
        device: torch device; under torchrun each rank gets its own.
        resume: continue from the newest checkpoint in ``run_dir`` if there is one.
        wandb: also log scalars to Weights & Biases.

    Raises:
        CheckpointMismatchError: a resumed checkpoint does not fit the task's networks.
    """

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: Path,
        task: Callable[[Any, Run], T],
        *,
        device: torch.device,
        resume: bool = False,
        wandb: bool = False,
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.run = Run(cfg, self.run_dir, device, wandb=wandb)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.task: T = task(cfg, self.run)
        self.best: tuple[float, ...] | None = None
        if resume:
            self._resume()

    @property
    def step(self) -> int:
        """Optimiser steps done."""
        return self.run.step

    def _nets(self) -> dict[str, nn.Module]:
        return {**self.task.nets, **self.run.average_nets()}

    def _resume(self) -> None:
        found = checkpoints.checkpoint_dirs(self.run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from scratch", self.run_dir)
            return
        state = checkpoints.load_checkpoint(found[-1], self._nets())
        self.run.load_state_dict(state)
        self.task.load_state_dict(state)
        self.best = _saved_best(state)
        log.info("resumed from %s at step %d", found[-1], self.step)

    def save(self) -> None:
        """Write a checkpoint (the newest ``keep_checkpoints`` stay) and the task's exports."""
        if not self.run.dist.is_main:
            return
        best = list(self.best) if self.best is not None else None
        state = {**self.run.state_dict(), **self.task.state_dict(), "best_score": best}
        path = checkpoints.save_checkpoint(
            self.run_dir, self.step, self._nets(), self.task.model_config(), state,
            keep=self.cfg.keep_checkpoints,
        )  # fmt: skip
        for name, (net, config) in self.task.exports().items():
            save_model(self.run_dir / name, net, config)
        log.info("saved %s", path)

    def train_step(self, batch: dict[str, Any]) -> dict[str, float]:
        """Learning rates for this step, the task's step, EMA updates; then step + 1."""
        schedule = self.task.schedule
        self.run.set_lr(linear_decay(self.step, schedule.steps, schedule.decay_start))
        logs = self.task.train_step(self.run.to_device(batch))
        self.run.update_averages()
        self.run.step += 1
        return logs

    def fit(self, data: Dataset[Any], val: Any = None) -> None:
        """Train until ``schedule.steps``; validate, log and checkpoint on the way.

        Args:
            data: sample ``n`` is used at step ``n // batch`` (:class:`~daguerre.train.loop.
                StepSampler`), so a resumed run sees the batches an uninterrupted one would.
            val: the task's validation data (rank 0; ``None``: no validation).
        """
        run, schedule, cfg = self.run, self.task.schedule, self.cfg
        if run.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.run_dir / RESOLVED_CONFIG)
        stream = make_stream(
            data, start_step=self.step, total_steps=schedule.steps, batch=schedule.batch,
            rank=run.dist.rank, world=run.dist.world, workers=schedule.workers,
        )  # fmt: skip
        progress = Progress(start=self.step, total=schedule.steps, enabled=run.dist.is_main)
        last_save = time.monotonic()
        for net in self.task.nets.values():
            net.train()
        for batch in stream:
            logs = self.train_step(batch)
            shown = "  ".join(f"{k} {logs[k]:.3f}" for k in self.task.headline if k in logs)
            progress.update(self.step, shown, force=self.step % cfg.log_every == 0)
            if self.step % cfg.log_every == 0:
                run.logger.scalars(self.step, logs)
            if val is not None and self._validation_due():
                self.validate(val)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                self.save()
                last_save = time.monotonic()
            if run.dist.world > 1 and self.step % 1000 == 0:
                barrier(run.dist)  # ranks drift apart while rank 0 validates and saves
        progress.close()
        self.save()
        if run.dist.is_main:
            self.task.finish()
        run.logger.close()

    def _validation_due(self) -> bool:
        every, steps = self.task.schedule.val_every, self.task.schedule.steps
        return self.step == steps or (every > 0 and self.step % every == 0)

    def validate(self, val: Any) -> Validation:
        """Validate now (rank 0): log the metrics, write ``RUN/best`` when the score improves."""
        if not self.run.dist.is_main:
            return Validation()
        result = self.task.validate(val)
        if result.metrics:
            self.run.logger.scalars(self.step, result.metrics, prefix="val")
            shown = "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
            log.info("val step %d: %s", self.step, shown)
        if result.score is not None and (self.best is None or result.score > self.best):
            self.best = result.score
            save_model(self.run_dir / "best", self.task.model, self.task.model_config())
            (self.run_dir / "best" / "metrics.txt").write_text(
                f"step {self.step}\n{result.metrics}\n"
            )
        return result


def train(
    task: type[Task[Any]], cfg: RunConfig, run_dir: Path, *, device: str = "auto",
    resume: bool = False, wandb: bool = False,
) -> Path:  # fmt: skip
    """Train (or resume) ``task`` with ``cfg``, its config class; returns the run folder.

    ``device`` is ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; the data is made first,
    so a config that names no inputs fails (ConfigError) before anything is built.
    """
    from daguerre.infer.device import resolve_device, set_threads

    if cfg.threads > 0:
        set_threads(cfg.threads)  # before the data: grade and kind build their samples there
    data = task.training_data(cfg, run_dir)
    trainer = Trainer(cfg, run_dir, task, device=resolve_device(device), resume=resume,
                      wandb=wandb)  # fmt: skip
    trainer.fit(data, task.validation_data(cfg, run_dir) if trainer.run.dist.is_main else None)
    return Path(run_dir)


def _saved_best(state: dict[str, Any]) -> tuple[float, ...] | None:
    """The best validation score in a trainer state.

    Before the one loop, restore saved it as ``best_psnr`` (-inf: none yet) and scratch as
    ``best_f1`` (-1: none yet).
    """
    if "best_score" in state:
        return None if state["best_score"] is None else tuple(map(float, state["best_score"]))
    old = [float(state[k]) for k in ("best_psnr", "best_f1") if k in state]
    return (old[0],) if old and math.isfinite(old[0]) and old[0] >= 0 else None
