"""Optimisation-based style transfer (Gatys et al. 2016): the yardstick for our styles.

A script-side helper of ``scripts/eval_style.py``, not part of the package: the product ships
feed-forward styles and AdaIN, and this slow reference is what they are scored against. Its
tests are in ``tests/pipelines/test_gatys.py``. The output image's pixels are optimised with
Adam, starting from the content photo, to match the content photo's deep features and the
painting's Gram matrices on the same ImageNet MobileNetV2 that the style losses and metrics
use (there is no VGG offline). It is slow (every step is a forward and backward pass) and is
run for a fixed budget of steps so comparisons are fair.

Example:
    >>> from daguerre.nn.mobilenet import MobileNetV2Features
    >>> net = MobileNetV2Features(frozen=True).eval()
    >>> gen = torch.Generator().manual_seed(0)
    >>> content = torch.rand(3, 48, 48, generator=gen)
    >>> style = torch.rand(3, 48, 48, generator=gen)
    >>> result = gatys_transfer(content, style, net, GatysOptions(steps=3))
    >>> tuple(result.image.shape), len(result.losses)
    ((3, 48, 48), 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from daguerre.losses.perceptual import gram
from daguerre.nn.mobilenet import MobileNetV2Features


@dataclass(frozen=True)
class GatysOptions:
    """The fixed budget and loss weights of the reference transfer.

    Attributes:
        steps: Adam steps on the pixels.
        lr: Adam learning rate on [0, 1] pixels.
        content_weight: weight of the MSE between content features.
        style_weight: weight of the summed Gram MSE (Gram scaled by channel count, as in training).
        content_layers: MobileNetV2 stages for the content term.
        style_layers: MobileNetV2 stages for the style term.
    """

    steps: int = 200
    lr: float = 0.02
    content_weight: float = 1.0
    style_weight: float = 50.0
    content_layers: tuple[int, ...] = (13,)
    style_layers: tuple[int, ...] = (1, 3, 6, 13)

    def __post_init__(self) -> None:
        if self.steps < 0 or self.lr <= 0:
            raise ValueError(f"need steps >= 0 and lr > 0, got {self.steps}, {self.lr}")


@dataclass(frozen=True)
class GatysResult:
    """``image``: (3,H,W) float32 RGB in [0, 1]; ``losses``: the total loss at every step."""

    image: Tensor
    losses: tuple[float, ...]


def _scaled_grams(feats: dict[int, Tensor]) -> list[Tensor]:
    return [gram(f) * f.shape[1] for f in feats.values()]


def gatys_transfer(
    content: Tensor,
    style: Tensor | Sequence[Tensor],
    backbone: MobileNetV2Features,
    options: GatysOptions,
) -> GatysResult:
    """Optimise an image from ``content`` towards ``style``'s Gram statistics.

    Args:
        content: (3,H,W) float RGB in [0, 1]; the output has its size.
        style: (3,H',W') float RGB in [0, 1], any size (resize it to a scale comparable with
            ``content``: Gram matrices capture texture at the scale they see); or several
            such images (a style given by examples, e.g. old scans): their Grams are averaged.
        backbone: frozen MobileNetV2 features (eval mode), on the images' device.
        options: steps, learning rate, weights and layers.

    Returns:
        The stylised image and the loss trace. Deterministic for fixed inputs (no randomness).
    """
    layers = tuple(sorted(set(options.content_layers) | set(options.style_layers)))
    with torch.no_grad():
        target_content = backbone(content[None], layers=options.content_layers)
        styles = [style] if isinstance(style, Tensor) else list(style)
        per_image = [_scaled_grams(backbone(s[None], layers=options.style_layers)) for s in styles]
        target_style = [torch.stack(grams).mean(0) for grams in zip(*per_image, strict=True)]
    pixels = content[None].clone().requires_grad_(True)
    opt = torch.optim.Adam([pixels], lr=options.lr)
    losses: list[float] = []
    for _ in range(options.steps):
        opt.zero_grad(set_to_none=True)
        feats = backbone(pixels, layers=layers)
        content_term = sum(
            ((feats[i] - target_content[i]) ** 2).mean() for i in options.content_layers
        )
        grams = _scaled_grams({i: feats[i] for i in options.style_layers})
        style_term = sum(((g - t) ** 2).mean() for g, t in zip(grams, target_style, strict=True))
        loss = options.content_weight * content_term + options.style_weight * style_term
        loss.backward()  # type: ignore[union-attr]
        opt.step()
        with torch.no_grad():
            pixels.clamp_(0.0, 1.0)
        losses.append(float(loss.detach()))  # type: ignore[union-attr]
    return GatysResult(image=pixels.detach()[0], losses=tuple(losses))
