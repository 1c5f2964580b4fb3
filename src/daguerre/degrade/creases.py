"""Creases and folds: a cracked light line with a crack network, shading and a slight shift.

A fold cracks the emulsion along a line (or across a corner): where emulsion flaked off, bare
paper shows as a jagged light core; thin cracks run beside it; the paper no longer lies flat,
so one side of the fold scans lighter and the other darker, and the picture shifts a little
across it. Each crease is a random polyline rendered as a variable-width core plus flakes and
short random-walk cracks, with a ``tanh``-shaped light/dark ramp across the fold line and a
sub-pixel to pixel displacement of one side (``grid_sample``).

Mask: the soft alpha of the cracked core, flakes and cracks, ``(B,1,H,W)`` float32 in [0, 1]
(threshold at 0.25 for a binary label). The shading and the shift are not in the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from daguerre.degrade.base import (
    PerImageDefect,
    randint,
    seeds,
    uniform,
)
from daguerre.degrade.fields import (
    Draw,
    Stroke,
    blob_polygons,
    coords,
    render_polygons,
    render_strokes,
    smooth_curve,
    soften,
    to_tensor,
)
from daguerre.types import Tensor


@dataclass(frozen=True)
class CreasesParams:
    """Per-image crease parameters, ``(B,)`` tensors."""

    count: Tensor  # int64, number of creases; 0 = identity
    corner: Tensor  # float in [0, 1], probability that each crease cuts across a corner
    width: Tensor  # float, mean core width in pixels
    cracks: Tensor  # float, crack density (cracks per 10 px of crease)
    shade: Tensor  # float, light/dark ramp amplitude across the fold (relative gain)
    shift: Tensor  # float, displacement of one side in pixels
    seed: Tensor  # int64, seeds the geometry


class Creases(PerImageDefect[CreasesParams]):
    """Random folds with a jagged white core, a crack network, shading and displacement.

    Args:
        count: (min, max) creases per image, inclusive.
        corner: probability that a crease is a corner fold.
        width: (min, max) mean core width in pixels.
        cracks: (min, max) cracks per 10 px of crease.
        shade: (min, max) shading amplitude.
        shift: (min, max) displacement in pixels.
    """

    name = "creases"

    def __init__(
        self,
        *,
        count: tuple[int, int] = (1, 2),
        corner: float = 0.4,
        width: tuple[float, float] = (0.6, 2.2),
        cracks: tuple[float, float] = (0.1, 1.0),
        shade: tuple[float, float] = (0.02, 0.1),
        shift: tuple[float, float] = (0.0, 1.2),
    ) -> None:
        self.count, self.corner, self.width, self.cracks = count, corner, width, cracks
        self.shade, self.shift = shade, shift

    def sample(self, gen: torch.Generator, batch: int) -> CreasesParams:
        """Draw count, corner share, core width, crack density, shading, shift and a seed."""
        return CreasesParams(
            count=randint(gen, batch, *self.count),
            corner=torch.full((batch,), float(self.corner)),
            width=uniform(gen, batch, *self.width),
            cracks=uniform(gen, batch, *self.cracks),
            shade=uniform(gen, batch, *self.shade),
            shift=uniform(gen, batch, *self.shift),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: CreasesParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        out, alpha = img, np.zeros((height, width), np.float32)
        draw = Draw(params.seed[i])
        for _ in range(int(params.count[i])):
            corner = draw.scalar(0.0, 1.0) < float(params.corner[i])
            points = crease_path(draw, height, width, corner=corner)
            out = _fold(out, draw, points, float(params.shade[i]), float(params.shift[i]))
            core = _core(draw, height, width, points, float(params.width[i]))
            cracks = render_strokes(
                height, width, crack_strokes(draw, points, float(params.cracks[i]))
            )
            alpha = np.maximum(alpha, np.maximum(core, cracks))
        mask = to_tensor(soften(alpha, 0.4), img).clamp(0.0, 1.0)
        tint = draw.uniform(0.0, 0.05, 2)
        paper = torch.tensor([1.0, 1.0 - tint[0], 1.0 - tint[0] - tint[1]], dtype=torch.float32)
        paper = paper.to(img.device).view(1, 3, 1, 1) * draw.scalar(0.86, 1.0)
        out = out + mask * (paper - out)
        return out.clamp(0.0, 1.0), mask


def crease_path(draw: Draw, height: int, width: int, *, corner: bool) -> np.ndarray:
    """A nearly straight jittered polyline across the image or a corner: ``(N, 2)`` x, y px."""
    short = min(height, width)
    if corner:
        cx, cy = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)][
            int(draw.integers(0, 3))
        ]
        sx, sy = (1.0 if cx == 0 else -1.0), (1.0 if cy == 0 else -1.0)
        reach = draw.uniform(0.15, 0.6, 2) * short
        start = np.array([cx + sx * reach[0], cy - sy * 2.0])
        end = np.array([cx - sx * 2.0, cy + sy * reach[1]])
    else:
        center = np.array([draw.scalar(0.2, 0.8) * width, draw.scalar(0.2, 0.8) * height])
        angle = draw.scalar(0.0, np.pi)
        start, end = _clip_line(center, np.array([np.cos(angle), np.sin(angle)]), height, width)
    chord = end - start
    length = float(np.hypot(*chord))
    count = int(np.clip(length / 3.0, 8, 400))
    normal = np.array([-chord[1], chord[0]]) / length
    t = np.linspace(0.0, 1.0, count)[:, None]
    bow = draw.scalar(0.002, 0.015) * length * smooth_curve(draw, count, knots=4)
    jitter = 0.4 * draw.normal(count)
    return start + t * chord + (bow + jitter)[:, None] * normal


def _clip_line(
    center: np.ndarray, direction: np.ndarray, height: int, width: int, margin: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """End points where the line through ``center`` leaves the image (plus ``margin`` px)."""
    lows, highs = [], []
    for axis, size in ((0, width), (1, height)):
        if abs(direction[axis]) < 1e-9:
            continue
        t_a = (-margin - center[axis]) / direction[axis]
        t_b = (size + margin - center[axis]) / direction[axis]
        lows.append(min(t_a, t_b))
        highs.append(max(t_a, t_b))
    return center + max(lows) * direction, center + min(highs) * direction


def _core(draw: Draw, height: int, width: int, points: np.ndarray, core_width: float) -> np.ndarray:
    """Jagged core: a strongly width-varying broken line plus emulsion flakes beside it."""
    count = len(points)
    widths = core_width * np.exp(0.6 * smooth_curve(draw, count, knots=max(count // 3, 2)))
    values = np.clip(0.75 + 0.4 * smooth_curve(draw, count, knots=max(count // 5, 2)), 0.0, 1.0)
    alpha = render_strokes(height, width, [Stroke(points, widths, values)])
    flakes = max(int(count / 6), 1)
    index = draw.integers(0, count - 2, flakes)
    direction = points[index + 1] - points[index]
    normal = np.stack([-direction[:, 1], direction[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
    centers = points[index] + normal * (draw.uniform(-0.7, 0.7, flakes) * core_width)[:, None]
    radii = draw.pareto(0.3, 2.0, 2.5, flakes) * core_width
    polygons = blob_polygons(draw, centers, radii, jag=0.45, vertices=7)
    flake_alpha = render_polygons(height, width, list(polygons), draw.uniform(0.6, 1.0, flakes))
    return np.maximum(alpha, flake_alpha)


def crack_strokes(draw: Draw, points: np.ndarray, density: float) -> list[Stroke]:
    """Short random-walk hairline cracks branching off the crease line (drawn vectorised)."""
    count = len(points)
    total = int(density * 3.0 * count / 10.0)  # vertices are ~3 px apart
    if total == 0:
        return []
    idx = draw.integers(0, count - 2, total)
    along = points[idx + 1] - points[idx]
    # cracks leave the fold at shallow-to-steep angles, either way along it
    flip = np.where(draw.uniform(0.0, 1.0, total) < 0.5, np.pi, 0.0)
    heading = np.arctan2(along[:, 1], along[:, 0]) + flip + np.deg2rad(draw.normal(total) * 50.0)
    steps = draw.integers(3, 7, total)
    seg = np.exp(draw.uniform(np.log(1.5), np.log(6.0), total))
    turns = heading[:, None] + np.cumsum(np.deg2rad(draw.normal((total, 7)) * 30.0), axis=1)
    moves = seg[:, None, None] * np.stack([np.cos(turns), np.sin(turns)], axis=-1)
    paths = points[idx][:, None, :] + np.concatenate(
        [np.zeros((total, 1, 2)), np.cumsum(moves, axis=1)], axis=1
    )
    first_w, first_v = draw.uniform(0.6, 1.3, total), draw.uniform(0.6, 1.0, total)
    strokes = []
    for k in range(total):
        n = int(steps[k]) + 1
        widths = np.linspace(first_w[k], 0.4, n)  # thin out away from the fold
        strokes.append(Stroke(paths[k, :n], widths, np.linspace(first_v[k], 0.3, n)))
    return strokes


def _fold(img: Tensor, draw: Draw, points: np.ndarray, shade: float, shift: float) -> Tensor:
    """Light/dark ramp across the fold's chord and a shift of one side, on ``(1,3,H,W)``."""
    height, width = img.shape[2:]
    start, end = points[0], points[-1]
    chord = end - start
    normal = np.array([-chord[1], chord[0]]) / (np.hypot(*chord) + 1e-9)
    grid_y, grid_x = coords(height, width)
    signed = (grid_x - float(start[0])) * float(normal[0]) + (grid_y - float(start[1])) * float(
        normal[1]
    )
    signed = signed.to(img.device)
    reach = draw.scalar(0.04, 0.2) * min(height, width)
    sign = 1.0 if draw.scalar(0.0, 1.0) < 0.5 else -1.0
    ramp = sign * shade * torch.tanh(signed / 3.0) * torch.exp(-signed.abs() / reach)
    out = img * (1.0 + ramp.view(1, 1, height, width))
    if shift < 0.05:
        return out
    side = torch.sigmoid(signed / 1.0) * shift  # one side moves by `shift` px along the normal
    grid = torch.stack(
        [
            (grid_x.to(img.device) - side * float(normal[0])) * (2.0 / width) - 1.0,
            (grid_y.to(img.device) - side * float(normal[1])) * (2.0 / height) - 1.0,
        ],
        dim=-1,
    ).unsqueeze(0)
    return F.grid_sample(out, grid, mode="bilinear", padding_mode="border", align_corners=False)
