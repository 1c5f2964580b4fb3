"""Colour ops: grayscale conversion, GFPGAN colour jitter and RGB shift.

All maths is on gamma-encoded RGB in [0, 1], like PIL, OpenCV and torchvision.

* GFPGAN, Wang et al. 2021, https://arxiv.org/abs/2101.04061
  (``gfpgan/data/ffhq_degradation_dataset.py``: ``color_jitter_pt``, RGB shift).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch

from daguerre.degrade.base import Degradation, check_image, params_index, uniform
from daguerre.types import Tensor

__all__ = [
    "LUMA_WEIGHTS",
    "ColorJitter",
    "ColorJitterParams",
    "Grayscale",
    "GrayscaleParams",
    "RGBShift",
    "RGBShiftParams",
    "luminance",
]

LUMA_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "601": (0.299, 0.587, 0.114),  # ITU-R BT.601: PIL convert("L"), OpenCV RGB2GRAY, BOPBTL
    "709": (0.2126, 0.7152, 0.0722),  # ITU-R BT.709 / sRGB primaries
}
"""Luma weights (R, G, B) applied to gamma-encoded values, per standard."""


def luminance(img: Tensor, standard: str = "601") -> Tensor:
    """Luma of an RGB batch.

    Args:
        img: ``(B,3,H,W)`` float32 in [0, 1].
        standard: ``"601"`` (default, what PIL and OpenCV use) or ``"709"``.

    Returns:
        ``(B,1,H,W)`` float32 in [0, 1].

    Example:
        >>> round(float(luminance(torch.ones(1, 3, 2, 2)).mean()), 6)
        1.0
    """
    r, g, b = LUMA_WEIGHTS[standard]
    return r * img[:, 0:1] + g * img[:, 1:2] + b * img[:, 2:3]


# --- grayscale ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GrayscaleParams:
    """Per-image parameters of :class:`Grayscale`."""

    amount: Tensor  # (B,) float32, 1 = fully gray, 0 = unchanged


class Grayscale(Degradation[GrayscaleParams]):
    """Convert to luma and back to three equal channels (optionally only partly).

    A photo that is black-and-white has a black-and-white ground truth too (BOPBTL converts
    input and target; GFPGAN ``gt_gray``), so this op also applies to the clean target by
    default: see :func:`daguerre.degrade.chain.apply_to_target`.

    Args:
        amount: (min, max) blend towards gray, uniform; default always fully gray.
        standard: luma weights, ``"601"`` (ITU-R BT.601, PIL/OpenCV) or ``"709"``.
        applies_to_target: also convert the clean target of a training pair.

    Example:
        >>> op = Grayscale()
        >>> out = op.apply(torch.rand(1, 3, 4, 4), op.sample(torch.Generator(), 1))
        >>> bool((out[:, 0] == out[:, 1]).all())
        True
    """

    name = "grayscale"

    def __init__(
        self,
        *,
        amount: tuple[float, float] = (1.0, 1.0),
        standard: Literal["601", "709"] = "601",
        applies_to_target: bool = True,
    ) -> None:
        assert standard in LUMA_WEIGHTS, f"standard must be one of {sorted(LUMA_WEIGHTS)}"
        assert 0 <= amount[0] <= amount[1] <= 1, "amount must be (min, max) within [0, 1]"
        self.amount = amount
        self.standard = standard
        self.applies_to_target = applies_to_target

    def sample(self, gen: torch.Generator, batch: int) -> GrayscaleParams:
        """Draw the gray amount per image."""
        return GrayscaleParams(amount=uniform(gen, batch, *self.amount))

    def apply(self, img: Tensor, params: GrayscaleParams) -> Tensor:
        """Desaturate: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        amount = params.amount.to(img.device).reshape(-1, 1, 1, 1)
        gray = luminance(img, self.standard).expand_as(img)
        out = torch.where(amount >= 1, gray, img + amount * (gray - img))
        return out.clamp(0.0, 1.0)


# --- colour jitter ------------------------------------------------------------------------


def rgb_to_hsv(img: Tensor) -> Tensor:
    """``(B,3,H,W)`` RGB [0,1] -> HSV, hue in [0,1)."""
    maxc, argmax = img.max(dim=1)
    minc = img.min(dim=1).values
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones(()))
    r, g, b = img.unbind(dim=1)
    hue = torch.where(
        argmax == 0,
        (g - b) / safe,
        torch.where(argmax == 1, 2 + (b - r) / safe, 4 + (r - g) / safe),
    )
    hue = torch.where(delta > 0, (hue / 6.0) % 1.0, torch.zeros(()))
    sat = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones(())), 0.0)
    return torch.stack([hue, sat, maxc], dim=1)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """``(B,3,H,W)`` HSV (hue in [0,1)) -> RGB [0,1]."""
    hue, sat, val = hsv.unbind(dim=1)
    h6 = hue * 6.0
    sector = torch.floor(h6)
    frac = h6 - sector
    p = val * (1 - sat)
    q = val * (1 - sat * frac)
    t = val * (1 - sat * (1 - frac))
    sector = sector.long() % 6
    table = torch.stack(  # rows: sector 0..5; columns: the (R, G, B) source for that sector
        [
            torch.stack([val, t, p], 1),
            torch.stack([q, val, p], 1),
            torch.stack([p, val, t], 1),
            torch.stack([p, q, val], 1),
            torch.stack([t, p, val], 1),
            torch.stack([val, p, q], 1),
        ],
        dim=1,
    )  # (B,6,3,H,W)
    index = sector[:, None, None].expand(-1, 1, 3, -1, -1)
    return table.gather(1, index).squeeze(1)


def _blend(img: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """Blend like torchvision: ``factor * img + (1 - factor) * other``, clamped."""
    return (factor * img + (1 - factor) * other).clamp(0.0, 1.0)


@dataclass(frozen=True)
class ColorJitterParams:
    """Per-image parameters of :class:`ColorJitter`."""

    brightness: Tensor  # (B,) float32, gain; 1 = unchanged
    contrast: Tensor  # (B,) float32, blend with the mean gray; 1 = unchanged
    saturation: Tensor  # (B,) float32, blend with the gray image; 1 = unchanged
    hue: Tensor  # (B,) float32, hue shift in turns; 0 = unchanged
    order: Tensor  # (B,4) int64, permutation of (brightness, contrast, saturation, hue)


class ColorJitter(Degradation[ColorJitterParams]):
    """Brightness, contrast, saturation and hue jitter in a random order (GFPGAN).

    Args:
        brightness: (min, max) gain. GFPGAN (0.5, 1.5).
        contrast: (min, max) contrast factor. GFPGAN (0.5, 1.5).
        saturation: (min, max) saturation factor. GFPGAN (0, 1.5).
        hue: (min, max) hue shift in turns. GFPGAN (-0.1, 0.1).

    Example:
        >>> op = ColorJitter()
        >>> params = op.sample(torch.Generator().manual_seed(0), 2)
        >>> tuple(op.apply(torch.rand(2, 3, 8, 8), params).shape)
        (2, 3, 8, 8)
    """

    name = "color_jitter"

    def __init__(
        self,
        *,
        brightness: tuple[float, float] = (0.5, 1.5),
        contrast: tuple[float, float] = (0.5, 1.5),
        saturation: tuple[float, float] = (0.0, 1.5),
        hue: tuple[float, float] = (-0.1, 0.1),
    ) -> None:
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue

    def sample(self, gen: torch.Generator, batch: int) -> ColorJitterParams:
        """Draw the four factors and an order per image."""
        order = torch.argsort(torch.rand(batch, 4, generator=gen), dim=1)
        return ColorJitterParams(
            brightness=uniform(gen, batch, *self.brightness),
            contrast=uniform(gen, batch, *self.contrast),
            saturation=uniform(gen, batch, *self.saturation),
            hue=uniform(gen, batch, *self.hue),
            order=order,
        )

    @staticmethod
    def _adjust(img: Tensor, which: int, params: ColorJitterParams) -> Tensor:
        """Apply adjustment ``which`` (0 brightness .. 3 hue) to a sub-batch."""
        if which == 0:
            return _blend(img, torch.zeros(()), params.brightness.reshape(-1, 1, 1, 1))
        if which == 1:
            mean = luminance(img).mean(dim=(1, 2, 3), keepdim=True)
            return _blend(img, mean, params.contrast.reshape(-1, 1, 1, 1))
        if which == 2:
            return _blend(img, luminance(img), params.saturation.reshape(-1, 1, 1, 1))
        hsv = rgb_to_hsv(img)
        hue = (hsv[:, :1] + params.hue.reshape(-1, 1, 1, 1)) % 1.0
        shifted = hsv_to_rgb(torch.cat([hue, hsv[:, 1:]], dim=1)).clamp(0.0, 1.0)
        return torch.where(params.hue.reshape(-1, 1, 1, 1) != 0, shifted, img)

    def apply(self, img: Tensor, params: ColorJitterParams) -> Tensor:
        """Jitter: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        out = img.clone()
        order = params.order.cpu()
        for step in range(4):  # each image runs its own permutation of the four adjustments
            for which in range(4):
                index = torch.nonzero(order[:, step] == which).flatten()
                if index.numel() == 0:
                    continue
                sub = params_index(params, index)
                sub = dataclasses.replace(
                    sub,
                    **{
                        f.name: getattr(sub, f.name).to(img.device) for f in dataclasses.fields(sub)
                    },
                )
                rows = index.to(img.device)
                out[rows] = self._adjust(out[rows], which, sub)
        return out


# --- RGB shift ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RGBShiftParams:
    """Per-image parameters of :class:`RGBShift`."""

    shift: Tensor  # (B,3) float32, offset added to R, G, B in [0,1] units


class RGBShift(Degradation[RGBShiftParams]):
    """Add a constant offset to each channel (GFPGAN: +-20/255, p 0.3 via ``Maybe``).

    Args:
        shift: maximum absolute offset in 8-bit units (/255), uniform per channel.

    Example:
        >>> op = RGBShift(shift=20)
        >>> out = op.apply(torch.full((1, 3, 4, 4), 0.5), op.sample(torch.Generator(), 1))
        >>> bool((out - 0.5).abs().max() <= 20 / 255 + 1e-6)
        True
    """

    name = "rgb_shift"

    def __init__(self, *, shift: float = 20.0) -> None:
        assert shift >= 0, "shift must be non-negative"
        self.shift = shift

    def sample(self, gen: torch.Generator, batch: int) -> RGBShiftParams:
        """Draw a per-channel offset per image."""
        limit = self.shift / 255.0
        return RGBShiftParams(shift=(2 * torch.rand(batch, 3, generator=gen) - 1) * limit)

    def apply(self, img: Tensor, params: RGBShiftParams) -> Tensor:
        """Shift channels: ``(B,3,H,W)`` float32 [0,1] -> same shape, clamped to [0,1]."""
        check_image(img)
        return (img + params.shift.to(img.device)[:, :, None, None]).clamp(0.0, 1.0)
