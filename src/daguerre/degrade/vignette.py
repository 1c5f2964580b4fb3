"""Vignetting: optical corner falloff and the studio portrait's feathered oval.

Lens falloff is roughly ``cos^4`` of the field angle, i.e. ``1 / (1 + (k r)^2)^2`` in the
normalised radius ``r``; mechanical vignetting and uneven enlarger light shift and stretch it.
We solve ``k`` so that the gain at the farthest corner equals a sampled ``corner`` value in
[0.5, 1]. Optionally (``oval``) a feathered oval fades the picture to white or black around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, bernoulli, check_image, uniform
from daguerre.degrade.fields import coords, per_image
from daguerre.types import Tensor


@dataclass(frozen=True)
class VignetteParams:
    """Per-image vignette parameters, ``(B,)`` tensors."""

    corner: Tensor  # float, gain at the farthest corner, (0, 1]; 1 (and no oval) = identity
    center_x: Tensor  # float, centre offset as a fraction of the width
    center_y: Tensor  # float, centre offset as a fraction of the height
    aspect: Tensor  # float, ellipse x/y stretch
    oval: Tensor  # bool, add a feathered portrait oval
    oval_white: Tensor  # bool, the oval fades to white/cream (else to black)
    oval_size: Tensor  # float, oval radius (1 = touches the middle of the edges)
    oval_feather: Tensor  # float, feather width in the same normalised units


class Vignette(Degradation[VignetteParams]):
    """Smooth off-centre elliptical ``cos^4``-like darkening, optional feathered oval.

    Args:
        corner: (min, max) gain at the farthest corner.
        offset: max absolute centre offset as a fraction of the image size.
        aspect: (min, max) ellipse stretch.
        oval: probability of a portrait oval.
        oval_size: (min, max) oval radius.
        oval_feather: (min, max) oval feather width.
    """

    name = "vignette"

    def __init__(
        self,
        *,
        corner: tuple[float, float] = (0.5, 0.95),
        offset: float = 0.15,
        aspect: tuple[float, float] = (0.8, 1.25),
        oval: float = 0.1,
        oval_size: tuple[float, float] = (0.8, 1.05),
        oval_feather: tuple[float, float] = (0.2, 0.5),
    ) -> None:
        self.corner, self.offset, self.aspect = corner, offset, aspect
        self.oval, self.oval_size, self.oval_feather = oval, oval_size, oval_feather

    def sample(self, gen: torch.Generator, batch: int) -> VignetteParams:
        """Draw corner gain, centre, aspect and the oval's settings per image."""
        return VignetteParams(
            corner=uniform(gen, batch, *self.corner),
            center_x=uniform(gen, batch, -self.offset, self.offset),
            center_y=uniform(gen, batch, -self.offset, self.offset),
            aspect=uniform(gen, batch, *self.aspect),
            oval=bernoulli(gen, batch, self.oval),
            oval_white=bernoulli(gen, batch, 0.6),
            oval_size=uniform(gen, batch, *self.oval_size),
            oval_feather=uniform(gen, batch, *self.oval_feather),
        )

    def apply(self, img: Tensor, params: VignetteParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        height, width = img.shape[2:]
        grid_y, grid_x = (g.to(img.device) for g in coords(height, width))
        # normalised coordinates: -1..1 across each axis, centre shifted, ellipse stretched
        aspect = per_image(params.aspect, img)
        nx = (2.0 * grid_x / width - 1.0 - 2.0 * per_image(params.center_x, img)) / aspect.sqrt()
        ny = (2.0 * grid_y / height - 1.0 - 2.0 * per_image(params.center_y, img)) * aspect.sqrt()
        radius2 = nx**2 + ny**2
        corner_r2 = radius2.amax(dim=(2, 3), keepdim=True)  # the farthest pixel gets `corner`
        corner = per_image(params.corner, img).clamp(1e-3, 1.0)
        k2 = (corner.rsqrt() - 1.0) / corner_r2  # solves 1 / (1 + k^2 r_c^2)^2 = corner
        out = img / (1.0 + k2 * radius2) ** 2
        oval = per_image(params.oval, img)
        size, feather = per_image(params.oval_size, img), per_image(params.oval_feather, img)
        ramp = ((radius2.sqrt() - size) / feather.clamp_min(1e-3) + 0.5).clamp(0.0, 1.0)
        ramp = oval * ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep feather
        white = torch.tensor([0.96, 0.94, 0.88], device=img.device).view(1, 3, 1, 1)
        black = torch.full((1, 3, 1, 1), 0.04, device=img.device)
        surround = torch.where(per_image(params.oval_white, img) > 0.5, white, black)
        return (out + ramp * (surround - out)).clamp(0.0, 1.0)
