"""Frequency-split fusion of two restoration experts: tone from one, fine detail from the other.

The old-print expert is best at what an old print needs globally (fading, yellowing, lost
contrast) but smooths fine texture; the digital expert keeps and sharpens fine detail but
leaves prints faded. A print photo therefore comes out as::

    out = detail + upsample(gaussian_blur(tone_small - shrink(detail), sigma))

where ``detail`` is the detail expert's full-size restoration, ``tone_small`` the print
expert's restoration of the photo shrunk by ``scale`` (area averaging, as ``shrink``) and
``upsample`` bilinear: the low frequencies come from the
print expert, everything above them from the detail expert. Running the print expert at half
size costs a quarter of a full pass, and every temporary except ``detail`` is at the small
size, so fusing adds little memory (the upsampled correction is added in bands of rows).

The print expert's config names the fusion in ``extra.detail``::

    "detail": {"expert": "digital", "scale": 0.5, "sigma": 1.0}

(``expert`` is a key of ``extra.experts``; ``sigma`` is in pixels at the small size), parsed
into a :class:`FusionConfig` by :func:`daguerre.pipelines.manifest.restorer_manifest`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from daguerre.nn.kernels import gaussian_kernel1d

BAND_ROWS = 256  # output rows upsampled and added per step


@dataclass(frozen=True)
class FusionConfig:
    """Which expert gives the fine detail, and the scale and blur of the tone correction.

    Args:
        expert: the key in the print model's ``extra.experts`` whose model gives the detail.
        scale: the print expert runs on the photo resized by this factor, in (0, 1].
        sigma: Gaussian std (pixels at that scale) of the tone correction's blur, > 0.
    """

    expert: str
    scale: float = 0.5
    sigma: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"fusion scale must be in (0, 1], got {self.scale}")
        if not self.sigma > 0.0:
            raise ValueError(f"fusion sigma must be > 0, got {self.sigma}")


def small_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """The ``(h, w)`` a ``height x width`` photo has at ``scale`` (at least 1 px a side)."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B,1,H,W)`` defect mask -> ``(B,1,*size)``, max-pooled (damage is never lost)."""
    if tuple(mask.shape[-2:]) == size:
        return mask
    return F.adaptive_max_pool2d(mask.float(), size).to(mask.dtype)


def _blur_axis(x: Tensor, kernel: list[float], dim: int) -> Tensor:
    """Correlate ``x`` with ``kernel`` along ``dim`` (-1 or -2), replicate padding.

    A sum of shifted views: no im2col buffer, so the temporaries are the padded copy and the
    output (``conv2d`` on the CPU unfolds a 1-channel image to ``len(kernel)`` copies).
    """
    radius = (len(kernel) - 1) // 2
    pad = (radius, radius, 0, 0) if dim == -1 else (0, 0, radius, radius)
    padded = F.pad(x, pad, mode="replicate")
    size = x.shape[dim]
    out = padded.narrow(dim, 0, size) * kernel[0]
    for offset in range(1, len(kernel)):
        out.add_(padded.narrow(dim, offset, size), alpha=kernel[offset])
    return out


def gaussian_blur_signed(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur (std ``sigma`` px, radius ``ceil(3 sigma)``) of ``(B,C,H,W)``.

    Values of any sign; replicate padding; a new tensor of the same shape and dtype.
    """
    radius = max(1, math.ceil(3.0 * sigma))
    taps = gaussian_kernel1d(torch.tensor([sigma], dtype=torch.float64), radius)[0].tolist()
    return _blur_axis(_blur_axis(x, taps, -2), taps, -1)


def _source_rows(rows: Tensor, out_h: int, in_h: int) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear (half-pixel centres) row indices and weights for output ``rows``."""
    src = ((rows.double() + 0.5) * (in_h / out_h) - 0.5).clamp(min=0.0)
    low = src.floor().long().clamp(max=in_h - 1)
    high = (low + 1).clamp(max=in_h - 1)
    return low, high, (src - low.double()).float()


def add_upsampled_(target: Tensor, small: Tensor, band_rows: int = BAND_ROWS) -> Tensor:
    """``target += bilinear_upsample(small)`` in place, a band of rows at a time.

    Equals ``target + F.interpolate(small, target size, "bilinear", align_corners=False)``
    without a full-size temporary.

    Args:
        target: ``(B,C,H,W)`` float, modified in place.
        small: ``(B,C,h,w)`` float on the same device.
        band_rows: output rows per step (bounds the temporary).
    """
    out_h, out_w = target.shape[-2:]
    in_h = small.shape[-2]
    for start in range(0, out_h, band_rows):
        rows = torch.arange(start, min(start + band_rows, out_h), device=small.device)
        low, high, weight = _source_rows(rows, out_h, in_h)
        weight = weight.to(small.dtype).view(1, 1, -1, 1)
        band = small[..., low, :] * (1.0 - weight) + small[..., high, :] * weight
        band = F.interpolate(band, size=(len(rows), out_w), mode="bilinear", align_corners=False)
        target[..., start : start + len(rows), :] += band.to(target.dtype)
    return target


def shrink_area(x: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B,C,H,W)`` -> ``(B,C,*size)``, ``size`` no larger, by area averaging (a new tensor).

    Area averaging antialiases, keeps [0, 1] and allocates nothing beyond the output; the
    photo and the detail expert's result are shrunk the same way, so identical experts
    cancel exactly.
    """
    return x.clone() if tuple(x.shape[-2:]) == size else F.interpolate(x, size=size, mode="area")


def blur_channels_(x: Tensor, sigma: float) -> Tensor:
    """:func:`gaussian_blur_signed` in place, one channel at a time (bounds the temporaries)."""
    for channel in range(x.shape[1]):
        x[:, channel : channel + 1] = gaussian_blur_signed(x[:, channel : channel + 1], sigma)
    return x


def fuse_in_place(detail: Tensor, tone_small: Tensor, sigma: float) -> Tensor:
    """Give ``detail`` the low frequencies of ``tone_small``; returns ``detail``, in [0, 1].

    Memory: besides ``detail``, one buffer of ``tone_small``'s size plus a channel's
    blur temporaries (the correction is downscaled by area averaging, blurred per channel
    and added back in bands of rows).

    Args:
        detail: ``(B,3,H,W)`` float32 in [0, 1], the detail expert's restoration (modified).
        tone_small: ``(B,3,h,w)`` float32 in [0, 1], the tone expert's restoration of the
            photo at the small size.
        sigma: blur std in pixels at the small size.
    """
    size = (tone_small.shape[-2], tone_small.shape[-1])
    correction = shrink_area(detail, size).neg_().add_(tone_small)
    blur_channels_(correction, sigma)
    return add_upsampled_(detail, correction).clamp_(0.0, 1.0)


__all__ = [
    "FusionConfig",
    "add_upsampled_",
    "blur_channels_",
    "fuse_in_place",
    "gaussian_blur_signed",
    "resize_mask",
    "shrink_area",
    "small_size",
]
