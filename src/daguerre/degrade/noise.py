"""Sensor and scan noise: Gaussian, Poisson (fast approximation), speckle, salt-and-pepper.

Noise fields are drawn inside ``apply`` from each image's ``seed`` on a CPU generator, so the
same params replay bit for bit on any device. Sigma ranges are given in 8-bit units (/255),
as in the published recipes (BOPBTL v2, Real-ESRGAN; see FIELD.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daguerre.degrade.base import Degradation, bernoulli, check_image, generator_for, seeds, uniform
from daguerre.degrade.color import luminance
from daguerre.types import Tensor

__all__ = [
    "GaussianNoise",
    "GaussianNoiseParams",
    "PoissonNoise",
    "PoissonNoiseParams",
    "SaltPepper",
    "SaltPepperParams",
    "SpeckleNoise",
    "SpeckleNoiseParams",
]


def _normal_field(seed: Tensor, gray: bool, shape: torch.Size) -> Tensor:
    """A ``(C,H,W)`` standard normal field from ``seed``; one channel repeated when ``gray``."""
    c, h, w = shape
    gen = generator_for(seed)
    if gray:
        return torch.randn(1, h, w, generator=gen).expand(c, h, w)
    return torch.randn(c, h, w, generator=gen)


def _noise_batch(img: Tensor, seed: Tensor, gray: Tensor) -> Tensor:
    """``(B,C,H,W)`` standard normal fields, one per image, on ``img``'s device."""
    fields = [_normal_field(seed[i], bool(gray[i]), img.shape[1:]) for i in range(img.shape[0])]
    return torch.stack(fields).to(img.device)


# --- additive Gaussian --------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianNoiseParams:
    """Per-image parameters of :class:`GaussianNoise`."""

    sigma: Tensor  # (B,) float32, std in [0,1] image units (already divided by 255)
    gray: Tensor  # (B,) bool, one noise field shared by the three channels
    seed: Tensor  # (B,) int64, seeds the noise field


class GaussianNoise(Degradation[GaussianNoiseParams]):
    """Additive white Gaussian noise.

    Args:
        sigma: (min, max) std in 8-bit units (/255), uniform. BOPBTL (5, 50);
            Real-ESRGAN (1, 30) first order, (1, 25) second order.
        gray_prob: probability that the noise is the same in all channels. Real-ESRGAN 0.4.

    Example:
        >>> op = GaussianNoise()
        >>> img = torch.full((1, 3, 8, 8), 0.5)
        >>> out = op.apply(img, op.sample(torch.Generator().manual_seed(0), 1))
        >>> bool((out - img).abs().max() > 0)
        True
    """

    name = "gaussian_noise"

    def __init__(self, *, sigma: tuple[float, float] = (5.0, 50.0), gray_prob: float = 0.0) -> None:
        assert 0 <= sigma[0] <= sigma[1], "sigma must be (min, max) with 0 <= min <= max"
        self.sigma = sigma
        self.gray_prob = gray_prob

    def sample(self, gen: torch.Generator, batch: int) -> GaussianNoiseParams:
        """Draw sigma, gray flag and a noise seed per image."""
        sigma = uniform(gen, batch, self.sigma[0] / 255.0, self.sigma[1] / 255.0)
        return GaussianNoiseParams(
            sigma=sigma, gray=bernoulli(gen, batch, self.gray_prob), seed=seeds(gen, batch)
        )

    def apply(self, img: Tensor, params: GaussianNoiseParams) -> Tensor:
        """Add noise: ``(B,3,H,W)`` float32 [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        if not bool((params.sigma > 0).any()):
            return img.clone()
        noise = _noise_batch(img, params.seed, params.gray)
        sigma = params.sigma.to(img.device).reshape(-1, 1, 1, 1)
        return (img + sigma * noise).clamp(0.0, 1.0)


# --- Poisson (shot) noise -----------------------------------------------------------------


@dataclass(frozen=True)
class PoissonNoiseParams:
    """Per-image parameters of :class:`PoissonNoise`."""

    scale: Tensor  # (B,) float32, multiplies the shot noise; 0 = none
    gray: Tensor  # (B,) bool, noise computed on luminance and shared by the channels
    seed: Tensor  # (B,) int64, seeds the noise field


class PoissonNoise(Degradation[PoissonNoiseParams]):
    """Shot noise, signal-dependent: std ``scale * sqrt(signal / levels)``.

    BasicSR draws ``Poisson(img * levels) / levels - img`` with ``levels`` = 256 for 8-bit
    content. We use its Gaussian approximation, ``sqrt(img / levels) * N(0, 1)``, which has
    the same mean and variance, is indistinguishable at these photon counts, and is ~4x
    faster than an exact Poisson draw (17 ms per 256 px crop), which would cap synthesis far
    below our 100 crops/s/core target (CPU_BUDGET.md).

    Args:
        scale: (min, max) multiplier, uniform. Real-ESRGAN (0.05, 3) first order,
            (0.05, 2.5) second order.
        gray_prob: probability of luminance-only noise. Real-ESRGAN 0.4.
        levels: number of intensity levels of the simulated sensor (BasicSR: 256 for 8 bit).

    Example:
        >>> op = PoissonNoise()
        >>> out = op.apply(torch.zeros(1, 3, 8, 8), op.sample(torch.Generator(), 1))
        >>> float(out.abs().max())  # no signal, no shot noise
        0.0
    """

    name = "poisson_noise"

    def __init__(
        self, *, scale: tuple[float, float] = (0.05, 3.0), gray_prob: float = 0.4, levels: int = 256
    ) -> None:
        assert 0 <= scale[0] <= scale[1], "scale must be (min, max) with 0 <= min <= max"
        self.scale = scale
        self.gray_prob = gray_prob
        self.levels = levels

    def sample(self, gen: torch.Generator, batch: int) -> PoissonNoiseParams:
        """Draw scale, gray flag and a noise seed per image."""
        return PoissonNoiseParams(
            scale=uniform(gen, batch, *self.scale),
            gray=bernoulli(gen, batch, self.gray_prob),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: PoissonNoiseParams) -> Tensor:
        """Add shot noise: ``(B,3,H,W)`` float32 [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        if not bool((params.scale > 0).any()):
            return img.clone()
        gray = params.gray.to(img.device).reshape(-1, 1, 1, 1)
        signal = torch.where(gray, luminance(img).expand_as(img), img)
        std = torch.sqrt(signal.clamp_min(0.0) / self.levels)
        noise = _noise_batch(img, params.seed, params.gray)
        scale = params.scale.to(img.device).reshape(-1, 1, 1, 1)
        return (img + scale * std * noise).clamp(0.0, 1.0)


# --- speckle (multiplicative) -------------------------------------------------------------


@dataclass(frozen=True)
class SpeckleNoiseParams:
    """Per-image parameters of :class:`SpeckleNoise`."""

    sigma: Tensor  # (B,) float32, std of the multiplicative noise ([0,1] units)
    seed: Tensor  # (B,) int64, seeds the noise field


class SpeckleNoise(Degradation[SpeckleNoiseParams]):
    """Speckle noise ``img + img * n``, ``n ~ N(0, sigma)`` per pixel and channel (BOPBTL).

    Args:
        sigma: (min, max) std in 8-bit units (/255), uniform. BOPBTL (5, 50).

    Example:
        >>> op = SpeckleNoise()
        >>> out = op.apply(torch.zeros(1, 3, 8, 8), op.sample(torch.Generator(), 1))
        >>> float(out.max())  # black stays black
        0.0
    """

    name = "speckle_noise"

    def __init__(self, *, sigma: tuple[float, float] = (5.0, 50.0)) -> None:
        assert 0 <= sigma[0] <= sigma[1], "sigma must be (min, max) with 0 <= min <= max"
        self.sigma = sigma

    def sample(self, gen: torch.Generator, batch: int) -> SpeckleNoiseParams:
        """Draw sigma and a noise seed per image."""
        sigma = uniform(gen, batch, self.sigma[0] / 255.0, self.sigma[1] / 255.0)
        return SpeckleNoiseParams(sigma=sigma, seed=seeds(gen, batch))

    def apply(self, img: Tensor, params: SpeckleNoiseParams) -> Tensor:
        """Add speckle: ``(B,3,H,W)`` float32 [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        if not bool((params.sigma > 0).any()):
            return img.clone()
        noise = _noise_batch(img, params.seed, torch.zeros_like(params.seed, dtype=torch.bool))
        sigma = params.sigma.to(img.device).reshape(-1, 1, 1, 1)
        return (img + img * sigma * noise).clamp(0.0, 1.0)


# --- salt and pepper ----------------------------------------------------------------------


@dataclass(frozen=True)
class SaltPepperParams:
    """Per-image parameters of :class:`SaltPepper`."""

    amount: Tensor  # (B,) float32, share of flipped values
    salt: Tensor  # (B,) float32, share of flipped values set to 1 (the rest go to 0)
    seed: Tensor  # (B,) int64, seeds the flip pattern


class SaltPepper(Degradation[SaltPepperParams]):
    """Salt-and-pepper noise: a share ``amount`` of values set to 1 (salt) or 0 (pepper).

    As in BOPBTL, values flip per channel, which gives coloured specks.

    Args:
        amount: (min, max) share of flipped values, uniform. BOPBTL (0, 0.01).
        salt: (min, max) share of salt among flipped values, uniform. BOPBTL (0.3, 0.8).

    Example:
        >>> op = SaltPepper(amount=(0.5, 0.5))
        >>> out = op.apply(torch.full((1, 3, 8, 8), 0.5), op.sample(torch.Generator(), 1))
        >>> sorted(set(out.unique().tolist()) - {0.5})
        [0.0, 1.0]
    """

    name = "salt_pepper"

    def __init__(
        self, *, amount: tuple[float, float] = (0.0, 0.01), salt: tuple[float, float] = (0.3, 0.8)
    ) -> None:
        assert 0 <= amount[0] <= amount[1] <= 1, "amount must be (min, max) within [0, 1]"
        self.amount = amount
        self.salt = salt

    def sample(self, gen: torch.Generator, batch: int) -> SaltPepperParams:
        """Draw amount, salt share and a seed per image."""
        return SaltPepperParams(
            amount=uniform(gen, batch, *self.amount),
            salt=uniform(gen, batch, *self.salt),
            seed=seeds(gen, batch),
        )

    def apply(self, img: Tensor, params: SaltPepperParams) -> Tensor:
        """Flip values: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        out = img.clone()
        for i in range(img.shape[0]):
            amount = float(params.amount[i])
            if amount <= 0:
                continue
            # one uniform draw decides both: u < amount*salt -> salt, u < amount -> pepper
            u = torch.rand(img.shape[1:], generator=generator_for(params.seed[i])).to(img.device)
            salt_cut = amount * float(params.salt[i])
            out[i] = torch.where(u < salt_cut, 1.0, torch.where(u < amount, 0.0, out[i]))
        return out
