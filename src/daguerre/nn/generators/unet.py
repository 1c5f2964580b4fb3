"""U-Net generator for paired image-to-image translation (pix2pix, Isola et al. 2017).

https://arxiv.org/abs/1611.07004 . Our variant is residual (it predicts a correction that is
added to the input), uses resize-convs instead of transposed convs, and has no normalisation
layers, so tiled inference has no seams.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from daguerre.nn.blocks import ConvAct, ResBlock, UpConv, conv


class UNetGenerator(nn.Module):
    """Residual U-Net. ``(B,in_channels,H,W)`` in [0,1] -> ``(B,out_channels,H,W)`` in [0,1].

    H and W must be multiples of ``2**depth`` (the network's ``pad_multiple``); the tiling
    engine pads for you.

    Args:
        in_channels: input channels (3, or 4 with a defect-mask channel).
        out_channels: output channels.
        base_channels: width of the first level; doubles per level up to ``max_channels``.
        depth: number of stride-2 downsamplings.
        max_channels: channel cap.
        level_convs: convs per encoder level (the first has stride 2). Each level costs about
            the same FLOPs per pixel (channels double as area quarters), so 1 keeps the
            network fast on CPU; the deep levels get capacity from ``bottleneck_blocks``.
        bottleneck_blocks: residual blocks at the lowest resolution (more global context).
        level_blocks: residual blocks after the decoder's merge conv, per level from full
            resolution down: ``(2, 1)`` puts two at full and one at half resolution, where
            denoising needs capacity. They start as the identity (zero-initialised), so a
            trained network given more blocks computes the same function until fine-tuned.
        residual: add the output to the first ``out_channels`` input channels.

    Example:
        >>> net = UNetGenerator(base_channels=8, depth=2)
        >>> net(torch.rand(1, 3, 16, 16)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 24,
        depth: int = 5,
        max_channels: int = 128,
        level_convs: int = 1,
        bottleneck_blocks: int = 3,
        level_blocks: Sequence[int] = (),
        residual: bool = True,
    ) -> None:
        super().__init__()
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        if len(level_blocks) > depth or any(n < 0 for n in level_blocks):
            raise ValueError(f"level_blocks needs <= {depth} counts >= 0, got {level_blocks}")
        blocks = [*level_blocks, *[0] * (depth - len(level_blocks))]
        self.residual = residual
        self.out_channels = out_channels
        self.stem = ConvAct(in_channels, widths[0])
        self.down = nn.ModuleList(
            nn.Sequential(
                ConvAct(widths[i], widths[i + 1], stride=2),
                *(ConvAct(widths[i + 1], widths[i + 1]) for _ in range(level_convs - 1)),
            )
            for i in range(depth)
        )
        self.bottleneck = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(bottleneck_blocks)))
        self.up = nn.ModuleList(UpConv(widths[i + 1], widths[i]) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(
            ConvAct(2 * widths[i], widths[i]) for i in reversed(range(depth))
        )
        self.refine = nn.ModuleList(
            nn.Sequential(*(ResBlock(widths[i], zero_init=True) for _ in range(blocks[i])))
            for i in reversed(range(depth))
        )
        self.head = conv(widths[0], out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Restore ``x``; see the class docstring for shapes."""
        skips = [self.stem(x * 2.0 - 1.0)]  # the network works in [-1, 1]
        for down in self.down:
            skips.append(down(skips[-1]))
        h = self.bottleneck(skips.pop())
        for up, merge, refine in zip(self.up, self.merge, self.refine, strict=True):
            h = refine(merge(torch.cat([up(h), skips.pop()], dim=1)))
        out = self.head(h)
        if self.residual:
            out = out + (x[:, : self.out_channels] * 2.0 - 1.0)
        out = (out + 1.0) * 0.5
        # Clamp only at inference: in training the loss should still see (and pull back)
        # values outside [0, 1] instead of getting zero gradient there.
        return out if self.training else out.clamp(0.0, 1.0)
