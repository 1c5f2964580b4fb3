"""ResNet generator for unpaired translation (CycleGAN, Zhu et al. 2017).

https://arxiv.org/abs/1703.10593, after Johnson et al. 2016 (https://arxiv.org/abs/1603.08155):
a 7x7 stem, stride-2 downsamplings, residual blocks at the lowest resolution, upsamplings and
a 7x7 head. Two deliberate differences from the reference implementation:

* **No normalisation layers.** CycleGAN uses instance norm, whose per-image statistics become
  per-*tile* statistics under tiled inference, so neighbouring tiles get different contrast
  and colour and the tile grid shows. Without normalisation the network is a fixed function of
  its receptive field, tiles agree wherever they overlap, and feathered blending hides the
  rest (``tests/pipelines/test_stylize.py`` measures the seam energy). Training stays stable
  thanks to the residual formulation below, a spectral-norm discriminator and LSGAN.
* **Resize-convolutions instead of transposed convolutions** (Odena et al. 2016,
  https://distill.pub/2016/deconv-checkerboard/; the CycleGAN FAQ's checkerboard fix).

With ``residual=True`` the head predicts a correction added to the input, so a fresh network
is close to the identity: the cycle and identity losses start small and small style domains
(a single painting) train stably.
"""

from __future__ import annotations

import torch
from torch import nn

from daguerre.nn.blocks import ConvAct, ResBlock, UpConv, conv


class ResNetGenerator(nn.Module):
    """``(B,in_channels,H,W)`` in [0,1] -> ``(B,out_channels,H,W)`` in [0,1].

    H and W must be multiples of ``2**downsamplings`` (``pad_multiple``); the tiling engine
    pads for you. Outputs are clamped to [0,1] in eval mode only (training losses see, and
    pull back, values outside the range).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        base_channels: width at full resolution; doubles per downsampling up to ``max_channels``.
        downsamplings: stride-2 levels (2 in CycleGAN).
        blocks: residual blocks at the lowest resolution (6 for 128-256 px crops in CycleGAN,
            9 for larger).
        max_channels: channel cap.
        residual: add the output to the first ``out_channels`` input channels.

    Example:
        >>> net = ResNetGenerator(base_channels=8, blocks=2).eval()
        >>> net(torch.rand(1, 3, 20, 16)).shape
        torch.Size([1, 3, 20, 16])
        >>> net.pad_multiple
        4
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 32,
        downsamplings: int = 2,
        blocks: int = 6,
        max_channels: int = 256,
        residual: bool = True,
    ) -> None:
        super().__init__()
        widths = [min(base_channels * 2**i, max_channels) for i in range(downsamplings + 1)]
        self.out_channels = out_channels
        self.residual = residual
        self.pad_multiple = 2**downsamplings
        self.stem = ConvAct(in_channels, widths[0], kernel=7)
        self.down = nn.Sequential(
            *(ConvAct(widths[i], widths[i + 1], stride=2) for i in range(downsamplings))
        )
        self.blocks = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(blocks)))
        self.up = nn.Sequential(
            *(UpConv(widths[i + 1], widths[i]) for i in reversed(range(downsamplings)))
        )
        self.head = conv(widths[0], out_channels, kernel=7)
        self.feature_channels = widths[0]

    def decode_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B,in,H,W)`` [0,1] -> the full-resolution features before the head ``(B,C0,H,W)``."""
        h = self.stem(x * 2.0 - 1.0)  # the network works in [-1, 1]
        return self.up(self.blocks(self.down(h)))

    def to_image(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Head: features ``(B,C0,H,W)`` and the input ``x`` -> unclamped image, [0,1] scale."""
        out = self.head(features)
        if self.residual:
            out = out + (x[:, : self.out_channels] * 2.0 - 1.0)
        return (out + 1.0) * 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate ``x``; see the class docstring for shapes."""
        out = self.to_image(self.decode_features(x), x)
        return out if self.training else out.clamp(0.0, 1.0)
