"""Craquelure: a closed net of cracks where a print's emulsion has shrunk and split into cells.

An emulsion that dries and shrinks on its support splits like drying mud: a net of roughly
polygonal cells whose walls are cracks a pixel or two wide, meeting at three-way junctions,
over a patch of the print or all of it. Bare paper shows through, so the net scans light
(dark where dirt filled it). :mod:`daguerre.degrade.cracks` draws free branching webs that
wander off; this op draws the closed net, the look of a badly cracked studio print.

The net is the Voronoi diagram of jittered seed points (``cv2.Subdiv2D``); each wall is kept
with some probability (real nets are broken), made jagged (a random walk pinned at both
junctions) and rasterised anti-aliased at 2x (:func:`daguerre.degrade.fields.render_strokes`).
Cells are sized relative to the image's short side, so a net looks the same at any resolution.

A light net shows the print's own paper: with probability ``match`` its colour is the image's
whites (a high percentile per channel, so a yellowed print's cracks are as yellow as its
highlights), else near-white paper. A detector trained only on cracks whiter than the print
finds paper-coloured ones poorly (recall 0.38 against 0.96 on 12 sepia prints).

Mask: the cracks' soft alpha (opacity included), ``(B,1,H,W)`` float32 in [0, 1]; threshold
at 0.25 for a binary label, like the other defect ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from daguerre.degrade.base import (
    PerImageDefect,
    bernoulli,
    seeds,
    uniform,
)
from daguerre.degrade.fields import Draw, Stroke, render_strokes, soften, to_tensor
from daguerre.types import Tensor

MAX_CELLS = 600  # bounds the net's cost on any image size
STEP_PX = 3.0  # length of a wall's straight runs


@dataclass(frozen=True)
class CraquelureParams:
    """Per-image craquelure parameters, ``(B,)`` tensors."""

    active: Tensor  # bool, False = identity
    cell: Tensor  # float, mean cell diameter as a fraction of the image's short side
    keep: Tensor  # float in [0, 1], share of cell walls that cracked
    coverage: Tensor  # float in (0, 1], radius of the cracked patch relative to the image
    width: Tensor  # float, mean crack width in pixels
    intensity: Tensor  # float in [0, 1], peak opacity
    bright: Tensor  # bool, light cracks (bare paper) rather than dark (dirt)
    match: Tensor  # bool, light cracks take the print's own whites rather than white paper
    seed: Tensor  # int64, seeds the geometry


class Craquelure(PerImageDefect[CraquelureParams]):
    """A broken Voronoi net of jagged hairline cracks over a patch of the image.

    Args:
        cell: (min, max) mean cell diameter, fraction of the short side.
        keep: (min, max) share of cell walls drawn.
        coverage: (min, max) patch radius relative to the image (>= 1.2 covers nearly all).
        width: (min, max) mean crack width in pixels.
        intensity: (min, max) peak opacity.
        bright: probability that the net is light (bare paper) rather than dark.
        match: probability that a light net takes the print's own whites.
        cream: probability that a light net shows yellowed cream paper instead (the colour
            of an old card where the emulsion split off; it can be darker than the print's
            whites). At 0 no extra random numbers are drawn.
        rim: probability that a light net's cracks get a dark edge on both sides (the
            lifted, shadowed edge of each emulsion island). At 0 no extra random numbers
            are drawn.
    """

    name = "craquelure"

    def __init__(
        self,
        *,
        cell: tuple[float, float] = (0.07, 0.3),
        keep: tuple[float, float] = (0.35, 0.9),
        coverage: tuple[float, float] = (0.3, 1.5),
        width: tuple[float, float] = (0.5, 1.5),
        intensity: tuple[float, float] = (0.6, 1.0),
        bright: float = 0.85,
        match: float = 0.5,
        cream: float = 0.0,
        rim: float = 0.0,
    ) -> None:
        self.cell, self.keep, self.coverage = cell, keep, coverage
        self.width, self.intensity, self.bright, self.match = width, intensity, bright, match
        self.cream, self.rim = cream, rim

    def sample(self, gen: torch.Generator, batch: int) -> CraquelureParams:
        """Draw cell size, wall share, patch size, width, opacity, polarity and a seed."""
        return CraquelureParams(
            active=torch.ones(batch, dtype=torch.bool),
            cell=uniform(gen, batch, *self.cell),
            keep=uniform(gen, batch, *self.keep),
            coverage=uniform(gen, batch, *self.coverage),
            width=uniform(gen, batch, *self.width),
            intensity=uniform(gen, batch, *self.intensity),
            bright=bernoulli(gen, batch, self.bright),
            match=bernoulli(gen, batch, self.match),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: CraquelureParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        if not bool(params.active[i]):
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        strokes = craquelure_net(
            draw,
            height,
            width,
            cell=float(params.cell[i]),
            keep=float(params.keep[i]),
            coverage=float(params.coverage[i]),
            width_px=float(params.width[i]),
            opacity=float(params.intensity[i]),
        )
        alpha = to_tensor(soften(render_strokes(height, width, strokes), 0.4), img)
        tint = draw.uniform(0.0, 0.06, 2)  # bare, slightly warm paper
        level = torch.tensor([1.0, 1.0 - tint[0], 1.0 - tint[0] - tint[1]])
        level = level.to(img.device, torch.float32).view(1, 3, 1, 1) * draw.scalar(0.8, 1.0)
        gain = draw.scalar(0.95, 1.05)
        if not bool(params.bright[i]):
            level = torch.full((1, 3, 1, 1), draw.scalar(0.03, 0.2), device=img.device)
        elif bool(params.match[i]):
            level = (paper_white(img) * gain).clamp(0.0, 1.0)
        if bool(params.bright[i]) and self.cream > 0 and draw.scalar(0.0, 1.0) < self.cream:
            level = cream_paper(draw).to(img.device)
        out = img + alpha * (level - img)
        if bool(params.bright[i]) and self.rim > 0 and draw.scalar(0.0, 1.0) < self.rim:
            out, alpha = _dark_rim(draw, out, alpha)
        return out.clamp(0.0, 1.0), alpha.clamp(0.0, 1.0)


def cream_paper(draw: Draw) -> Tensor:
    """An old card's cream colour, ``(1,3,1,1)`` float32: warm, its blue well below its red."""
    red = draw.scalar(0.84, 0.98)
    green = red * draw.scalar(0.87, 0.96)
    blue = red * draw.scalar(0.66, 0.85)
    return torch.tensor([red, green, blue], dtype=torch.float32).view(1, 3, 1, 1)


def _dark_rim(draw: Draw, img: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
    """Darken a 1-2 px band along both sides of the cracks; the band joins the mask.

    ``img`` ``(1,3,H,W)`` and ``alpha`` ``(1,1,H,W)`` float32 in [0, 1].
    """
    reach = int(draw.integers(1, 2))
    grown = torch.nn.functional.max_pool2d(alpha, 2 * reach + 1, stride=1, padding=reach)
    band = (grown - alpha).clamp(0.0, 1.0) * draw.scalar(0.7, 1.0)
    out = img * (1.0 - band * draw.scalar(0.3, 0.7))
    return out, torch.maximum(alpha, band)


def paper_white(img: Tensor) -> Tensor:
    """The print's whites: the 99.5th percentile of each channel of ``(1,3,H,W)`` -> ``(1,3,1,1)``.

    Taken on at most about a million pixels (a strided subsample), so any size costs the same.
    """
    stride = max(1, int((img.shape[2] * img.shape[3] / 1e6) ** 0.5) + 1)
    pixels = img[0, :, ::stride, ::stride].reshape(3, -1).float()
    return torch.quantile(pixels, 0.995, dim=1).view(1, 3, 1, 1)


def craquelure_net(
    draw: Draw,
    height: int,
    width: int,
    *,
    cell: float,
    keep: float,
    coverage: float,
    width_px: float,
    opacity: float,
) -> list[Stroke]:
    """The cracked walls of one net, as strokes in pixel coordinates.

    Args:
        draw: source of randomness.
        height: image height in pixels.
        width: image width in pixels.
        cell: mean cell diameter as a fraction of the short side.
        keep: probability that a wall cracked.
        coverage: radius of the elliptical cracked patch relative to the image's half size.
        width_px: mean crack width in pixels.
        opacity: peak opacity in [0, 1].

    Returns:
        One stroke per kept wall (at most about ``3 * MAX_CELLS``).
    """
    side = max(cell * min(height, width), 4.0)
    count = int(np.clip(height * width / side**2, 4, MAX_CELLS))
    points = np.stack(
        [draw.uniform(-side, width + side, count), draw.uniform(-side, height + side, count)], 1
    )
    center = np.array([draw.scalar(0.2, 0.8) * width, draw.scalar(0.2, 0.8) * height])
    radii = np.array([width, height]) * 0.5 * coverage * draw.uniform(0.8, 1.25, 2)
    stretch = _stretch(draw.scalar(0.0, np.pi), draw.scalar(1.0, 2.2))  # elongated cells
    strokes = []
    for start, end in _voronoi_walls(points, stretch, side):
        middle = (start + end) / 2
        if float((((middle - center) / radii) ** 2).sum()) > 1.0 or draw.scalar(0, 1) > keep:
            continue
        path = _jagged(draw, start, end)
        n = len(path)
        widths = width_px * float(np.exp(0.3 * draw.normal())) * np.exp(0.2 * draw.normal(n))
        values = opacity * draw.uniform(0.7, 1.0) * np.ones(n)
        strokes.append(Stroke(path, np.clip(widths, 0.3, 4.0), values))
    return strokes


def _stretch(angle: float, factor: float) -> np.ndarray:
    """``(2, 2)`` map that lengthens the plane by ``factor`` along ``angle`` (radians)."""
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rot @ np.diag([factor, 1.0]) @ rot.T


def _voronoi_walls(
    points: np.ndarray, stretch: np.ndarray, side: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Unique walls of the cells around ``points`` (``(N, 2)`` x, y): ``(start, end)`` pairs.

    The diagram is built where the points are squeezed by ``stretch`` and mapped back, so the
    cells come out lengthened along its long axis.
    """
    squeezed = points @ np.linalg.inv(stretch).T
    low, high = squeezed.min(axis=0) - 2 * side, squeezed.max(axis=0) + 2 * side
    subdiv = cv2.Subdiv2D((int(low[0]), int(low[1]), int(high[0] - low[0]), int(high[1] - low[1])))
    subdiv.insert([(float(x), float(y)) for x, y in squeezed])
    facets, _ = subdiv.getVoronoiFacetList([])
    walls: dict[tuple[tuple[float, float], tuple[float, float]], tuple[np.ndarray, np.ndarray]] = {}
    for facet in facets:
        poly = np.asarray(facet, dtype=np.float64) @ stretch.T
        for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True):
            key = tuple(sorted((tuple(np.round(a, 2)), tuple(np.round(b, 2)))))
            walls.setdefault(key, (a, b))  # type: ignore[arg-type]
    return [walls[k] for k in sorted(walls)]


def _jagged(draw: Draw, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A wall from ``start`` to ``end`` as short runs bent by a pinned random walk: ``(N, 2)``."""
    length = float(np.linalg.norm(end - start))
    n = int(np.clip(length / STEP_PX, 1, 200)) + 1
    t = np.linspace(0.0, 1.0, n)
    walk = np.concatenate([[0.0], np.cumsum(draw.normal(n - 1))])
    bridge = walk - t * walk[-1]  # zero at both junctions
    normal = np.array([-(end - start)[1], (end - start)[0]]) / max(length, 1e-6)
    amplitude = min(0.3 * STEP_PX, 0.04 * length)
    return start + t[:, None] * (end - start) + (amplitude * bridge)[:, None] * normal
