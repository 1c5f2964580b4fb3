"""Pieces of the one loop (:mod:`daguerre.train.trainer`): data, optimiser step, progress."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

log = logging.getLogger(__name__)


class StepSampler(Sampler[int]):
    """Yields global sample numbers for steps ``start_step, start_step+1, ...`` of this rank.

    Sample ``n`` is fully determined by the run seed and ``n`` (the dataset derives its
    randomness from it), so resuming at step ``s`` replays exactly the batches an uninterrupted
    run would have seen, on any number of workers.
    """

    def __init__(
        self, *, start_step: int, total_steps: int, batch: int, rank: int, world: int
    ) -> None:
        self.start, self.total, self.batch = start_step, total_steps, batch
        self.rank, self.world = rank, world

    def __iter__(self) -> Iterator[int]:
        per_step = self.batch * self.world
        for step in range(self.start, self.total):
            base = step * per_step + self.rank * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.total - self.start) * self.batch


def make_stream(
    dataset: Dataset[Any],
    *,
    start_step: int,
    total_steps: int,
    batch: int,
    rank: int,
    world: int,
    workers: int,
) -> Iterator[dict[str, torch.Tensor]]:
    """An iterator of batches for the remaining steps of this rank."""
    sampler = StepSampler(
        start_step=start_step, total_steps=total_steps, batch=batch, rank=rank, world=world
    )
    loader = DataLoader(
        dataset,
        batch_size=batch,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        drop_last=True,
        worker_init_fn=_one_thread if workers > 0 else None,
    )
    return iter(loader)


def _one_thread(_: int) -> None:
    # tiny per-sample ops stall in the BLAS thread pool; workers do better single-threaded
    torch.set_num_threads(1)


def mixed_precision(device: torch.device, wanted: bool) -> tuple[bool, bool]:
    """``(autocast, loss_scaling)`` for a training run on ``device`` whose config asks ``wanted``.

    fp16 autocast with loss scaling on CUDA; bf16 autocast (no scaling: bf16 has float32's
    range) on a CPU with native bf16 (AMX or AVX512-BF16), where steps run 1.4-1.7x
    faster; off elsewhere, where bf16 is emulated and slow.
    """
    from daguerre.infer import device as devices

    if not wanted:
        return False, False
    if device.type == "cuda":
        return True, True
    return device.type == "cpu" and devices.cpu_has_fast_bf16(), False


def optimizer_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    scaler: torch.amp.GradScaler,
    grad_clip: float,
) -> float:
    """Backward, unscale, clip, step. Returns the gradient norm before clipping."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip > 0 else float("inf"))
    scaler.step(optimizer)
    scaler.update()
    return float(norm)


class Progress:
    """A progress line with rate and ETA: Rich on a terminal, plain log lines otherwise."""

    def __init__(self, *, start: int, total: int, enabled: bool) -> None:
        self.start, self.total, self.enabled = start, total, enabled
        self.t0 = time.monotonic()
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(
                TextColumn("train"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
            )
            self.task = self.bar.add_task("train", total=total, completed=start, info="")
            self.bar.start()

    def update(self, step: int, info: str, *, force: bool = False) -> None:
        """Report that ``step`` steps are done."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=step, info=info)
        elif force:
            rate = (step - self.start) / max(time.monotonic() - self.t0, 1e-6)
            eta = (self.total - step) / max(rate, 1e-9)
            log.info(
                "step %d/%d  %.2f it/s  eta %.0f min  %s", step, self.total, rate, eta / 60, info
            )

    def close(self) -> None:
        """Stop the bar."""
        if self.bar is not None:
            self.bar.stop()
