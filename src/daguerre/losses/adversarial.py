"""Adversarial losses on discriminator logits: vanilla (BCE), LSGAN and hinge.

``logits`` is a list (one per discriminator scale) of lists of feature maps whose last entry
is the patch logit map, as returned by the discriminators in ``daguerre.nn``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch.nn import functional as F  # noqa: N812

GanMode = Literal["vanilla", "lsgan", "hinge"]
GAN_MODES: tuple[str, ...] = ("vanilla", "lsgan", "hinge")


def _last(outputs: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    return [scale[-1] for scale in outputs]


def d_loss(
    real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]], mode: GanMode
) -> torch.Tensor:
    """Discriminator loss, averaged over scales. Scalar tensor.

    Example:
        >>> r = [[torch.full((1, 1, 2, 2), 5.0)]]; f = [[torch.full((1, 1, 2, 2), -5.0)]]
        >>> float(d_loss(r, f, "hinge"))
        0.0
    """
    terms = []
    for r, f in zip(_last(real), _last(fake), strict=True):
        if mode == "vanilla":
            loss = F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
            loss = loss + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
        elif mode == "lsgan":
            loss = ((r - 1.0) ** 2).mean() + (f**2).mean()
        elif mode == "hinge":
            loss = F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
        else:
            raise ValueError(f"gan mode {mode!r}; choose from {GAN_MODES}")
        terms.append(0.5 * loss)
    return torch.stack(terms).mean()


def g_loss(fake: list[list[torch.Tensor]], mode: GanMode) -> torch.Tensor:
    """Generator adversarial loss, averaged over scales. Scalar tensor."""
    terms = []
    for f in _last(fake):
        if mode == "vanilla":
            loss = F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
        elif mode == "lsgan":
            loss = ((f - 1.0) ** 2).mean()
        elif mode == "hinge":
            loss = -f.mean()
        else:
            raise ValueError(f"gan mode {mode!r}; choose from {GAN_MODES}")
        terms.append(loss)
    return torch.stack(terms).mean()


def feature_matching(
    real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]
) -> torch.Tensor:
    """pix2pixHD feature-matching loss: L1 between D's intermediate features on real and fake.

    Real features are detached. Averaged over scales and layers (the logit map excluded).
    """
    terms = [
        F.l1_loss(f, r.detach())
        for r_scale, f_scale in zip(real, fake, strict=True)
        for r, f in zip(r_scale[:-1], f_scale[:-1], strict=True)
    ]
    return torch.stack(terms).mean()
