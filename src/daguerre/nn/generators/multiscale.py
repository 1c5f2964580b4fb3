"""Coarse-to-fine generator: a global ResNet at half resolution plus a local enhancer.

After pix2pixHD's global + local generators (Wang et al. 2018, https://arxiv.org/abs/1711.11585)
and in the spirit of TuiGAN's coarse-to-fine pyramid (Lin et al. 2020,
https://arxiv.org/abs/2004.04634): the global network sees the image at half resolution, so
its receptive field covers twice the area for the same cost and it sets colour and large
structures; the local branch works at full resolution and adds detail.

``out = upsample(coarse) + detail``: the global network's own output (``coarse``) is a complete
half-resolution translation, and the local branch's head predicts a full-resolution correction
from the sum of its own features and the global network's last features. Everything is trained
end to end. Like :class:`~daguerre.nn.generators.resnet.ResNetGenerator` there is no
normalisation layer, so tiled inference has no seams.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from daguerre.nn.blocks import ConvAct, ResBlock, UpConv, conv
from daguerre.nn.generators.resnet import ResNetGenerator


class MultiScaleResNetGenerator(nn.Module):
    """``(B,in_channels,H,W)`` in [0,1] -> ``(B,out_channels,H,W)`` in [0,1], coarse to fine.

    H and W must be multiples of ``2**(downsamplings + 1)`` (``pad_multiple``). Outputs are
    clamped to [0,1] in eval mode only.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        base_channels: width of the local (full-resolution) branch; the global network
            starts at twice this width.
        downsamplings: stride-2 levels of the global network.
        global_blocks: residual blocks of the global network.
        local_blocks: residual blocks of the local branch (at half resolution).
        max_channels: channel cap of the global network.
        residual: the global network predicts a correction of its (downscaled) input.

    Example:
        >>> net = MultiScaleResNetGenerator(base_channels=4, global_blocks=1, local_blocks=1)
        >>> net.eval()(torch.rand(1, 3, 24, 16)).shape, net.pad_multiple
        (torch.Size([1, 3, 24, 16]), 8)
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 16,
        downsamplings: int = 2,
        global_blocks: int = 6,
        local_blocks: int = 2,
        max_channels: int = 256,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.global_net = ResNetGenerator(
            in_channels=in_channels,
            out_channels=out_channels,
            base_channels=2 * base_channels,
            downsamplings=downsamplings,
            blocks=global_blocks,
            max_channels=max_channels,
            residual=residual,
        )
        width = self.global_net.feature_channels  # = 2 * base_channels unless capped
        self.pad_multiple = 2 * self.global_net.pad_multiple
        self.local_down = nn.Sequential(
            ConvAct(in_channels, base_channels, kernel=7),
            ConvAct(base_channels, width, stride=2),
        )
        self.local_blocks = nn.Sequential(*(ResBlock(width) for _ in range(local_blocks)))
        self.local_up = UpConv(width, base_channels)
        self.local_head = conv(base_channels, out_channels, kernel=7)
        nn.init.zeros_(self.local_head.weight)  # starts as the upsampled coarse output
        nn.init.zeros_(self.local_head.bias)  # type: ignore[arg-type]  # conv() has a bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate ``x``; see the class docstring for shapes."""
        small = F.avg_pool2d(x, 2)
        global_features = self.global_net.decode_features(small)
        coarse = self.global_net.to_image(global_features, small)  # (B,C,H/2,W/2), [0,1] scale
        h = self.local_down(x * 2.0 - 1.0) + global_features
        detail = self.local_head(self.local_up(self.local_blocks(h)))  # [-1,1] units
        up = F.interpolate(coarse, scale_factor=2.0, mode="bilinear", align_corners=False)
        out = up + 0.5 * detail
        return out if self.training else out.clamp(0.0, 1.0)
