"""Tears and missing pieces: a jagged hole at a corner or along an edge, showing the backing.

The lost region is filled with what the scanner saw behind the print: white or cream paper, a
dark backing board or grey card. Torn photographic paper delaminates, so a thin broken rim of
bare white paper fibres lines the tear inside the picture. Tear lines are fractal (midpoint
displacement) paths.

Mask: the hole plus the rim, soft alpha ``(B,1,H,W)`` float32 in [0, 1] (threshold at 0.25).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.degrade.base import (
    PerImageDefect,
    randint,
    seeds,
    uniform,
)
from daguerre.degrade.fields import (
    Draw,
    Stroke,
    render_polygons,
    render_strokes,
    smooth_curve,
    smooth_noise,
    soften,
    to_tensor,
)
from daguerre.types import Tensor

FILLS = ("white", "cream", "dark", "grey")
_MARGIN = 3.0  # px: polygons reach this far past the border so no sliver of picture survives


@dataclass(frozen=True)
class TearsParams:
    """Per-image tear parameters, ``(B,)`` tensors."""

    count: Tensor  # int64, number of tears; 0 = identity
    corner: Tensor  # float in [0, 1], probability that a tear is a missing corner (else an edge)
    size: Tensor  # float, tear depth as a fraction of the short side
    roughness: Tensor  # float, jaggedness of the tear line (midpoint displacement gain)
    fill: Tensor  # int64 index into FILLS: what shows through the hole
    seed: Tensor  # int64, seeds the geometry


class Tears(PerImageDefect[TearsParams]):
    """Missing corners / torn edges filled with backing colour, with a white fibre rim.

    Args:
        count: (min, max) tears per image, inclusive.
        corner: probability of a missing corner (vs a torn stretch of edge).
        size: (min, max) depth as a fraction of the short side.
        roughness: (min, max) jaggedness.
    """

    name = "tears"

    def __init__(
        self,
        *,
        count: tuple[int, int] = (1, 1),
        corner: float = 0.6,
        size: tuple[float, float] = (0.06, 0.3),
        roughness: tuple[float, float] = (0.15, 0.45),
    ) -> None:
        self.count, self.corner, self.size, self.roughness = count, corner, size, roughness

    def sample(self, gen: torch.Generator, batch: int) -> TearsParams:
        """Draw count, corner share, size, roughness, fill and a seed per image."""
        return TearsParams(
            count=randint(gen, batch, *self.count),
            corner=torch.full((batch,), float(self.corner)),
            size=uniform(gen, batch, *self.size),
            roughness=uniform(gen, batch, *self.roughness),
            fill=randint(gen, batch, 0, len(FILLS) - 1),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: TearsParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        count = int(params.count[i])
        if count <= 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        depth = float(params.size[i]) * min(height, width)
        polygons, rims = [], []
        for _ in range(count):
            corner = draw.scalar(0.0, 1.0) < float(params.corner[i])
            polygon, path = tear_shape(
                draw, height, width, corner=corner, depth=depth, rough=float(params.roughness[i])
            )
            polygons.append(polygon)
            rims.append(_rim(draw, path))
        hole = render_polygons(height, width, polygons, np.ones(count))
        rim = render_strokes(height, width, rims) * (1.0 - hole)
        hole_t, rim_t = to_tensor(hole, img), to_tensor(soften(rim, 0.4), img)
        fill = _fill_colour(draw, int(params.fill[i]), height, width).to(img.device)
        out = img + hole_t * (fill - img)
        out = out + rim_t * (draw.scalar(0.88, 1.0) - out)
        return out.clamp(0.0, 1.0), torch.maximum(hole_t, rim_t).clamp(0.0, 1.0)


def jagged_path(draw: Draw, start: np.ndarray, end: np.ndarray, rough: float) -> np.ndarray:
    """Fractal tear line from ``start`` to ``end`` by midpoint displacement: ``(N, 2)``."""
    path = np.stack([start, end])
    amplitude = rough
    while True:
        seg = path[1:] - path[:-1]
        lengths = np.hypot(seg[:, 0], seg[:, 1])
        if lengths.max() < 1.5 or len(path) > 1024:
            return path
        normal = np.stack([-seg[:, 1], seg[:, 0]], axis=1)
        mids = (path[1:] + path[:-1]) / 2 + normal * (amplitude * draw.normal(len(seg)))[:, None]
        merged = np.empty((len(path) + len(mids), 2))
        merged[0::2], merged[1::2] = path, mids
        path, amplitude = merged, amplitude * 0.6


def tear_shape(
    draw: Draw, height: int, width: int, *, corner: bool, depth: float, rough: float
) -> tuple[np.ndarray, np.ndarray]:
    """Polygon of the lost region and its tear line, both ``(N, 2)`` x, y px."""
    side = int(draw.integers(0, 3))
    # local frame: u runs along edge `side` (clockwise), v points into the picture
    edge_len = float(width if side in (0, 2) else height)
    if corner:
        reach_u, reach_v = depth * draw.uniform(0.6, 1.6, 2)
        start_uv, end_uv = np.array([reach_u, -_MARGIN]), np.array([-_MARGIN, reach_v])
        bow = np.array([reach_u, reach_v]) * draw.scalar(-0.15, 0.25)
        mid = (start_uv + end_uv) / 2 + bow
        path = np.concatenate(
            [jagged_path(draw, start_uv, mid, rough), jagged_path(draw, mid, end_uv, rough)[1:]]
        )
        outline = np.concatenate([[[-_MARGIN, -_MARGIN]], path])
    else:
        span = edge_len * draw.scalar(0.25, 0.9)
        u0 = draw.scalar(-0.1 * edge_len, edge_len - 0.8 * span)
        knots = np.linspace(u0, u0 + span, 6)
        t = np.linspace(0.0, 1.0, 6)
        profile = depth * np.clip(0.55 + 0.35 * smooth_curve(draw, 6, knots=4), 0.1, 1.0)
        profile *= np.sin(np.pi * t) ** 0.6  # the torn stretch narrows to nothing at both ends
        anchors = np.stack([knots, profile - _MARGIN * (profile < 1)], axis=1)
        pieces = [jagged_path(draw, anchors[k], anchors[k + 1], rough) for k in range(5)]
        path = np.concatenate([pieces[0]] + [p[1:] for p in pieces[1:]])
        outline = np.concatenate([[[u0, -_MARGIN]], path, [[u0 + span, -_MARGIN]]])
    return _to_image(outline, side, height, width), _to_image(path, side, height, width)


def _to_image(uv: np.ndarray, side: int, height: int, width: int) -> np.ndarray:
    """Map edge-local (u along the edge, v inward) to image x, y for edge 0 top .. 3 left."""
    u, v = uv[:, 0], uv[:, 1]
    if side == 0:  # top edge, u left->right
        return np.stack([u, v], axis=1)
    if side == 1:  # right edge, u top->bottom
        return np.stack([width - v, u], axis=1)
    if side == 2:  # bottom edge, u right->left
        return np.stack([width - u, height - v], axis=1)
    return np.stack([v, height - u], axis=1)  # left edge, u bottom->top


def _rim(draw: Draw, path: np.ndarray) -> Stroke:
    """A thin broken white fibre rim along the tear line (delaminated paper)."""
    count = len(path)
    widths = draw.scalar(1.0, 3.5) * np.exp(
        0.4 * smooth_curve(draw, count, knots=max(count // 8, 2))
    )
    gaps = smooth_curve(draw, count, knots=max(count // 10, 2))
    values = np.clip((gaps + draw.scalar(0.0, 1.2)) * 1.5, 0.0, 1.0) * draw.scalar(0.6, 1.0)
    return Stroke(path, widths, values)


def _fill_colour(draw: Draw, fill: int, height: int, width: int) -> Tensor:
    """What shows through the hole: ``(1,3,H,W)`` with faint low-frequency unevenness."""
    kind = FILLS[fill % len(FILLS)]
    if kind == "white":
        colour = np.full(3, draw.scalar(0.93, 1.0))
    elif kind == "cream":
        colour = np.array([0.93, 0.88, 0.76]) * draw.scalar(0.92, 1.05)
    elif kind == "dark":
        colour = np.array([1.0, 0.95, 0.9]) * draw.scalar(0.03, 0.18)
    else:
        colour = np.full(3, draw.scalar(0.4, 0.65))
    wobble = 1.0 + 0.03 * smooth_noise(draw, height, width, scale=max(height, width) / 3)
    return torch.tensor(np.clip(colour, 0.0, 1.0), dtype=torch.float32).view(1, 3, 1, 1) * wobble
