"""Halftone: the photo as a reprint in a newspaper or book (a rotated dot screen on paper).

Each ink's coverage is thresholded against a rotated periodic spot function
``(cos(2 pi u / P) + cos(2 pi v / P)) / 2`` (a Euclidean dot: round dots that join into a
checkerboard at 50 % and invert above), first mapped through its own CDF so that coverage equals
the requested tone. Dot gain darkens the mid-tones. B&W uses one black screen at 45 degrees;
colour uses CMYK screens at 15/75/0/45 degrees, which form rosettes. The inks multiply the paper
colour (white to newsprint). The scan-time resampling that makes moire is left to later ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from daguerre.degrade.base import Degradation, bernoulli, check_image, seeds, uniform
from daguerre.degrade.fields import Draw, luminance, per_image
from daguerre.types import Tensor

# absorption of each ink in R, G, B (slightly impure process inks)
_INK_ABSORB = {
    "cyan": (0.85, 0.25, 0.06),
    "magenta": (0.08, 0.8, 0.3),
    "yellow": (0.02, 0.08, 0.85),
    "black": (0.9, 0.9, 0.88),
}
_SCREEN_DEG = {"cyan": 15.0, "magenta": 75.0, "yellow": 0.0, "black": 45.0}


@dataclass(frozen=True)
class HalftoneParams:
    """Per-image halftone parameters, ``(B,)`` tensors."""

    strength: Tensor  # blend of the halftone over the input, [0, 1]; 0 = identity
    period: Tensor  # screen period in pixels (lines per inch = dpi / period)
    angle: Tensor  # screen rotation offset in degrees, added to every screen's angle
    colour: Tensor  # bool, CMYK screens (True) or one black screen
    dot_gain: Tensor  # mid-tone darkening (coverage += 4 g k (1 - k)), [0, 0.3]
    paper: Tensor  # 0 = white paper, 1 = yellowed newsprint
    seed: Tensor  # int64, screen phase


class Halftone(Degradation[HalftoneParams]):
    """Rotated dot screen with dot gain on paper colour.

    Args:
        strength: (min, max) blend of the halftone.
        period: (min, max) screen period in pixels (85 lpi scanned at 300 dpi is 3.5 px).
        angle_jitter: max absolute extra rotation in degrees.
        colour: probability of CMYK screens (else one 45-degree black screen).
        dot_gain: (min, max) dot gain.
        paper: (min, max) newsprint tint.
    """

    name = "halftone"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.8, 1.0),
        period: tuple[float, float] = (2.5, 5.5),
        angle_jitter: float = 3.0,
        colour: float = 0.3,
        dot_gain: tuple[float, float] = (0.05, 0.2),
        paper: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self.strength, self.period, self.angle_jitter = strength, period, angle_jitter
        self.colour, self.dot_gain, self.paper = colour, dot_gain, paper

    def sample(self, gen: torch.Generator, batch: int) -> HalftoneParams:
        """Draw screen period, angle, colour flag, dot gain, paper and phase per image."""
        return HalftoneParams(
            strength=uniform(gen, batch, *self.strength),
            period=uniform(gen, batch, *self.period),
            angle=uniform(gen, batch, -self.angle_jitter, self.angle_jitter),
            colour=bernoulli(gen, batch, self.colour),
            dot_gain=uniform(gen, batch, *self.dot_gain),
            paper=uniform(gen, batch, *self.paper),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: HalftoneParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        outs = [self._one(img[i : i + 1], params, i) for i in range(img.shape[0])]
        printed = torch.cat(outs)
        strength = per_image(params.strength, img)
        return (img + strength * (printed - img)).clamp(0.0, 1.0)

    def _one(self, img: Tensor, params: HalftoneParams, i: int) -> Tensor:
        height, width = img.shape[2:]
        draw = Draw(params.seed[i])
        phase = draw.uniform(0.0, 1000.0, 2)
        ys = torch.arange(height, dtype=torch.float32, device=img.device) + float(phase[0])
        xs = torch.arange(width, dtype=torch.float32, device=img.device) + float(phase[1])
        period, gain = float(params.period[i]), float(params.dot_gain[i])
        paper_t = float(params.paper[i])
        paper = torch.tensor([1.0, 1.0 - 0.04 * paper_t, 1.0 - 0.14 * paper_t], device=img.device)
        paper = paper.view(1, 3, 1, 1) * (1.0 - 0.07 * paper_t)

        def screen(name: str, cover: Tensor) -> Tensor:
            angle = math.radians(_SCREEN_DEG[name] + float(params.angle[i]))
            spot = _spot(xs, ys, angle, period)
            cover = cover + 4.0 * gain * cover * (1.0 - cover)  # dot gain, worst in mid-tones
            ink = _threshold(spot, cover.clamp(0.0, 1.0), period)
            absorb = torch.tensor(_INK_ABSORB[name], device=img.device).view(1, 3, 1, 1)
            return 1.0 - ink * absorb

        if bool(params.colour[i]):
            cmy = 1.0 - img
            black = cmy.min(dim=1, keepdim=True).values * 0.7  # under-colour removal
            rest = (cmy - black) / (1.0 - black).clamp_min(1e-3)
            out = paper * screen("black", black)
            for c, name in enumerate(("cyan", "magenta", "yellow")):
                out = out * screen(name, rest[:, c : c + 1])
            return out
        return paper * screen("black", 1.0 - luminance(img).clamp(0.0, 1.0))


def _spot(xs: Tensor, ys: Tensor, angle: float, period: float) -> Tensor:
    """Euclidean spot function of a screen rotated by ``angle``, mapped to uniform [0, 1].

    ``xs`` ``(W,)`` and ``ys`` ``(H,)`` are pixel coordinates; ``cos(a x + b y)`` is expanded into
    outer products of 1-D cosines and sines, which is much cheaper than a 2-D ``cos``.
    """
    freq = 2 * math.pi / period
    spot = torch.zeros(ys.numel(), xs.numel(), device=xs.device)
    for fx, fy in ((math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))):
        ax, ay = freq * fx * xs, freq * fy * ys
        spot += torch.outer(torch.cos(ay), torch.cos(ax)) - torch.outer(
            torch.sin(ay), torch.sin(ax)
        )
    spot *= 0.5
    lut = _spot_cdf_lut().to(spot.device)
    pos = (spot + 1.0) * (0.5 * (lut.numel() - 1))  # spot in [-1, 1] -> fractional LUT index
    low = pos.floor().long().clamp(0, lut.numel() - 2)
    frac = pos - low
    return (lut[low] * (1.0 - frac) + lut[low + 1] * frac).view(1, 1, *spot.shape)


def _threshold(uniform_spot: Tensor, cover: Tensor, period: float) -> Tensor:
    """Anti-aliased ink coverage: 1 where the spot rank exceeds ``1 - cover``.

    The ramp (about one pixel wide) narrows near 0 and 100 % so it stays inside [0, 1]: the mean
    ink then equals ``cover`` exactly, paper white gets no ink and solid black is solid.
    """
    softness = torch.minimum(2.0 * cover, 2.0 * (1.0 - cover)).clamp(1e-4, min(2.0 / period, 0.5))
    return ((uniform_spot - (1.0 - cover)) / softness + 0.5).clamp(0.0, 1.0)


@lru_cache(maxsize=1)
def _spot_cdf_lut() -> Tensor:
    """CDF of the Euclidean spot function over one period, tabulated at 1025 levels in [-1, 1]."""
    steps = torch.linspace(0.0, 2 * math.pi, 513)[:-1]
    a, b = torch.meshgrid(steps, steps, indexing="ij")
    values = torch.sort((0.5 * (torch.cos(a) + torch.cos(b))).flatten()).values
    levels = torch.linspace(-1.0, 1.0, 1025)
    return torch.searchsorted(values, levels).float() / values.numel()
