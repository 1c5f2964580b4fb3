"""Imperfect defect masks for training the inpainting restorer: what a real detector gives.

A restorer trained only with the engine's exact masks learns that every marked pixel is
damaged and repaints it. A detector's mask is not exact: it misses stretches of faint
scratches and marks thin bright structure (whiskers, wires, a white collar) and specks that
are not damage. So ``--scratches auto`` has to inpaint only near-certain pixels (probability
> 0.995), which leaves most of a real crack web in place. Training on masks with such errors
teaches the restorer to repaint marked pixels only where they look damaged and to keep clean
content under a false mark, so a detector threshold can be lower.

Errors drawn per sample (every amount random, from the generator passed in):

- **misses**: the true mask is cut where a smooth random field falls below a level (0-35 %
  of the area), so whole stretches of scratches go unmarked;
- **false marks on structure**: thin bright ridges of the clean photo (brighter than their
  7x7 neighbourhood by more than 0.08), kept inside a random smooth region, dilated 1 px;
- **false strokes and specks**: 0-3 straight strokes (1-4 px wide) and 0-24 round specks
  (radius 1-3 px) anywhere.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from daguerre.degrade.base import uniform
from daguerre.degrade.fields import luminance
from daguerre.types import Tensor

__all__ = ["noisy_mask"]

RIDGE_LEVEL = 0.08  # a pixel this much brighter than its 7x7 mean counts as a bright ridge


def _u(gen: torch.Generator, low: float, high: float) -> float:
    return float(uniform(gen, 1, low, high))


def smooth_field(gen: torch.Generator, height: int, width: int, cell: int = 24) -> Tensor:
    """``(1,H,W)`` float32 in [0, 1]: uniform noise on a ``cell``-pixel lattice, upsampled."""
    small = torch.rand(1, 1, height // cell + 2, width // cell + 2, generator=gen)
    return F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)[0]


def bright_ridges(clean: Tensor) -> Tensor:
    """``(3,H,W)`` float [0,1] -> ``(1,H,W)`` bool: pixels well above their 7x7 mean luminance."""
    lum = luminance(clean[None])
    local = F.avg_pool2d(F.pad(lum, (3, 3, 3, 3), mode="replicate"), 7, stride=1)
    return (lum - local > RIDGE_LEVEL)[0]


def _strokes_and_specks(gen: torch.Generator, height: int, width: int) -> Tensor:
    """``(1,H,W)`` bool: a few random straight strokes and round specks."""
    ys = torch.arange(height, dtype=torch.float32).view(-1, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, -1)
    marks = torch.zeros(height, width, dtype=torch.bool)
    for _ in range(int(torch.randint(0, 4, (), generator=gen))):
        cy, cx = _u(gen, 0, height), _u(gen, 0, width)
        angle, half = _u(gen, 0, math.pi), _u(gen, 0.1, 0.6) * max(height, width)
        dy, dx = math.sin(angle), math.cos(angle)
        along = (ys - cy) * dy + (xs - cx) * dx
        across = (ys - cy) * dx - (xs - cx) * dy
        marks |= (along.abs() <= half) & (across.abs() <= _u(gen, 0.5, 2.0))
    for _ in range(int(torch.randint(0, 25, (), generator=gen))):
        cy, cx, radius = _u(gen, 0, height), _u(gen, 0, width), _u(gen, 1.0, 3.0)
        marks |= (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2
    return marks[None]


def noisy_mask(mask: Tensor, clean: Tensor, gen: torch.Generator) -> Tensor:
    """A detector-like copy of a true defect mask, with misses and false marks.

    Args:
        mask: ``(1,H,W)`` float32 {0, 1}, the true (hard) defect mask.
        clean: ``(3,H,W)`` float32 [0, 1], the undamaged photo (false marks follow its
            bright structure).
        gen: the random generator (the errors replay from its state).

    Returns:
        ``(1,H,W)`` float32 {0, 1}.

    Example:
        >>> gen = torch.Generator().manual_seed(0)
        >>> out = noisy_mask(torch.zeros(1, 32, 32), torch.rand(3, 32, 32), gen)
        >>> out.shape, out.dtype
        (torch.Size([1, 32, 32]), torch.float32)
    """
    _, height, width = mask.shape
    missed = smooth_field(gen, height, width) < _u(gen, 0.0, 0.35)
    kept = (mask > 0.5) & ~missed
    region = smooth_field(gen, height, width) < _u(gen, 0.1, 0.6)
    ridges = bright_ridges(clean) & region
    ridges = F.max_pool2d(ridges[None].float(), 3, stride=1, padding=1)[0] > 0
    false = ridges | _strokes_and_specks(gen, height, width)
    return (kept | false).float()
