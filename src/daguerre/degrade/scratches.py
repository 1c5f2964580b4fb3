"""Scratches: long thin light (or dark) strokes, often in near-parallel families.

Real scratches come from sliding contact, so they are long and thin, straight or gently curved,
frequently several near-parallel ones at once; width and intensity vary along them and they
break up. Emulsion scratches on the print (and base-side ones on the negative) are light;
emulsion-side negative scratches print dark. Each scratch is a variable-width cubic Bezier
stroke rasterised anti-aliased at 2x; see :func:`daguerre.degrade.fields.bezier_stroke`.

Mask: the stroke's soft alpha (opacity included), ``(B,1,H,W)`` float32 in [0, 1]. Consumers
that need a binary label should threshold it (``mask > 0.25`` counts as damaged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.degrade.base import (
    DefectDegradation,
    bernoulli,
    check_image,
    log_uniform,
    randint,
    seeds,
    uniform,
)
from daguerre.degrade.fields import Draw, Stroke, bezier_stroke, render_strokes, soften, to_tensor
from daguerre.types import Tensor


@dataclass(frozen=True)
class ScratchesParams:
    """Per-image scratch parameters, ``(B,)`` tensors."""

    count: Tensor  # int64, number of scratches; 0 = identity
    width: Tensor  # float, multiplies the heavy-tailed per-scratch widths (pixels)
    intensity: Tensor  # float in [0, 1], peak opacity
    bright: Tensor  # float in [0, 1], probability that a scratch is light (else dark)
    family: Tensor  # bool, scratches share one direction (near-parallel family)
    curvature: Tensor  # float, Bezier bend as a fraction of length
    breakup: Tensor  # float in [0, 1), share of length where scratches fade out
    seed: Tensor  # int64, seeds the geometry


class Scratches(DefectDegradation[ScratchesParams]):
    """Variable-width Bezier scratches with soft edges; returns their alpha as the mask.

    Args:
        count: (min, max) scratches per image, inclusive (not scaled by size: a scratch spans
            a good part of the picture whatever the crop).
        width: (min, max) width multiplier; per-scratch widths are heavy-tailed around 1-6 px
            with rare thick ones up to ~15 px.
        intensity: (min, max) peak opacity.
        bright: probability of a light (vs dark) scratch.
        family: probability that an image's scratches are a near-parallel family.
        curvature: (min, max) bend.
        breakup: (min, max) broken share of each scratch.
    """

    name = "scratches"

    def __init__(
        self,
        *,
        count: tuple[int, int] = (1, 8),
        width: tuple[float, float] = (0.7, 1.5),
        intensity: tuple[float, float] = (0.5, 1.0),
        bright: float = 0.8,
        family: float = 0.4,
        curvature: tuple[float, float] = (0.0, 0.12),
        breakup: tuple[float, float] = (0.0, 0.5),
    ) -> None:
        self.count, self.width, self.intensity, self.bright = count, width, intensity, bright
        self.family, self.curvature, self.breakup = family, curvature, breakup

    def sample(self, gen: torch.Generator, batch: int) -> ScratchesParams:
        """Draw count, width, intensity, polarity mix, family flag, bend, breakup and a seed."""
        return ScratchesParams(
            count=randint(gen, batch, *self.count),
            width=log_uniform(gen, batch, *self.width),
            intensity=uniform(gen, batch, *self.intensity),
            bright=torch.full((batch,), float(self.bright)),
            family=bernoulli(gen, batch, self.family),
            curvature=uniform(gen, batch, *self.curvature),
            breakup=uniform(gen, batch, *self.breakup),
            seed=seeds(gen, batch),
        )

    def apply_masked(self, img: Tensor, params: ScratchesParams) -> tuple[Tensor, Tensor]:
        """(B,3,H,W) float32 [0,1] -> (image clamped to [0,1], mask (B,1,H,W) in [0,1])."""
        check_image(img)
        outs, masks = [], []
        for i in range(img.shape[0]):
            out, mask = self._one(img[i : i + 1], params, i)
            outs.append(out)
            masks.append(mask)
        return torch.cat(outs), torch.cat(masks)

    def _one(self, img: Tensor, params: ScratchesParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        count = int(params.count[i])
        if count <= 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        strokes = scratch_strokes(draw, height, width, count=count, params=params, index=i)
        light = [s for s, is_bright in strokes if is_bright]
        dark = [s for s, is_bright in strokes if not is_bright]
        alpha_light = to_tensor(soften(render_strokes(height, width, light), 0.45), img)
        alpha_dark = to_tensor(soften(render_strokes(height, width, dark), 0.45), img)
        tint = draw.uniform(0.0, 0.06, 3)  # light scratches show bare, slightly warm paper
        paper = torch.tensor([1.0, 1.0 - tint[1], 1.0 - tint[1] - tint[2]], dtype=torch.float32)
        paper = paper.to(img.device).view(1, 3, 1, 1) * draw.scalar(0.88, 1.0)
        dark_level = draw.scalar(0.02, 0.2)
        out = img + alpha_light * (paper - img)
        out = out + alpha_dark * (dark_level - out)
        mask = torch.maximum(alpha_light, alpha_dark).clamp(0.0, 1.0)
        return out.clamp(0.0, 1.0), mask


def scratch_strokes(
    draw: Draw, height: int, width: int, *, count: int, params: ScratchesParams, index: int
) -> list[tuple[Stroke, bool]]:
    """Geometry of one image's scratches: ``[(stroke, is_light), ...]``."""
    diag = float(np.hypot(height, width))
    family = bool(params.family[index])
    base_angle = draw.scalar(0.0, np.pi)
    # a family shares a direction and sits in a band; loose scratches go anywhere
    band_center = np.array([draw.scalar(0.2, 0.8) * width, draw.scalar(0.2, 0.8) * height])
    band = draw.scalar(0.05, 0.35) * min(height, width)
    widths = draw.pareto(0.8, 1.8, 15.0, count) * float(params.width[index])
    strokes = []
    for k in range(count):
        angle = base_angle + (np.deg2rad(draw.normal() * 3.0) if family else draw.scalar(0, np.pi))
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        length = diag * float(draw.uniform(0.15, 1.1))
        if family:
            center = (
                band_center + normal * band * draw.normal() + direction * draw.normal() * 0.2 * diag
            )
        else:
            center = np.array([draw.scalar(0.0, width), draw.scalar(0.0, height)])
        stroke = bezier_stroke(
            draw,
            center - direction * length / 2,
            center + direction * length / 2,
            bend=float(params.curvature[index]) * draw.scalar(0.2, 1.0),
            width=float(widths[k]),
            opacity=float(params.intensity[index]) * draw.scalar(0.6, 1.0),
            breakup=float(params.breakup[index]),
            step=max(diag / 48, 3.0),
        )
        strokes.append((stroke, draw.scalar(0.0, 1.0) < float(params.bright[index])))
    return strokes
