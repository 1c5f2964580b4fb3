"""Blur: the BOPBTL Gaussian blur and the Real-ESRGAN mixed-kernel blur (with sinc).

Both ops build their kernels in ``apply`` from per-image parameters, so saved params replay
exactly. Borders use reflect padding (OpenCV's default ``BORDER_REFLECT_101``).

* BOPBTL ``blur_image_v2``: https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life
* Real-ESRGAN, Wang et al. 2021, https://arxiv.org/abs/2107.10833 (kernels from BasicSR
  ``basicsr/data/degradations.py``: ``random_mixed_kernels``, ``circular_lowpass_kernel``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from daguerre.degrade.base import Degradation, check_image, randint, uniform
from daguerre.nn.kernels import gaussian_kernel1d
from daguerre.types import Tensor

__all__ = [
    "FFT_MIN_KERNEL",
    "KERNEL_FAMILIES",
    "GaussianBlur",
    "GaussianBlurParams",
    "RealESRGANBlur",
    "RealESRGANBlurParams",
    "filter2d",
    "filter_separable",
]

# --- filtering helpers --------------------------------------------------------------------


def _pad(img: Tensor, pad_h: int, pad_w: int) -> Tensor:
    """Reflect-pad (replicate when the image is too small to reflect)."""
    if pad_h == 0 and pad_w == 0:
        return img
    mode = "reflect" if pad_h < img.shape[-2] and pad_w < img.shape[-1] else "replicate"
    return F.pad(img, (pad_w, pad_w, pad_h, pad_h), mode=mode)


FFT_MIN_KERNEL = 9
"""Kernels this wide or wider are applied by FFT (faster on CPU from about 9 px)."""


def _smooth_size(n: int) -> int:
    """The smallest integer >= ``n`` whose only prime factors are 2, 3 and 5 (fast FFT)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _correlate_fft(padded: Tensor, kernel: Tensor, out_size: tuple[int, int]) -> Tensor:
    """Valid correlation of ``(B,C,H+k-1,W+k-1)`` with ``(B,k,k)`` by zero-padded FFT."""
    k = kernel.shape[-1]
    size = (_smooth_size(padded.shape[-2]), _smooth_size(padded.shape[-1]))
    spectrum = (
        torch.fft.rfft2(padded, s=size) * torch.fft.rfft2(kernel.flip(-2, -1), s=size)[:, None]
    )
    full = torch.fft.irfft2(spectrum, s=size)
    return full[..., k - 1 : k - 1 + out_size[0], k - 1 : k - 1 + out_size[1]]


def filter2d(img: Tensor, kernel: Tensor) -> Tensor:
    """Correlate each image with its own 2-D kernel, reflect padding.

    Kernels of ``FFT_MIN_KERNEL`` px or more go through an FFT (float32 round-off of about
    1e-6), smaller ones through a direct depthwise convolution.

    Args:
        img: ``(B,C,H,W)`` float32.
        kernel: ``(B,k,k)`` float32, ``k`` odd, one kernel per image (shared by channels).

    Returns:
        ``(B,C,H,W)`` float32 (not clamped).

    Example:
        >>> out = filter2d(torch.rand(2, 3, 8, 8), torch.ones(2, 3, 3) / 9)
        >>> tuple(out.shape)
        (2, 3, 8, 8)
    """
    b, c, h, w = img.shape
    k = kernel.shape[-1]
    if k == 1:
        return img * kernel.reshape(b, 1, 1, 1)
    padded = _pad(img, k // 2, k // 2)
    if k >= FFT_MIN_KERNEL:
        return _correlate_fft(padded, kernel, (h, w))
    weight = kernel.repeat_interleave(c, dim=0).unsqueeze(1)  # (B*C,1,k,k)
    out = F.conv2d(padded.reshape(1, b * c, h + k - 1, w + k - 1), weight, groups=b * c)
    return out.reshape(b, c, h, w)


def filter_separable(img: Tensor, kernel: Tensor) -> Tensor:
    """Correlate each image with the separable kernel ``kernel ⊗ kernel``, reflect padding.

    Computed as a sum of shifted, weighted copies: on CPU this is several times faster than
    a depthwise ``1 x k`` convolution for the small kernels of the BOPBTL recipe.

    Args:
        img: ``(B,C,H,W)`` float32.
        kernel: ``(B,k)`` float32 1-D kernels, ``k`` odd.

    Returns:
        ``(B,C,H,W)`` float32 (not clamped).

    Example:
        >>> out = filter_separable(torch.rand(1, 3, 8, 8), torch.ones(1, 3) / 3)
        >>> tuple(out.shape)
        (1, 3, 8, 8)
    """
    b, _, h, w = img.shape
    k = kernel.shape[-1]
    taps = kernel.reshape(b, k, 1, 1, 1).unbind(dim=1)  # k tensors of shape (B,1,1,1)
    padded = _pad(img, k // 2, k // 2)
    rows = padded[..., :, 0:w] * taps[0]
    for j in range(1, k):
        rows = rows + padded[..., :, j : j + w] * taps[j]
    out = rows[..., 0:h, :] * taps[0]
    for j in range(1, k):
        out = out + rows[..., j : j + h, :] * taps[j]
    return out


# --- BOPBTL Gaussian blur -----------------------------------------------------------------


@dataclass(frozen=True)
class GaussianBlurParams:
    """Per-image parameters of :class:`GaussianBlur`."""

    size: Tensor  # (B,) int64, odd kernel side in pixels; 1 = no blur
    sigma: Tensor  # (B,) float32, standard deviation in pixels; 0 = no blur


class GaussianBlur(Degradation[GaussianBlurParams]):
    """Isotropic Gaussian blur with a random kernel size and sigma (BOPBTL v2 recipe).

    Args:
        sizes: kernel sides to choose from uniformly (odd). BOPBTL: 3, 5, 7.
        sigma: (min, max) standard deviation in pixels, uniform. BOPBTL: (1, 5).

    Example:
        >>> op = GaussianBlur()
        >>> img = torch.rand(2, 3, 16, 16)
        >>> out = op.apply(img, op.sample(torch.Generator().manual_seed(0), 2))
        >>> tuple(out.shape), bool(out.std() < img.std())
        ((2, 3, 16, 16), True)
    """

    name = "gaussian_blur"

    def __init__(
        self, *, sizes: Sequence[int] = (3, 5, 7), sigma: tuple[float, float] = (1.0, 5.0)
    ) -> None:
        assert all(s % 2 == 1 and s > 0 for s in sizes), "kernel sizes must be odd and positive"
        assert 0 <= sigma[0] <= sigma[1], "sigma must be (min, max) with 0 <= min <= max"
        self.sizes = tuple(int(s) for s in sizes)
        self.sigma = sigma

    def sample(self, gen: torch.Generator, batch: int) -> GaussianBlurParams:
        """Draw a kernel size and sigma per image."""
        choice = randint(gen, batch, 0, len(self.sizes) - 1)
        size = torch.tensor(self.sizes, dtype=torch.int64)[choice]
        return GaussianBlurParams(size=size, sigma=uniform(gen, batch, *self.sigma))

    def apply(self, img: Tensor, params: GaussianBlurParams) -> Tensor:
        """Blur: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        size = torch.where(params.sigma > 0, params.size, torch.ones_like(params.size))
        if int(size.max()) == 1:
            return img.clone()
        radius = int(size.max()) // 2  # taps zero beyond each image's own size // 2
        kernel = gaussian_kernel1d(params.sigma.float(), radius, size=size).to(img.device)
        return filter_separable(img, kernel).clamp(0.0, 1.0)


# --- Real-ESRGAN mixed kernels ------------------------------------------------------------

KERNEL_FAMILIES = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
    "sinc",
)
"""Kernel family names, indexed by ``RealESRGANBlurParams.family``."""

_SINC = KERNEL_FAMILIES.index("sinc")


@dataclass(frozen=True)
class RealESRGANBlurParams:
    """Per-image parameters of :class:`RealESRGANBlur` (see ``KERNEL_FAMILIES``)."""

    family: Tensor  # (B,) int64, index into KERNEL_FAMILIES
    size: Tensor  # (B,) int64, odd kernel side; 1 = identity
    sigma_x: Tensor  # (B,) float32, pixels (Gaussian-type families)
    sigma_y: Tensor  # (B,) float32, pixels
    rotation: Tensor  # (B,) float32, radians
    beta: Tensor  # (B,) float32, shape exponent (generalized / plateau families)
    omega: Tensor  # (B,) float32, sinc cut-off frequency in radians per pixel


def _quadratic_form(ax: Tensor, params: RealESRGANBlurParams) -> Tensor:
    """``(B,k,k)`` values of ``x^T Sigma^-1 x`` on the kernel grid."""
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    cos = torch.cos(params.rotation)[:, None, None]
    sin = torch.sin(params.rotation)[:, None, None]
    u = cos * xx + sin * yy  # coordinates in the rotated frame
    v = -sin * xx + cos * yy
    sx = params.sigma_x.clamp_min(1e-6)[:, None, None]
    sy = params.sigma_y.clamp_min(1e-6)[:, None, None]
    return (u / sx) ** 2 + (v / sy) ** 2


def _sinc_kernel(ax: Tensor, omega: Tensor) -> Tensor:
    """``(B,k,k)`` circular low-pass (2-D sinc / Airy) kernels, unnormalised."""
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    radius = torch.sqrt(xx**2 + yy**2)[None]
    w = omega[:, None, None]
    safe = torch.where(radius > 0, radius, torch.ones(()))
    kernel = w * torch.special.bessel_j1(w * safe) / (2 * math.pi * safe)
    return torch.where(radius > 0, kernel, w**2 / (4 * math.pi))


def mixed_kernels(params: RealESRGANBlurParams) -> Tensor:
    """Build the normalised ``(B,k,k)`` kernels, ``k = max(size)``, zero outside each window.

    Args:
        params: per-image kernel parameters.

    Returns:
        ``(B,k,k)`` float32 kernels, each summing to 1.
    """
    radius = int(params.size.max()) // 2
    ax = torch.arange(-radius, radius + 1, dtype=torch.float32)
    q = _quadratic_form(ax, params)
    beta = params.beta[:, None, None]
    family = params.family[:, None, None]
    gaussian = torch.exp(-0.5 * q)
    generalized = torch.exp(-0.5 * q.pow(beta))
    plateau = 1.0 / (q.pow(beta) + 1.0)
    kernel = torch.where(family <= 1, gaussian, generalized)
    kernel = torch.where((family == 4) | (family == 5), plateau, kernel)
    if bool((params.family == _SINC).any()):
        kernel = torch.where(family == _SINC, _sinc_kernel(ax, params.omega), kernel)
    r = (params.size // 2)[:, None, None]
    inside = (ax[None, :, None].abs() <= r) & (ax[None, None, :].abs() <= r)
    kernel = torch.where(inside, kernel, torch.zeros(()))
    return kernel / kernel.sum(dim=(1, 2), keepdim=True)


class RealESRGANBlur(Degradation[RealESRGANBlurParams]):
    """Real-ESRGAN blur: a random kernel from six Gaussian-like families or a sinc filter.

    Defaults are the first-order settings of ``train_realesrgan_x4plus.yml``; the second
    order uses ``sigma=(0.2, 1.5)``; the final sinc filter is ``sinc_prob=1.0,
    omega_large=(pi/3, pi)``.

    Args:
        size: (min, max) odd kernel side, uniform over odd values. Real-ESRGAN: 7..21.
        family_probs: probabilities of iso, aniso, generalized iso/aniso, plateau iso/aniso.
        sinc_prob: probability of a sinc kernel instead. Real-ESRGAN: 0.1.
        sigma: (min, max) Gaussian sigma in pixels (both axes). Real-ESRGAN: (0.2, 3).
        rotation: (min, max) rotation of anisotropic kernels in radians.
        beta_generalized: (min, max) beta of generalized kernels, half the draws below 1.
        beta_plateau: (min, max) beta of plateau kernels, half the draws below 1.
        omega_small: sinc cut-off range for kernel sides below 13.
        omega_large: sinc cut-off range for sides of 13 and more.

    Example:
        >>> op = RealESRGANBlur()
        >>> params = op.sample(torch.Generator().manual_seed(0), 2)
        >>> tuple(op.apply(torch.rand(2, 3, 32, 32), params).shape)
        (2, 3, 32, 32)
    """

    name = "realesrgan_blur"

    def __init__(
        self,
        *,
        size: tuple[int, int] = (7, 21),
        family_probs: Sequence[float] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03),
        sinc_prob: float = 0.1,
        sigma: tuple[float, float] = (0.2, 3.0),
        rotation: tuple[float, float] = (-math.pi, math.pi),
        beta_generalized: tuple[float, float] = (0.5, 4.0),
        beta_plateau: tuple[float, float] = (1.0, 2.0),
        omega_small: tuple[float, float] = (math.pi / 3, math.pi),
        omega_large: tuple[float, float] = (math.pi / 5, math.pi),
    ) -> None:
        assert size[0] % 2 == 1 and size[1] % 2 == 1, "kernel sides must be odd"
        assert len(family_probs) == 6, "need one probability per Gaussian-type family"
        assert 0.0 <= sinc_prob <= 1.0, "sinc_prob is a probability"
        self.size = size
        self.family_probs = torch.tensor(family_probs, dtype=torch.float64)
        self.sinc_prob = sinc_prob
        self.sigma = sigma
        self.rotation = rotation
        self.beta_generalized = beta_generalized
        self.beta_plateau = beta_plateau
        self.omega_small = omega_small
        self.omega_large = omega_large

    def _beta(self, gen: torch.Generator, batch: int, low: float, high: float) -> Tensor:
        """BasicSR's beta draw: with p 0.5 from [low, 1), else from [1, high)."""
        below = torch.rand(batch, generator=gen) < 0.5
        return torch.where(
            below, uniform(gen, batch, low, min(1.0, high)), uniform(gen, batch, 1.0, high)
        )

    def sample(self, gen: torch.Generator, batch: int) -> RealESRGANBlurParams:
        """Draw a kernel family, size, sigmas, rotation, beta and sinc cut-off per image."""
        size = 2 * randint(gen, batch, self.size[0] // 2, self.size[1] // 2) + 1
        family = torch.multinomial(self.family_probs, batch, replacement=True, generator=gen)
        family = torch.where(torch.rand(batch, generator=gen) < self.sinc_prob, _SINC, family)
        isotropic = (family % 2 == 0) & (family != _SINC)
        sigma_x = uniform(gen, batch, *self.sigma)
        sigma_y = torch.where(isotropic, sigma_x, uniform(gen, batch, *self.sigma))
        rotation = torch.where(isotropic, 0.0, uniform(gen, batch, *self.rotation))
        generalized = (family == 2) | (family == 3)
        beta = torch.where(
            generalized,
            self._beta(gen, batch, *self.beta_generalized),
            self._beta(gen, batch, *self.beta_plateau),
        )
        small = size < 13
        omega = torch.where(
            small, uniform(gen, batch, *self.omega_small), uniform(gen, batch, *self.omega_large)
        )
        return RealESRGANBlurParams(
            family=family.to(torch.int64),
            size=size,
            sigma_x=sigma_x,
            sigma_y=sigma_y,
            rotation=rotation.float(),
            beta=beta,
            omega=omega,
        )

    def apply(self, img: Tensor, params: RealESRGANBlurParams) -> Tensor:
        """Blur: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1] (sinc ringing is clamped)."""
        check_image(img)
        kernels = mixed_kernels(params).to(img.device)
        out = img.clone()
        centre = kernels.shape[-1] // 2
        for i in range(img.shape[0]):  # each image at its own kernel size (and FFT or not)
            r = int(params.size[i]) // 2
            if r == 0:
                continue
            kernel = kernels[i : i + 1, centre - r : centre + r + 1, centre - r : centre + r + 1]
            out[i : i + 1] = filter2d(img[i : i + 1], kernel)
        return out.clamp(0.0, 1.0)
