"""Cracks: a web of thin, jagged, branching lines where a print's emulsion has split.

A gelatin emulsion that dried out, or a print that was bent many times, cracks into a web:
hairlines a pixel or two wide that wander in short straight runs, branch at sharp angles and
run on across the picture, independent of any fold. Bare paper shows through them, so they
scan light (rarely dark, where dirt filled them). Creases (:mod:`daguerre.degrade.creases`)
crack only along a fold line; this op draws the free-standing web seen on many real scans.

Each crack system starts at a random point with a random heading and grows as a random walk
of short straight segments (sharp turns, a slow pull back to its heading); its vertices spawn
branches at 30-80 degrees, which branch again, up to three generations. Strokes are rasterised
anti-aliased at 2x (:func:`daguerre.degrade.fields.render_strokes`).

Mask: the cracks' soft alpha (opacity included), ``(B,1,H,W)`` float32 in [0, 1]; threshold
at 0.25 for a binary label, like the other defect ops.
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
from daguerre.degrade.fields import Draw, Stroke, render_strokes, soften, to_tensor
from daguerre.types import Tensor

MAX_STROKES = 400  # a web's branches are capped so a huge image costs bounded time
GENERATIONS = 3  # a branch of a branch of a branch, no deeper


@dataclass(frozen=True)
class CracksParams:
    """Per-image crack parameters, ``(B,)`` tensors."""

    count: Tensor  # int64, number of crack systems; 0 = identity
    width: Tensor  # float, full width of a main crack in pixels (branches are thinner)
    intensity: Tensor  # float in [0, 1], peak opacity
    branching: Tensor  # float in [0, 1], probability that a vertex spawns a branch
    reach: Tensor  # float, main crack length as a fraction of the image diagonal
    seed: Tensor  # int64, seeds the geometry


class Cracks(PerImageDefect[CracksParams]):
    """A branching web of jagged hairline cracks; returns their alpha as the mask.

    Args:
        count: (min, max) crack systems per image, inclusive.
        width: (min, max) main crack width in pixels.
        intensity: (min, max) peak opacity.
        branching: (min, max) branch probability per vertex (vertices are 2-5 px apart).
        reach: (min, max) main crack length as a fraction of the diagonal.
        bright: probability that a system is light (bare paper) rather than dark.
    """

    name = "cracks"

    def __init__(
        self,
        *,
        count: tuple[int, int] = (1, 6),
        width: tuple[float, float] = (0.6, 1.8),
        intensity: tuple[float, float] = (0.6, 1.0),
        branching: tuple[float, float] = (0.03, 0.12),
        reach: tuple[float, float] = (0.3, 1.0),
        bright: float = 0.85,
    ) -> None:
        self.count, self.width, self.intensity = count, width, intensity
        self.branching, self.reach, self.bright = branching, reach, bright

    def sample(self, gen: torch.Generator, batch: int) -> CracksParams:
        """Draw count, width, intensity, branching, reach and a seed per image."""
        return CracksParams(
            count=randint(gen, batch, *self.count),
            width=uniform(gen, batch, *self.width),
            intensity=uniform(gen, batch, *self.intensity),
            branching=uniform(gen, batch, *self.branching),
            reach=uniform(gen, batch, *self.reach),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: CracksParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        count = int(params.count[i])
        if count <= 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        light: list[Stroke] = []
        dark: list[Stroke] = []
        for _ in range(count):
            web = crack_web(
                draw,
                height,
                width,
                reach=float(params.reach[i]),
                branching=float(params.branching[i]),
                width_px=float(params.width[i]),
                opacity=float(params.intensity[i]),
            )
            (light if draw.scalar(0.0, 1.0) < self.bright else dark).extend(web)
        alpha_light = to_tensor(soften(render_strokes(height, width, light), 0.4), img)
        alpha_dark = to_tensor(soften(render_strokes(height, width, dark), 0.4), img)
        tint = draw.uniform(0.0, 0.05, 2)  # bare, slightly warm paper
        paper = torch.tensor([1.0, 1.0 - tint[0], 1.0 - tint[0] - tint[1]], dtype=torch.float32)
        paper = paper.to(img.device).view(1, 3, 1, 1) * draw.scalar(0.85, 1.0)
        out = img + alpha_light * (paper - img)
        out = out + alpha_dark * (draw.scalar(0.03, 0.2) - out)
        mask = torch.maximum(alpha_light, alpha_dark).clamp(0.0, 1.0)
        return out.clamp(0.0, 1.0), mask


def crack_web(
    draw: Draw,
    height: int,
    width: int,
    *,
    reach: float,
    branching: float,
    width_px: float,
    opacity: float,
) -> list[Stroke]:
    """One crack system: a main crack and its branches, as strokes in pixel coordinates.

    Args:
        draw: source of randomness.
        height: image height in pixels.
        width: image width in pixels.
        reach: main crack length as a fraction of the diagonal.
        branching: probability that a vertex spawns a branch.
        width_px: full width of the main crack in pixels.
        opacity: peak opacity in [0, 1].

    Returns:
        At most :data:`MAX_STROKES` strokes; branches are shorter, thinner and fainter.
    """
    diag = float(np.hypot(height, width))
    start = np.array([draw.scalar(0.0, width), draw.scalar(0.0, height)])
    pending = [(start, draw.scalar(-np.pi, np.pi), reach * diag, width_px, opacity, 0)]
    strokes: list[Stroke] = []
    while pending and len(strokes) < MAX_STROKES:
        origin, heading, length, crack_w, value, generation = pending.pop()
        points, angles = _walk(draw, origin, heading, length)
        count = len(points)
        fade = np.linspace(1.0, 0.35, count)  # cracks thin out and fade towards their tip
        jitter = np.exp(0.25 * draw.normal(count))
        strokes.append(Stroke(points, crack_w * fade * jitter, value * np.sqrt(fade)))
        if generation >= GENERATIONS:
            continue
        for k in np.flatnonzero(draw.uniform(0.0, 1.0, count) < branching):
            side = 1.0 if draw.scalar(0.0, 1.0) < 0.5 else -1.0
            turn = side * np.deg2rad(draw.scalar(30.0, 80.0))
            pending.append(
                (
                    points[k],
                    float(angles[k]) + turn,
                    length * draw.scalar(0.15, 0.5),
                    crack_w * 0.75,
                    value * draw.scalar(0.75, 1.0),
                    generation + 1,
                )
            )
    return strokes


def _walk(
    draw: Draw, origin: np.ndarray, heading: float, length: float
) -> tuple[np.ndarray, np.ndarray]:
    """A jagged path of 2-5 px straight runs: ``(N, 2)`` points and ``(N,)`` headings."""
    step = draw.scalar(2.0, 5.0)
    count = int(np.clip(length / step, 2, 600))
    turns = np.deg2rad(draw.normal(count) * 22.0)
    angles = np.empty(count)
    angle = heading
    for k in range(count):  # a random walk pulled back towards the crack's heading
        angle = heading + 0.7 * (angle - heading) + turns[k]
        angles[k] = angle
    moves = step * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = origin + np.concatenate([np.zeros((1, 2)), np.cumsum(moves[:-1], axis=0)])
    return points, angles
