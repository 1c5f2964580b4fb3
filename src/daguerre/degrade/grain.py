"""Film grain: spatially correlated, density-dependent, mono or partly per-layer colour grain.

Grain is clumps of developed silver (dye clouds in colour film): correlated over a few pixels,
strongest in the mid-tones and absent on bare paper white. We low-pass white noise at the grain
size (plus a coarser clump octave) and apply it multiplicatively, i.e. additively in log
intensity, with a ``(1 - x)`` falloff so highlights stay clean. B&W grain is one field for all
channels; colour grain mixes a shared field with one per layer, the blue layer grainiest.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, bernoulli, check_image, log_uniform, seeds, uniform
from daguerre.degrade.fields import Draw, filtered_noise, per_image
from daguerre.types import Tensor

_EPS = 0.02  # log offset: keeps the deepest blacks from exploding in the log domain
_LAYER_GAIN = (1.0, 0.9, 1.35)  # R, G, B: the blue-sensitive layer has the coarsest grain


@dataclass(frozen=True)
class FilmGrainParams:
    """Per-image grain parameters, ``(B,)`` tensors."""

    strength: Tensor  # float, grain std in intensity units at mid-grey; 0 = identity
    size: Tensor  # float, grain correlation radius (Gaussian sigma) in pixels
    mono: Tensor  # bool, one field for all channels (B&W film)
    independence: Tensor  # float in [0, 1], share of per-layer (vs shared) grain for colour
    seed: Tensor  # int64, seeds the noise fields


class FilmGrain(Degradation[FilmGrainParams]):
    """Film grain at a grain size, peaking in mid-tones, in a log-intensity domain.

    ``out = (x + eps) * exp(g * n * 2 (1 - x) / (0.5 + eps)) - eps`` with ``n`` unit-std
    correlated noise, so ``g`` is the intensity std at mid-grey.

    Args:
        strength: (min, max) grain std at mid-grey, log-uniform per image.
        size: (min, max) grain sigma in pixels, log-uniform (0.6 px already correlates
            neighbours at about 0.5).
        mono: probability that the grain is identical across channels (B&W film).
        independence: (min, max) per-layer share of colour grain.
    """

    name = "film_grain"

    def __init__(
        self,
        *,
        strength: tuple[float, float] = (0.01, 0.06),
        size: tuple[float, float] = (0.6, 1.6),
        mono: float = 0.6,
        independence: tuple[float, float] = (0.3, 0.8),
    ) -> None:
        self.strength, self.size, self.mono, self.independence = strength, size, mono, independence

    def sample(self, gen: torch.Generator, batch: int) -> FilmGrainParams:
        """Draw strength, size, mono flag, independence and a seed per image."""
        return FilmGrainParams(
            strength=log_uniform(gen, batch, *self.strength),
            size=log_uniform(gen, batch, *self.size),
            mono=bernoulli(gen, batch, self.mono),
            independence=uniform(gen, batch, *self.independence),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: FilmGrainParams) -> Tensor:
        """(B,3,H,W) float32 in [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        # black-and-white film has mono grain, whatever was sampled: a gray image stays gray
        gray = (img.amax(dim=1) - img.amin(dim=1)).flatten(1).amax(dim=1) <= 1e-6
        noise = torch.cat(
            [
                grain_field(
                    int(params.seed[i]),
                    img.shape[2],
                    img.shape[3],
                    size=float(params.size[i]),
                    mono=bool(params.mono[i]) or bool(gray[i]),
                    independence=float(params.independence[i]),
                )
                for i in range(img.shape[0])
            ]
        ).to(img.device)
        sigma_log = per_image(params.strength, img) / (0.5 + _EPS)
        weight = 2.0 * (1.0 - img)  # 1 at mid-grey, 0 on paper white
        out = (img + _EPS) * torch.exp(sigma_log * noise * weight) - _EPS
        return out.clamp(0.0, 1.0)


def grain_field(
    seed: int, height: int, width: int, *, size: float, mono: bool, independence: float
) -> Tensor:
    """Unit-std correlated grain noise ``(1, 3, H, W)`` float32 on CPU.

    Args:
        seed: per-image seed.
        height: rows.
        width: columns.
        size: grain sigma in pixels.
        mono: identical channels when True.
        independence: per-layer share for colour grain, in [0, 1].

    Example:
        >>> field = grain_field(0, 16, 16, size=1.0, mono=True, independence=0.5)
        >>> bool((field[:, 0] == field[:, 2]).all())
        True
    """
    draw = Draw(seed)
    channels = 1 if mono else 4
    fine = filtered_noise(draw, channels, height, width, sigma=size)
    clumps = filtered_noise(draw, channels, height, width, sigma=2.2 * size)
    noise = 0.85 * fine + 0.5 * clumps  # silver clumps: a coarser octave under the fine grain
    noise = noise / noise.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    if mono:
        return noise.expand(1, 3, height, width).contiguous()
    shared, layers = noise[:, :1], noise[:, 1:]
    mixed = (1.0 - independence) ** 0.5 * shared + independence**0.5 * layers
    gain = torch.tensor(_LAYER_GAIN).view(1, 3, 1, 1)
    return mixed * gain
