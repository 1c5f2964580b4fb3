"""PatchGAN discriminator (Isola et al. 2017, https://arxiv.org/abs/1611.07004).

Classifies overlapping patches as real or fake; with ``layers=3`` the receptive field is
70x70 pixels. Returns every intermediate feature map so the generator can use a
feature-matching loss (pix2pixHD, Wang et al. 2018, https://arxiv.org/abs/1711.11585).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm


class PatchDiscriminator(nn.Module):
    """``(B,in_channels,H,W)`` in [0,1] -> list of feature maps, the last one ``(B,1,h,w)`` logits.

    Args:
        in_channels: channels of the input (condition and image concatenated for pix2pix).
        base_channels: width of the first layer (doubles per layer, capped at 8x).
        layers: number of stride-2 layers.
        spectral: wrap convs in spectral normalisation (Miyato et al. 2018), which replaces
            normalisation layers and keeps D Lipschitz-bounded.

    Example:
        >>> d = PatchDiscriminator(in_channels=6, base_channels=8, layers=2)
        >>> [f.shape[1] for f in d(torch.rand(1, 6, 32, 32))]
        [8, 16, 32, 1]
    """

    def __init__(
        self,
        *,
        in_channels: int = 6,
        base_channels: int = 32,
        layers: int = 3,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        widths = [base_channels * min(2**i, 8) for i in range(layers + 1)]
        stages = [
            nn.Sequential(wrap(nn.Conv2d(in_channels, widths[0], 4, 2, 1)), nn.LeakyReLU(0.2))
        ]
        for i in range(1, layers + 1):
            stride = 2 if i < layers else 1
            conv = wrap(nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1))
            stages.append(nn.Sequential(conv, nn.LeakyReLU(0.2)))
        stages.append(nn.Sequential(wrap(nn.Conv2d(widths[-1], 1, 4, 1, 1))))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return all stage outputs; the last is the patch logit map."""
        feats = []
        h = x * 2.0 - 1.0
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return feats
