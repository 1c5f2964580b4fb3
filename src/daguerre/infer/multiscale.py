"""Run a dense-prediction network at several input scales and average its outputs.

A detector that sees the photo enlarged as well as at its own size finds thin structures it
misses at one scale (the scratch detector: pixel F1 0.605-0.636 -> 0.626-0.659 with scales
1 and 1.5 on training photos). Wrapped around the network, the ensemble runs tile by tile in
:func:`daguerre.infer.run_tiled` like any model, so memory stays bounded by the tile size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import nn

from daguerre.infer.engine import pad_to_multiple
from daguerre.types import Tensor

MIN_SCALE, MAX_SCALE = 0.25, 4.0


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """Validate input scales: a non-empty sequence of distinct factors in [0.25, 4].

    Raises:
        ValueError: empty, repeated, or out-of-range scales.

    Example:
        >>> check_scales([1, 1.5])
        (1.0, 1.5)
    """
    values = tuple(float(s) for s in scales)
    if not values:
        raise ValueError("scales must name at least one factor, e.g. 1.0")
    if len(set(values)) != len(values):
        raise ValueError(f"scales must be distinct, got {list(values)}")
    bad = [s for s in values if not MIN_SCALE <= s <= MAX_SCALE]
    if bad:
        raise ValueError(f"scales must lie in [{MIN_SCALE}, {MAX_SCALE}], got {bad}")
    return values


class ScaleEnsemble(nn.Module):
    """``mean_s resize(net(resize(x, s)), 1/s)``: one output per input pixel.

    Each scaled input is bicubic-resized (clamped to [0, 1]) and reflection-padded to the
    network's ``pad_multiple``; each output is cropped and bilinearly resized back. Scale 1
    runs the network on ``x`` itself, so ``scales=(1.0,)`` is the bare network.

    Args:
        net: maps ``(N,C,h,w)`` (h, w multiples of ``pad_multiple``) to ``(N,C',h,w)``.
        scales: input factors (see :func:`check_scales`).
        pad_multiple: the size multiple ``net`` needs.
    """

    def __init__(self, net: nn.Module, scales: Sequence[float], pad_multiple: int = 1) -> None:
        super().__init__()
        self.net = net
        self.scales = check_scales(scales)
        self.pad_multiple = max(1, int(pad_multiple))

    def forward(self, x: Tensor) -> Tensor:
        """``(N,C,H,W)`` float in [0, 1] -> ``(N,C',H,W)`` float32, the mean over scales."""
        h, w = x.shape[-2:]
        total: Tensor | None = None
        for s in self.scales:
            out = self._at_scale(x, s, (h, w))
            total = out if total is None else total + out
        assert total is not None  # check_scales guarantees one scale at least
        return total / len(self.scales)

    def _at_scale(self, x: Tensor, s: float, size: tuple[int, int]) -> Tensor:
        scaled = (max(1, round(size[0] * s)), max(1, round(size[1] * s)))
        y = x if scaled == size else _resize_image(x, scaled)
        out = self.net(pad_to_multiple(y, self.pad_multiple))[..., : scaled[0], : scaled[1]]
        out = out.float()
        if scaled == size:
            return out
        return F.interpolate(out, size=size, mode="bilinear", align_corners=False)


def _resize_image(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic resize of a [0, 1] image (antialiased when shrinking), clamped to [0, 1]."""
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    out = F.interpolate(x.float(), size=size, mode="bicubic", align_corners=False, antialias=shrink)
    return out.clamp_(0.0, 1.0).to(x.dtype)


def is_identity(scales: Sequence[float]) -> bool:
    """True when ``scales`` is just the network's own scale (``(1.0,)``)."""
    return tuple(float(s) for s in scales) == (1.0,)


__all__ = ["ScaleEnsemble", "check_scales", "is_identity"]
