"""The plumbing of one training run that every task builds on.

:class:`~daguerre.train.trainer.Trainer` makes a :class:`Run` before the task: torchrun
process group, device, mixed precision and logger. The task registers its optimisers
(:meth:`Run.adam`, :meth:`Run.optimizer`) and weight averages (:meth:`Run.ema`) here, wraps
what trains under DDP (:meth:`Run.ddp`) and steps with :meth:`Run.backward`; the trainer
schedules every learning rate, updates every average and saves and resumes both.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from daguerre.infer.device import channels_last
from daguerre.train.config import RunConfig
from daguerre.train.distributed import init_distributed
from daguerre.train.ema import EMA
from daguerre.train.loop import mixed_precision, optimizer_step
from daguerre.train.tblog import RunLogger

log = logging.getLogger(__name__)

Batch = dict[str, torch.Tensor]


@dataclass
class Stepper:
    """A registered optimiser, its loss scaler, base learning rates and clipping norm (0: off)."""

    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    base_lrs: list[float]
    clip: float


def _state_keys(name: str) -> tuple[str, str]:
    """``opt_g``/``scaler_g`` in ``trainer_state.pt``; ``opt``/``scaler`` for name ``""``."""
    return (f"opt_{name}", f"scaler_{name}") if name else ("opt", "scaler")


class Run:
    """Device, precision, optimisers, weight averages and logging of one training run.

    Args:
        cfg: the run options.
        run_dir: the run folder.
        device: torch device; under torchrun each rank gets its own.
        wandb: also log scalars to Weights & Biases.

    Attributes:
        step: optimiser steps done (set by the trainer, read by tasks).
        amp: whether :meth:`autocast` runs in mixed precision.
    """

    def __init__(
        self, cfg: RunConfig, run_dir: Path, device: torch.device, *, wandb: bool = False
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist = init_distributed(device)
        self.device = self.dist.device
        self.amp, self.loss_scaling = mixed_precision(self.device, cfg.amp)
        if self.amp:
            log.info("mixed precision: %s autocast", "fp16" if self.loss_scaling else "bf16")
        self.step = 0
        self.steppers: dict[str, Stepper] = {}
        self.averages: dict[str, tuple[EMA, nn.Module, bool]] = {}
        self.logger = RunLogger(self.run_dir, enabled=self.dist.is_main, wandb=wandb, config=cfg)

    def optimizer(
        self, name: str, optimizer: torch.optim.Optimizer, *, clip: float = 0.0, scaled: bool = True
    ) -> torch.optim.Optimizer:
        """Own ``optimizer`` (built with its base learning rates) as ``name``.

        ``clip`` limits the gradient norm in :meth:`backward` (0: off); ``scaled=False`` keeps
        fp16 loss scaling off for a part that never runs under autocast.
        """
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.loss_scaling and scaled)
        base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.steppers[name] = Stepper(optimizer, scaler, base_lrs, clip)
        return optimizer

    def adam(
        self, name: str, params: Iterable[nn.Parameter], *, lr: float,
        betas: tuple[float, float], clip: float = 0.0, scaled: bool = True,
    ) -> torch.optim.Optimizer:  # fmt: skip
        """An Adam optimiser registered as ``name`` (see :meth:`optimizer`)."""
        adam = torch.optim.Adam(params, lr=lr, betas=betas)
        return self.optimizer(name, adam, clip=clip, scaled=scaled)

    def ema(self, name: str, net: nn.Module, *, warmup: bool = False) -> EMA:
        """An average of ``net`` (``cfg.ema_decay``), saved as ``NAME.safetensors``.

        With ``warmup`` the decay is ``min(ema_decay, (1 + step) / (10 + step))`` (TF's
        ExponentialMovingAverage), so a short run does not average in its untrained start.
        """
        average = EMA(net, decay=self.cfg.ema_decay)
        self.averages[name] = (average, net, warmup)
        return average

    def ddp(self, net: nn.Module) -> nn.Module:
        """``net`` in DistributedDataParallel under torchrun, else ``net`` itself."""
        if self.dist.world <= 1:
            return net
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=ids)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Mixed precision for forward passes when the run uses it."""
        return torch.autocast(self.device.type, enabled=self.amp)

    def backward(self, name: str, loss: torch.Tensor) -> float:
        """Backward ``loss``, step optimiser ``name``; returns the gradient norm before clipping."""
        stepper = self.steppers[name]
        params = [p for group in stepper.optimizer.param_groups for p in group["params"]]
        return optimizer_step(loss, stepper.optimizer, params, stepper.scaler, stepper.clip)

    def to_device(self, batch: dict[str, Any]) -> Batch:
        """The tensors of a collated batch on the device, 4-D ones channels-last."""
        return {
            key: channels_last(value.to(self.device, non_blocking=True))
            for key, value in batch.items()
            if torch.is_tensor(value)
        }

    def set_lr(self, multiplier: float) -> None:
        """Every registered learning rate: its base times ``multiplier``."""
        for stepper in self.steppers.values():
            for group, base in zip(stepper.optimizer.param_groups, stepper.base_lrs, strict=True):
                group["lr"] = base * multiplier

    def update_averages(self) -> None:
        """Blend each averaged net into its EMA, at the step just taken."""
        for average, net, warmup in self.averages.values():
            decay = self.cfg.ema_decay
            average.decay = min(decay, (1 + self.step) / (10 + self.step)) if warmup else decay
            average.update(net)

    def average_nets(self) -> dict[str, nn.Module]:
        """The EMA networks by checkpoint name."""
        return {name: average.shadow for name, (average, _, _) in self.averages.items()}

    def state_dict(self) -> dict[str, Any]:
        """The step and every optimiser's and scaler's state (``weights_only``-loadable)."""
        state: dict[str, Any] = {"step": self.step}
        for name, stepper in self.steppers.items():
            opt_key, scaler_key = _state_keys(name)
            state[opt_key] = stepper.optimizer.state_dict()
            state[scaler_key] = stepper.scaler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved.

        A missing scaler entry stands for a disabled scaler: a disabled one ignores it, an
        enabled one refuses it.
        """
        self.step = int(state["step"])
        for name, stepper in self.steppers.items():
            opt_key, scaler_key = _state_keys(name)
            stepper.optimizer.load_state_dict(state[opt_key])
            stepper.scaler.load_state_dict(state.get(scaler_key, {}))
