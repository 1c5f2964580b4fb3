"""Dust and lint: heavy-tailed specks, mostly white, plus a few thin curved fibres and hairs.

Dust on the negative blocks the enlarger light, so it prints as sharp white specks; dust on the
scanner glass scans as dark or light specks. Sizes follow a heavy-tailed (Pareto) law from about
1 px to about 10 px across; lint and hairs are thin, strongly curved strokes. Counts are given
per 256 x 256 pixels and scale with the image area.

Mask: the specks' and fibres' soft alpha, ``(B,1,H,W)`` float32 in [0, 1]; threshold at 0.25
for a binary label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from daguerre.degrade.base import (
    PerImageDefect,
    log_uniform,
    seeds,
    uniform,
)
from daguerre.degrade.fields import (
    Draw,
    Stroke,
    bezier_stroke,
    render_blobs,
    render_strokes,
    soften,
    to_tensor,
)
from daguerre.types import Tensor

_AREA = 256.0 * 256.0  # counts are per this many pixels


@dataclass(frozen=True)
class DustParams:
    """Per-image dust parameters, ``(B,)`` tensors."""

    density: Tensor  # float, specks per 256x256 pixels; 0 (with fibres 0) = identity
    fibres: Tensor  # float, fibres/hairs per 256x256 pixels
    size: Tensor  # float, multiplies the heavy-tailed speck radii
    dark: Tensor  # float in [0, 1], share of dark specks (scanner-glass dust)
    seed: Tensor  # int64, seeds positions and shapes


class Dust(PerImageDefect[DustParams]):
    """Random blobs and spline fibres; returns their alpha as the mask.

    Args:
        density: (min, max) specks per 256x256 px, log-uniform.
        fibres: (min, max) fibres per 256x256 px, uniform (fractional counts round per image).
        size: (min, max) radius multiplier.
        dark: (min, max) share of dark specks.
    """

    name = "dust"

    def __init__(
        self,
        *,
        density: tuple[float, float] = (10.0, 150.0),
        fibres: tuple[float, float] = (0.0, 3.0),
        size: tuple[float, float] = (0.7, 1.4),
        dark: tuple[float, float] = (0.0, 0.3),
    ) -> None:
        self.density, self.fibres, self.size, self.dark = density, fibres, size, dark

    def sample(self, gen: torch.Generator, batch: int) -> DustParams:
        """Draw speck and fibre densities, size, dark share and a seed per image."""
        return DustParams(
            density=log_uniform(gen, batch, *self.density),
            fibres=uniform(gen, batch, *self.fibres),
            size=uniform(gen, batch, *self.size),
            dark=uniform(gen, batch, *self.dark),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: DustParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        area = height * width / _AREA
        draw = Draw(params.seed[i])
        specks = int(round(float(params.density[i]) * area))
        fibres = int(np.floor(float(params.fibres[i]) * area + draw.scalar(0.0, 1.0)))
        if specks + fibres == 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        dark = draw.uniform(0.0, 1.0, specks + fibres) < float(params.dark[i])
        light_alpha, dark_alpha = _specks(draw, height, width, specks, float(params.size[i]), dark)
        strokes = _fibres(draw, height, width, fibres)
        fibre_dark = dark[specks:]
        light_alpha = np.maximum(
            light_alpha,
            render_strokes(
                height, width, [s for s, d in zip(strokes, fibre_dark, strict=True) if not d]
            ),
        )
        dark_alpha = np.maximum(
            dark_alpha,
            render_strokes(
                height, width, [s for s, d in zip(strokes, fibre_dark, strict=True) if d]
            ),
        )
        light = to_tensor(soften(light_alpha, 0.35), img)
        shade = to_tensor(soften(dark_alpha, 0.35), img)
        out = img + light * (draw.scalar(0.9, 1.0) - img)
        out = out + shade * (draw.scalar(0.03, 0.2) - out)
        return out.clamp(0.0, 1.0), torch.maximum(light, shade).clamp(0.0, 1.0)


def _specks(
    draw: Draw, height: int, width: int, count: int, size: float, dark: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Light and dark speck alphas ``(H, W)`` float32."""
    centers = np.stack(
        [draw.uniform(0.0, width, count), draw.uniform(0.0, height, count)], axis=1
    ).reshape(-1, 2)
    radii = draw.pareto(0.5, 1.6, 5.0, count) * size  # 1 px to 10 px across, heavy tail
    opacity = draw.uniform(0.6, 1.0, count)
    is_dark = dark[:count]
    light = render_blobs(draw, height, width, centers[~is_dark], radii[~is_dark], opacity[~is_dark])
    shade = render_blobs(draw, height, width, centers[is_dark], radii[is_dark], opacity[is_dark])
    return light, shade


def _fibres(draw: Draw, height: int, width: int, count: int) -> list[Stroke]:
    """Thin curly lint and hairs, 8-60 px long."""
    strokes = []
    for _ in range(count):
        start = np.array([draw.scalar(0.0, width), draw.scalar(0.0, height)])
        angle = draw.scalar(0.0, 2 * np.pi)
        length = float(np.exp(draw.scalar(np.log(8.0), np.log(60.0))))
        end = start + length * np.array([np.cos(angle), np.sin(angle)])
        strokes.append(
            bezier_stroke(
                draw,
                start,
                end,
                bend=draw.scalar(0.2, 0.6),  # hairs curl far more than scratches
                width=draw.scalar(0.6, 1.6),
                opacity=draw.scalar(0.6, 1.0),
                width_var=0.2,
                taper=0.1,
                step=2.0,
            )
        )
    return strokes
