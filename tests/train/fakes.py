"""Tiny deterministic stand-ins for trainer tests."""

from __future__ import annotations

from pathlib import Path

import torch

from daguerre.train.config import DataConfig, LossConfig, NetConfig, OptimConfig, TrainConfig
from daguerre.train.restore import RestoreTask
from daguerre.train.trainer import Trainer


class FakePairs(torch.utils.data.Dataset):
    """Sample ``n`` is a fixed function of ``n``: a random image and a darkened copy."""

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(n)
        clean = torch.rand(3, 32, 32, generator=gen)
        return {"degraded": clean * 0.5, "clean": clean, "mask": torch.zeros(1, 32, 32)}


def tiny_config(steps: int = 4, **overrides: object) -> TrainConfig:
    cfg = TrainConfig(
        generator=NetConfig(
            "unet", {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}
        ),
        discriminator=NetConfig("multiscale", {"base_channels": 8, "layers": 2, "num_scales": 2}),
        loss=LossConfig(perceptual=0.0, adversarial_start=1),
        data=DataConfig(batch=2, workers=0),
        optim=OptimConfig(steps=steps),
        log_every=1,
        val_every=2,
        checkpoint_minutes=0.0,
    )
    return cfg


def restore_trainer(
    cfg: TrainConfig, run_dir: Path, *, device: torch.device, resume: bool = False
) -> Trainer[RestoreTask]:
    """The one loop with the restoration task."""
    return Trainer(cfg, run_dir, RestoreTask, device=device, resume=resume)
