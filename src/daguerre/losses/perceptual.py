"""Perceptual (feature) loss on a frozen pretrained backbone.

The backbone is pluggable: any module mapping a [0,1] image ``(B,3,H,W)`` to a list of feature
maps. We ship support for the ImageNet MobileNetV2 (no VGG is available offline); training
without a backbone still works (the loss is then simply not used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

FeatureFn = Callable[[torch.Tensor], Sequence[torch.Tensor]]


def perceptual_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    features: FeatureFn,
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Weighted L1 between backbone features of ``pred`` and ``target`` (target detached)."""
    pf = features(pred)
    with torch.no_grad():
        tf = features(target)
    weights = weights or [1.0] * len(pf)
    terms = [w * F.l1_loss(a, b) for w, a, b in zip(weights, pf, tf, strict=True)]
    return torch.stack(terms).sum() / sum(weights)


def gram(feat: torch.Tensor) -> torch.Tensor:
    """Normalised Gram matrix: ``(B,C,H,W) -> (B,C,C)`` divided by ``C*H*W``."""
    b, c, h, w = feat.shape
    flat = feat.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def style_loss(
    pred: torch.Tensor, style_feats: Sequence[torch.Tensor], features: FeatureFn
) -> torch.Tensor:
    """MSE between Gram matrices of ``pred``'s features and precomputed style features."""
    terms = [
        F.mse_loss(gram(a), gram(s).expand(a.shape[0], -1, -1))
        for a, s in zip(features(pred), style_feats, strict=True)
    ]
    return torch.stack(terms).sum()


class PerceptualLoss(nn.Module):
    """Module wrapper of :func:`perceptual_loss` that owns a frozen backbone."""

    def __init__(
        self, backbone: nn.Module, layers: Sequence[int], weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)
        self.layers = tuple(layers)
        self.weights = list(weights) if weights is not None else None

    def features(self, x: torch.Tensor) -> Sequence[torch.Tensor]:
        """Backbone features at ``self.layers``."""
        out = self.backbone(x, layers=self.layers)
        return list(out.values()) if isinstance(out, dict) else out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss."""
        return perceptual_loss(pred, target, self.features, self.weights)
