"""Stains: foxing spots, silvering-out and water-stain tide lines.

* Foxing: small reddish- or yellow-brown spots (fungal growth, iron oxidation), clustered, with a
  darker core and a soft halo, blended by multiplication. Mask: the cores.
* Silvering: oxidised silver migrates to the surface of the dense areas, worst near the edges; it
  scans as a cool, lighter, slightly iridescent haze over the shadows. A veil, not lost content,
  so it returns no mask.
* Water stains: irregular blobs whose edges dried into brown tide lines (one or a few concentric
  rims), with a faint discolouration inside. Mask: the dense core of the rims (``rim ** 2``).

Masks are soft alphas, ``(B,1,H,W)`` float32 in [0, 1]; threshold at 0.25 for a binary label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from daguerre.degrade.base import (
    Degradation,
    PerImageDefect,
    check_image,
    log_uniform,
    randint,
    seeds,
    uniform,
)
from daguerre.degrade.fields import (
    Draw,
    coords,
    edge_distance,
    fractal_noise,
    luminance,
    per_image,
    render_blobs,
    smooth_noise,
    soften,
    to_tensor,
)
from daguerre.types import Tensor

_AREA = 256.0 * 256.0  # spot counts are per this many pixels


# --- foxing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoxingParams:
    """Per-image foxing parameters, ``(B,)`` tensors."""

    density: Tensor  # float, spots per 256x256 px; 0 = identity
    clusters: Tensor  # int64, number of cluster centres
    size: Tensor  # float, multiplies the heavy-tailed spot radii (pixels)
    strength: Tensor  # float in [0, 1], stain density of a core
    hue: Tensor  # float, 0 = reddish brown, 1 = yellow brown
    seed: Tensor  # int64, seeds positions and shapes


class Foxing(PerImageDefect[FoxingParams]):
    """Clustered brown spots with darker cores and soft halos (multiplicative).

    Args:
        density: (min, max) spots per 256x256 px, log-uniform.
        clusters: (min, max) cluster centres, inclusive.
        size: (min, max) radius multiplier (radii 1-8 px before it).
        strength: (min, max) core stain density.
    """

    name = "foxing"

    def __init__(
        self,
        *,
        density: tuple[float, float] = (4.0, 40.0),
        clusters: tuple[int, int] = (1, 4),
        size: tuple[float, float] = (1.0, 2.0),
        strength: tuple[float, float] = (0.5, 1.0),
    ) -> None:
        self.density, self.clusters, self.size, self.strength = density, clusters, size, strength

    def sample(self, gen: torch.Generator, batch: int) -> FoxingParams:
        """Draw density, clusters, size, strength, hue and a seed per image."""
        return FoxingParams(
            density=log_uniform(gen, batch, *self.density),
            clusters=randint(gen, batch, *self.clusters),
            size=uniform(gen, batch, *self.size),
            strength=uniform(gen, batch, *self.strength),
            hue=uniform(gen, batch, 0.0, 1.0),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: FoxingParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        count = int(round(float(params.density[i]) * height * width / _AREA))
        if count <= 0 or float(params.strength[i]) <= 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        clusters = max(int(params.clusters[i]), 1)
        hubs = np.stack([draw.uniform(0, width, clusters), draw.uniform(0, height, clusters)], 1)
        spread = draw.uniform(0.05, 0.2, clusters) * min(height, width)
        member = draw.integers(0, clusters - 1, count)
        centers = hubs[member] + draw.normal((count, 2)) * spread[member, None]
        radii = draw.pareto(1.0, 1.6, 8.0, count) * float(params.size[i])
        opacity = draw.uniform(0.6, 1.0, count)
        core = soften(render_blobs(draw, height, width, centers, radii, opacity, jag=0.12), 0.6)
        halo_sigma = 2.0 * float(params.size[i]) + 1.0
        halo = cv2.GaussianBlur(core, (0, 0), halo_sigma) * 1.6 + cv2.GaussianBlur(
            core, (0, 0), 3 * halo_sigma
        )
        density = to_tensor(np.clip(0.4 * core + 1.0 * halo, 0.0, 1.0), img)
        core_t = to_tensor(core, img)
        hue = float(params.hue[i])
        brown = torch.tensor(
            [0.76 + 0.06 * hue, 0.5 + 0.14 * hue, 0.32 + 0.04 * hue], device=img.device
        ).view(1, 3, 1, 1)
        strength = float(params.strength[i])
        out = img * (1.0 - strength * density * (1.0 - brown))
        out = out * (1.0 - 0.2 * strength * core_t)  # the darker core
        return out.clamp(0.0, 1.0), (core_t * min(strength / 0.3, 1.0)).clamp(0.0, 1.0)


# --- silvering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilveringParams:
    """Per-image silvering parameters, ``(B,)`` tensors."""

    strength: Tensor  # float in [0, 1], haze added over full black at the edge; 0 = identity
    reach: Tensor  # float, edge falloff width as a fraction of the short side
    iridescence: Tensor  # float in [0, 1], hue wander of the sheen
    seed: Tensor  # int64, seeds the patchiness


class Silvering(Degradation[SilveringParams]):
    """Bluish-grey metallic haze over dark areas, strongest near the edges; no mask.

    The weight is ``darkness ** 1.5 * exp(-d / reach) * patchiness`` and the sheen is screened
    over the picture (it lightens shadows, leaves highlights alone).

    Args:
        strength: (min, max) haze over full black at the edge.
        reach: (min, max) edge falloff width, fraction of the short side.
        iridescence: (min, max) hue wander.
    """

    name = "silvering"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.15, 0.6),
        reach: tuple[float, float] = (0.05, 0.3),
        iridescence: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self.strength, self.reach, self.iridescence = strength, reach, iridescence

    def sample(self, gen: torch.Generator, batch: int) -> SilveringParams:
        """Draw strength, reach, iridescence and a seed per image."""
        return SilveringParams(
            strength=uniform(gen, batch, *self.strength),
            reach=uniform(gen, batch, *self.reach),
            iridescence=uniform(gen, batch, *self.iridescence),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: SilveringParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        height, width = img.shape[2:]
        dist = edge_distance(height, width).to(img.device)
        edge = torch.exp(-dist / per_image(params.reach, img).clamp_min(1e-3))
        fields = []
        for seed in params.seed:
            draw = Draw(seed)
            patch = fractal_noise(draw, height, width, scale=0.25 * min(height, width), octaves=3)
            hue = smooth_noise(draw, height, width, scale=0.4 * min(height, width))
            fields.append(torch.cat([patch, hue], dim=1))
        patch, hue = torch.cat(fields).to(img.device).split(1, dim=1)
        darkness = (1.0 - luminance(img)).clamp(0.0, 1.0) ** 1.5
        weight = per_image(params.strength, img) * darkness * edge * (1.0 + 0.4 * patch).clamp(0, 2)
        steel = torch.tensor([0.78, 0.84, 0.95], device=img.device).view(1, 3, 1, 1)
        shift = torch.tensor([0.1, -0.06, -0.1], device=img.device).view(1, 3, 1, 1)  # to gold
        sheen = steel + per_image(params.iridescence, img) * hue.clamp(-1.5, 1.5) * shift
        return (img + weight.clamp(0.0, 1.0) * sheen.clamp(0.0, 1.0) * (1.0 - img)).clamp(0.0, 1.0)


# --- water stains ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaterStainsParams:
    """Per-image water-stain parameters, ``(B,)`` tensors."""

    count: Tensor  # int64, number of stains; 0 = identity
    size: Tensor  # float, mean stain radius as a fraction of the short side
    strength: Tensor  # float in [0, 1], density of the brown tide line
    rim: Tensor  # float, tide-line width as a fraction of the stain radius
    seed: Tensor  # int64, seeds shapes and positions


class WaterStains(PerImageDefect[WaterStainsParams]):
    """Irregular stains with brown tide-line rims and faint inner discolouration.

    Args:
        count: (min, max) stains per image, inclusive.
        size: (min, max) radius as a fraction of the short side.
        strength: (min, max) tide-line density.
        rim: (min, max) tide-line width as a fraction of the stain radius.
    """

    name = "water_stains"

    def __init__(
        self,
        *,
        count: tuple[int, int] = (1, 2),
        size: tuple[float, float] = (0.15, 0.5),
        strength: tuple[float, float] = (0.5, 1.0),
        rim: tuple[float, float] = (0.03, 0.1),
    ) -> None:
        self.count, self.size, self.strength, self.rim = count, size, strength, rim

    def sample(self, gen: torch.Generator, batch: int) -> WaterStainsParams:
        """Draw count, size, strength, rim width and a seed per image."""
        return WaterStainsParams(
            count=randint(gen, batch, *self.count),
            size=uniform(gen, batch, *self.size),
            strength=uniform(gen, batch, *self.strength),
            rim=uniform(gen, batch, *self.rim),
            seed=seeds(gen, batch),
        )

    def _one(self, img: Tensor, params: WaterStainsParams, i: int) -> tuple[Tensor, Tensor]:
        height, width = img.shape[2:]
        count, strength = int(params.count[i]), float(params.strength[i])
        if count <= 0 or strength <= 0:
            return img.clone(), torch.zeros_like(img[:, :1])
        draw = Draw(params.seed[i])
        rim, inside = torch.zeros(height, width), torch.zeros(height, width)
        for _ in range(count):
            radius = float(params.size[i]) * min(height, width) * draw.scalar(0.6, 1.4)
            rim_px = max(float(params.rim[i]) * radius, 1.5)
            one_rim, one_inside = stain_rings(draw, height, width, radius, rim_px)
            rim, inside = torch.maximum(rim, one_rim), torch.maximum(inside, one_inside)
        rim, inside = rim.to(img.device)[None, None], inside.to(img.device)[None, None]
        brown = torch.tensor([0.6, 0.45, 0.28], device=img.device).view(1, 3, 1, 1)
        tint = torch.tensor([0.97, 0.93, 0.84], device=img.device).view(1, 3, 1, 1)
        out = img * (1.0 - inside * (1.0 - tint))
        out = out * (1.0 - strength * rim * (1.0 - brown))
        # label the tide line's dense core, not its faint inner tail: rim**2 halves the tail width
        return out.clamp(0.0, 1.0), (rim.square() * min(strength / 0.3, 1.0)).clamp(0.0, 1.0)


def stain_rings(
    draw: Draw, height: int, width: int, radius: float, rim_width: float
) -> tuple[Tensor, Tensor]:
    """One stain's tide-line density and interior weight, each ``(H, W)`` float32 on CPU.

    The outline is ``r(theta)`` from a random Fourier series, roughened by smooth noise; the
    rim is sharp outside the outline and tails off inside; older, fainter tide lines sit inside.
    """
    center = np.array([draw.scalar(-0.1, 1.1) * width, draw.scalar(-0.1, 1.1) * height])
    grid_y, grid_x = coords(height, width)
    dy, dx = grid_y - float(center[1]), grid_x - float(center[0])
    rho = torch.sqrt(dx**2 + dy**2).clamp_min(1e-6)
    unit_x, unit_y = dx / rho, dy / rho  # cos(theta), sin(theta)
    outline = torch.ones_like(rho)
    cos_k, sin_k = unit_x, unit_y
    for k in range(1, 8):  # Fourier outline; cos/sin(k theta) by complex multiplication
        amp = float(draw.normal()) * 0.15 / k**1.5
        phase = draw.scalar(0.0, 2 * math.pi)
        outline += amp * (math.cos(phase) * cos_k - math.sin(phase) * sin_k)
        cos_k, sin_k = cos_k * unit_x - sin_k * unit_y, sin_k * unit_x + cos_k * unit_y
    rough = smooth_noise(draw, height, width, scale=max(radius / 6, 2.0))[0, 0]
    dist = rho - radius * outline.clamp_min(0.2) + 0.02 * radius * rough  # > 0 outside
    # each tide line: sharp Gaussian edge outside, exponential tail inside; older ones (further
    # in) fainter. max_j(c_j exp(-a_j)) = exp(max_j(log c_j - a_j)): one exp for all rings.
    exponent = torch.full((height, width), -1e4)
    for ring in range(int(draw.integers(1, 3))):
        shifted = dist + ring * radius * draw.scalar(0.06, 0.2)
        cost = torch.where(
            shifted > 0, (shifted / (0.35 * rim_width)) ** 2, -shifted / (2.0 * rim_width)
        )
        exponent = torch.maximum(exponent, ring * math.log(0.55) - cost)
    rim = torch.exp(exponent)
    along = (0.8 + 0.5 * smooth_noise(draw, height, width, scale=radius / 4)[0, 0]).clamp(0.1, 1.2)
    # the dried area: faint, darkening towards the rim where the dirt was carried
    inside = torch.sigmoid(-dist / rim_width) * torch.exp(dist.clamp_max(0) / (0.5 * radius))
    inside = inside * draw.scalar(0.1, 0.6)
    return (rim * along).clamp(0.0, 1.0), inside
