"""Tiny model folders for pipeline tests (built at test time; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from daguerre.nn.generators.unet import UNetGenerator
from daguerre.weights.checkpoint import ModelConfig, save_model

KW = {"base_channels": 8, "depth": 2, "max_channels": 16, "bottleneck_blocks": 1}


def save_identity_model(
    folder: Path, *, mask_channel: bool = False, prefill: bool = False, inpainting: str = ""
) -> Path:
    """A residual U-Net whose head is zero: it returns its RGB input exactly.

    With ``prefill`` its manifest says it refines a Telea fill of the masked pixels; with
    ``inpainting`` it names the restorer that takes over photos with damage to fill.
    """
    kwargs = {**KW, "in_channels": 4 if mask_channel else 3}
    net = UNetGenerator(**kwargs)
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    extra = {"mask_channel": mask_channel, **({"prefill": True} if prefill else {})}
    extra |= {"inpainting": inpainting} if inpainting else {}
    config = ModelConfig(arch="unet", kwargs=kwargs, pad_multiple=4, extra=extra)
    return save_model(folder, net, config)


def save_random_model(folder: Path, *, seed: int = 0, mask_channel: bool = False) -> Path:
    """A randomly initialised tiny U-Net (changes the image; used for blending tests)."""
    torch.manual_seed(seed)
    kwargs = {**KW, "in_channels": 4 if mask_channel else 3}
    config = ModelConfig(
        arch="unet", kwargs=kwargs, pad_multiple=4, extra={"mask_channel": mask_channel}
    )
    return save_model(folder, UNetGenerator(**kwargs), config)


def save_offset_model(folder: Path, offset: float, *, mask_channel: bool = False) -> Path:
    """A residual U-Net returning its input plus ``offset`` (the pipeline clamps to [0, 1])."""
    kwargs = {**KW, "in_channels": 4 if mask_channel else 3}
    net = UNetGenerator(**kwargs)
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.constant_(net.head.bias, 2.0 * offset)  # the net works in [-1, 1]
    config = ModelConfig(
        arch="unet", kwargs=kwargs, pad_multiple=4, extra={"mask_channel": mask_channel}
    )
    return save_model(folder, net, config)


def save_brightness_router(folder: Path) -> Path:
    """A router that takes bright photos (mean red above 0.5) for prints, dark ones not."""
    from daguerre.nn.router import RouterNet

    net = RouterNet(width=4)
    first, last = net.head[0], net.head[2]
    with torch.no_grad():
        for layer in (first, last):
            layer.weight.zero_()
            layer.bias.zero_()
        pooled = 4 * 4  # the CNN's pooled features (4 x width) come before the statistics
        first.weight[0, pooled] = 1.0  # statistic 0: the thumbnail's mean red
        first.bias[0] = -0.5
        last.weight[0, 0] = 10.0
    config = ModelConfig(arch="router", kwargs={"width": 4}, kind="router", out_range="logits")
    return save_model(folder, net, config)


def save_offset_grade(folder: Path, offset: float) -> Path:
    """A colour grade that adds ``offset`` to every channel (A = 0, alpha 1)."""
    from daguerre.nn.grade import GradeNet

    net = GradeNet(width=8, grid=1, thumb=32)
    with torch.no_grad():
        net.head.bias[9:12] = offset
    config = ModelConfig(arch="grade", kwargs={"width": 8, "grid": 1, "thumb": 32}, kind="grade")
    return save_model(folder, net, config)


def forget_loaded_models() -> None:
    """Drop the restorer's cached models (after a test rewrote a model's config.json)."""
    from daguerre.pipelines.restorer import load_expert, load_restorer, load_router

    for cache in (load_restorer, load_expert, load_router):
        cache.cache_clear()
