"""Resampling loss: shrink and enlarge back to the input size.

Both ops return an image of the input size: they model the detail lost to a low-resolution
copy (down-up or up-down resampling), not a change of scale, so they compose freely inside a
chain that keeps the size (the training pair stays aligned with its clean target).

* BOPBTL ``synthesize_low_resolution`` (PIL bicubic down, nearest or bilinear up).
* Real-ESRGAN random resize (``realesrgan/models/realesrgan_model.py``, ``F.interpolate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from daguerre.degrade.base import Degradation, check_image, randint, uniform
from daguerre.types import Tensor

__all__ = ["RESIZE_MODES", "DownUp", "DownUpParams", "RandomResize", "RandomResizeParams"]

RESIZE_MODES = ("area", "bilinear", "bicubic", "nearest")
"""Interpolation modes, indexed by the ``mode`` fields of the params."""


def resize(img: Tensor, size: tuple[int, int], mode: str, *, antialias: bool = False) -> Tensor:
    """Resize ``(B,C,H,W)`` to ``size`` (h, w) with a ``RESIZE_MODES`` mode (not clamped).

    Example:
        >>> tuple(resize(torch.rand(1, 3, 8, 8), (4, 6), "bicubic").shape)
        (1, 3, 4, 6)
    """
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    if mode == "area":
        return F.interpolate(img, size=size, mode="area")
    if mode == "nearest":  # "nearest-exact" samples pixel centres, like PIL and OpenCV
        return F.interpolate(img, size=size, mode="nearest-exact")
    smooth = antialias and size[0] < img.shape[-2] and size[1] < img.shape[-1]
    return F.interpolate(img, size=size, mode=mode, align_corners=False, antialias=smooth)


def _scaled(length: int, scale: float) -> int:
    return max(1, round(length * scale))


# --- BOPBTL down-up -----------------------------------------------------------------------


@dataclass(frozen=True)
class DownUpParams:
    """Per-image parameters of :class:`DownUp`."""

    scale_h: Tensor  # (B,) float32, intermediate height / input height; 1 = unchanged
    scale_w: Tensor  # (B,) float32, intermediate width / input width; 1 = unchanged
    up_mode: Tensor  # (B,) int64, 0 = nearest, 1 = bilinear (back to the input size)


class DownUp(Degradation[DownUpParams]):
    """Bicubic (antialiased) downscale, then nearest or bilinear back up (BOPBTL v2).

    Width and height shrink independently, as in BOPBTL, so the aspect can change in between.

    Args:
        scale: (min, max) intermediate size relative to the input, uniform per axis.
            BOPBTL: (0.5, 1).
        nearest_prob: probability of nearest (else bilinear) upscaling. BOPBTL: 0.5.

    Example:
        >>> op = DownUp()
        >>> out = op.apply(torch.rand(1, 3, 16, 16), op.sample(torch.Generator(), 1))
        >>> tuple(out.shape)
        (1, 3, 16, 16)
    """

    name = "down_up"

    def __init__(
        self, *, scale: tuple[float, float] = (0.5, 1.0), nearest_prob: float = 0.5
    ) -> None:
        assert 0 < scale[0] <= scale[1] <= 1, "scale must be (min, max) within (0, 1]"
        self.scale = scale
        self.nearest_prob = nearest_prob

    def sample(self, gen: torch.Generator, batch: int) -> DownUpParams:
        """Draw the intermediate size and the upscaling mode per image."""
        scale_h = uniform(gen, batch, *self.scale)
        scale_w = uniform(gen, batch, *self.scale)
        nearest = torch.rand(batch, generator=gen) < self.nearest_prob
        return DownUpParams(scale_h=scale_h, scale_w=scale_w, up_mode=(~nearest).long())

    def apply(self, img: Tensor, params: DownUpParams) -> Tensor:
        """Resample: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        h, w = img.shape[-2:]
        out = img.clone()
        for i in range(img.shape[0]):
            small = (_scaled(h, float(params.scale_h[i])), _scaled(w, float(params.scale_w[i])))
            if small == (h, w):
                continue
            down = resize(img[i : i + 1], small, "bicubic", antialias=True).clamp(0.0, 1.0)
            mode = "nearest" if int(params.up_mode[i]) == 0 else "bilinear"
            out[i] = resize(down, (h, w), mode)[0]
        return out.clamp(0.0, 1.0)


# --- Real-ESRGAN random resize ------------------------------------------------------------


@dataclass(frozen=True)
class RandomResizeParams:
    """Per-image parameters of :class:`RandomResize`."""

    scale: Tensor  # (B,) float32, intermediate size / input size; 1 = unchanged
    mode: Tensor  # (B,) int64, RESIZE_MODES index of the first resize
    back_mode: Tensor  # (B,) int64, RESIZE_MODES index of the resize back to the input size


class RandomResize(Degradation[RandomResizeParams]):
    """Real-ESRGAN random resize: up, down or keep, then back to the input size.

    Real-ESRGAN changes the scale for real (its output is the x4 low-resolution input); here
    the image returns to its input size with another random mode, so the op models only the
    resampling loss and a chain keeps the size of its input.

    Args:
        probs: probabilities of up, down, keep. Real-ESRGAN (0.2, 0.7, 0.1) first order,
            (0.3, 0.4, 0.3) second order.
        up: (min, max) up-scale factor. Real-ESRGAN (1, 1.5), then (1, 1.2).
        down: (min, max) down-scale factor. Real-ESRGAN (0.15, 1), then (0.3, 1).
        modes: interpolation modes drawn uniformly (from ``RESIZE_MODES``).

    Example:
        >>> op = RandomResize()
        >>> out = op.apply(torch.rand(2, 3, 16, 16), op.sample(torch.Generator(), 2))
        >>> tuple(out.shape)
        (2, 3, 16, 16)
    """

    name = "random_resize"

    def __init__(
        self,
        *,
        probs: tuple[float, float, float] = (0.2, 0.7, 0.1),
        up: tuple[float, float] = (1.0, 1.5),
        down: tuple[float, float] = (0.15, 1.0),
        modes: Sequence[str] = ("area", "bilinear", "bicubic"),
    ) -> None:
        assert all(m in RESIZE_MODES for m in modes), f"modes must be among {RESIZE_MODES}"
        assert 0 < down[0] <= down[1] <= 1 <= up[0] <= up[1], "need 0 < down <= 1 <= up"
        self.probs = torch.tensor(probs, dtype=torch.float64)
        self.up = up
        self.down = down
        self.modes = torch.tensor([RESIZE_MODES.index(m) for m in modes], dtype=torch.int64)

    def sample(self, gen: torch.Generator, batch: int) -> RandomResizeParams:
        """Draw the direction, factor and both interpolation modes per image."""
        kind = torch.multinomial(self.probs, batch, replacement=True, generator=gen)
        up, down = uniform(gen, batch, *self.up), uniform(gen, batch, *self.down)
        scale = torch.where(kind == 0, up, torch.where(kind == 1, down, torch.ones(())))
        n = len(self.modes)
        mode = self.modes[randint(gen, batch, 0, n - 1)]
        back_mode = self.modes[randint(gen, batch, 0, n - 1)]
        return RandomResizeParams(scale=scale, mode=mode, back_mode=back_mode)

    def apply(self, img: Tensor, params: RandomResizeParams) -> Tensor:
        """Resample: ``(B,3,H,W)`` float32 [0,1] -> same shape, [0,1]."""
        check_image(img)
        h, w = img.shape[-2:]
        out = img.clone()
        for i in range(img.shape[0]):
            scale = float(params.scale[i])
            mid = (_scaled(h, scale), _scaled(w, scale))
            if mid == (h, w):
                continue
            x = resize(img[i : i + 1], mid, RESIZE_MODES[int(params.mode[i])]).clamp(0.0, 1.0)
            out[i] = resize(x, (h, w), RESIZE_MODES[int(params.back_mode[i])])[0]
        return out.clamp(0.0, 1.0)
