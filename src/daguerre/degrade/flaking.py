"""Flaking: chips of emulsion lost from a print, showing the paper underneath.

A cracked or bent print sheds its emulsion in flakes: ragged chips from a pixel to a few
percent of the print across, crowded along a crack or along the print's border, where the
emulsion lifts first. Bare paper shows through, so a flake scans the colour of the paper: with
probability ``match`` the print's own whites (:func:`daguerre.degrade.craquelure.paper_white`,
so a yellowed print's flakes are as yellow as its highlights), else near-white paper.

Flake sizes are heavy-tailed (many chips, a few big patches). Their centres are scattered
around an anchor: a wandering line across the print (the crack that shed them) or the border.

Mask: the flakes' soft alpha (opacity included), ``(B,1,H,W)`` float32 in [0, 1]; threshold at
0.25 for a binary label, like the other defect ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.degrade.base import (
    PerImageDefect,
    bernoulli,
    seeds,
    uniform,
)
from daguerre.degrade.craquelure import paper_white
from daguerre.degrade.fields import Draw, render_blobs, smooth_curve, soften, to_tensor
from daguerre.types import Tensor

MAX_FLAKES = 400  # bounds the cost on any image size


@dataclass(frozen=True)
class FlakingParams:
    """Per-image flaking parameters, ``(B,)`` tensors."""

    active: Tensor  # bool, False = identity
    count: Tensor  # float, flakes per 100 px of anchor length
    size: Tensor  # float, largest flake radius as a fraction of the short side
    spread: Tensor  # float, scatter of the flakes around the anchor, fraction of the short side
    border: Tensor  # bool, anchored on the print's border rather than a line across it
    intensity: Tensor  # float in [0, 1], opacity
    match: Tensor  # bool, flakes take the print's own whites rather than white paper
    seed: Tensor  # int64, seeds the geometry


class Flaking(PerImageDefect[FlakingParams]):
    """Ragged chips of lost emulsion in paper colour, crowded along a line or the border.

    Args:
        count: (min, max) flakes per 100 px of anchor.
        size: (min, max) largest flake radius, fraction of the short side.
        spread: (min, max) scatter around the anchor, fraction of the short side.
        border: probability that the flakes line the print's border.
        intensity: (min, max) opacity.
        match: probability that the flakes take the print's own whites.
    """

    name = "flaking"

    def __init__(
        self,
        *,
        count: tuple[float, float] = (5.0, 25.0),
        size: tuple[float, float] = (0.02, 0.08),
        spread: tuple[float, float] = (0.01, 0.06),
        border: float = 0.4,
        intensity: tuple[float, float] = (0.85, 1.0),
        match: float = 0.6,
    ) -> None:
        self.count, self.size, self.spread = count, size, spread
        self.border, self.intensity, self.match = border, intensity, match

    def sample(self, gen: torch.Generator, batch: int) -> FlakingParams:
        """Draw density, size, scatter, anchor kind, opacity, colour source and a seed."""
        return FlakingParams(
            active=torch.ones(batch, dtype=torch.bool),
            count=uniform(gen, batch, *self.count),
            size=uniform(gen, batch, *self.size),
            spread=uniform(gen, batch, *self.spread),
            border=bernoulli(gen, batch, self.border),
            intensity=uniform(gen, batch, *self.intensity),
            match=bernoulli(gen, batch, self.match),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: FlakingParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        if not bool(params.active[i]):
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        short = min(height, width)
        anchor = (
            border_anchor(height, width)
            if bool(params.border[i])
            else line_anchor(draw, height, width)
        )
        centers, radii = scatter_flakes(
            draw,
            anchor,
            count=float(params.count[i]),
            spread=float(params.spread[i]) * short,
            largest=max(float(params.size[i]) * short, 0.6),
        )
        values = np.full(len(radii), float(params.intensity[i]))
        alpha = render_blobs(draw, height, width, centers, radii, values, jag=0.45)
        alpha = to_tensor(soften(alpha, 0.3), img)
        tint = draw.uniform(0.0, 0.05, 2)  # bare, slightly warm paper
        level = torch.tensor([1.0, 1.0 - tint[0], 1.0 - tint[0] - tint[1]], dtype=torch.float32)
        level = level.to(img.device).view(1, 3, 1, 1) * draw.scalar(0.85, 1.0)
        if bool(params.match[i]):
            level = (paper_white(img) * draw.scalar(0.97, 1.03)).clamp(0.0, 1.0)
        out = img + alpha * (level - img)
        return out.clamp(0.0, 1.0), alpha.clamp(0.0, 1.0)


def line_anchor(draw: Draw, height: int, width: int) -> np.ndarray:
    """A wandering line across the print, edge to edge: ``(N, 2)`` float64 pixel (x, y)."""
    length = int(max(height, width))
    t = np.linspace(0.0, 1.0, max(length // 4, 8))
    if draw.scalar(0.0, 1.0) < 0.5:  # mostly left-right
        ys = draw.scalar(0.15, 0.85) * height + 0.12 * height * smooth_curve(draw, len(t), knots=4)
        return np.stack([t * width, ys], 1)
    xs = draw.scalar(0.15, 0.85) * width + 0.12 * width * smooth_curve(draw, len(t), knots=4)
    return np.stack([xs, t * height], 1)


def border_anchor(height: int, width: int) -> np.ndarray:
    """The print's outline, clockwise from the top-left corner: ``(N, 2)`` pixel (x, y)."""
    right, bottom = width - 1.0, height - 1.0
    corners = np.array([[0.0, 0.0], [right, 0.0], [right, bottom], [0.0, bottom], [0.0, 0.0]])
    sides = []
    for a, b in zip(corners[:-1], corners[1:], strict=True):
        n = max(int(np.linalg.norm(b - a) / 4.0), 2)
        sides.append(a + np.linspace(0.0, 1.0, n, endpoint=False)[:, None] * (b - a))
    return np.concatenate(sides)


def scatter_flakes(
    draw: Draw, anchor: np.ndarray, *, count: float, spread: float, largest: float
) -> tuple[np.ndarray, np.ndarray]:
    """Flake centres ``(N, 2)`` and radii ``(N,)`` in pixels around an anchor polyline.

    Args:
        draw: source of randomness.
        anchor: ``(M, 2)`` pixel (x, y) points along the line the flakes crowd.
        count: flakes per 100 px of anchor length (at most ``MAX_FLAKES`` in all).
        spread: standard deviation of the centres' offset from the anchor, pixels.
        largest: the largest radius, pixels; sizes are heavy-tailed below it.
    """
    length = float(np.linalg.norm(np.diff(anchor, axis=0), axis=1).sum())
    n = int(np.clip(round(count * length / 100.0), 1, MAX_FLAKES))
    picks = draw.integers(0, len(anchor) - 1, n)
    centers = anchor[picks] + spread * np.abs(draw.normal((n, 1))) * _unit(draw, n)
    radii = draw.pareto(0.8, 1.0, largest, n)
    return centers, radii


def _unit(draw: Draw, n: int) -> np.ndarray:
    """``n`` random unit vectors ``(n, 2)``."""
    angle = draw.uniform(0.0, 2 * np.pi, n)
    return np.stack([np.cos(angle), np.sin(angle)], 1)
