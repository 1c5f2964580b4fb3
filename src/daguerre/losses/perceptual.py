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


def layer_gram_mse(
    fake: Sequence[torch.Tensor],
    targets: Sequence[torch.Tensor],
    weights: Sequence[float] = (),
    *,
    relative: bool = False,
) -> torch.Tensor:
    """Weighted mean over layers of the Gram MSE between ``fake``'s Gram matrices and targets.

    Args:
        fake: per layer ``(B,C,C)`` Gram matrices of the output.
        targets: per layer ``(1,C,C)`` or ``(B,C,C)`` target Gram matrices (no gradient needed).
        weights: one weight per layer; empty: all 1 (the plain mean over layers).
        relative: divide each layer's MSE by the mean square of its target, so a layer with
            small Gram entries (MobileNetV2 stage 13) counts as much as one with large entries.

    Returns:
        Scalar: ``sum_l w_l * mse_l / sum_l w_l``.

    Raises:
        ValueError: ``weights`` is given with a length other than the number of layers.
    """
    if weights and len(weights) != len(fake):
        raise ValueError(f"{len(weights)} Gram layer weights for {len(fake)} layers")
    w = list(weights) or [1.0] * len(fake)
    terms = []
    for weight, f, t in zip(w, fake, targets, strict=True):
        err = ((f - t) ** 2).mean()
        if relative:
            err = err / (t.detach() ** 2).mean().clamp_min(1e-12)
        terms.append(weight * err)
    return torch.stack(terms).sum() / sum(w)


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
