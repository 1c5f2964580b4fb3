"""Small building blocks shared by the networks: convs, residual blocks, resize-convs.

Generators here use no normalisation layers on purpose: per-tile statistics (instance or
group norm) would differ between overlapping tiles at inference and show up as seams.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


def conv(in_ch: int, out_ch: int, *, kernel: int = 3, stride: int = 1) -> nn.Conv2d:
    """A reflection-padded conv with 'same' padding for odd kernels."""
    return nn.Conv2d(
        in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect"
    )


class ConvAct(nn.Module):
    """Conv -> LeakyReLU(0.2). ``(B,in,H,W) -> (B,out,H/stride,W/stride)``."""

    def __init__(self, in_ch: int, out_ch: int, *, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = conv(in_ch, out_ch, kernel=kernel, stride=stride)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv then activation."""
        return self.act(self.conv(x))


class ResBlock(nn.Module):
    """Residual block: x + conv(act(conv(x))) * res_scale; shape-preserving.

    ``zero_init`` starts the second conv at zero, so the block starts as the identity: blocks
    added to a trained network leave its output unchanged until training moves them
    (SkipInit, De & Smith 2020, https://arxiv.org/abs/2002.10444).
    """

    def __init__(self, channels: int, *, res_scale: float = 1.0, zero_init: bool = False) -> None:
        super().__init__()
        self.conv1 = conv(channels, channels)
        self.conv2 = conv(channels, channels)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.res_scale = res_scale
        if zero_init:
            nn.init.zeros_(self.conv2.weight)
            nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B,C,H,W) -> (B,C,H,W)``."""
        return x + self.conv2(self.act(self.conv1(x))) * self.res_scale


class UpConv(nn.Module):
    """Conv at low resolution, then bilinear x2 upsample.

    A resize-conv (no checkerboard artefacts, Odena et al. 2016,
    https://distill.pub/2016/deconv-checkerboard/) with the conv placed before the resize,
    which costs 4x fewer FLOPs; the merge conv that follows sees the full resolution.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = ConvAct(in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B,in,H,W) -> (B,out,2H,2W)``."""
        return F.interpolate(self.conv(x), scale_factor=2.0, mode="bilinear", align_corners=False)
