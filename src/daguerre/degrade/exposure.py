"""Uneven exposure and development: exposure/gamma shift with clipping, gain fields, light leaks.

Over- or under-exposure clips highlights or crushes shadows; development leaves low-frequency
gradients (a tilted plane and smooth noise), rare streaks born at an edge (bromide drag, surge
marks) and rare light leaks (a warm glow entering from one edge, screened over the picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, bernoulli, check_image, randint, seeds, uniform
from daguerre.degrade.fields import Draw, coords, fractal_noise, per_image, smooth_noise
from daguerre.types import Tensor


@dataclass(frozen=True)
class UnevenExposureParams:
    """Per-image exposure parameters, ``(B,)`` tensors."""

    strength: Tensor  # float in [0, 1], scales every deviation below; 0 = identity
    exposure: Tensor  # float, exposure shift in stops (x 2**stops before clipping)
    gamma: Tensor  # float, tone curve exponent (> 1 darkens mid-tones)
    gain: Tensor  # float, std of the log gain of the smooth field
    tilt_x: Tensor  # float, plane gradient across the width (relative gain edge to edge)
    tilt_y: Tensor  # float, plane gradient down the height
    streaks: Tensor  # float, amplitude of edge-born development streaks (0 = none)
    leak: Tensor  # float, light-leak intensity (0 = none)
    leak_side: Tensor  # int64, edge the leak enters from: 0 top, 1 right, 2 bottom, 3 left
    seed: Tensor  # int64, seeds the fields


class UnevenExposure(Degradation[UnevenExposureParams]):
    """Global exposure/gamma with clipping times a smooth gain field, rare streaks and leaks.

    Args:
        exposure: (min, max) exposure shift in stops.
        gamma: (min, max) gamma.
        gain: (min, max) std of the smooth log-gain field.
        tilt: max absolute plane gradient.
        streak_prob: probability of development streaks.
        leak_prob: probability of a light leak.
    """

    name = "uneven_exposure"

    def __init__(
        self,
        *,
        exposure: tuple[float, float] = (-0.6, 0.6),
        gamma: tuple[float, float] = (0.8, 1.3),
        gain: tuple[float, float] = (0.0, 0.15),
        tilt: float = 0.25,
        streak_prob: float = 0.08,
        leak_prob: float = 0.05,
    ) -> None:
        self.exposure, self.gamma, self.gain, self.tilt = exposure, gamma, gain, tilt
        self.streak_prob, self.leak_prob = streak_prob, leak_prob

    def sample(self, gen: torch.Generator, batch: int) -> UnevenExposureParams:
        """Draw exposure, gamma, gain fields, streaks and leak per image."""
        streaks = bernoulli(gen, batch, self.streak_prob).float() * uniform(gen, batch, 0.03, 0.1)
        leak = bernoulli(gen, batch, self.leak_prob).float() * uniform(gen, batch, 0.3, 0.9)
        return UnevenExposureParams(
            strength=torch.ones(batch),
            exposure=uniform(gen, batch, *self.exposure),
            gamma=uniform(gen, batch, *self.gamma),
            gain=uniform(gen, batch, *self.gain),
            tilt_x=uniform(gen, batch, -self.tilt, self.tilt),
            tilt_y=uniform(gen, batch, -self.tilt, self.tilt),
            streaks=streaks,
            leak=leak,
            leak_side=randint(gen, batch, 0, 3),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: UnevenExposureParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        strength = per_image(params.strength, img)
        stops = strength * per_image(params.exposure, img)
        gamma = 1.0 + strength * (per_image(params.gamma, img) - 1.0)
        out = (img * torch.exp2(stops)).clamp(0.0, 1.0) ** gamma  # clipped like the paper does
        fields = [self._fields(img, params, i) for i in range(img.shape[0])]
        log_gain = torch.cat([f[0] for f in fields])
        leak = torch.cat([f[1] for f in fields])
        out = out * torch.exp(strength * log_gain)
        leak = (strength * leak).clamp(0.0, 1.0)
        colour = torch.tensor([1.0, 0.55, 0.25], device=img.device).view(1, 3, 1, 1)
        out = 1.0 - (1.0 - out.clamp(0.0, 1.0)) * (1.0 - leak * colour)  # screen blend
        return torch.where(strength > 0, out, img).clamp(0.0, 1.0)

    def _fields(self, img: Tensor, params: UnevenExposureParams, i: int) -> tuple[Tensor, Tensor]:
        """Log-gain field and leak intensity for image ``i``, each ``(1,1,H,W)`` on its device."""
        height, width = img.shape[2:]
        draw = Draw(params.seed[i])
        grid_y, grid_x = coords(height, width)
        plane = float(params.tilt_x[i]) * (grid_x / width - 0.5) + float(params.tilt_y[i]) * (
            grid_y / height - 0.5
        )
        noise = fractal_noise(draw, height, width, scale=0.6 * min(height, width), octaves=3)
        log_gain = plane.view(1, 1, height, width) + float(params.gain[i]) * noise
        side = int(params.leak_side[i])
        # distance from the chosen edge (0 at the edge, 1 at the opposite one), and along it
        across = [grid_y / height, 1 - grid_x / width, 1 - grid_y / height, grid_x / width][side]
        if float(params.streaks[i]) > 0:
            log_gain = log_gain + float(params.streaks[i]) * _streaks(draw, across, side)
        leak = torch.zeros(1, 1, height, width)
        if float(params.leak[i]) > 0:
            reach = draw.scalar(0.1, 0.35)
            wobble = 1.0 + 0.5 * smooth_noise(draw, height, width, scale=0.3 * min(height, width))
            leak = float(params.leak[i]) * torch.exp(-across / reach).view(1, 1, height, width)
            leak = leak * wobble.clamp(0.0, 2.0)
        return log_gain.to(img.device), leak.to(img.device)


def _streaks(draw: Draw, across: Tensor, side: int) -> Tensor:
    """Surge marks: thin stripes running in from the edge and decaying: ``(1,1,H,W)``."""
    height, width = across.shape
    along_len = width if side in (0, 2) else height
    profile = smooth_noise(draw, 1, along_len, scale=draw.scalar(2.0, 8.0))[0, 0, 0]
    stripes = profile.view(1, -1) if side in (0, 2) else profile.view(-1, 1)
    decay = torch.exp(-across / draw.scalar(0.05, 0.25))
    sign = 1.0 if draw.scalar(0.0, 1.0) < 0.5 else -1.0
    return (sign * stripes * decay).view(1, 1, height, width)
