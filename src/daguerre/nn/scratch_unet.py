"""Scratch / dust / tear segmentation network: a small U-Net that outputs defect logits.

A U-Net (Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597) sized for the CPU: two
full-resolution convs (scratches can be one pixel wide, so the finest features must see full
resolution), stride-2 convs down, resize-convs up, and no normalisation layers, so tiled
inference has no seams. The output is one channel of logits; apply a sigmoid for the
probability that a pixel is damaged (scratch, dust, crease, tear, stain rim).

With the defaults (``base_channels=8``, ``depth=4``, widths 8-16-32-64-128) it has 0.59 M
parameters (1.2 MB in fp16) and costs 17.7 GFLOP per megapixel (forward, a multiply-add counted
as 2, measured with ``torch.utils.flop_counter.FlopCounterMode``). Every level of a U-Net whose
width doubles per level costs about the same, so width is what sets the price: base 16 costs
61 GFLOP/MP, 3.4x more, for little gain on a two-class problem. A residual block per level
(``level_blocks``) costs the same at every level too: the shipped widths (base 12, depth 5)
cost 37.5 GFLOP/MP, and 58.3 with ``level_blocks=4``.
"""

from __future__ import annotations

import torch
from torch import nn

from daguerre.nn.blocks import ConvAct, ResBlock, UpConv

# Initial head bias: logit of a ~5 % positive rate, so the untrained network predicts the rare
# class rarely and the first steps are not spent unlearning a 50 % guess (Lin et al. 2017,
# "Focal Loss", https://arxiv.org/abs/1708.02002, section 4.1).
PRIOR_LOGIT = -3.0


class ScratchUNet(nn.Module):
    """Defect segmentation. ``(B,in_channels,H,W)`` float in [0,1] -> ``(B,1,H,W)`` logits.

    H and W must be multiples of ``2**depth`` (the network's ``pad_multiple``) and at least
    ``2 * 2**depth`` (the deepest level needs two pixels for its reflection padding); the
    pipeline pads for you.

    Args:
        in_channels: input channels (3: RGB).
        base_channels: width of the full-resolution level; doubles per level up to
            ``max_channels``.
        depth: number of stride-2 downsamplings (receptive field grows about 2x per level).
        max_channels: channel cap.
        bottleneck_blocks: residual blocks at the lowest resolution (wider context).
        level_blocks: residual blocks after the stem and after each of the first
            ``level_blocks - 1`` downsamplings (one per level, full resolution first): depth
            where thin strokes are still resolved. They start as the identity (second conv
            at zero), so they can be added to a trained detector without changing its output.

    Example:
        >>> net = ScratchUNet(base_channels=8, depth=2)
        >>> net(torch.rand(1, 3, 16, 16)).shape
        torch.Size([1, 1, 16, 16])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 8,
        depth: int = 4,
        max_channels: int = 128,
        bottleneck_blocks: int = 1,
        level_blocks: int = 0,
    ) -> None:
        super().__init__()
        assert depth >= 1 and base_channels >= 1, "need depth >= 1 and base_channels >= 1"
        assert 0 <= level_blocks <= depth, "level_blocks must be in [0, depth]"
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        self.stem = nn.Sequential(ConvAct(in_channels, widths[0]), ConvAct(widths[0], widths[0]))
        self.down = nn.ModuleList(ConvAct(widths[i], widths[i + 1], stride=2) for i in range(depth))
        self.level = nn.ModuleList(ResBlock(widths[i], zero_init=True) for i in range(level_blocks))
        self.bottleneck = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(bottleneck_blocks)))
        self.up = nn.ModuleList(UpConv(widths[i + 1], widths[i]) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(
            ConvAct(2 * widths[i], widths[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)
        assert self.head.bias is not None, "the head has a bias (it holds the prior)"
        nn.init.constant_(self.head.bias, PRIOR_LOGIT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Defect logits for ``x``; see the class docstring for shapes."""
        skips = [self.stem(x * 2.0 - 1.0)]  # the network works in [-1, 1]
        for i, down in enumerate(self.down):
            if i < len(self.level):
                skips[-1] = self.level[i](skips[-1])
            skips.append(down(skips[-1]))
        h = self.bottleneck(skips.pop())
        for up, merge in zip(self.up, self.merge, strict=True):
            h = merge(torch.cat([up(h), skips.pop()], dim=1))
        return self.head(h)
