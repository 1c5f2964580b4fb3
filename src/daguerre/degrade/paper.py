"""Paper surface texture: a height field of the print's finish, lit from one side by the scanner.

Finishes (``kind``): 0 matte fibre (isotropic tooth plus short oriented fibres), 1 silk (fine
streaky grain), 2 pebble (rounded embossed bumps), 3 linen (a crossed embossed weave). The
height field is shaded with a directional light (Lambert on its normals) and the zero-mean shade
is added at low opacity, more in the dark areas where glossy relief catches the light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from daguerre.degrade.base import Degradation, check_image, randint, seeds, uniform
from daguerre.degrade.fields import (
    Draw,
    coords,
    filtered_noise,
    fractal_noise,
    luminance,
    per_image,
    smooth_noise,
)
from daguerre.types import Tensor

KINDS = ("matte", "silk", "pebble", "linen")


@dataclass(frozen=True)
class PaperTextureParams:
    """Per-image paper texture parameters, ``(B,)`` tensors."""

    strength: Tensor  # float, std of the added shade in intensity units; 0 = identity
    kind: Tensor  # int64 index into KINDS
    scale: Tensor  # float, feature size of the finish in pixels
    light: Tensor  # float, light azimuth in radians
    seed: Tensor  # int64, seeds the height field


class PaperTexture(Degradation[PaperTextureParams]):
    """Embossed / fibrous paper relief shaded by a directional light, blended at low opacity.

    Args:
        strength: (min, max) shade std in intensity units.
        scale: (min, max) feature size in pixels (fixed in mm on paper, so it depends on dpi).
        kinds: which finishes to draw from (indices into ``KINDS``), uniformly.
    """

    name = "paper_texture"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.005, 0.02),
        scale: tuple[float, float] = (1.5, 5.0),
        kinds: tuple[int, ...] = (0, 1, 2, 3),
    ) -> None:
        self.strength, self.scale, self.kinds = strength, scale, kinds

    def sample(self, gen: torch.Generator, batch: int) -> PaperTextureParams:
        """Draw strength, finish, scale, light direction and a seed per image."""
        choice = randint(gen, batch, 0, len(self.kinds) - 1)
        return PaperTextureParams(
            strength=uniform(gen, batch, *self.strength),
            kind=torch.tensor(self.kinds, dtype=torch.int64)[choice],
            scale=uniform(gen, batch, *self.scale),
            light=uniform(gen, batch, 0.0, 2 * math.pi),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: PaperTextureParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        height, width = img.shape[2:]
        shades = [
            shade(
                height_field(
                    int(params.seed[i]), height, width, int(params.kind[i]), float(params.scale[i])
                ),
                float(params.light[i]),
            )
            for i in range(img.shape[0])
        ]
        relief = torch.cat(shades).to(img.device)
        gloss = 0.4 + 0.6 * (1.0 - luminance(img).clamp(0.0, 1.0))  # relief shows most in darks
        return (img + per_image(params.strength, img) * relief * gloss).clamp(0.0, 1.0)


def height_field(seed: int, height: int, width: int, kind: int, scale: float) -> Tensor:
    """The finish's relief ``(1,1,H,W)`` float32 on CPU, roughly unit std.

    Example:
        >>> height_field(0, 32, 32, 3, 3.0).shape
        torch.Size([1, 1, 32, 32])
    """
    draw = Draw(seed)
    if kind == 0:  # matte: isotropic tooth plus short fibres in all directions
        tooth = fractal_noise(draw, height, width, scale=2.0 * scale, octaves=3)
        fibres = sum(_fibres(draw, height, width, scale, k * math.pi / 3) for k in range(3))
        return 0.6 * tooth + 0.8 * fibres
    if kind == 1:  # silk: fine grain streaked along one direction
        fine = filtered_noise(draw, 1, height, width, sigma=0.4 * scale)
        return 0.5 * fine + _fibres(draw, height, width, 0.6 * scale, draw.scalar(0, math.pi))
    if kind == 2:  # pebble: rounded plateaus of embossed bumps
        bumps = smooth_noise(draw, height, width, scale=scale)
        return torch.tanh(1.5 * bumps) + 0.2 * filtered_noise(draw, 1, height, width, sigma=0.7)
    grid_y, grid_x = coords(height, width)  # linen: a slightly irregular crossed weave
    angle = draw.scalar(0.0, math.pi)
    u = grid_x * math.cos(angle) + grid_y * math.sin(angle)
    v = -grid_x * math.sin(angle) + grid_y * math.cos(angle)
    wobble = smooth_noise(draw, height, width, scale=8 * scale)[0, 0]
    period = 1.5 * scale
    weave = torch.sin(2 * math.pi * u / period + 0.8 * wobble) * torch.sin(2 * math.pi * v / period)
    return weave.view(1, 1, height, width) + 0.3 * filtered_noise(draw, 1, height, width, sigma=1.0)


def _fibres(draw: Draw, height: int, width: int, scale: float, angle: float) -> Tensor:
    """Noise smeared along ``angle`` with a line kernel of about 4 x ``scale`` px: (1,1,H,W)."""
    noise = torch.randn(height, width, generator=draw.gen).numpy()
    length = max(int(4 * scale) | 1, 3)
    kernel = np.zeros((length, length), np.float32)
    centre = length // 2
    end = (centre * math.cos(angle), centre * math.sin(angle))
    cv2.line(
        kernel,
        (int(round(centre - end[0])), int(round(centre - end[1]))),
        (int(round(centre + end[0])), int(round(centre + end[1]))),
        1.0,
        1,
        cv2.LINE_AA,
    )
    kernel /= kernel.sum()
    smeared = cv2.filter2D(noise, -1, kernel, borderType=cv2.BORDER_REFLECT)
    smeared = cv2.GaussianBlur(smeared, (0, 0), 0.6)
    field = torch.from_numpy(smeared).view(1, 1, height, width)
    return (field - field.mean()) / field.std().clamp_min(1e-6)


def shade(relief: Tensor, azimuth: float, elevation: float = 0.5) -> Tensor:
    """Lambert shading of a height field lit from ``azimuth`` (radians), zero mean, unit std.

    Args:
        relief: ``(1,1,H,W)`` height in arbitrary units (one unit ~ one pixel of slope).
        azimuth: light direction in the image plane, radians.
        elevation: light elevation in radians (low = grazing, stronger relief).

    Returns:
        ``(1,1,H,W)`` float32.
    """
    padded = torch.nn.functional.pad(relief, (1, 1, 1, 1), mode="replicate")
    grad_x = 0.5 * (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2])
    grad_y = 0.5 * (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1])
    light = (
        math.cos(azimuth) * math.cos(elevation),
        math.sin(azimuth) * math.cos(elevation),
        math.sin(elevation),
    )
    norm = torch.sqrt(grad_x**2 + grad_y**2 + 1.0)
    lit = (-grad_x * light[0] - grad_y * light[1] + light[2]) / norm
    lit = lit - lit.mean()
    return lit / lit.std().clamp_min(1e-6)
