"""Tiny model folders for pipeline tests (built at test time; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from daguerre.nn.generators.unet import UNetGenerator
from daguerre.weights.checkpoint import ModelConfig, save_model

KW = {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}


def save_identity_model(folder: Path, *, mask_channel: bool = False) -> Path:
    """A residual U-Net whose head is zero: it returns its RGB input exactly."""
    kwargs = {**KW, "in_channels": 4 if mask_channel else 3}
    net = UNetGenerator(**kwargs)
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    config = ModelConfig(
        arch="unet", kwargs=kwargs, pad_multiple=4, extra={"mask_channel": mask_channel}
    )
    return save_model(folder, net, config)


def save_random_model(folder: Path, *, seed: int = 0, mask_channel: bool = False) -> Path:
    """A randomly initialised tiny U-Net (changes the image; used for blending tests)."""
    torch.manual_seed(seed)
    kwargs = {**KW, "in_channels": 4 if mask_channel else 3}
    config = ModelConfig(
        arch="unet", kwargs=kwargs, pad_multiple=4, extra={"mask_channel": mask_channel}
    )
    return save_model(folder, UNetGenerator(**kwargs), config)
